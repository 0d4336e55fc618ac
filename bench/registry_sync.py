"""Time the sync with LiteLLM's whole model registry (the installed litellm package's file) beside its floor.

    .venv/bin/python bench/registry_sync.py

The floor of a first sync is what no sync can skip: ``json.loads`` of the file and the same bulk writes (the rows
the sync adds and changes) made by the bare ORM; the floor of a sync with nothing to change is ``json.loads`` and
reading the catalog's cloud rows once. Runs against a throwaway database it creates and drops, loaded with the
fixtures: a SQLite file in a temporary folder by default, or a fresh ``leger_bench_<pid>`` database on the server
DATABASE_URL names. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_RUNS = 3


class _Rollback(Exception):
    pass


def main() -> None:
    sys.path.insert(0, str(ROOT))
    workdir = tempfile.TemporaryDirectory(prefix="leger-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir.name}/leger.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leger.settings")

    import django

    django.setup()

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from leger.catalog import registry, registry_sync
    from leger.catalog.loading import load_fixtures
    from leger.catalog.models import LLM, Offering

    engine = connection.vendor
    name = str(Path(workdir.name) / "bench.sqlite3") if engine == "sqlite" else f"leger_bench_{os.getpid()}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        load_fixtures()
        source = registry.read_packaged()
        print(f"database: {engine} ({name}); registry: {source.label}, {len(source.data) / 1e6:.1f} MB")

        # The floor of a first sync: json.loads, then the very rows the sync writes, by the bare ORM (rolled back).
        started = time.perf_counter()
        json.loads(source.data)
        json_seconds = time.perf_counter() - started
        try:
            with transaction.atomic():
                reg = registry.parse_registry(source.data)
                now = timezone.now()
                plan = registry_sync._Plan(reg, today=timezone.localdate(now), now=now)
                report = registry_sync.SyncReport(source=source, entries=len(reg), dry_run=True)
                registry_sync._match_offerings(plan, report)
                index = registry_sync._add_models(plan, report)
                registry_sync._sync_models(plan, report, index)
                started = time.perf_counter()
                registry_sync._write(plan)
                write_seconds = time.perf_counter() - started
                raise _Rollback
        except _Rollback:
            pass
        floor = json_seconds + write_seconds

        started = time.perf_counter()
        cold = registry_sync.catalog_sync(source=source)
        cold_seconds = time.perf_counter() - started
        counts = cold.counts
        print(
            f"first sync: {cold_seconds:.3f} s; floor {floor:.3f} s (json.loads {json_seconds:.3f} s + bulk writes "
            f"{write_seconds:.3f} s), {cold_seconds / floor:.1f}x the floor"
        )
        print(
            f"  added {counts['added_models']} models / {counts['added_offerings']} offerings, changed "
            f"{counts['changed_models']} / {counts['changed_offerings']}, retired {counts['retired_models']} / "
            f"{counts['retired_offerings']}"
        )

        started = time.perf_counter()
        json.loads(source.data)
        list(LLM.objects.filter(kind="cloud"))
        list(Offering.objects.filter(llm__kind="cloud"))
        list(LLM.capabilities.through.objects.values_list("llm_id", "capability_id"))
        warm_floor = time.perf_counter() - started
        timings = []
        for _ in range(WARM_RUNS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                warm = registry_sync.catalog_sync(source=source)
                timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        print(
            f"sync with nothing to change, {WARM_RUNS} runs: median {median:.3f} s, min {min(timings):.3f} s; "
            f"floor {warm_floor:.3f} s (json.loads + reading the cloud rows), {median / warm_floor:.1f}x; "
            f"{len(queries.captured_queries)} queries, {'nothing changed' if not warm.changed_anything else 'CHANGED'}"
        )
        print(f"catalog: {LLM.objects.count()} models, {Offering.objects.count()} offerings")
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
        workdir.cleanup()


if __name__ == "__main__":
    main()
