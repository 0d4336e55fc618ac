"""Uploading a rendered release to the artifact store.

The layout the leger CLI reads::

    {owner_uuid}/v{N}/{file}            every file of release N
    {owner_uuid}/v{N}/manifest.json     written after every other file of N
    {owner_uuid}/latest/{file}          a complete copy of the latest release, written once N is complete,
    {owner_uuid}/latest/manifest.json   its manifest last; files the new latest no longer has go after it

The leger CLI installs ``latest`` by fetching ``latest/manifest.json`` and then every file it lists from the
same folder, so ``latest`` must hold every file, not only the manifest. Every step is an idempotent put, so a
publish that failed half-way can simply run again: it rewrites the same keys with the same bytes and only then
moves ``latest``. A reader that follows a version folder never sees a half-uploaded release.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from leger.lib.storage import ArtifactStore, StoreError, sha256_hex

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class UploadedFile:
    path: str
    size: int
    sha256: str


def version_prefix(owner_uuid: str, version: int) -> str:
    return f"{owner_uuid}/v{version}/"


def latest_prefix(owner_uuid: str) -> str:
    return f"{owner_uuid}/latest/"


def latest_key(owner_uuid: str) -> str:
    return latest_prefix(owner_uuid) + MANIFEST


def content_type_for(path: str) -> str:
    if path.endswith(".json"):
        return "application/json"
    if path.endswith((".yaml", ".yml")):
        return "application/yaml"
    return "text/plain; charset=utf-8"


def upload_release(
    *,
    store: ArtifactStore,
    owner_uuid: str,
    version: int,
    files: Mapping[str, bytes],
    manifest: bytes,
    progress: Callable[[int, int], None] | None = None,
) -> list[UploadedFile]:
    """Put every file, then the manifest. Does not touch ``latest``."""
    if MANIFEST in files:
        raise StoreError("A release file may not be called manifest.json: that name is the release's own manifest.")
    prefix = version_prefix(owner_uuid, version)
    uploaded: list[UploadedFile] = []
    total = len(files) + 1
    for done, path in enumerate(sorted(files), start=1):
        data = files[path]
        store.put(prefix + path, data, content_type=content_type_for(path))
        uploaded.append(UploadedFile(path=path, size=len(data), sha256=sha256_hex(data)))
        if progress:
            progress(done, total)
    store.put(prefix + MANIFEST, manifest, content_type="application/json")
    if progress:
        progress(total, total)
    return uploaded


def verify_release(*, store: ArtifactStore, owner_uuid: str, version: int, files: Mapping[str, bytes]) -> None:
    """Read back the manifest and check every file is in the store before ``latest`` moves."""
    prefix = version_prefix(owner_uuid, version)
    present = set(store.list(prefix))
    missing = sorted(path for path in [*files, MANIFEST] if prefix + path not in present)
    if missing:
        raise StoreError(f"Release v{version} is incomplete in {store.describe()}: missing {', '.join(missing)}.")


def point_latest(*, store: ArtifactStore, owner_uuid: str, files: Mapping[str, bytes], manifest: bytes) -> None:
    """Make ``latest/`` a copy of one complete release: its files, then its manifest, then drop the files the
    previous latest had and this one has not (after the manifest, so no manifest ever lists a missing file)."""
    prefix = latest_prefix(owner_uuid)
    before = set(store.list(prefix))
    for path in sorted(files):
        store.put(prefix + path, files[path], content_type=content_type_for(path))
    store.put(prefix + MANIFEST, manifest, content_type="application/json")
    for key in sorted(before - {prefix + path for path in [*files, MANIFEST]}):
        store.delete(key)
