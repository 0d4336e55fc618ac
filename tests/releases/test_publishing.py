from __future__ import annotations

from pathlib import Path

import pytest

from leger.lib.storage import LocalStore, StoreError, get_store
from leger.releases.publishing import latest_key, point_latest, upload_release, verify_release

FILES = {
    "llm.network": b"[Network]\n",
    "openwebui.container": b"[Container]\nImage=x\n",
    "litellm/config.yaml": b"{}\n",
}


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
    point_latest(store=store, owner_uuid="u1", manifest=b'{"version": 1}')
    with pytest.raises(StoreError):
        upload_release(
            store=FailingAfter(store, 2), owner_uuid="u1", version=2, files=FILES, manifest=b'{"version": 2}'
        )
    with pytest.raises(StoreError, match="missing"):
        verify_release(store=store, owner_uuid="u1", version=2, files=FILES)
    assert store.get(latest_key("u1")) == b'{"version": 1}'

    upload_release(store=store, owner_uuid="u1", version=2, files=FILES, manifest=b'{"version": 2}')
    verify_release(store=store, owner_uuid="u1", version=2, files=FILES)
    point_latest(store=store, owner_uuid="u1", manifest=b'{"version": 2}')
    assert store.get(latest_key("u1")) == b'{"version": 2}'


def test_a_file_may_not_shadow_the_manifest(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"manifest\.json"):
        upload_release(
            store=LocalStore(tmp_path), owner_uuid="u", version=1, files={"manifest.json": b"{}"}, manifest=b"{}"
        )
