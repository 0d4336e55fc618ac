"""The leger CLI's own packages, driven from the tests: build and run ``leger-harness``.

``tests/cli/harness/main.go`` does what ``leger auth login``, ``leger secrets sync`` and ``leger deploy install``
do, with the CLI's packages from ``../shared/reference/leger-cli`` (read-only, unchanged). Go's ``internal/`` rule
forbids importing them from another module, so :func:`build` copies the CLI module into
``.cache/cli-harness/src/``, puts ``main.go`` in ``src/cmd/leger-harness/`` and builds
``.cache/cli-harness/leger-harness-<hash>``, keyed by a sha256 of every input so that later runs reuse it.

Without Go or the shared folder the tests that need it skip locally, and fail under ``CI``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_CLI = REPO.parent / "shared" / "reference" / "leger-cli"
HARNESS_SOURCE = Path(__file__).resolve().parent / "harness" / "main.go"
CACHE = REPO / ".cache" / "cli-harness"
# What the build copies from the CLI module (never _reference/, which needs modules we cannot fetch).
CLI_INPUTS = ("go.mod", "NOTICE", "LICENSE", "internal", "pkg")
PACKAGE = "./cmd/leger-harness"
BUILD_TIMEOUT = 600
RUN_TIMEOUT = 120


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _input_files() -> Iterator[tuple[str, Path]]:
    """Every source input as (path in the build folder, file), in a stable order."""
    for name in CLI_INPUTS:
        top = SHARED_CLI / name
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for path in files:
            yield path.relative_to(SHARED_CLI).as_posix(), path
    yield f"{PACKAGE[2:]}/main.go", HARNESS_SOURCE


def _go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOCACHE": str(CACHE / "gocache"),
        "GOWORK": "off",
    }


def _digest(go: str) -> str:
    digest = hashlib.sha256()
    toolchain = subprocess.run([go, "version"], capture_output=True, text=True, timeout=60, check=True)
    digest.update(toolchain.stdout.encode())
    for name, path in _input_files():
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def build() -> Path:
    """The harness binary, built once per set of inputs."""
    go = shutil.which("go")
    if go is None:
        _unavailable("go is not installed (apt-get install golang-go golang-gopkg-yaml.v3-dev)")
    if not (SHARED_CLI / "go.mod").is_file():
        _unavailable(f"the leger CLI's packages are missing: {SHARED_CLI}")
    if not HARNESS_SOURCE.is_file():
        pytest.fail(f"the harness source is missing: {HARNESS_SOURCE}")

    binary = CACHE / f"leger-harness-{_digest(go)[:16]}"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary

    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (pytest-xdist workers share the folder)
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
        src = CACHE / "src"
        shutil.rmtree(src, ignore_errors=True)
        for name, path in _input_files():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        partial = binary.with_name(binary.name + ".partial")
        result = subprocess.run(
            [go, "build", "-o", str(partial), PACKAGE],
            cwd=src,
            env=_go_env(),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"go build of the CLI harness failed:\n{result.stdout}{result.stderr}")
        partial.replace(binary)
        for old in CACHE.glob("leger-harness-*"):
            if old != binary:
                old.unlink(missing_ok=True)
    return binary


@dataclass
class Harness:
    """One fake machine: ``home`` is its $HOME, ``api_url`` its LEGER_API_URL, ``static_url`` the static host."""

    binary: Path
    home: Path
    api_url: str
    static_url: str | None = None

    def env(self) -> dict[str, str]:
        tmp = self.home / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        # No proxy variables and nothing else from the caller's environment; temp folders stay in home.
        return {
            "HOME": str(self.home),
            "LEGER_API_URL": self.api_url,
            "PATH": os.environ.get("PATH", os.defpath),
            "TMPDIR": str(tmp),
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"leger-harness {' '.join(args)} exited with {result.returncode}\n"
                f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
            )
        return result

    def login(
        self,
        *,
        user_id: int | str,
        login_name: str,
        device_ip: str,
        hostname: str,
        tailnet: str,
        web: str | None = None,
    ) -> dict[str, Any]:
        """``leger auth login``: token, token_type, expires_in, user_uuid, user_email, web_auth_url."""
        args = [
            "login",
            f"--user-id={user_id}",
            f"--login-name={login_name}",
            f"--device-ip={device_ip}",
            f"--hostname={hostname}",
            f"--tailnet={tailnet}",
        ]
        if web is not None:
            args.append(f"--web={web}")
        return json.loads(self.run(*args).stdout)

    def sync(self) -> list[str]:
        """``leger secrets sync``: the names stored in legerd's stand-in, ``home/legerd/leger/<uuid>/<name>``."""
        return self.run("sync").stdout.splitlines()

    def install(self, name: str = "default", source: str | Path | None = None, force: bool = False) -> dict[str, Any]:
        """``leger deploy install``: dir, quadlet_files, services, secrets, active_dir, units_dir."""
        args = ["install", name]
        if self.static_url is not None:
            args.append(f"--static={self.static_url}")
        if source is not None:
            args.append(f"--source={source}")
        if force:
            args.append("--force")
        return json.loads(self.run(*args).stdout)
