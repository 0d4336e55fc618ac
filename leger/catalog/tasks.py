"""Background work of the catalog: the periodic sync with LiteLLM's model registry. The task only wraps
``catalog_sync``; Celery beat runs it every LEGER_MODEL_REGISTRY_SYNC_HOURS hours when that is above 0."""

from __future__ import annotations

import logging

from celery import shared_task

from leger.catalog.registry import RegistryError
from leger.catalog.registry_sync import catalog_sync, registry_read

logger = logging.getLogger(__name__)

SYNC_MAX_RETRIES = 3


@shared_task(
    bind=True,
    name="leger.catalog.sync_model_registry",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=SYNC_MAX_RETRIES,
)
def sync_model_registry(self) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Sync the catalog from LEGER_MODEL_REGISTRY_URL (or the installed litellm package). Safe to run twice: a
    second run finds nothing to change. A registry that cannot be fetched is retried with backoff; one that
    fails its checks is not (it would fail again) and changes nothing."""
    try:
        source = registry_read()
    except RegistryError as error:
        logger.warning("sync_model_registry: the registry could not be read: %s", error)
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from None
    try:
        report = catalog_sync(source=source)
    except RegistryError as error:
        logger.error("sync_model_registry: %s refused, the catalog is unchanged: %s", source.label, error)
        return {"refused": 1}
    logger.info("sync_model_registry: %s", "; ".join(report.lines()[2:-1]) or "nothing changed")
    return report.counts
