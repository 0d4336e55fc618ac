"""Load test: throughput and p50/p95/p99 latency of the main pages and API lists under concurrent users.

    .venv/bin/python bench/load.py [--duration 5] [--connections 8,32] [--workers 3] [--threads 4]

Sets up a throwaway database (the embedded SQLite default in a scratch folder, or a fresh
``leger_bench_<pid>`` database on the server DATABASE_URL names) with the full catalog and a user as after a
few sessions (three keys, eight add-on services, tailnet settings, two published releases and a draft), all
made through the apps' services. Serves it with gunicorn on a free loopback port with production settings
(DEBUG off, WhiteNoise, collected static files), signs in through the login form for a session cookie and
gets an API token, then drives each target with wrk (scripts/install-bench) at each concurrency: pages with
the cookie, the API with the token. Every answer that is not a 200 is counted in the errors column.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lib.stack import ROOT, Client, Stack, make_user

LUA = ROOT / "bench" / "lib" / "wrk.lua"


def find_wrk() -> str | None:
    """wrk on PATH, else try scripts/install-bench once (apt-get; needs root or sudo)."""
    if shutil.which("wrk"):
        return shutil.which("wrk")
    print("wrk is not installed; trying scripts/install-bench ...", flush=True)
    subprocess.run([str(ROOT / "scripts" / "install-bench")], check=False)
    return shutil.which("wrk")


def make_releases(user: object, answers: dict) -> tuple[int, int]:
    """Two published releases (the second stops exposing a route) and a draft cloned from the second.

    Publishing runs eagerly in this process (no broker) into the scratch folder's release store.
    """
    from leger.releases import services
    from leger.releases.models import Release

    first = services.release_update(release=services.release_create(owner=user, name="home lab"), **answers)
    first = services.release_cut(release=first, actor=user)
    second = services.release_clone(release=first, actor=user)
    changed = dict(answers, routes={"searxng": {"exposed": True}, "jupyter": {"exposed": False}})
    second = services.release_cut(release=services.release_update(release=second, **changed), actor=user)
    services.release_clone(release=second, actor=user)
    for release in (first, second):
        release.refresh_from_db()
        if release.status != Release.Status.PUBLISHED:
            raise SystemExit(f"setting up: release {release.pk} did not publish: {release.error}")
    return first.pk, second.pk


def run_wrk(wrk: str, url: str, header: str, *, connections: int, duration: int) -> dict:
    argv = [
        wrk,
        f"--threads={min(connections, 2)}",
        f"--connections={connections}",
        f"--duration={duration}s",
        "--timeout=10s",
        f"--script={LUA}",
        f"--header={header}",
        url,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("LEGER_RESULT "):
            return json.loads(line.removeprefix("LEGER_RESULT "))
    raise RuntimeError(f"wrk gave no result for {url}:\n{result.stdout}\n{result.stderr}")


def errors_cell(result: dict) -> str:
    socket_errors = result["connect"] + result["read"] + result["write"] + result["timeout"]
    total = result["not_200"] + socket_errors
    if not total:
        return "0"
    details = [f"{code}x{count}" for code, count in sorted(result["statuses"].items())]
    if socket_errors:
        details.append(f"socketx{socket_errors}")
    return f"{total} ({', '.join(details)})  <-- NOT 200"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="Seconds per target and concurrency (default 5).")
    parser.add_argument(
        "--connections", default="8,32", help="Comma-separated concurrencies (open connections; default 8,32)."
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3).")
    parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker (default 4).")
    args = parser.parse_args()
    concurrencies = [int(value) for value in args.connections.split(",") if value.strip()]

    wrk = find_wrk()
    if not wrk:
        print("bench/load.py: skipped: wrk is not installed and scripts/install-bench could not install it.")
        return
    banner = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False).stdout.split()
    version = f"wrk {banner[1]}" if len(banner) > 1 else "wrk"
    with Stack() as stack:
        stack.setup_django()
        loaded = stack.load_catalog()
        from leger.catalog.models import LLM

        user, answers = make_user()
        first, second = make_releases(user, answers)
        gunicorn, base = stack.start_gunicorn(workers=args.workers, threads=args.threads)
        client = Client(base)
        client.sign_in()

        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} before the run (wrk shares them)")
        print(f"database: {stack.database}; load_catalog took {loaded:.2f}s; {LLM.objects.count()} models")
        print(
            f"server: gunicorn {base} --workers={args.workers} --worker-class=gthread --threads={args.threads}; "
            "DEBUG off, WhiteNoise (CompressedManifestStaticFilesStorage), CONN_MAX_AGE="
            f"{stack.env['CONN_MAX_AGE']}"
        )
        print(f"user: 3 keys, 8 add-on services, tailnet settings, releases {first} and {second} published, 1 draft")
        print(
            f"load: {version} on loopback, {args.duration}s per target "
            f"and concurrency; pages with the session cookie, /api/ with the token; errors = answers not 200\n"
        )
        targets = [
            "/",
            "/models/",
            "/models/?capability=vision&kind=cloud",
            "/models/claude-haiku-4.5/",
            "/providers/",
            "/marketplace/",
            "/releases/",
            f"/releases/{second}/",
            "/api/v1/models/",
            "/api/v1/providers/",
            "/api/v1/releases/",
        ]
        # Warm every worker thread on every target first (templates compiled, database connection open), and
        # check each answers 200 to the header it will be sent.
        for target in targets:
            for _ in range(args.workers * args.threads):
                status = client.get(target, token=target.startswith("/api/"))
                if status != 200:
                    print(f"warm-up: {target} answered {status}, not 200")
                    break
        width = max(len(target) for target in targets) + 2
        print(f"{'target':<{width}}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  errors")
        failures = 0
        for target in targets:
            header = client.token_header if target.startswith("/api/") else client.session_header
            for connections in concurrencies:
                gunicorn.check_alive()
                result = run_wrk(wrk, base + target, header, connections=connections, duration=args.duration)
                cell = errors_cell(result)
                failures += cell != "0"
                print(
                    f"{target:<{width}}{connections:>6}{result['rps']:>9.1f}{result['p50_ms']:>9.1f}"
                    f"{result['p95_ms']:>9.1f}{result['p99_ms']:>9.1f}  {cell}",
                    flush=True,
                )
        if failures:
            print(f"\n{failures} run(s) had answers that were not 200: see the errors column.")
        else:
            print("\nevery answer was a 200.")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
