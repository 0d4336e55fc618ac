"""Time cutting a release until it is published in an S3 bucket on loopback, and render+validate alone.

    .venv/bin/python bench/cut.py [runs]

Starts its own moto_server on a free loopback port and a throwaway database (a SQLite file by default, or a
fresh ``leger_bench_<pid>`` database on the server DATABASE_URL names), loads the catalog, and gives a user
keys, tailnet settings and marketplace selections. Then, for a minimal and a full release:

- render + validate: rendering the stored snapshot, validating the files and building the manifest;
- cut: ``release_cut`` (snapshot, checks, version) without publishing;
- publish: the Celery task, run EAGERLY in this process (as with no broker configured): render, validate,
  upload every object to the bucket, read the listing back, move latest, store the files;
- end to end: cut + publish, from pressing Cut to status published.

Prints medians and ranges; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lib.stack import ROOT, free_port, make_user

DEFAULT_RUNS = 5


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=0.5)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("moto_server did not start within 30s")


def ms(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds) * 1000:7.1f} ms "
        f"(min {min(seconds) * 1000:.1f}, max {max(seconds) * 1000:.1f})"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS
    sys.path.insert(0, str(ROOT))
    moto, endpoint = start_moto()
    workdir = tempfile.TemporaryDirectory(prefix="leger-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir.name}/leger.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "leger.settings"
    os.environ["CELERY_BROKER_URL"] = ""  # eager: the task runs in this process
    os.environ.update(
        LEGER_S3_BUCKET="leger-bench",
        LEGER_S3_ENDPOINT_URL=endpoint,
        LEGER_S3_REGION="us-east-1",
        LEGER_S3_ACCESS_KEY_ID="bench",
        LEGER_S3_SECRET_ACCESS_KEY="bench-secret",
    )
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)

    import boto3
    from django.db import connection

    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).create_bucket(Bucket="leger-bench")
    engine = connection.vendor
    name = str(Path(workdir.name) / "bench.sqlite3") if engine == "sqlite" else f"leger_bench_{os.getpid()}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        print(f"database: {engine} ({name}); bucket: leger-bench at {endpoint} (moto_server)")
        print("Celery: EAGER (no broker), so 'publish' runs the task in this process; a worker adds queue latency")
        run(runs)
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
        workdir.cleanup()
        moto.terminate()
        moto.wait(timeout=10)


def setup_user() -> tuple[Any, dict[str, dict[str, Any]]]:
    """The catalog, and the load test's user (bench/lib/stack.py): a minimal and a full release to cut."""
    from leger.catalog.loading import load_fixtures

    started = time.perf_counter()
    load_fixtures()
    print(f"catalog loaded in {time.perf_counter() - started:.2f} s")
    user, full = make_user()
    return user, {"minimal": {"models": [{"model": "claude-haiku-4.5"}]}, "full": full}


def run(runs: int) -> None:
    from leger.releases import services
    from leger.releases.models import Release
    from leger.releases.tasks import publish_release

    user, inputs = setup_user()
    queued: list[int] = []
    enqueue = services._enqueue
    services._enqueue = queued.append  # cut without publishing, to time the two halves apart
    try:
        for kind, answers in inputs.items():
            render_times, ready_times, cut_times, publish_times, totals = [], [], [], [], []
            objects = 0
            for index in range(runs):
                draft = services.release_update(
                    release=services.release_create(owner=user, name=f"{kind} {index}"), **answers
                )
                started = time.perf_counter()
                problems = services.release_ready(release=draft)
                ready_times.append(time.perf_counter() - started)
                if problems:
                    raise SystemExit(f"{kind}: the release cannot be cut: {problems[0]}")

                started = time.perf_counter()
                release = services.release_cut(release=draft, actor=user)
                cut_done = time.perf_counter()
                publish_release.delay(queued.pop())
                published = time.perf_counter()
                release.refresh_from_db()
                if release.status != Release.Status.PUBLISHED:
                    raise SystemExit(f"{kind}: v{release.version} did not publish: {release.error}")
                cut_times.append(cut_done - started)
                publish_times.append(published - cut_done)
                totals.append(published - started)
                # Every file and the manifest (all stored as rows), into v{N}/ and again into latest/.
                objects = 2 * release.files.count()

                started = time.perf_counter()
                rendered, problems = services.render_snapshot(release.snapshot)
                render_times.append(time.perf_counter() - started)
                assert rendered is not None and not problems
            print(f"{kind} release ({objects} objects uploaded per cut), {runs} runs:")
            print(f"  render + validate + manifest  {ms(render_times)}")
            print(f"  release_ready (draft checks)  {ms(ready_times)}")
            print(f"  cut (freeze, checks, version) {ms(cut_times)}")
            print(f"  publish (eager task)          {ms(publish_times)}")
            print(f"  end to end: cut → published   {ms(totals)}")
    finally:
        services._enqueue = enqueue


if __name__ == "__main__":
    main()
