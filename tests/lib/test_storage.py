from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from leger.lib.storage import LocalStore, S3Store, StoreError, get_store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path):
    if request.param == "local":
        return LocalStore(tmp_path / "releases")
    request.getfixturevalue("s3_bucket")
    store = get_store()
    assert isinstance(store, S3Store)
    return store


def test_it_stores_reads_and_lists_objects_under_a_prefix(store) -> None:
    store.put("owner/v1/llm.network", b"[Network]\n")
    store.put("owner/v1/manifest.json", b"{}")
    store.put("owner/v10/manifest.json", b"{}")
    store.put("other/v1/manifest.json", b"{}")
    assert store.get("owner/v1/llm.network") == b"[Network]\n"
    assert store.list("owner/v1/") == ["owner/v1/llm.network", "owner/v1/manifest.json"]
    assert store.exists("owner/v1/manifest.json")
    assert not store.exists("owner/v2/manifest.json")


def test_putting_a_key_twice_keeps_the_last_content(store) -> None:
    store.put("owner/latest/manifest.json", b"1")
    store.put("owner/latest/manifest.json", b"2")
    assert store.get("owner/latest/manifest.json") == b"2"
    assert store.list("owner/latest/") == ["owner/latest/manifest.json"]


def test_reading_a_missing_key_says_which_and_where(store) -> None:
    with pytest.raises(StoreError, match=re.escape("owner/v9/manifest.json")):
        store.get("owner/v9/manifest.json")


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a"])
def test_it_refuses_keys_that_could_escape_the_layout(store, key: str) -> None:
    with pytest.raises(StoreError, match="Refusing the object key"):
        store.put(key, b"x")


def test_a_private_bucket_hands_out_a_presigned_url_that_works(s3_bucket: str) -> None:
    store = get_store()
    store.put("owner/v1/manifest.json", b'{"version": 1}')
    url = store.url("owner/v1/manifest.json")
    assert "Signature" in url or "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b'{"version": 1}'


def test_without_a_bucket_releases_go_to_the_local_folder(settings, tmp_path: Path) -> None:
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path / "out"
    store = get_store()
    store.put("u/v1/Caddyfile", b":80\n")
    assert (tmp_path / "out" / "u" / "v1" / "Caddyfile").read_bytes() == b":80\n"


def test_an_unreachable_bucket_fails_with_a_store_error_without_credentials(settings) -> None:
    from tests.services import free_port

    store = S3Store(
        bucket="nowhere",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id="AKIAEXAMPLE",
        secret_access_key="very-secret-value",
    )
    with pytest.raises(StoreError) as caught:
        store.put("u/v1/x", b"x")
    assert "very-secret-value" not in str(caught.value)
    assert "nowhere" in str(caught.value)


def test_a_local_folder_that_cannot_be_written_fails_with_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "releases"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="Could not write"):
        LocalStore(blocker).put("u/v1/llm.network", b"[Network]\n")
