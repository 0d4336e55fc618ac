"""Real services for the tests: moto's S3 server on loopback, a Celery worker on Redis, the real programs a
release runs (started until healthy) and loopback stand-ins for what cannot run here.

Imported by tests/conftest.py so every test can ask for them by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("LEGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JSONHandler(BaseHTTPRequestHandler):
    """A quiet request handler for a loopback stand-in, with ``answer`` to reply in JSON."""

    def answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A stand-in served on a free loopback port until its ``shutdown()``."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def running_program(
    argv: list[str], *, env: dict[str, str], cwd: Path, health_url: str, timeout: float, log: Path
) -> Iterator[subprocess.Popen]:
    """A real program started for a test, yielded once ``health_url`` answers 200 and stopped afterwards; a
    program that exits or never answers fails the test with the tail of its log."""
    with log.open("w") as output:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                assert process.poll() is None, log.read_text()[-4000:]
                try:
                    if httpx.get(health_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(1)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


class MotoServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=0.5)
                return True
            except OSError:
                return False

        wait_until(answers, timeout=30, what="moto_server")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer(free_port())
    server.start()
    yield server
    server.stop()


S3_ENV = {
    "LEGER_S3_REGION": "us-east-1",
    "LEGER_S3_ACCESS_KEY_ID": "leger-test",
    "LEGER_S3_SECRET_ACCESS_KEY": "leger-test-secret",
}


@pytest.fixture
def s3_bucket(moto_server: MotoServer, settings) -> str:
    """A fresh bucket on the loopback S3 endpoint, configured as the release store."""
    import boto3

    name = f"leger-test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=S3_ENV["LEGER_S3_REGION"],
        aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=name)
    settings.LEGER_S3_BUCKET = name
    settings.LEGER_S3_ENDPOINT_URL = moto_server.url
    settings.LEGER_S3_REGION = S3_ENV["LEGER_S3_REGION"]
    settings.LEGER_S3_ACCESS_KEY_ID = S3_ENV["LEGER_S3_ACCESS_KEY_ID"]
    settings.LEGER_S3_SECRET_ACCESS_KEY = S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"]
    settings.LEGER_S3_PUBLIC = False
    return name


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


class CeleryWorker:
    """A real `celery worker` process on Redis, using the test database and a bucket."""

    def __init__(self, *, env: dict[str, str], queue: str, log: Path) -> None:
        self.env = env
        self.queue = queue
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "leger",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                f"--queues={self.queue}",
                f"--hostname=test-{self.queue}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early; see {self.log}")
            return "ready." in self.log.read_text(errors="replace")

        wait_until(ready, timeout=60, what="celery worker")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def reset_celery_app(app) -> None:
    """Drop what Celery built on first use (routing, producer pool, result backend) so it is built again.

    Celery keeps them from the first ``.delay()``, even an eager one, so a reconfigured broker, queue or
    result backend would otherwise only take effect in a new process.
    """
    # Not app.close(): that also deregisters the app, and shared tasks imported later would never reach it.
    # Dropped, not closed: objects built earlier may still hold the old pool, and closing it under them fails.
    app._pool = None
    app.__dict__.pop("amqp", None)
    app._local.__dict__.pop("backend", None)


def database_url_for_worker() -> str:
    from django.db import connection

    params = connection.settings_dict
    if params["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a real Celery worker shares the test database, which needs PostgreSQL on 127.0.0.1:5432")
    user = params.get("USER") or "postgres"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup, django_db_blocker, moto_server: MotoServer, tmp_path_factory
) -> Iterator[CeleryWorker]:
    """Start one worker per test session; tests that use it need `transaction=True` so it sees their rows.

    The worker stores releases in the bucket named by LEGER_S3_BUCKET=leger-worker on the moto server;
    tests using the worker get that bucket through the `worker_bucket` fixture.
    """
    if not redis_answers():
        pytest.fail(f"Redis does not answer at {REDIS_URL}; start it (see .ci/run)")
    with django_db_blocker.unblock():
        database_url = database_url_for_worker()
    from leger.celery import app

    queue = f"leger-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LEGER_S3_BUCKET": "leger-worker",
        "LEGER_S3_ENDPOINT_URL": moto_server.url,
        **S3_ENV,
        "CONN_MAX_AGE": "0",
        # A bucket that stays away fails the release after 1+2+4+8 s of retries instead of 75 s.
        "LEGER_PUBLISH_RETRY_BASE_SECONDS": "1",
    }
    import boto3

    boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=S3_ENV["LEGER_S3_REGION"],
        aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket="leger-worker")
    worker = CeleryWorker(env=env, queue=queue, log=tmp_path_factory.mktemp("celery") / "worker.log")
    worker.start()
    keys = ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    saved = {k: app.conf[k] for k in keys}
    app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False, task_default_queue=queue)
    reset_celery_app(app)
    yield worker
    app.conf.update(saved)
    reset_celery_app(app)
    worker.stop()


@pytest.fixture
def worker_bucket(celery_worker: CeleryWorker, moto_server: MotoServer, settings) -> str:
    """The bucket the worker publishes to, configured in this process too."""
    settings.LEGER_S3_BUCKET = "leger-worker"
    settings.LEGER_S3_ENDPOINT_URL = moto_server.url
    settings.LEGER_S3_REGION = S3_ENV["LEGER_S3_REGION"]
    settings.LEGER_S3_ACCESS_KEY_ID = S3_ENV["LEGER_S3_ACCESS_KEY_ID"]
    settings.LEGER_S3_SECRET_ACCESS_KEY = S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"]
    settings.LEGER_S3_PUBLIC = False
    return "leger-worker"


def run_together(jobs: list[Callable[[], Any]], *, timeout: float = 120) -> list[Any]:
    """Start every job at the same moment, each in its own thread and connection; their results or errors."""
    from django.db import connections

    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except Exception as error:  # handed back to the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job), name=f"job-{i}") for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not [thread for thread in threads if thread.is_alive()], "a job is still running (a deadlock?)"
    return results
