"""Each owner's published releases as a Git repository, for ``leger deploy install [vN] --source URL``.

The leger CLI installs from an http(s) source with ``git clone --depth 1 URL`` and takes the files at the top of
the clone, so every published release becomes one commit whose tree is exactly its files (``manifest.json``
included, flat). Commits are made from the release rows alone (author, committer, date and message are fixed by
the release), so the same data gives the same commit ids on every machine and after every rebuild: the
repositories are a cache that can be deleted at any time, and two web servers with their own copy serve
identical histories.

Layout under ``settings.LEGER_GIT_DIR``::

    {uuid}.git -> {uuid}/all.git               made once; never changes
    {uuid}     -> .builds/{uuid}-{key}-{rand}   swapped with os.replace when what it was built from changes
    .builds/{uuid}-.../all.git                 tags vN, branch ``latest`` (the promoted release), HEAD -> latest
    .builds/{uuid}-.../v{N}.git                HEAD -> main -> vN's commit, objects through objects/info/alternates
    .builds/{uuid}-.../state.json              the key of the rows it was built from, and the commit ids
    .locks/{uuid}.lock                         one builder per owner at a time (fcntl)

Readers never take the lock: they see the old build or the new one, each complete. A replaced build stays on
disk for ``RETIRED_BUILD_SECONDS`` so a clone that began on it can finish.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db.models import Count, Max

from leger.releases.models import Owner, Promotion, Release, ReleaseFile

AUTHOR = b"Leger <releases@leger.invalid>"
# Part of the build key: bump it when the way commits are made changes, so every repository is rebuilt.
FORMAT = 1
# How long a replaced build is kept for the requests that started on it.
RETIRED_BUILD_SECONDS = 600
STATE_FILE = "state.json"
FULL_REPOSITORY = "all.git"


class RepositoryNotFound(LookupError):
    """Nothing to serve for this owner (or this version); the message is a sentence for the person cloning."""


@dataclass(frozen=True)
class _Published:
    id: int
    version: int
    name: str
    timestamp: int
    # A published release's files are written once, in one bulk insert (services._finish), so their number
    # and newest row id say whether they changed, without reading every row on every request.
    file_count: int
    last_file_id: int


@dataclass(frozen=True)
class _Sources:
    releases: tuple[_Published, ...]  # by version
    latest: int
    key: str

    @property
    def versions(self) -> set[int]:
        return {release.version for release in self.releases}


def owner_repository(owner: Owner) -> Path:
    """The bare repository of every published release of ``owner``, up to date with the database.

    Raises RepositoryNotFound when the owner has published nothing yet.
    """
    _ensure(owner)
    return _root() / f"{owner.uuid}.git"


def version_repository(owner: Owner, version: int) -> Path:
    """A bare repository whose default branch is ``owner``'s release ``version`` (for ``leger deploy install vN``).

    Raises RepositoryNotFound when the owner has published nothing, or not that version.
    """
    sources = _ensure(owner)
    if version not in sources.versions:
        raise RepositoryNotFound(f"There is no published release v{version} here.")
    return _root() / str(owner.uuid) / f"v{version}.git"


def git_environment() -> dict[str, str]:
    """The environment every ``git`` this module (and the HTTP view) runs gets: no system or user config."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(_root()),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


# --- what a build is made from -----------------------------------------------------------------------------------


