"""Background work of releases: publishing a cut release. The task only wraps ``release_publish``."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

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
