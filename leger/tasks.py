from __future__ import annotations

from celery import shared_task
from django.db import connection


@shared_task(name="leger.worker_health")
def worker_health() -> dict[str, str]:
    """Proves a worker is up and reaches the database (used by deployment checks and tests)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"worker": "ok", "database": connection.vendor}
