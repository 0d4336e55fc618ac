"""The bucket refusing or dropping connections while a release uploads, injected for real.

A real Celery worker publishes into moto's S3 server through a TCP proxy (``faults.FaultProxy``) that the tests
turn into a closed port or into a link that resets every connection a couple of kilobytes into a request. What
a user relies on: publishing retries; ``latest`` never moves to a version that is not wholly in the bucket; a
bucket that stays away ends the release Failed with a reason a person can read (no traceback, no secret); and
once the bucket is back the retry publishes every file and the manifest, moving ``latest`` exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from leger.releases import services
from leger.releases.models import Promotion, Release
from leger.releases.publishing import latest_key, latest_prefix
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft, wait_until_done
from tests.reliability.faults import (
    Bucket,
    FaultProxy,
    RedisServer,
    Worker,
    app_on_broker,
    check_published_whole,
    worker_env,
)
from tests.services import S3_ENV, database_url_for_worker

catalog = setup.catalog
ready_user = setup.ready_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Small requests (a volume unit, a listing) fit in this many bytes of one connection; a container unit or the
# manifest never does, so an upload gets a few files in and then every try of the next one is reset mid-body.
CUT_AFTER_BYTES = 2200


@pytest.fixture(scope="module")
def proxy(moto_server: Any) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def bucket(moto_server: Any) -> Bucket:
    return Bucket(moto_server.url)


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None,
    django_db_blocker: Any,
    redis_server: RedisServer,
    proxy: FaultProxy,
    bucket: Bucket,
    tmp_path_factory: Any,
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database_url = database_url_for_worker()
    queue = f"leger-s3faults-{uuid.uuid4().hex[:8]}"
    env = worker_env(
        database_url=database_url,
        broker_url=redis_server.url(),
        queue=queue,
        s3_url=proxy.url,
        bucket=bucket.name,
        # Five tries 1, 2, 4 and 8 s apart (in production 5 s to a minute): a bucket that stays away fails the
        # release in well under a minute, and the waits are long enough for a test polling the row to see the
        # "Trying again shortly" between two tries (back-to-back tries left it there for milliseconds).
        LEGER_PUBLISH_RETRY_BASE_SECONDS="1",
    )
    worker = Worker(env=env, queue=queue, log=tmp_path_factory.mktemp("s3faults") / "worker.log").start()
    yield worker
    worker.stop()


@pytest.fixture
def publishing(
    redis_server: RedisServer, worker: Worker, proxy: FaultProxy, bucket: Bucket, settings: Any
) -> Iterator[FaultProxy]:
    settings.LEGER_S3_BUCKET = bucket.name
    settings.LEGER_S3_ENDPOINT_URL = proxy.url
    settings.LEGER_S3_REGION = S3_ENV["LEGER_S3_REGION"]
    settings.LEGER_S3_ACCESS_KEY_ID = S3_ENV["LEGER_S3_ACCESS_KEY_ID"]
    settings.LEGER_S3_SECRET_ACCESS_KEY = S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"]
    settings.LEGER_S3_PUBLIC = False
    with app_on_broker(redis_server.url(), worker.queue):
        yield proxy
    proxy.heal()


def wait_for(release: Release, check: Any, *, timeout: float = 60) -> Release:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        release.refresh_from_db()
        if check(release):
            return release
        time.sleep(0.1)
    raise AssertionError(f"release {release.pk} never got there: {release.status} {release.progress}% {release.error}")


def folder(bucket: Bucket, prefix: str) -> dict[str, bytes]:
    """The objects under a prefix, by their path inside it (latest/ must hold what a version folder holds)."""
    return {key.removeprefix(prefix): data for key, data in bucket.objects(prefix).items()}


def assert_readable(reason: str, secrets: list[str]) -> None:
    """A reason a person reads: no traceback, no credentials of the bucket, no key of the user."""
    assert reason
    for leak in ("Traceback", 'File "', "botocore.", "Signature=", "Authorization", *S3_ENV.values(), *secrets):
        assert leak not in reason, f"{leak!r} in the reason: {reason}"


def test_connections_reset_mid_upload_are_retried_and_publish_whole_once_the_bucket_heals(
    ready_user: dict[str, Any], publishing: FaultProxy, bucket: Bucket, worker: Worker
) -> None:
    proxy = publishing
    user = ready_user["user"]
    first = wait_until_done(services.release_cut(release=minimal_draft(user, "first"), actor=user))
    assert first.status == Release.Status.PUBLISHED, first.error
    owner_uuid = first.snapshot["release"]["owner_uuid"]
    v1_manifest = bucket.get(f"{owner_uuid}/v1/manifest.json")
    v1 = folder(bucket, f"{owner_uuid}/v1/")
    assert folder(bucket, latest_prefix(owner_uuid)) == v1

    proxy.cut_after(CUT_AFTER_BYTES)
    second = services.release_cut(release=minimal_draft(user, "second"), actor=user)
    # The first try failed mid-upload and a retry is waiting: the row says so, truthfully still uploading.
    second = wait_for(second, lambda r: "Trying again shortly" in r.error)
    assert second.status == Release.Status.UPLOADING
    assert second.progress < 100
    assert_readable(second.error, ready_user["secret_values"])
    assert proxy.cuts > 0
    uploaded = bucket.objects(f"{owner_uuid}/v2/")
    assert uploaded, "the fault was meant to hit mid-upload, after some files"
    assert f"{owner_uuid}/v2/manifest.json" not in uploaded
    assert bucket.get(latest_key(owner_uuid)) == v1_manifest, "latest moved to an incomplete version"
    assert folder(bucket, latest_prefix(owner_uuid)) == v1, "a file of latest changed before its version was whole"

    proxy.heal()
    second = wait_until_done(second)
    manifest = check_published_whole(second, bucket)
    assert manifest["version"] == 2
    assert bucket.get(latest_key(owner_uuid)) == bucket.get(f"{owner_uuid}/v2/manifest.json")
    # latest/ is a complete copy of v2 now, every file the CLI fetches from it.
    assert folder(bucket, latest_prefix(owner_uuid)) == folder(bucket, f"{owner_uuid}/v2/")
    # latest was written once per release, each time after its version was whole; the manifest of v2 once.
    assert bucket.writes(latest_key(owner_uuid)) == 2
    assert bucket.writes(f"{owner_uuid}/v2/manifest.json") == 1
    assert list(Promotion.objects.filter(owner=user).values_list("release__version", flat=True)) == [2, 1]
    assert list(Release.objects.filter(owner=user).order_by("version").values_list("version", flat=True)) == [1, 2]


def test_a_bucket_that_stays_away_fails_the_release_readably_and_retry_publishes_it_once_it_is_back(
    ready_user: dict[str, Any], publishing: FaultProxy, bucket: Bucket, worker: Worker
) -> None:
    proxy = publishing
    user = ready_user["user"]
    api = APIClient()
    api.force_authenticate(user)

    proxy.refuse()
    release = services.release_cut(release=minimal_draft(user), actor=user)
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    release = wait_until_done(release, timeout=90)
    assert release.status == Release.Status.FAILED
    assert_readable(release.error, ready_user["secret_values"])
    assert release.error.startswith(f"Uploading to the bucket {bucket.name!r}")
    assert "latest still points where it did" in release.error and "Retry" in release.error
    assert release.progress < 100 and release.published_at is None
    assert bucket.objects(f"{owner_uuid}/") == {}, "nothing reached the bucket, and latest does not exist"
    assert not Promotion.objects.filter(owner=user).exists()
    # The API shows the same reason, and the worker logged no secret.
    assert api.get(f"/api/v1/releases/{release.pk}/").json()["error"] == release.error
    log = worker.output()
    for secret in (S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"], *ready_user["secret_values"]):
        assert secret not in log

    proxy.heal()
    answer = api.post(f"/api/v1/releases/{release.pk}/retry/")
    assert answer.status_code == 202, answer.content
    assert (answer.json()["status"], answer.json()["error"]) == ("queued", "")
    release = wait_until_done(release)
    manifest = check_published_whole(release, bucket)
    assert json.loads(bucket.get(latest_key(owner_uuid)) or b"{}") == manifest
    assert folder(bucket, latest_prefix(owner_uuid)) == folder(bucket, f"{owner_uuid}/v1/")
    assert bucket.writes(latest_key(owner_uuid)) == 1
    assert bucket.writes(f"{owner_uuid}/v1/manifest.json") == 1
    assert Promotion.objects.get(owner=user).release == release
