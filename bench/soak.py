"""Soak: N cuts in a row through the HTTP API, with the memory of the web and worker processes along the way.

    .venv/bin/python bench/soak.py [--cuts 50] [--workers 2] [--threads 4] [--concurrency 2]

Starts moto_server (the bucket), a throwaway database (the embedded SQLite default in a scratch folder, or a
fresh ``leger_bench_<pid>`` database on the server DATABASE_URL names), gunicorn with production settings and
a real prefork Celery worker on Redis (LEGER_BENCH_REDIS_URL, default redis://127.0.0.1:6379/5, on a queue of
its own), with the full catalog and a user with keys, add-on services and tailnet settings. Then, as an API
client with a token: create a full draft, and N times cut it (POST /api/v1/releases/{id}/cut/), poll until it is
published, and clone it into the next draft. Prints the resident memory (VmRSS) of gunicorn (master +
workers) and Celery (main + pool children) before, after N/2 and after N cuts, cuts per second, and the
p50/p95 of cut→published. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lib.stack import ROOT, Client, Stack, make_user, percentile, tree_rss_kib

REDIS_URL = os.environ.get("LEGER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
DONE = {"published", "failed"}


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def memory(web: int, worker: int) -> dict[str, tuple[int, int]]:
    return {"web": tree_rss_kib(web), "worker": tree_rss_kib(worker)}


def cut_until_published(client: Client, release_id: int, *, timeout: float) -> tuple[float, dict]:
    """POST cut, then poll the release; seconds from the cut request to published (or failed)."""
    started = time.perf_counter()
    release = client.api("POST", f"/api/v1/releases/{release_id}/cut/")
    deadline = started + timeout
    while release["status"] not in DONE:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"release {release_id} still {release['status']} after {timeout:.0f}s")
        time.sleep(0.05)
        release = client.api("GET", f"/api/v1/releases/{release_id}/")
    return time.perf_counter() - started, release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=50, help="Cuts in a row (default 50).")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2).")
    parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker (default 4).")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery prefork pool size (default 2).")
    parser.add_argument("--timeout", type=float, default=120, help="Seconds one cut may take (default 120).")
    args = parser.parse_args()
    if args.cuts < 1:
        parser.error("--cuts must be at least 1")

    if not redis_answers(REDIS_URL):
        print(f"bench/soak.py: skipped: Redis does not answer at {REDIS_URL} (set LEGER_BENCH_REDIS_URL).")
        return
    with Stack(broker=REDIS_URL, s3=True) as stack:
        stack.setup_django()
        stack.load_catalog()
        _, answers = make_user()
        worker = stack.start_worker(concurrency=args.concurrency)
        gunicorn, base = stack.start_gunicorn(workers=args.workers, threads=args.threads)
        client = Client(base)
        client.sign_in()

        print(f"database: {stack.database}; bucket: {stack.env['LEGER_S3_ENDPOINT_URL']} (moto_server)")
        print(
            f"web: gunicorn --workers={args.workers} --worker-class=gthread --threads={args.threads}, DEBUG off; "
            f"worker: celery --pool=prefork --concurrency={args.concurrency} on {REDIS_URL}, queue {stack.queue}"
        )
        print(
            "each cut: POST /api/v1/releases/<id>/cut/ of a full release (4 models, 8 add-on services), poll "
            "GET /api/v1/releases/<id>/ every 50 ms until published, then POST .../clone/ for the next draft\n"
        )

        draft = client.api("POST", "/api/v1/releases/", {"name": "soak", **answers})
        samples = {"before": memory(gunicorn.pid, worker.pid)}
        latencies: list[float] = []
        failed: list[str] = []
        versions: set[int] = set()
        release_id = draft["id"]
        started = time.perf_counter()
        for index in range(1, args.cuts + 1):
            gunicorn.check_alive()
            worker.check_alive()
            seconds, release = cut_until_published(client, release_id, timeout=args.timeout)
            if release["status"] == "published":
                latencies.append(seconds)
                versions.add(release["version"])
            else:
                failed.append(f"v{release['version']}: {release['error']}")
            if index == args.cuts // 2 and index != args.cuts:
                samples[f"after {index}"] = memory(gunicorn.pid, worker.pid)
            if index < args.cuts:
                release_id = client.api("POST", f"/api/v1/releases/{release_id}/clone/")["id"]
        elapsed = time.perf_counter() - started
        samples[f"after {args.cuts}"] = memory(gunicorn.pid, worker.pid)

        labels = list(samples)
        # The first cuts also load code and fill caches; growth over the second half is what a leak would show.
        header = "".join(f"{label:>12}" for label in labels)
        print(f"{'RSS, MiB':<34}{header}{'change':>10}{'2nd half':>10}")
        for role, name in (("web", "gunicorn master + {n} workers"), ("worker", "celery main + {n} pool children")):
            kib = [samples[label][role][0] for label in labels]
            row = "".join(f"{value / 1024:>12.1f}" for value in kib)
            title = name.format(n=samples[labels[-1]][role][1])
            print(f"{title:<34}{row}{(kib[-1] - kib[0]) / 1024:>+10.1f}{(kib[-1] - kib[-2]) / 1024:>+10.1f}")
        print()
        print(
            f"{args.cuts} cuts in {elapsed:.1f}s: {args.cuts / elapsed:.2f} cuts/s "
            f"(cut, wait until published, clone; one at a time)"
        )
        if latencies:
            print(
                f"cut → published: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, mean {statistics.fmean(latencies) * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms"
            )
        low, high = min(versions, default=0), max(versions, default=0)
        print(f"published: {len(latencies)} of {args.cuts}, versions {low}..{high}")
        if len(versions) != len(latencies):
            print("warning: some published releases share a version number")
        for line in failed:
            print(f"FAILED {line}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
