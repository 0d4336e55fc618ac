"""Time loading the full catalog: cold (empty database) and warm (re-run with nothing changed).

    .venv/bin/python bench/load_catalog.py

Runs against a throwaway database it creates and drops: a SQLite file in a temporary folder by default, or a
fresh ``leger_bench_<pid>`` database on the server DATABASE_URL names. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_RUNS = 3


def main() -> None:
    sys.path.insert(0, str(ROOT))
    workdir = tempfile.TemporaryDirectory(prefix="leger-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir.name}/leger.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leger.settings")

    import django

    django.setup()

    from django.apps import apps
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leger.catalog.loading import FixtureProblems, load_fixtures

    engine = connection.vendor
    name = str(Path(workdir.name) / "bench.sqlite3") if engine == "sqlite" else f"leger_bench_{os.getpid()}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        print(f"database: {engine} ({name}), fixtures: {settings.LEGER_FIXTURES_DIR}")
        started = time.perf_counter()
        try:
            cold = load_fixtures(settings.LEGER_FIXTURES_DIR)
        except FixtureProblems as problems:
            print(f"the fixtures do not load:\n{problems}")
            sys.exit(1)
        print(f"cold load: {time.perf_counter() - started:.3f} s")
        for line in cold.lines()[1:]:
            print(line)

        timings = []
        for _ in range(WARM_RUNS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                warm = load_fixtures(settings.LEGER_FIXTURES_DIR)
                timings.append(time.perf_counter() - started)
        print(
            f"warm load (nothing changed), {WARM_RUNS} runs: median {statistics.median(timings):.3f} s, "
            f"min {min(timings):.3f} s; {len(queries.captured_queries)} queries, "
            f"{'no writes' if not warm.wrote_anything else 'WROTE SOMETHING'}"
        )

        print("rows:")
        for label in sorted({label for by_model in cold.counts.values() for label in by_model}):
            print(f"  {label}: {apps.get_model(label)._default_manager.count()}")
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
        workdir.cleanup()


if __name__ == "__main__":
    main()
