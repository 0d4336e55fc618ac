"""The task queue (Redis) unreachable when a release is cut or retried, injected for real.

A private ``redis-server`` is the broker of this process and of a real Celery worker; the tests stop it
(its port closes), freeze it with SIGSTOP (the port accepts, nothing answers) and start it again. What a user
relies on: the cut answers within seconds and says so in plain words, the draft is kept and no version is
used, and once Redis is back one cut queues exactly one publish, which publishes once.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from leger.releases import services
from leger.releases.models import Owner, Promotion, Release
from leger.releases.services import QUEUE_DOWN_CUT, QUEUE_DOWN_RETRY, QUEUE_LOST_AT_COMMIT
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft, wait_until_done
from tests.reliability.faults import RedisServer, Worker, app_on_broker, received
from tests.services import S3_ENV, database_url_for_worker

catalog = setup.catalog
ready_user = setup.ready_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Answering within this many seconds is "at once" for a person pressing Cut (the transport times out in 3-5 s).
ANSWER_WITHIN = 8


@pytest.fixture(scope="module")
def broker_worker(
    django_db_setup: None, django_db_blocker: Any, redis_server: RedisServer, moto_server: Any, tmp_path_factory: Any
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database_url = database_url_for_worker()
    queue = f"leger-broker-{uuid.uuid4().hex[:8]}"
    bucket = f"leger-broker-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=S3_ENV["LEGER_S3_REGION"],
        aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=bucket)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": redis_server.url(),
        "CELERY_RESULT_BACKEND": "",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LEGER_S3_BUCKET": bucket,
        "LEGER_S3_ENDPOINT_URL": moto_server.url,
        **S3_ENV,
    }
    worker = Worker(env=env, queue=queue, log=tmp_path_factory.mktemp("broker") / "worker.log").start()
    yield worker
    worker.stop()


@pytest.fixture
def on_private_broker(redis_server: RedisServer, broker_worker: Worker) -> Iterator[RedisServer]:
    with app_on_broker(redis_server.url(), broker_worker.queue):
        yield redis_server
    if redis_server.process is None:
        redis_server.start()
    elif not redis_server.answers():
        redis_server.thaw()


def timed_cut(api: APIClient, release: Release) -> tuple[Any, float]:
    started = time.monotonic()
    answer = api.post(f"/api/v1/releases/{release.pk}/cut/")
    return answer, time.monotonic() - started


def assert_still_a_draft(release: Release) -> None:
    release.refresh_from_db()
    assert (release.status, release.version, release.snapshot, release.cut_at) == ("draft", None, None, None)
    assert not Owner.objects.filter(user_id=release.owner_id, last_version__gt=0).exists(), "a version was used"


def test_cut_and_retry_while_redis_is_down_keep_the_release_as_it_was_and_say_so(
    ready_user: dict[str, Any], on_private_broker: RedisServer, broker_worker: Worker, alice_client: Any
) -> None:
    redis = on_private_broker
    user = ready_user["user"]
    draft = minimal_draft(user)
    api = APIClient()
    api.force_authenticate(user)

    # Redis stopped: its port is closed.
    redis.stop()
    answer, took = timed_cut(api, draft)
    assert answer.status_code == 503, answer.content
    assert answer.json() == {"detail": QUEUE_DOWN_CUT}
    assert took < ANSWER_WITHIN
    assert_still_a_draft(draft)

    # The page says the same, on the summary it was cut from (not a 500).
    page = alice_client.post(reverse("releases:cut", args=[draft.pk]))
    assert page.status_code == 200
    assert QUEUE_DOWN_CUT in page.content.decode()
    assert_still_a_draft(draft)

    # Redis hung: connections are accepted and nothing answers. Still an answer within seconds.
    redis.start()
    redis.freeze()
    try:
        answer, took = timed_cut(api, draft)
    finally:
        redis.thaw()
    assert answer.status_code == 503, answer.content
    assert took < ANSWER_WITHIN
    assert_still_a_draft(draft)

    # Redis back (empty, as after a restart): one cut, one message, one publish.
    answer, _ = timed_cut(api, draft)
    assert answer.status_code == 202, answer.content
    assert (answer.json()["status"], answer.json()["version"]) == ("queued", 1)
    release = wait_until_done(Release.objects.get(pk=draft.pk))
    assert release.status == Release.Status.PUBLISHED, release.error
    assert received(broker_worker.output()) == 1
    # Pressing Cut again changes nothing and queues nothing.
    assert api.post(f"/api/v1/releases/{draft.pk}/cut/").status_code == 202
    time.sleep(1)
    assert received(broker_worker.output()) == 1
    assert redis.client().llen(broker_worker.queue) == 0
    assert list(Release.objects.filter(owner=user).values_list("version", "status")) == [(1, "published")]
    assert Promotion.objects.filter(owner=user).count() == 1

    # Retry while Redis is down: refused the same way, and the release stays as it was.
    Release.objects.filter(pk=release.pk).update(status=Release.Status.FAILED, error="The bucket did not answer.")
    redis.stop()
    answer = api.post(f"/api/v1/releases/{release.pk}/retry/")
    assert answer.status_code == 503, answer.content
    assert answer.json() == {"detail": QUEUE_DOWN_RETRY}
    release.refresh_from_db()
    assert (release.status, release.error) == ("failed", "The bucket did not answer.")


def test_redis_lost_between_the_check_and_the_commit_fails_the_release_truthfully(
    ready_user: dict[str, Any], on_private_broker: RedisServer, broker_worker: Worker
) -> None:
    """The one gap the check cannot close: Redis dies after the cut checked it and before the message is sent.

    The cut stands (the version is used), but the release says publishing never started and offers Retry,
    instead of staying queued with nothing in the queue; Retry publishes it once Redis is back.
    """
    redis = on_private_broker
    user = ready_user["user"]
    draft = minimal_draft(user)
    with transaction.atomic():
        # Runs after the cut's check and just before its message is sent (commit callbacks run in order).
        transaction.on_commit(redis.stop)
        services.release_cut(release=draft, actor=user)
    draft.refresh_from_db()
    assert (draft.status, draft.version, draft.error) == ("failed", 1, QUEUE_LOST_AT_COMMIT)

    redis.start()
    retried = services.release_retry(release=draft)
    assert retried.status == Release.Status.QUEUED
    published = wait_until_done(draft)
    assert published.status == Release.Status.PUBLISHED, published.error
    assert published.version == 1


def test_a_release_whose_message_redis_lost_can_be_retried_once_it_shows_no_progress(
    ready_user: dict[str, Any], on_private_broker: RedisServer, broker_worker: Worker, settings: Any
) -> None:
    """Redis restarted (no persistence) while a release waited in the queue and no worker was there to take it:
    the message is gone and the release would say queued forever. Retry is refused while it could still be on
    its way, and accepted once the release has shown no progress for LEGER_PUBLISH_STALE_SECONDS."""
    redis = on_private_broker
    user = ready_user["user"]
    api = APIClient()
    api.force_authenticate(user)
    nobody = f"nobody-{uuid.uuid4().hex[:8]}"
    with app_on_broker(redis.url(), nobody):
        release = services.release_cut(release=minimal_draft(user), actor=user)
        assert redis.client().llen(nobody) == 1
        redis.stop()
        redis.start()
        assert redis.client().llen(nobody) == 0, "the restart was meant to lose the message"
        # Not stuck yet: Retry leaves it as it is and queues nothing.
        answer = api.post(f"/api/v1/releases/{release.pk}/retry/")
        assert (answer.status_code, answer.json()["status"]) == (202, "queued")
        assert redis.client().llen(nobody) == 0
    assert not services.release_stuck(release)

    settings.LEGER_PUBLISH_STALE_SECONDS = 1
    time.sleep(1.5)
    release.refresh_from_db()
    assert services.release_stuck(release)
    answer = api.post(f"/api/v1/releases/{release.pk}/retry/")
    assert (answer.status_code, answer.json()["status"]) == (202, "queued")
    release = wait_until_done(release)
    assert release.status == Release.Status.PUBLISHED, release.error
    assert list(Release.objects.filter(owner=user).values_list("version", "status")) == [(1, "published")]