def _root() -> Path:
    return Path(settings.LEGER_GIT_DIR)


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _sources(owner: Owner) -> _Sources:
    rows = (
        Release.objects.filter(owner_id=owner.user_id, status=Release.Status.PUBLISHED)
        .order_by("version")
        .annotate(file_count=Count("files"), last_file_id=Max("files__id"))
        .values_list("id", "version", "name", "published_at", "created_at", "file_count", "last_file_id")
    )
    releases = tuple(
        _Published(
            id=release_id,
            version=version,
            name=name,
            # A published release always has published_at; created_at only keeps an odd row buildable.
            timestamp=_timestamp(published_at or created_at),
            file_count=file_count,
            last_file_id=last_file_id or 0,
        )
        for release_id, version, name, published_at, created_at, file_count, last_file_id in rows
    )
    if not releases:
        return _Sources(releases=(), latest=0, key="")
    promoted = (
        Promotion.objects.filter(owner_id=owner.user_id, release__status=Release.Status.PUBLISHED)
        .values_list("release__version", flat=True)
        .first()
    )
    latest = promoted if promoted is not None else releases[-1].version
    described = {
        "format": FORMAT,
        "latest": latest,
        "releases": [[r.version, r.id, r.name, r.timestamp, r.file_count, r.last_file_id] for r in releases],
    }
    key = hashlib.sha256(json.dumps(described, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    return _Sources(releases=releases, latest=latest, key=key)


def _built_key(owner_dir: Path) -> str | None:
    try:
        return str(json.loads((owner_dir / STATE_FILE).read_text(encoding="utf-8"))["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _ensure(owner: Owner) -> _Sources:
    sources = _sources(owner)
    if not sources.releases:
        raise RepositoryNotFound("This owner has not published a release yet; publish one on /releases first.")
    root = _root()
    owner_dir = root / str(owner.uuid)
    # An unchanged owner costs this stat and this read.
    if (root / f"{owner.uuid}.git").exists() and _built_key(owner_dir) == sources.key:
        return sources
    with _owner_lock(root, str(owner.uuid)):
        if not ((root / f"{owner.uuid}.git").exists() and _built_key(owner_dir) == sources.key):
            _build(root, str(owner.uuid), sources)
    return sources


@contextmanager
def _owner_lock(root: Path, owner_uuid: str) -> Iterator[None]:
    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{owner_uuid}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- building ----------------------------------------------------------------------------------------------------


def _git(*args: str, cwd: Path, stdin: IO[bytes] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 (fixed program, arguments we made)
        ["git", *args],  # noqa: S607 (git from PATH, like every other program Leger runs)
        cwd=cwd,
        env=git_environment(),
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def _build(root: Path, owner_uuid: str, sources: _Sources) -> None:
    builds = root / ".builds"
    builds.mkdir(parents=True, exist_ok=True)
    target = builds / f"{owner_uuid}-{sources.key[:16]}-{secrets.token_hex(4)}"
    target.mkdir()
    try:
        commits = _build_full_repository(target / FULL_REPOSITORY, sources)
        for version, commit in commits.items():
            _write_version_repository(target / f"v{version}.git", commit)
        state = {"key": sources.key, "latest": sources.latest, "commits": {f"v{v}": c for v, c in commits.items()}}
        (target / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    _swap_in(root, owner_uuid, target)
    _sweep(builds, owner_uuid, keep=target)


def _build_full_repository(repository: Path, sources: _Sources) -> dict[int, str]:
    """Import every published release as a commit; the commit id of each version."""
    _git("init", "--bare", "--quiet", "--template=", "--initial-branch=latest", str(repository), cwd=repository.parent)
    # git http-backend offers receive-pack to an authenticated user unless told not to; the view refuses it too.
    _git("config", "http.receivepack", "false", cwd=repository)
    marks = repository / "leger-marks"
    with tempfile.TemporaryFile() as stream:
        _write_fast_import(stream, sources)
        stream.seek(0)
        _git("fast-import", "--quiet", "--done", f"--export-marks={marks}", cwd=repository, stdin=stream)
    by_mark = dict(line.split(" ", 1) for line in marks.read_text().splitlines())
    marks.unlink()
    # objects/info/packs and info/refs, for a client that falls back to the dumb protocol.
    _git("update-server-info", cwd=repository)
    return {release.version: by_mark[f":{index}"].strip() for index, release in enumerate(sources.releases, start=1)}


def _quoted(path: str) -> bytes:
    """A path in fast-import's C-style quotes, so no file name can be read as a command."""
    out = bytearray(b'"')
    for byte in path.encode("utf-8"):
        if byte in (0x22, 0x5C):
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b'"')


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _write_fast_import(stream: IO[bytes], sources: _Sources) -> None:
    contents: dict[int, list[tuple[str, str]]] = {}
    ids = [release.id for release in sources.releases]
    for release_id, path, content in (
        ReleaseFile.objects.filter(release_id__in=ids)
        .order_by("release_id", "path")
        .values_list("release_id", "path", "content")
    ):
        contents.setdefault(release_id, []).append((path, content))
    stream.write(b"feature done\n")
    latest_mark = 0
    for index, release in enumerate(sources.releases, start=1):
        when = b"%d +0000" % release.timestamp
        stream.write(b"commit refs/tags/v%d\nmark :%d\n" % (release.version, index))
        stream.write(b"author %s %s\ncommitter %s %s\n" % (AUTHOR, when, AUTHOR, when))
        stream.write(_data(f"v{release.version}: {release.name}\n".encode()))
        if index > 1:
            stream.write(b"from :%d\n" % (index - 1))
        # The tree is exactly this release's files, whatever the parent held.
        stream.write(b"deleteall\n")
        for path, content in contents.get(release.id, []):
            stream.write(b"M 100644 inline %s\n" % _quoted(path))
            stream.write(_data(content.encode("utf-8")))
        stream.write(b"\n")
        if release.version == sources.latest:
            latest_mark = index
    stream.write(b"reset refs/heads/latest\nfrom :%d\n\ndone\n" % latest_mark)


def _write_version_repository(repository: Path, commit: str) -> None:
    """A repository of one branch, sharing the full repository's objects (a few hundred bytes on disk)."""
    (repository / "objects" / "info").mkdir(parents=True)
    (repository / "objects" / "pack").mkdir()
    (repository / "refs" / "heads").mkdir(parents=True)
    (repository / "refs" / "tags").mkdir()
    # Relative to this objects folder, so the build can move (and be reached through the {uuid} symlink).
    (repository / "objects" / "info" / "alternates").write_text(f"../../{FULL_REPOSITORY}/objects\n")
    (repository / "refs" / "heads" / "main").write_text(f"{commit}\n")
    (repository / "HEAD").write_text("ref: refs/heads/main\n")
    (repository / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n[http]\n\treceivepack = false\n"
    )


def _swap_in(root: Path, owner_uuid: str, target: Path) -> None:
    link = root / owner_uuid
    previous: Path | None = None
    if link.is_symlink():
        previous = root / os.readlink(link)
    elif link.exists():
        shutil.rmtree(link)  # not ours (a hand-made folder): a build replaces it
    staged = root / f".{owner_uuid}.{secrets.token_hex(4)}.link"
    staged.symlink_to(os.path.relpath(target, root))
    os.replace(staged, link)
    if previous is not None and previous.exists():
        # Marks when it was retired: _sweep keeps it that long for requests still reading it.
        os.utime(previous)
    repository = root / f"{owner_uuid}.git"
    if not repository.is_symlink() or os.readlink(repository) != f"{owner_uuid}/{FULL_REPOSITORY}":
        staged = root / f".{owner_uuid}.{secrets.token_hex(4)}.git"
        staged.symlink_to(f"{owner_uuid}/{FULL_REPOSITORY}")
        if repository.exists() and not repository.is_symlink():
            shutil.rmtree(repository)
        os.replace(staged, repository)


def _sweep(builds: Path, owner_uuid: str, *, keep: Path) -> None:
    """Delete this owner's builds retired (or abandoned) more than RETIRED_BUILD_SECONDS ago."""
    cutoff = time.time() - RETIRED_BUILD_SECONDS
    for build in builds.glob(f"{owner_uuid}-*"):
        if build != keep and _mtime(build) < cutoff:
            shutil.rmtree(build, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


__all__ = [
    "RepositoryNotFound",
    "git_environment",
    "owner_repository",
    "version_repository",
]
