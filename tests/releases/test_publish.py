"""Publishing in this process against a real S3 endpoint on loopback (moto's server).

The cut queues the Celery task with ``transaction.on_commit``; here the test runs the task's body
(``release_publish``) itself, so it can hand it a store that fails the way a real bucket does.
End to end through a real worker: test_publish_worker.py.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.request
from typing import Any

import boto3
import pytest
from django.contrib.auth.models import User

from leger.lib.storage import StoreError, get_store, sha256_hex
from leger.releases import selectors, services
from leger.releases.manifest import build_manifest, manifest_json
from leger.releases.models import Promotion, Release, ReleaseFile
from leger.releases.publishing import latest_key, latest_prefix
from leger.releases.rendering import render
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import full_draft, minimal_draft, select
from tests.services import S3_ENV

# The shared fixtures; pytest finds them by name in this module.
catalog = setup.catalog
full_user = setup.full_user
ready_user = setup.ready_user


class FailingAfter:
    """The real store, refusing every put after the first ``n``: a bucket dropping mid-upload."""

    def __init__(self, store: Any, n: int) -> None:
        self.store, self.n, self.puts = store, n, 0

    def put(self, key: str, data: bytes, **kwargs: Any) -> None:
        if self.puts >= self.n:
            raise StoreError(f"Could not upload {key!r}: connection reset by peer")
        self.puts += 1
        self.store.put(key, data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class Watching:
    """The real store, noting the release's status and progress as each object arrives."""

    def __init__(self, store: Any, release: Release) -> None:
        self.store, self.release, self.seen = store, release, []

    def put(self, key: str, data: bytes, **kwargs: Any) -> None:
        row = Release.objects.values("status", "progress").get(pk=self.release.pk)
        self.seen.append((key, row["status"], row["progress"]))
        self.store.put(key, data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def bucket(s3_bucket: str, moto_server) -> dict[str, Any]:
    client = boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=S3_ENV["LEGER_S3_REGION"],
        aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
    )

    def objects(prefix: str = "") -> dict[str, bytes]:
        listed = client.list_objects_v2(Bucket=s3_bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=s3_bucket, Key=o["Key"])["Body"].read() for o in listed}

    return {"name": s3_bucket, "client": client, "objects": objects}


def cut(release: Release, user: User, capture) -> Release:  # type: ignore[no-untyped-def]
    with capture(execute=False) as callbacks:
        release = services.release_cut(release=release, actor=user)
    assert release.status == Release.Status.QUEUED
    assert len(callbacks) == 1, "the cut queues exactly one publish task, after its transaction commits"
    return release


def publish(release: Release, **kwargs: Any) -> Release:
    return services.release_publish(release_id=release.pk, **kwargs)


