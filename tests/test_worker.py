from __future__ import annotations

import pytest

from leger.tasks import worker_health


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_tasks_against_the_test_database(celery_worker) -> None:
    result = worker_health.delay()
    # The answer names the database the worker process reached: the test database, over PostgreSQL.
    assert result.get(timeout=30) == {"worker": "ok", "database": "postgresql"}
