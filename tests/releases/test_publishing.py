from __future__ import annotations

from pathlib import Path

import pytest

from leger.lib.storage import LocalStore, StoreError, get_store
from leger.releases.publishing import latest_key, latest_prefix, point_latest, upload_release, verify_release

FILES = {
    "llm.network": b"[Network]\n",
    "openwebui.container": b"[Container]\nImage=x\n",
    "litellm-config.yaml": b"{}\n",
}
# The release before: one file more (an add-on since removed), and other bytes in a file both have.
OLD_FILES = {**FILES, "openwebui.container": b"[Container]\nImage=old\n", "searxng-settings.yml": b"a: 1\n"}


def latest(store, owner_uuid: str = "u1") -> dict[str, bytes]:
    """Everything under latest/, by the path the CLI asks for."""
    prefix = latest_prefix(owner_uuid)
    return {key.removeprefix(prefix): store.get(key) for key in store.list(prefix)}


class Recording:
    """A real store that writes down each put and delete, in order."""

    def __init__(self, store) -> None:
        self.store, self.calls = store, []

    def put(self, key, data, **kwargs):
        self.calls.append(("put", key, kwargs.get("content_type")))
        return self.store.put(key, data, **kwargs)

    def delete(self, key):
        self.calls.append(("delete", key, None))
        return self.store.delete(key)

    def __getattr__(self, name):
        return getattr(self.store, name)


class FailingAfter:
    """A real store that starts refusing puts after `n` of them, like a bucket dropping mid-upload."""

    def __init__(self, store, n: int) -> None:
        self.store, self.n = store, n

    def put(self, key, data, **kwargs):
        if self.n == 0:
            raise StoreError(f"Could not upload {key!r}: connection reset")
        self.n -= 1
        return self.store.put(key, data, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_it_uploads_every_file_then_the_manifest_last(s3_bucket: str) -> None:
    store = get_store()
    order: list[tuple[int, int]] = []
    uploaded = upload_release(
        store=store,
        owner_uuid="u1",
        version=3,
        files=FILES,
        manifest=b'{"version": 3}',
        progress=lambda d, t: order.append((d, t)),
    )
    assert [f.path for f in uploaded] == sorted(FILES)
    assert store.list("u1/v3/") == sorted(f"u1/v3/{p}" for p in [*FILES, "manifest.json"])
    assert order[-1] == (4, 4)
    verify_release(store=store, owner_uuid="u1", version=3, files=FILES)
    assert not store.exists(latest_key("u1"))


def test_a_store_failing_mid_upload_leaves_latest_where_it_was_and_a_retry_completes(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    point_latest(store=store, owner_uuid="u1", files=OLD_FILES, manifest=b'{"version": 1}')
    before = latest(store)
    assert before == {**OLD_FILES, "manifest.json": b'{"version": 1}'}
    with pytest.raises(StoreError):
        upload_release(
            store=FailingAfter(store, 2), owner_uuid="u1", version=2, files=FILES, manifest=b'{"version": 2}'
        )
    with pytest.raises(StoreError, match="missing"):
        verify_release(store=store, owner_uuid="u1", version=2, files=FILES)
    assert latest(store) == before

    upload_release(store=store, owner_uuid="u1", version=2, files=FILES, manifest=b'{"version": 2}')
    verify_release(store=store, owner_uuid="u1", version=2, files=FILES)
    point_latest(store=store, owner_uuid="u1", files=FILES, manifest=b'{"version": 2}')
    # latest/ is a complete copy of v2: every file the CLI fetches from it, and nothing v2 no longer has.
    assert latest(store) == {**FILES, "manifest.json": b'{"version": 2}'}
    assert store.get(latest_key("u1")) == b'{"version": 2}'


def test_latest_gets_every_file_then_the_manifest_and_only_then_loses_the_old_files(tmp_path: Path) -> None:
    store = Recording(LocalStore(tmp_path))
    point_latest(store=store.store, owner_uuid="u1", files=OLD_FILES, manifest=b'{"version": 1}')
    point_latest(store=store, owner_uuid="u1", files=FILES, manifest=b'{"version": 2}')
    assert store.calls == [
        *(
            ("put", f"u1/latest/{path}", content)
            for path, content in [
                ("litellm-config.yaml", "application/yaml"),
                ("llm.network", "text/plain; charset=utf-8"),
                ("openwebui.container", "text/plain; charset=utf-8"),
            ]
        ),
        ("put", "u1/latest/manifest.json", "application/json"),
        # After the manifest, so no manifest in latest/ ever lists a file that is not there.
        ("delete", "u1/latest/searxng-settings.yml", None),
    ]
    # Pointed again at the same release: nothing is deleted and latest/ stays the same.
    store.calls.clear()
    point_latest(store=store, owner_uuid="u1", files=FILES, manifest=b'{"version": 2}')
    assert [call for call in store.calls if call[0] == "delete"] == []
    assert latest(store) == {**FILES, "manifest.json": b'{"version": 2}'}


def test_latest_failing_half_way_keeps_the_old_manifest_and_its_files_and_a_retry_completes(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    point_latest(store=store, owner_uuid="u1", files=OLD_FILES, manifest=b'{"version": 1}')
    with pytest.raises(StoreError):
        point_latest(store=FailingAfter(store, 2), owner_uuid="u1", files=FILES, manifest=b'{"version": 2}')
    # The manifest still says v1 and every file it names is still there: nothing was deleted.
    assert store.get(latest_key("u1")) == b'{"version": 1}'
    assert set(latest(store)) == {*OLD_FILES, "manifest.json"}
    point_latest(store=store, owner_uuid="u1", files=FILES, manifest=b'{"version": 2}')
    assert latest(store) == {**FILES, "manifest.json": b'{"version": 2}'}


def test_latest_of_one_owner_leaves_the_others_and_the_version_folders_alone(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    upload_release(store=store, owner_uuid="u1", version=1, files=OLD_FILES, manifest=b'{"version": 1}')
    point_latest(store=store, owner_uuid="u2", files=OLD_FILES, manifest=b'{"version": 1}')
    point_latest(store=store, owner_uuid="u1", files=OLD_FILES, manifest=b'{"version": 1}')
    point_latest(store=store, owner_uuid="u1", files=FILES, manifest=b'{"version": 2}')
    assert latest(store, "u2") == {**OLD_FILES, "manifest.json": b'{"version": 1}'}
    verify_release(store=store, owner_uuid="u1", version=1, files=OLD_FILES)
    assert store.exists("u1/v1/searxng-settings.yml")


def test_a_file_may_not_shadow_the_manifest(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"manifest\.json"):
        upload_release(
            store=LocalStore(tmp_path), owner_uuid="u", version=1, files={"manifest.json": b"{}"}, manifest=b"{}"
        )
