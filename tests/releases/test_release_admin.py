"""The admin of releases: list with status and version, files inline, error, and re-queuing failed cuts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from leger.releases import services
from leger.releases.models import Release
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft

catalog = setup.catalog
ready_user = setup.ready_user


@pytest.fixture(autouse=True)
def _local_store(settings, tmp_path) -> None:
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path


@pytest.fixture
def releases(ready_user: dict[str, Any], settings, tmp_path, django_capture_on_commit_callbacks) -> dict[str, Release]:
    user = ready_user["user"]
    with django_capture_on_commit_callbacks(execute=False):
        good = services.release_cut(release=minimal_draft(user, "good"), actor=user)
        bad = services.release_cut(release=minimal_draft(user, "bad"), actor=user)
    good = services.release_publish(release_id=good.pk)
    settings.LEGER_RELEASES_DIR = "/proc/leger-cannot-write-here"
    bad = services.release_publish(release_id=bad.pk)
    settings.LEGER_RELEASES_DIR = tmp_path
    assert (good.status, bad.status) == (Release.Status.PUBLISHED, Release.Status.FAILED)
    return {"good": good, "bad": bad, "draft": minimal_draft(user, "draft")}


def test_the_list_shows_status_version_owner_and_file_count(
    admin_client: Client, releases: dict[str, Release], django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(8):
        page = admin_client.get("/admin/releases/release/")
    assert page.status_code == 200
    text = page.content.decode()
    for name in ("good", "bad", "draft"):
        assert name in text
    assert "Published" in text and "Failed" in text and "Draft" in text
    page = admin_client.get("/admin/releases/release/?status__exact=failed")
    assert "bad" in page.content.decode() and "good v1" not in page.content.decode()


def test_a_release_page_shows_its_files_read_only_and_its_error(
    admin_client: Client, releases: dict[str, Release]
) -> None:
    good = admin_client.get(f"/admin/releases/release/{releases['good'].pk}/change/").content.decode()
    assert "openwebui.container" in good and "litellm-config.yaml" in good and "manifest.json" in good
    assert releases["good"].files.get(path="llm.network").sha256 in good
    bad = admin_client.get(f"/admin/releases/release/{releases['bad'].pk}/change/").content.decode()
    assert "Uploading to the local folder" in bad
    assert admin_client.get("/admin/releases/release/add/").status_code == 403


def test_the_action_queues_failed_releases_again_and_skips_the_others(
    admin_client: Client, releases: dict[str, Release], django_capture_on_commit_callbacks
) -> None:
    ids = [str(release.pk) for release in releases.values()]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = admin_client.post(
            "/admin/releases/release/", {"action": "requeue_failed", "_selected_action": ids}, follow=True
        )
    text = answer.content.decode()
    assert "Queued again: bad v2." in text
    assert "Skipped (only failed releases are queued again)" in text
    assert len(callbacks) == 1
    releases["bad"].refresh_from_db()
    assert releases["bad"].status == Release.Status.QUEUED and releases["bad"].error == ""
    releases["good"].refresh_from_db()
    assert releases["good"].status == Release.Status.PUBLISHED


def test_only_drafts_can_be_deleted_in_the_admin(admin_client: Client, releases: dict[str, Release]) -> None:
    assert admin_client.get(f"/admin/releases/release/{releases['good'].pk}/delete/").status_code == 403
    answer = admin_client.post(f"/admin/releases/release/{releases['draft'].pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not Release.objects.filter(pk=releases["draft"].pk).exists()


def test_promotions_and_owners_are_listed(admin_client: Client, releases: dict[str, Release]) -> None:
    page = admin_client.get("/admin/releases/promotion/")
    assert page.status_code == 200 and "good v1" in page.content.decode()
    page = admin_client.get("/admin/releases/owner/")
    assert page.status_code == 200 and "alice" in page.content.decode()
