"""Server time and queries of the catalog pages, the API and a release page, with the full catalog loaded.

Runs on a throwaway database: a SQLite file in a temporary folder by default,
or, when DATABASE_URL is set, a scratch database created beside it on the same
server and dropped afterwards. Migrates, runs ``load_catalog``, cuts and
publishes two releases (into a temporary folder), then times N requests of
each URL through Django's test client (no network, no browser) and counts the
queries of one. Templates render as in a server: without the test
environment's per-template signal, which would add its own cost.

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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leger.settings")

HTMX = {"HX-Request": "true"}
# (label, URL, headers); the release page's URL is known once its release is cut.
URLS = [
    ("/models/", "/models/", {}),
    ("/models/ (htmx, filtered)", "/models/?capability=chat&kind=cloud&min_context=128000&search=o", HTMX),
    ("/models/?capability=vision&kind=cloud", "/models/?capability=vision&kind=cloud", {}),
    ("/api/v1/models/", "/api/v1/models/", {}),
]


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
    from django.template.base import Template
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    # Serve static files from source, as the tests do: no collectstatic manifest needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    server_render = Template._render
    setup_test_environment()
    # The test environment makes every template render send a signal the client copies the context for.
    Template._render = server_render
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = Path(scratch.name) / "releases"
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

        urls = [*URLS, ("/releases/<id>/ (diff vs previous)", _release_page(user), {})]
        print(f"catalog: {LLM.objects.count()} models; {args.requests} requests per URL\n")
        # CPU ms: this process's own time per request, which other load on the machine barely moves (the database's
        # work is not in it).
        print(f"{'URL':<40}{'mean ms':>10}{'p50 ms':>10}{'p95 ms':>10}{'CPU ms':>10}{'queries':>10}{'bytes':>10}")
        for label, url, headers in urls:
            response = client.get(url, headers=headers)  # warm-up: templates compiled, connection open
            assert response.status_code == 200, (url, response.status_code)
            with CaptureQueriesContext(connection) as queries:
                client.get(url, headers=headers)
            # Read now: each request start empties the connection's query log.
            query_count = len(queries.captured_queries)
            samples = []
            cpu_started = time.process_time()
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
            cpu_ms = (time.process_time() - cpu_started) * 1000 / args.requests
            print(
                f"{label:<40}{statistics.fmean(samples):>10.1f}{percentile(samples, 0.5):>10.1f}"
                f"{percentile(samples, 0.95):>10.1f}{cpu_ms:>10.1f}{query_count:>10}{len(response.content):>10}"
            )
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
        scratch.cleanup()


def _release_page(user: Any) -> str:
    """Publish a release with models, add-ons and exposed routes, then a second with other models: the URL of the
    second's page, which shows what changed since the first."""
    from leger.catalog.models import Provider
    from leger.marketplace.models import Service
    from leger.marketplace.services import selection_create
    from leger.providers.services import credential_create
    from leger.releases import services
    from leger.releases.models import Release
    from leger.tailnet.services import tailnet_settings_put

    def key(provider: str, value: str) -> Any:
        provider_row = Provider.objects.get(pk=provider)
        return credential_create(owner=user, provider=provider_row, label="bench", value=value)

    key("anthropic", "sk-ant-bench-0123456789abcdef0123456789abcdef")
    openai = key("openai", "sk-proj-bench0123456789abcdef0123456789abcdef")
    tailnet_settings_put(owner=user, tailnet="tail1234.ts.net", hostname="box", exposure="port", custom_domain="")
    selections = [
        selection_create(owner=user, service=Service.objects.get(pk=service), values={}, credential=None)
        for service in ("searxng", "qdrant", "tika", "jupyter")
    ]
    selections.append(
        selection_create(
            owner=user,
            service=Service.objects.get(pk="openai-embeddings"),
            values={"RAG_EMBEDDING_MODEL": "text-embedding-3-small"},
            credential=openai,
        )
    )
    first = services.release_update(
        release=services.release_create(owner=user, name="bench"),
        models=[
            {"model": "claude-haiku-4.5"},
            {"model": "gpt-4o-mini", "provider": "openai"},
            {"model": "gpt-oss-20b"},
            {"model": "qwen3-4b"},
        ],
        services=[selection.pk for selection in selections],
        routes={"searxng": {"exposed": True}, "jupyter": {"exposed": True, "port": 8890}},
    )
    # No broker configured: publishing runs in-process as the cut commits.
    first = services.release_cut(release=first, actor=user)
    second = services.release_clone(release=first, actor=user)
    services.release_update(release=second, models=[{"model": "claude-haiku-4.5"}, {"model": "qwen3-4b"}])
    second = services.release_cut(release=second, actor=user)
    for release in (first, second):
        release.refresh_from_db()
        assert release.status == Release.Status.PUBLISHED, (release.status, release.error)
    return f"/releases/{second.pk}/"


if __name__ == "__main__":
    main()
