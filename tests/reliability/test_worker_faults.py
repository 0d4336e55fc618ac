"""A Celery worker killed while it publishes, for real (SIGKILL), with the upload slowed by a throttling proxy in
front of moto's S3 so the kill lands mid-upload.

Publishing is acknowledged late (``acks_late``): the message stays with the broker until the task ends. Killing
the pool's child makes the worker requeue it at once (``reject_on_worker_lost``); killing the whole worker leaves
it unacknowledged in Redis, and a new worker gets it after the visibility timeout (``CELERY_VISIBILITY_TIMEOUT``,
a few seconds here). What a user relies on: the release publishes once (one version, the manifest and
``latest`` each written once), and until then it truthfully says it is publishing, never failed or published.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from leger.releases import services
from leger.releases.models import Owner, Promotion, Release
from leger.releases.publishing import latest_key
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft
from tests.reliability.faults import (
    Bucket,
    FaultProxy,
    RedisServer,
    Worker,
    app_on_broker,
    check_published_whole,
    received,
    worker_env,
)
from tests.services import database_url_for_worker

catalog = setup.catalog
ready_user = setup.ready_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Each chunk a worker sends the bucket waits this long: a minimal release (23 uploads) takes a few seconds.
THROTTLE_SECONDS = 0.08


@pytest.fixture(scope="module")
def slow_bucket(moto_server: Any) -> Iterator[tuple[FaultProxy, Bucket]]:
    proxy = FaultProxy(moto_server.port).start()
    proxy.throttle(THROTTLE_SECONDS)
    yield proxy, Bucket(moto_server.url)
    proxy.stop()


@pytest.fixture
def start_worker(
    django_db_blocker: Any, redis_server: RedisServer, slow_bucket: tuple[FaultProxy, Bucket], tmp_path: Any
) -> Iterator[Any]:
    """Start workers on one fresh queue; every worker started is stopped (or already killed) at the end."""
    with django_db_blocker.unblock():
        database_url = database_url_for_worker()
    proxy, bucket = slow_bucket
    queue = f"leger-kill-{uuid.uuid4().hex[:8]}"
    started: list[Worker] = []

    def start(*, pool: str = "solo", **extra: str) -> Worker:
        env = worker_env(
            database_url=database_url,
            broker_url=redis_server.url(),
            queue=queue,
            s3_url=proxy.url,
            bucket=bucket.name,
            **extra,
        )
        worker = Worker(env=env, queue=queue, log=tmp_path / f"worker-{len(started)}.log", pool=pool)
        started.append(worker)
        return worker.start()

    with app_on_broker(redis_server.url(), queue):
        start.queue = queue  # type: ignore[attr-defined]
        yield start
    for worker in started:
        worker.stop()


class Watch:
    """Poll the release row as the page does, remembering every (status, progress) it showed."""

    def __init__(self, release: Release) -> None:
        self.release = release
        self.seen: list[tuple[str, int]] = []

    def until(self, check: Any, *, timeout: float = 60) -> Release:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.release.refresh_from_db()
            shown = (self.release.status, self.release.progress)
            if not self.seen or self.seen[-1] != shown:
                self.seen.append(shown)
            if check(self.release):
                return self.release
            time.sleep(0.05)
        raise AssertionError(f"release {self.release.pk} never got there; it showed {self.seen}")

    def mid_upload(self) -> Release:
        """Some files are up and the manifest is not (it goes last, at 90%)."""
        return self.until(lambda r: r.status == Release.Status.UPLOADING and 30 <= r.progress < 80)

    def done(self, *, timeout: float = 60) -> Release:
        return self.until(lambda r: r.status in (Release.Status.PUBLISHED, Release.Status.FAILED), timeout=timeout)

    def assert_truthful(self) -> None:
        """Never failed, never 100% before published, and published only at the very end."""
        statuses = [status for status, _ in self.seen]
        assert "failed" not in statuses, self.seen
        assert all(progress < 100 for status, progress in self.seen if status != "published"), self.seen
        assert statuses[-1] == "published" and statuses.count("published") == 1, self.seen


def assert_published_once(release: Release, bucket: Bucket) -> None:
    check_published_whole(release, bucket)
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    assert bucket.writes(f"{owner_uuid}/v1/manifest.json") == 1
    assert bucket.writes(latest_key(owner_uuid)) == 1
    assert bucket.get(latest_key(owner_uuid)) == bucket.get(f"{owner_uuid}/v1/manifest.json")
    assert list(Release.objects.filter(owner=release.owner).values_list("version", "status")) == [(1, "published")]
    assert Owner.objects.get(user=release.owner).last_version == 1
    assert Promotion.objects.get(owner=release.owner).release == release


def test_a_pool_child_killed_mid_upload_is_requeued_and_the_release_publishes_once(
    ready_user: dict[str, Any], start_worker: Any, slow_bucket: tuple[FaultProxy, Bucket]
) -> None:
    _, bucket = slow_bucket
    user = ready_user["user"]
    worker = start_worker(pool="prefork")
    watch = Watch(services.release_cut(release=minimal_draft(user), actor=user))
    watch.mid_upload()
    child = worker.pool_child()
    os.kill(child, signal.SIGKILL)

    release = watch.done()
    assert_published_once(release, bucket)
    watch.assert_truthful()
    output = worker.output()
    assert "WorkerLostError" in output and "signal 9 (SIGKILL)" in output
    # Delivered twice (the killed run and its rerun), published once.
    assert received(output) == 2
    assert output.count(f"release {release.pk} published as v1") == 1


def test_a_worker_killed_whole_mid_upload_leaves_the_message_in_redis_and_a_new_worker_publishes_it_once(
    ready_user: dict[str, Any], start_worker: Any, slow_bucket: tuple[FaultProxy, Bucket], redis_server: RedisServer
) -> None:
    _, bucket = slow_bucket
    user = ready_user["user"]
    first = start_worker()
    watch = Watch(services.release_cut(release=minimal_draft(user), actor=user))
    watch.mid_upload()
    first.kill()

    # Nobody acknowledged it: the message waits in Redis's unacked set, not in the queue; the release still
    # says it is being published, as it is (a worker will take it up again).
    redis = redis_server.client()
    assert redis.hlen("unacked") == 1 and redis.llen(start_worker.queue) == 0
    time.sleep(1)
    stopped = watch.until(lambda r: True)
    assert (stopped.status, stopped.error) == ("uploading", "") and stopped.progress < 100

    second = start_worker(CELERY_VISIBILITY_TIMEOUT="3")
    release = watch.done()
    assert_published_once(release, bucket)
    watch.assert_truthful()
    assert (received(first.output()), received(second.output())) == (1, 1)
    assert "published as v1" not in first.output()
    assert redis.hlen("unacked") == 0 and redis.llen(start_worker.queue) == 0


def test_a_publish_that_kills_its_worker_every_time_fails_saying_why_after_the_limit_and_retry_publishes_it(
    ready_user: dict[str, Any], start_worker: Any, slow_bucket: tuple[FaultProxy, Bucket], redis_server: RedisServer
) -> None:
    """Out of memory on every run: each killed run comes back (reject_on_worker_lost), up to the limit; the next
    delivery marks the release failed with a reason a person can act on and is acknowledged, not run again."""
    _, bucket = slow_bucket
    user = ready_user["user"]
    worker = start_worker(pool="prefork", LEGER_PUBLISH_MAX_ATTEMPTS="2")
    watch = Watch(services.release_cut(release=minimal_draft(user), actor=user))
    for run in (1, 2):
        # This run started (counted itself) and uploads afresh: the killed run's progress is gone.
        watch.until(lambda r, run=run: r.publish_attempts == run and r.progress < 30)
        watch.mid_upload()
        os.kill(worker.pool_child(), signal.SIGKILL)

    release = watch.done()
    assert release.status == Release.Status.FAILED
    assert release.error == (
        "Publishing was interrupted 2 times: its worker stopped each time (out of memory?). "
        "See the worker's log, then Retry."
    )
    assert release.publish_attempts == 0
    # The third delivery gave up and was acknowledged: nothing is queued or held for it any more.
    time.sleep(1)
    redis = redis_server.client()
    assert redis.hlen("unacked") == 0 and redis.llen(start_worker.queue) == 0
    assert received(worker.output()) == 3
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    assert bucket.get(latest_key(owner_uuid)) is None

    # Whatever ate the memory is fixed; Retry publishes it, once.
    watch = Watch(services.release_retry(release=release))
    release = watch.done()
    assert_published_once(release, bucket)
    assert received(worker.output()) == 4
