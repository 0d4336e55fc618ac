"""/api/v1/releases/: drafts, cut, clone, promote, retry, files, archive, diff; owners only."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

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
def api(ready_user: dict[str, Any]) -> APIClient:
    client = APIClient()
    client.force_authenticate(ready_user["user"])
    return client


@pytest.fixture
def bob_api(bob: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(bob)
    return client


def published(user: User, capture, name: str = "home", **inputs: Any) -> Release:  # type: ignore[no-untyped-def]
    release = minimal_draft(user, name)
    if inputs:
        release = services.release_update(release=release, **inputs)
    with capture(execute=False):
        release = services.release_cut(release=release, actor=user)
    release = services.release_publish(release_id=release.pk)
    assert release.status == Release.Status.PUBLISHED, release.error
    return release


def test_it_creates_a_draft_with_its_answers(api: APIClient) -> None:
    answer = api.post(
        "/api/v1/releases/",
        {"name": "home", "models": [{"model": "claude-haiku-4.5"}], "openwebui": {"WEBUI_NAME": "Home AI"}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["name"] == "home" and body["status"] == "draft" and body["version"] is None
    assert body["models"] == [{"model": "claude-haiku-4.5", "provider": None}]
    assert body["openwebui"] == {"WEBUI_NAME": "Home AI"}
    assert body["services"] == [] and body["routes"] == {}
    assert body["manifest_url"] is None and body["error"] == "" and body["latest"] is False


def test_a_draft_with_a_problem_is_not_created_and_the_answer_says_what_to_change(api: APIClient) -> None:
    answer = api.post(
        "/api/v1/releases/",
        {"name": "home", "models": [{"model": "gpt-4o-mini"}], "routes": {"openwebui": {"port": 0}}},
        format="json",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert "add one on /providers" in body["models"][0]
    assert "port is a whole number from 1 to 65535" in body["routes"][0]
    assert not Release.objects.exists()
    assert api.post("/api/v1/releases/", {"models": []}, format="json").json() == {
        "name": ["Give the release a name, e.g. “home”."]
    }


def test_patch_changes_a_draft_and_a_cut_release_answers_409(
    api: APIClient, ready_user: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    draft = minimal_draft(ready_user["user"])
    answer = api.patch(f"/api/v1/releases/{draft.pk}/", {"name": "renamed", "services": []}, format="json")
    assert answer.status_code == 200 and answer.json()["name"] == "renamed"

    release = published(ready_user["user"], django_capture_on_commit_callbacks)
    answer = api.patch(f"/api/v1/releases/{release.pk}/", {"name": "changed"}, format="json")
    assert answer.status_code == 409
    assert "clone it into a new draft" in answer.json()["detail"]
    release.refresh_from_db()
    assert release.name == "home"
    assert api.delete(f"/api/v1/releases/{release.pk}/").status_code == 409
    assert api.delete(f"/api/v1/releases/{draft.pk}/").status_code == 204


def test_cut_answers_202_with_the_release_queued(
    api: APIClient, ready_user: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    draft = minimal_draft(ready_user["user"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = api.post(f"/api/v1/releases/{draft.pk}/cut/")
    assert answer.status_code == 202
    assert (answer.json()["status"], answer.json()["version"]) == ("queued", 1)
    assert len(callbacks) == 1


def test_a_cut_that_is_not_ready_answers_400_with_every_problem(api: APIClient, ready_user: dict[str, Any]) -> None:
    draft = services.release_create(owner=ready_user["user"], name="empty")
    answer = api.post(f"/api/v1/releases/{draft.pk}/cut/")
    assert answer.status_code == 400
    assert answer.json() == {"non_field_errors": ["Models: Choose at least one model for the stack to serve."]}


def test_another_users_release_answers_404_everywhere(bob_api: APIClient, ready_user: dict[str, Any]) -> None:
    draft = minimal_draft(ready_user["user"])
    url = f"/api/v1/releases/{draft.pk}/"
    assert bob_api.get("/api/v1/releases/").json()["count"] == 0
    assert bob_api.get(url).status_code == 404
    assert bob_api.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert bob_api.delete(url).status_code == 404
    for action in ("cut", "clone", "promote", "retry"):
        assert bob_api.post(f"{url}{action}/").status_code == 404
    for action in ("files", "archive", "diff"):
        assert bob_api.get(f"{url}{action}/?against={draft.pk}").status_code == 404
    draft.refresh_from_db()
    assert draft.name == "home" and draft.status == Release.Status.DRAFT


def test_it_needs_authentication() -> None:
    assert APIClient().get("/api/v1/releases/").status_code in (401, 403)


def test_files_archive_diff_promote_and_clone(
    api: APIClient, ready_user: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    first = published(user, django_capture_on_commit_callbacks)
    second = published(user, django_capture_on_commit_callbacks, openwebui={"WEBUI_NAME": "Second"})

    files = api.get(f"/api/v1/releases/{second.pk}/files/").json()
    assert {"path", "sha256", "size", "content"} == set(files[0])
    assert {f["path"] for f in files} >= {"openwebui.container", "litellm-config.yaml", "manifest.json", "llm.network"}
    unit = next(f for f in files if f["path"] == "openwebui.container")
    assert 'Environment="WEBUI_NAME=Second"' in unit["content"] and unit["size"] == len(unit["content"].encode())

    archive = api.get(f"/api/v1/releases/{second.pk}/archive/")
    assert archive.status_code == 200 and archive["Content-Type"] == "application/gzip"
    assert archive["Content-Disposition"] == 'attachment; filename="home-v2.tar.gz"'
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == sorted(f"home-v2/{f['path']}" for f in files)

    diff = api.get(f"/api/v1/releases/{second.pk}/diff/?against={first.pk}").json()
    assert (diff["release"], diff["against"]) == (second.pk, first.pk)
    assert diff["added"] == [] and diff["removed"] == []
    unit_diff = next(d["diff"] for d in diff["changed"] if d["path"] == "openwebui.container")
    assert '-Environment="WEBUI_NAME=Leger AI"' in unit_diff and '+Environment="WEBUI_NAME=Second"' in unit_diff
    assert api.get(f"/api/v1/releases/{second.pk}/diff/").status_code == 400

    listed = {r["id"]: r for r in api.get("/api/v1/releases/").json()["results"]}
    assert (listed[first.pk]["latest"], listed[second.pk]["latest"]) == (False, True)
    promoted = api.post(f"/api/v1/releases/{first.pk}/promote/")
    assert promoted.status_code == 200
    assert promoted.json()["version"] == 1 and promoted.json()["promoted_by"] == user.get_username()
    assert api.get(f"/api/v1/releases/{first.pk}/").json()["latest"] is True

    clone = api.post(f"/api/v1/releases/{second.pk}/clone/")
    assert clone.status_code == 201
    assert clone.json()["status"] == "draft" and clone.json()["cloned_from"] == second.pk
    assert clone.json()["openwebui"] == {"WEBUI_NAME": "Second"}

    draft = minimal_draft(user, "draft")
    assert api.get(f"/api/v1/releases/{draft.pk}/archive/").status_code == 409
    assert api.get(f"/api/v1/releases/{draft.pk}/files/").json() == []
    assert api.post(f"/api/v1/releases/{draft.pk}/promote/").status_code == 400


def test_retry_queues_a_failed_release_again(
    api: APIClient, ready_user: dict[str, Any], settings, django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    release = minimal_draft(user)
    with django_capture_on_commit_callbacks(execute=False):
        services.release_cut(release=release, actor=user)
    settings.LEGER_RELEASES_DIR = "/proc/leger-cannot-write-here"
    release = services.release_publish(release_id=release.pk)
    assert release.status == Release.Status.FAILED
    assert api.get(f"/api/v1/releases/{release.pk}/").json()["error"].startswith("Uploading to the local folder")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = api.post(f"/api/v1/releases/{release.pk}/retry/")
    assert answer.status_code == 202 and answer.json()["status"] == "queued" and answer.json()["error"] == ""
    assert len(callbacks) == 1
    draft = minimal_draft(user, "draft")
    assert api.post(f"/api/v1/releases/{draft.pk}/retry/").json() == {
        "non_field_errors": ["Only a failed release can be retried; this one is draft."]
    }


def test_the_list_answers_in_a_constant_number_of_queries(
    api: APIClient, ready_user: dict[str, Any], django_capture_on_commit_callbacks, django_assert_max_num_queries
) -> None:
    user = ready_user["user"]
    published(user, django_capture_on_commit_callbacks)
    minimal_draft(user, "draft")
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/releases/").json()["count"] == 2
    for index in range(4):
        published(user, django_capture_on_commit_callbacks, name=f"more {index}")
        minimal_draft(user, f"draft {index}")
    with django_assert_max_num_queries(4):
        body = api.get("/api/v1/releases/").json()
    assert body["count"] == 10
    assert {"count", "next", "previous", "results"} == set(body)


def test_the_schema_describes_the_release_endpoints(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/releases/", "/api/v1/releases/{id}/cut/", "/api/v1/releases/{id}/diff/"):
        assert path in text
