"""The real catalog in a test's database in a few queries instead of a full load.

Most tests need the project's catalog (models, providers, marketplace services, infrastructure, Open WebUI
variables) as `load_catalog` leaves it, and loading it for real (reading and validating every fixture file,
then about a thousand INSERTs) costs over a second per test. So the first test that asks for it runs the real
loader inside a savepoint, reads back every row the loader wrote, and rolls the savepoint back; every test
then bulk-inserts those same rows into its own transaction. The rows are exactly the loader's: the tests of
the loader itself (tests/catalog/test_loader.py, test_fixtures.py) still run it for real.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, models, transaction

from leger.catalog.loading import load_fixtures

Rows = list[tuple[type[models.Model], list[dict[str, Any]]]]

_copied: Rows | None = None


class _Rollback(Exception):
    pass


def _tables() -> list[type[models.Model]]:
    # Registration order puts catalog before marketplace before releases, which is the loader's order too
    # (foreign keys are checked at commit anyway, on PostgreSQL and SQLite alike).
    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]


def _counts() -> dict[type[models.Model], int]:
    return {model: model._base_manager.count() for model in _tables()}


def _read_what_the_loader_writes() -> Rows | None:
    """Every row the real loader writes into an empty catalog; None if the catalog's tables are not empty."""
    before = _counts()
    rows: Rows = []
    try:
        with transaction.atomic():
            load_fixtures()
            for model, count in _counts().items():
                if count == before[model]:
                    continue
                if before[model]:
                    return None  # the test put rows of its own there first: nothing clean to copy
                fields = [field.attname for field in model._meta.concrete_fields]
                rows.append((model, list(model._base_manager.order_by("pk").values(*fields))))
            raise _Rollback
    except _Rollback:
        pass
    return rows


def load_catalog_copy() -> None:
    """Put the real catalog into the current test's database (needs database access)."""
    global _copied
    if _copied is None:
        copied = _read_what_the_loader_writes()
        if copied is None:
            load_fixtures()
            return
        _copied = copied
    if any(model._base_manager.exists() for model, _ in _copied):
        load_fixtures()  # something is there already: let the loader reconcile it, as it would in production
        return
    # One transaction even for a transactional test: foreign keys are checked once, at its commit, whatever
    # order the tables come in (a many-to-many table may come before the rows it points at).
    with transaction.atomic():
        for model, rows in _copied:
            model._base_manager.bulk_create([model(**row) for row in rows], batch_size=1000)
        # Explicit ids leave PostgreSQL's sequences behind; the next row a test creates must not collide with them.
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [model for model, _ in _copied]):
                cursor.execute(statement)
