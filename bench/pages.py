"""Server time of the catalog pages and API with the full catalog loaded.

Runs on a throwaway database: a SQLite file in a temporary folder by default,
or, when DATABASE_URL is set, a scratch database created beside it on the same
server and dropped afterwards. Migrates, runs ``load_catalog``, then times N
requests of each URL through Django's test client (no network, no browser).

    .venv/bin/python bench/pages.py [--requests 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leger.settings")

URLS = [
    ("/models/", {}),
    ("/models/ (htmx, filtered)", {"HX-Request": "true"}),
    ("/api/v1/models/", {}),
]
FILTERED = "/models/?capability=chat&kind=cloud&min_context=128000&search=o"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="Requests per URL (default 50).")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory(prefix="leger-bench-")
    if not os.environ.get("DATABASE_URL"):
        # Settings put the SQLite file under LEGER_VAR_DIR: point it at the scratch folder.
        os.environ["LEGER_VAR_DIR"] = scratch.name

    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    # Serve static files from source, as the tests do: no collectstatic manifest needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    setup_test_environment()
    database = connection.settings_dict
    database["TEST"]["NAME"] = (
        str(Path(scratch.name) / "bench.sqlite3") if connection.vendor == "sqlite" else f"leger_bench_{os.getpid()}"
    )
    original_name = database["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        call_command("load_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"database: {connection.vendor}; load_catalog took {time.perf_counter() - started:.2f}s")

        user = User.objects.create_user("bench", password="bench-password-1")
        client = Client()
        client.force_login(user)
        from leger.catalog.models import LLM

        print(f"catalog: {LLM.objects.count()} models; {args.requests} requests per URL\n")
        print(f"{'URL':<32}{'mean ms':>10}{'p50 ms':>10}{'p95 ms':>10}{'bytes':>10}")
        for label, headers in URLS:
            url = FILTERED if headers else label
            response = client.get(url, headers=headers)  # warm-up: templates compiled, connection open
            assert response.status_code == 200, (url, response.status_code)
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
            print(
                f"{label:<32}{statistics.fmean(samples):>10.1f}{percentile(samples, 0.5):>10.1f}"
                f"{percentile(samples, 0.95):>10.1f}{len(response.content):>10}"
            )
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
        scratch.cleanup()


if __name__ == "__main__":
    main()