def test_a_cut_release_lands_in_the_bucket_with_a_manifest_its_files_match(
    full_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = full_user["user"]
    release = cut(full_draft(full_user), user, django_capture_on_commit_callbacks)
    watching = Watching(get_store(), release)
    release = publish(release, store=watching)

    assert release.status == Release.Status.PUBLISHED, release.error
    assert release.progress == 100 and release.error == ""
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    prefix = f"{owner_uuid}/v1/"
    objects = bucket["objects"](prefix)
    manifest = json.loads(objects[prefix + "manifest.json"])

    # The fields the leger CLI's reader needs (DESIGN.md).
    assert manifest["version"] == 1
    assert manifest["created_at"] == release.snapshot["release"]["cut_at"]
    assert manifest["user_uuid"] == owner_uuid
    assert manifest["name"] == "everything"
    for key in ("services", "volumes", "networks", "secrets"):
        assert manifest[key], key
    for service in manifest["services"]:
        assert service["type"] == "container"
        assert service["files"] and service["image"]
        assert isinstance(service["depends_on"], list) and isinstance(service["ports"], list)
        assert isinstance(service["secrets_required"], list)
        unit = objects[prefix + f"{service['name']}.container"]
        assert service["checksum"] == f"sha256:{sha256_hex(unit)}"
    assert {s["name"] for s in manifest["services"]} >= {"openwebui", "litellm", "llama-swap", "searxng", "qdrant"}
    for secret in manifest["secrets"]:
        assert set(secret) >= {"name", "type", "target", "required"}

    # Every file the manifest lists is in the bucket with that checksum, and nothing else is.
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(objects) == {prefix + path for path in listed} | {prefix + "manifest.json"}
    for path, entry in listed.items():
        assert sha256_hex(objects[prefix + path]) == entry["sha256"]
        assert len(objects[prefix + path]) == entry["size"]

    # latest/ is a complete copy of v1 (the CLI fetches latest/manifest.json, then each file it lists from
    # latest/), and the release's rows hold exactly what was uploaded.
    latest = latest_prefix(owner_uuid)
    assert {key.removeprefix(latest): data for key, data in bucket["objects"](latest).items()} == {
        key.removeprefix(prefix): data for key, data in objects.items()
    }
    rows = {f.path: f for f in selectors.release_files(release=release)}
    assert {prefix + path for path in rows} == set(objects)
    for path, row in rows.items():
        assert row.content.encode() == objects[prefix + path]
        assert row.sha256 == sha256_hex(objects[prefix + path]) and row.size == len(objects[prefix + path])
    # Each config file's row names the Podman secret the CLI creates from it; units and the manifest name none.
    file_secrets = {s["file"]: s["name"] for s in manifest["secrets"] if s["source"] == "file"}
    assert set(file_secrets) == {
        "Caddyfile",
        "cockpit-cockpit.conf",
        "litellm-config.yaml",
        "llama-swap-config.yaml",
        "searxng-settings.yml",
    }
    assert {path: row.secret_name for path, row in rows.items() if row.secret_name} == file_secrets
    assert release.manifest_key == prefix + "manifest.json"
    promotion = Promotion.objects.get()
    assert (promotion.release, promotion.promoted_by) == (release, user)

    # The version's manifest is written after its files; then latest/ gets every file and its manifest last.
    keys = [key for key, _, _ in watching.seen]
    done = keys.index(prefix + "manifest.json")
    assert sorted(keys[:done]) == sorted(prefix + path for path in listed)
    assert keys[done + 1 :] == [latest + path for path in sorted(listed)] + [latest_key(owner_uuid)]
    # Progress only grows while uploading.
    uploading = [progress for key, status, progress in watching.seen if key.startswith(prefix)]
    assert {status for _, status, _ in watching.seen} == {Release.Status.UPLOADING}
    assert uploading == sorted(uploading) and uploading[0] >= services.PROGRESS_UPLOADING

    # The manifest URL is presigned for the private bucket and answers with the manifest.
    url = selectors.release_manifest_url(release=release)
    assert "Signature=" in url and "Expires=" in url
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == objects[prefix + "manifest.json"]


def test_no_stored_key_value_reaches_any_uploaded_byte(
    full_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = full_user["user"]
    release = publish(cut(full_draft(full_user), user, django_capture_on_commit_callbacks))
    assert release.status == Release.Status.PUBLISHED, release.error
    objects = bucket["objects"]()
    assert len(objects) > 30
    stored = [json.dumps(release.snapshot), *(f.content for f in ReleaseFile.objects.all())]
    for value in full_user["secret_values"]:
        assert len(value) > 30
        for key, data in objects.items():
            assert value.encode() not in data, f"a key value leaked into {key}"
        for text in stored:
            assert value not in text
    # What the machine needs instead: the secret names, as placeholders.
    env = objects[f"{release.snapshot['release']['owner_uuid']}/v1/litellm-config.yaml"].decode()
    assert "os.environ/ANTHROPIC_API_KEY" in env


def test_the_stored_snapshot_renders_the_same_bytes_again(
    full_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    release = publish(cut(full_draft(full_user), full_user["user"], django_capture_on_commit_callbacks))
    snapshot = json.loads(json.dumps(release.snapshot))  # as read back from the database
    files = render(snapshot)
    assert files == render(snapshot)
    rows = {f.path: f.content for f in selectors.release_files(release=release)}
    assert rows.pop("manifest.json") == manifest_json(build_manifest(snapshot, files))
    assert rows == files
    prefix = f"{snapshot['release']['owner_uuid']}/v1/"
    objects = bucket["objects"](prefix)
    assert {path: text.encode() for path, text in files.items()} == {
        key.removeprefix(prefix): data for key, data in objects.items() if not key.endswith("/manifest.json")
    }


def test_a_bucket_failing_mid_upload_fails_the_release_keeps_latest_and_a_retry_publishes(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    first = publish(cut(minimal_draft(user, "v1"), user, django_capture_on_commit_callbacks))
    owner_uuid = first.snapshot["release"]["owner_uuid"]
    latest_before = bucket["objects"](latest_key(owner_uuid))[latest_key(owner_uuid)]

    second = cut(minimal_draft(user, "v2"), user, django_capture_on_commit_callbacks)
    second = publish(second, store=FailingAfter(get_store(), 5))

    assert second.status == Release.Status.FAILED
    second.refresh_from_db()
    assert second.status == Release.Status.FAILED
    assert "connection reset by peer" in second.error
    assert "latest still points where it did" in second.error
    assert bucket["objects"](latest_key(owner_uuid))[latest_key(owner_uuid)] == latest_before
    assert f"{owner_uuid}/v2/manifest.json" not in bucket["objects"](f"{owner_uuid}/v2/")
    assert selectors.latest_release(owner=user) == first
    assert not ReleaseFile.objects.filter(release=second).exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = services.release_retry(release=second)
    assert second.status == Release.Status.QUEUED and len(callbacks) == 1
    second = publish(second)
    assert second.status == Release.Status.PUBLISHED, second.error
    latest = json.loads(bucket["objects"](latest_key(owner_uuid))[latest_key(owner_uuid)])
    assert latest["version"] == 2
    assert selectors.latest_release(owner=user) == second


def test_a_bucket_that_does_not_exist_fails_the_release_with_the_reason(
    ready_user: dict[str, Any], bucket: dict[str, Any], settings, django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    release = cut(minimal_draft(user), user, django_capture_on_commit_callbacks)
    settings.LEGER_S3_BUCKET = "leger-no-such-bucket"
    release = publish(release)
    assert release.status == Release.Status.FAILED
    assert "leger-no-such-bucket" in release.error and "NoSuchBucket" in release.error
    # The store's reason ends its own sentence before what Leger adds.
    assert re.search(r"[.!?] Nothing moved: latest still points where it did\. Retry", release.error), release.error
    assert S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"] not in release.error
    assert not Promotion.objects.exists()

    settings.LEGER_S3_BUCKET = bucket["name"]
    with django_capture_on_commit_callbacks(execute=False):
        services.release_retry(release=release)
    assert publish(release).status == Release.Status.PUBLISHED


def test_a_store_error_before_the_last_try_is_raised_for_the_task_to_retry(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    release = cut(minimal_draft(user), user, django_capture_on_commit_callbacks)
    with pytest.raises(StoreError):
        publish(release, store=FailingAfter(get_store(), 0), final=False)
    release.refresh_from_db()
    assert release.status == Release.Status.UPLOADING
    assert "Trying again shortly" in release.error
    assert publish(release).status == Release.Status.PUBLISHED


def test_files_that_fail_validation_fail_the_release_naming_file_and_line(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    release = cut(minimal_draft(user), user, django_capture_on_commit_callbacks)
    # A snapshot whose Open WebUI default model is one LiteLLM does not serve (as a changed renderer could make).
    snapshot = release.snapshot
    snapshot["openwebui"]["DEFAULT_MODELS"] = "gpt-9"
    Release.objects.filter(pk=release.pk).update(snapshot=snapshot)
    release = publish(release)
    assert release.status == Release.Status.FAILED
    assert release.error.startswith("The rendered files are not valid:")
    assert re.search(r"openwebui\.container:\d+: DEFAULT_MODELS names 'gpt-9'", release.error), release.error
    assert bucket["objects"]() == {}


def test_publishing_a_published_release_again_changes_nothing(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    release = publish(cut(minimal_draft(user), user, django_capture_on_commit_callbacks))
    published_at = release.published_at
    again = publish(release, store=FailingAfter(get_store(), 0))
    assert again.status == Release.Status.PUBLISHED and again.published_at == published_at
    assert Promotion.objects.count() == 1


def test_promoting_an_older_release_rolls_latest_back_and_records_who(
    ready_user: dict[str, Any], bob: User, bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    first = publish(cut(minimal_draft(user, "one"), user, django_capture_on_commit_callbacks))
    second = publish(cut(minimal_draft(user, "two"), user, django_capture_on_commit_callbacks))
    owner_uuid = first.snapshot["release"]["owner_uuid"]

    def latest() -> dict[str, Any]:
        return json.loads(bucket["objects"](latest_key(owner_uuid))[latest_key(owner_uuid)])

    assert latest()["version"] == 2
    promotion = services.release_promote(release=first, actor=user)
    assert latest()["version"] == 1 and latest()["name"] == "one"
    assert bucket["objects"](latest_key(owner_uuid))[latest_key(owner_uuid)] == (
        ReleaseFile.objects.get(release=first, path="manifest.json").content.encode()
    )
    assert (promotion.release, promotion.promoted_by) == (first, user)
    assert selectors.latest_release(owner=user) == first
    assert [p.release for p in selectors.promotion_list(owner=user)] == [first, second, first]

    services.release_promote(release=second, actor=user)
    assert latest()["version"] == 2

    draft = minimal_draft(user, "draft")
    with pytest.raises(Exception, match="Only a published release can become latest"):
        services.release_promote(release=draft, actor=user)


def test_a_retried_older_release_does_not_take_latest_from_a_newer_one(
    ready_user: dict[str, Any], bucket: dict[str, Any], settings, django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    older = cut(minimal_draft(user, "older"), user, django_capture_on_commit_callbacks)
    assert publish(older, store=FailingAfter(get_store(), 0)).status == Release.Status.FAILED
    newer = publish(cut(minimal_draft(user, "newer"), user, django_capture_on_commit_callbacks))
    with django_capture_on_commit_callbacks(execute=False):
        services.release_retry(release=older)
    assert publish(older).status == Release.Status.PUBLISHED
    assert selectors.latest_release(owner=user) == newer
    owner_uuid = newer.snapshot["release"]["owner_uuid"]
    assert json.loads(bucket["objects"](latest_key(owner_uuid))[latest_key(owner_uuid)])["version"] == 2


def test_latest_holds_every_file_of_the_latest_release_and_drops_the_ones_it_no_longer_has(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    searxng = select(user, "searxng")
    first = services.release_update(release=minimal_draft(user, "one"), services=[searxng.pk])
    first = publish(cut(first, user, django_capture_on_commit_callbacks))
    owner_uuid = first.snapshot["release"]["owner_uuid"]

    def latest() -> dict[str, bytes]:
        prefix = latest_prefix(owner_uuid)
        return {key.removeprefix(prefix): data for key, data in bucket["objects"](prefix).items()}

    def stored(release: Release) -> dict[str, bytes]:
        return {f.path: f.content.encode() for f in selectors.release_files(release=release)}

    assert latest() == stored(first) and "searxng-settings.yml" in latest()
    second = services.release_update(release=services.release_clone(release=first, actor=user), services=[])
    second = publish(cut(second, user, django_capture_on_commit_callbacks))
    # The add-on's unit and config file went with it; what both have now holds the second's bytes.
    assert latest() == stored(second)
    assert "searxng.container" not in latest() and "searxng-settings.yml" not in latest()
    assert json.loads(latest()["manifest.json"])["version"] == 2

    # Rolling back copies the first release in again, whole; the version folders never change.
    services.release_promote(release=first, actor=user)
    assert latest() == stored(first)
    services.release_promote(release=second, actor=user)
    assert latest() == stored(second)
    for release in (first, second):
        prefix = f"{owner_uuid}/v{release.version}/"
        assert {key.removeprefix(prefix): data for key, data in bucket["objects"](prefix).items()} == stored(release)


def test_diff_shows_changed_added_and_removed_files_and_the_archive_holds_every_file(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    searxng = select(user, "searxng")
    first = services.release_update(release=minimal_draft(user), services=[searxng.pk])
    first = publish(cut(first, user, django_capture_on_commit_callbacks))
    second = services.release_clone(release=first, actor=user)
    second = services.release_update(release=second, services=[], openwebui={"WEBUI_NAME": "Renamed AI"})
    second = publish(cut(second, user, django_capture_on_commit_callbacks))

    diff = selectors.release_diff(release=second, against=first)
    changed = {d.path: d.diff for d in diff.changed}
    assert "searxng.container" in diff.removed and "searxng-settings.yml" in diff.removed
    assert diff.added == []
    assert '-Environment="WEBUI_NAME=Leger AI"\n' in changed["openwebui.container"]
    assert '+Environment="WEBUI_NAME=Renamed AI"\n' in changed["openwebui.container"]
    assert changed["openwebui.container"].startswith("--- v1/openwebui.container\n+++ v2/openwebui.container\n")
    assert "manifest.json" in changed
    # The version lives in the manifest only: a unit nothing changed in is byte-identical, so it is not in the
    # diff and keeps its checksum (the CLI restarts only what changed).
    assert "llm.network" not in changed and "litellm.container" not in changed
    first_files = {f.path: f.sha256 for f in selectors.release_files(release=first)}
    second_files = {f.path: f.sha256 for f in selectors.release_files(release=second)}
    assert first_files["llm.network"] == second_files["llm.network"]
    backwards = selectors.release_diff(release=first, against=second)
    assert backwards.added == diff.removed and backwards.removed == []

    data = selectors.release_archive(release=second)
    assert data == selectors.release_archive(release=second)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    folder = f"home-v{second.version}"
    assert members == {f"{folder}/{f.path}": f.content.encode() for f in selectors.release_files(release=second)}

    with pytest.raises(Exception, match="has no files yet"):
        selectors.release_diff(release=minimal_draft(user, "draft"), against=first)


def test_the_task_retries_store_errors_with_backoff_and_its_last_try_fails_the_release(
    ready_user: dict[str, Any], settings, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leger.releases import tasks

    user = ready_user["user"]
    release = cut(minimal_draft(user), user, django_capture_on_commit_callbacks)
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = "/proc/leger-cannot-write-here"
    # A store error ends its run: the retries are not interruptions, so even a cap of one takes none of them.
    settings.LEGER_PUBLISH_MAX_ATTEMPTS = 1
    tries: list[bool] = []
    real_publish = services.release_publish

    def counting(**kwargs: Any) -> Release:
        tries.append(kwargs["final"])
        return real_publish(**kwargs)

    monkeypatch.setattr(services, "release_publish", counting)
    tasks.publish_release.apply(args=[release.pk])
    assert tries == [False] * tasks.PUBLISH_MAX_RETRIES + [True]
    release.refresh_from_db()
    assert release.status == Release.Status.FAILED
    assert "Uploading to the local folder /proc/leger-cannot-write-here failed" in release.error
    assert release.publish_attempts == 0
    assert [tasks.retry_delay(n) for n in range(6)] == [5, 10, 20, 40, 60, 60]


class CountWatching(Watching):
    """The real store, noting the release's count of unfinished publish runs as each object arrives."""

    def put(self, key: str, data: bytes, **kwargs: Any) -> None:
        self.seen.append(Release.objects.values_list("publish_attempts", flat=True).get(pk=self.release.pk))
        self.store.put(key, data, **kwargs)


def interrupted(release: Release, times: int) -> None:
    """What ``times`` runs killed mid-way (out of memory) leave behind: each counted itself and never finished."""
    Release.objects.filter(pk=release.pk).update(status=Release.Status.UPLOADING, progress=40, publish_attempts=times)


def test_a_publish_run_counts_itself_while_it_runs_and_clears_the_count_however_it_ends(
    ready_user: dict[str, Any], bucket: dict[str, Any], django_capture_on_commit_callbacks
) -> None:
    user = ready_user["user"]
    release = cut(minimal_draft(user), user, django_capture_on_commit_callbacks)
    interrupted(release, 2)

    # A store error handed back for the task to retry ends its run: it is no interruption.
    with pytest.raises(StoreError):
        publish(release, store=FailingAfter(get_store(), 0), final=False)
    release.refresh_from_db()
    assert release.publish_attempts == 0

    watching = CountWatching(get_store(), release)
    assert publish(release, store=watching).status == Release.Status.PUBLISHED
    assert set(watching.seen) == {1}, "a run under way counts as one not (yet) finished"
    release.refresh_from_db()
    assert release.publish_attempts == 0
    # A published release's next delivery changes nothing and counts nothing.
    publish(release)
    release.refresh_from_db()
    assert (release.status, release.publish_attempts) == (Release.Status.PUBLISHED, 0)


def test_a_publish_interrupted_as_often_as_allowed_fails_saying_why_and_retry_starts_the_count_again(
    ready_user: dict[str, Any], bucket: dict[str, Any], settings, django_capture_on_commit_callbacks
) -> None:
    settings.LEGER_PUBLISH_MAX_ATTEMPTS = 3
    user = ready_user["user"]
    release = cut(minimal_draft(user), user, django_capture_on_commit_callbacks)

    # Two interrupted runs are within the limit: the third publishes.
    interrupted(release, 2)
    assert publish(release).status == Release.Status.PUBLISHED

    second = cut(minimal_draft(user, "v2"), user, django_capture_on_commit_callbacks)
    interrupted(second, 3)
    second = publish(second)
    assert second.status == Release.Status.FAILED
    assert second.error == (
        "Publishing was interrupted 3 times: its worker stopped each time (out of memory?). "
        "See the worker's log, then Retry."
    )
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    assert not bucket["objects"](f"{owner_uuid}/v2/"), "the run that gave up uploaded nothing"
    assert selectors.latest_release(owner=user) == release

    interrupted(second, 3)  # e.g. Retry pressed on a release still counted (a stuck one)
    Release.objects.filter(pk=second.pk).update(status=Release.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = services.release_retry(release=second)
    assert len(callbacks) == 1
    second.refresh_from_db()
    assert (second.status, second.publish_attempts) == (Release.Status.QUEUED, 0)
    assert publish(second).status == Release.Status.PUBLISHED
