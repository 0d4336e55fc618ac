"""Background work of releases: publishing a cut release. The task only wraps ``release_publish``.

Also the two calls the web process makes to the task queue, so a cut can tell the user at once, in plain
words, that the queue (Redis) does not answer instead of leaving a release queued that nothing will publish.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from kombu.exceptions import KombuError

from leger.lib.storage import StoreError

logger = logging.getLogger(__name__)

PUBLISH_MAX_RETRIES = 4


def retry_delay(retries: int) -> int:
    """Seconds before the next try: doubling from the base, capped at a minute."""
    base = getattr(settings, "LEGER_PUBLISH_RETRY_BASE_SECONDS", 5)
    return int(min(60, base * 2**retries))


@shared_task(
    bind=True,
    name="leger.releases.publish_release",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=PUBLISH_MAX_RETRIES,
)
def publish_release(self, release_id: int) -> str:  # type: ignore[no-untyped-def]
    """Publish one cut release. Safe to run twice (acks_late redelivers it if a worker dies mid-way).

    Redelivery after a dead worker has no limit of its own: ``release_publish`` counts the runs that never
    finished and fails the release after LEGER_PUBLISH_MAX_ATTEMPTS of them; that answer acknowledges the message.

    A store error is retried with backoff; the last try marks the release failed with the reason.
    """
    from leger.releases.models import Release
    from leger.releases.services import release_publish

    final = self.request.retries >= self.max_retries
    try:
        release = release_publish(release_id=release_id, final=final)
    except Release.DoesNotExist:
        logger.warning("publish_release: release %s no longer exists", release_id)
        return "missing"
    except StoreError as error:
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from None
    return release.status


class QueueUnreachable(Exception):
    """The task queue did not answer. The message names the error, never the broker URL (it may hold a password)."""


def runs_in_process() -> bool:
    """True without a broker (``CELERY_BROKER_URL`` unset): ``.delay()`` publishes right here, nothing to reach."""
    return bool(publish_release.app.conf.task_always_eager)


def check_queue() -> None:
    """Connect to the broker once, on a fresh connection, so a dead or hung Redis is found within seconds.

    A pooled connection would say it is connected after Redis went away; a fresh one pings. The bound comes
    from the transport's connect and read timeouts in settings (a few seconds), with no retries.
    """
    try:
        with publish_release.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0)
    except (KombuError, OSError) as error:
        logger.warning("the task queue is unreachable: %s", error)
        raise QueueUnreachable(str(error)) from None


def queue_publish(release_id: int) -> None:
    """Send the publish message; raises QueueUnreachable if the broker fails even after the brief publish retries."""
    try:
        publish_release.delay(release_id)
    except (KombuError, OSError) as error:
        logger.warning("publishing release %s could not be queued: %s", release_id, error)
        raise QueueUnreachable(str(error)) from None
