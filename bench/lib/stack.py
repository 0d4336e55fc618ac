"""The real parts bench/load.py and bench/soak.py run against, each started on loopback and always stopped.

- a throwaway database: the embedded default (a SQLite file in a scratch LEGER_VAR_DIR) or, when DATABASE_URL
  is set, a fresh ``leger_bench_<pid>`` database on that server, dropped afterwards;
- the full catalog and a realistic user (keys, selections, tailnet settings), made through the apps' services;
- gunicorn serving leger.wsgi with production settings (DEBUG off, WhiteNoise on collected static files);
- moto_server as the S3 bucket and a prefork Celery worker on its own Redis database and queue.

``Stack`` is a context manager: whatever fails, every process it started is stopped and the database dropped.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
USERNAME = "bench"
PASSWORD = "bench-password-1"
# Plain HTTP on loopback: a deployment terminates TLS in front (caddy); everything else is as in production.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "LOG_LEVEL": "WARNING",
}
S3_ENV = {
    "LEGER_S3_REGION": "us-east-1",
    "LEGER_S3_ACCESS_KEY_ID": "leger-bench",
    "LEGER_S3_SECRET_ACCESS_KEY": "leger-bench-secret",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=0.5)
        return True
    except urllib.error.HTTPError:
        return True  # it answered, even if not 200
    except OSError:
        return False


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- memory -------------------------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def rss_kib(pid: int) -> int:
    """VmRSS of one process, in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid: int) -> tuple[int, int]:
    """RSS of a process and its direct children (gunicorn's workers, Celery's pool), and how many children."""
    kids = children(pid)
    return rss_kib(pid) + sum(rss_kib(kid) for kid in kids), len(kids)


# --- processes ----------------------------------------------------------------------------------------------------


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self.handle = log.open("ab")
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; its log ends:\n{tail}")

    def stop(self) -> None:
        """TERM the process group (the master and its workers), then KILL what is left after 20 s."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # stragglers of the group, if any
        if self.popen.poll() is None:
            self.popen.wait(timeout=10)
        self.handle.close()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class Stack:
    """Everything a benchmark starts, stopped in reverse order on exit (even after an error)."""

    def __init__(self, *, broker: str = "", s3: bool = False) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="leger-bench-"))
        self.processes: list[Process] = []
        self.cleanups: list[Callable[[], None]] = []
        self.env: dict[str, str] = {
            **os.environ,
            **PRODUCTION_ENV,
            "LEGER_VAR_DIR": str(self.workdir),
            "DJANGO_SETTINGS_MODULE": "leger.settings",
            "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
        }
        self.broker = broker
        self.queue = ""
        if broker:
            self.queue = f"leger-bench-{uuid.uuid4().hex[:8]}"
            # No result backend: nothing reads task results (the release row is the state), so none pile up.
            self.env.update(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND="", CELERY_TASK_DEFAULT_QUEUE=self.queue)
            self.cleanups.append(self.forget_queue)
        else:
            self.env["CELERY_BROKER_URL"] = ""  # publishing runs in-process (eager)
        self.s3 = s3
        self.database = ""

    # -- context manager --

    def __enter__(self) -> Stack:
        # The servers run in their own sessions, so a Ctrl-C or a TERM reaches only this process: turn both into
        # exceptions (a background job starts with SIGINT ignored, and TERM would kill without cleaning up), so
        # __exit__ stops every server.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGHUP, _terminate)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if isinstance(error, Exception):
            # What the servers said is what explains a failure (a 500's traceback is in gunicorn's log).
            for process in self.processes:
                tail = process.log.read_text(errors="replace")[-4000:].strip()
                if tail:
                    print(f"--- end of {process.name}'s log ---\n{tail}", file=sys.stderr)
        self.close()

    def close(self) -> None:
        # A second Ctrl-C or TERM must not cut the cleaning up short (each stop is bounded: 20 s, then KILL).
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as error:  # keep stopping the others
                print(f"warning: stopping {process.name}: {error}", file=sys.stderr)
        self.processes.clear()
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:
                print(f"warning: cleaning up: {error}", file=sys.stderr)
        self.cleanups.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def forget_queue(self) -> None:
        """Delete this run's queue and its kombu bindings from Redis, so runs leave nothing behind."""
        import redis

        client = redis.Redis.from_url(self.broker, socket_timeout=2)
        client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")

    def start(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, env=self.env, log=self.workdir / f"{name}.log")
        self.processes.append(process)
        return process

    # -- set-up, in this process --

    def setup_django(self) -> None:
        """Point this process at the scratch folder (and bucket, broker) and create the database."""
        if self.s3:
            self.start_moto()
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        import logging

        import django

        django.setup()
        logging.disable(logging.WARNING)

        from django.core.management import call_command
        from django.db import connection

        if connection.vendor == "sqlite":
            # The embedded default: the SQLite file in LEGER_VAR_DIR (WAL mode), shared with the servers.
            call_command("migrate", verbosity=0, interactive=False)
            self.database = f"sqlite ({connection.settings_dict['NAME']})"
        else:
            name = f"leger_bench_{os.getpid()}"
            original = connection.settings_dict["NAME"]
            connection.settings_dict.setdefault("TEST", {})["NAME"] = name
            connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
            url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()
            self.env["DATABASE_URL"] = url
            self.database = f"{connection.vendor} ({name}, dropped afterwards)"

            def drop() -> None:
                connection.close()
                connection.creation.destroy_test_db(original, verbosity=0)

            self.cleanups.append(drop)
        call_command("collectstatic", verbosity=0, interactive=False)

    def load_catalog(self) -> float:
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("load_catalog", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        return time.perf_counter() - started

    # -- servers --

    def start_moto(self) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = self.start("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)])

        def up() -> bool:
            process.check_alive()
            return answers(f"{url}/moto-api/")

        wait_until(up, timeout=30, what="moto_server")
        import boto3

        bucket = "leger-bench"
        boto3.client(
            "s3",
            endpoint_url=url,
            region_name=S3_ENV["LEGER_S3_REGION"],
            aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket=bucket)
        self.env.update(LEGER_S3_BUCKET=bucket, LEGER_S3_ENDPOINT_URL=url, **S3_ENV)

    def start_gunicorn(self, *, workers: int, threads: int) -> tuple[Process, str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = self.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "leger.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                "--worker-class=gthread",
                f"--threads={threads}",
                "--backlog=2048",
                "--timeout=60",
                "--log-level=warning",
            ],
        )

        def up() -> bool:
            process.check_alive()
            return answers(f"{url}/healthz")

        wait_until(up, timeout=60, what="gunicorn")
        # Wait for every worker too, so the first measurements do not include a worker booting.
        wait_until(lambda: len(children(process.pid)) >= workers, timeout=60, what="gunicorn's workers")
        return process, url

    def start_worker(self, *, concurrency: int) -> Process:
        process = self.start(
            "celery",
            [
                str(BIN / "celery"),
                "-A",
                "leger",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                f"--queues={self.queue}",
                f"--hostname=bench-{self.queue}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
        )

        def ready() -> bool:
            process.check_alive()
            return "ready." in process.log.read_text(errors="replace")

        wait_until(ready, timeout=60, what="celery worker")
        return process


# --- the user the benchmarks act as -------------------------------------------------------------------------------


def make_user() -> tuple[Any, dict[str, Any]]:
    """A user as after a few sessions of use: three keys, eight add-on services, tailnet settings.

    Returns the user and the wizard answers of a full release using all of it (four models, every selection,
    an Open WebUI setting and two exposed routes).
    """
    from django.contrib.auth.models import User

    from leger.catalog.models import Provider
    from leger.marketplace.models import Service
    from leger.marketplace.services import selection_create
    from leger.providers.services import credential_create
    from leger.tailnet.services import tailnet_settings_put

    user = User.objects.create_user(USERNAME, "bench@example.org", PASSWORD)
    keys = {}
    for provider_id in ("anthropic", "openai", "tavily"):
        provider = Provider.objects.get(pk=provider_id)
        keys[provider_id] = credential_create(
            owner=user, provider=provider, label="bench", value=(provider.key_prefix or "sk-") + "x" * 40
        )
    tailnet_settings_put(owner=user, tailnet="tail1234.ts.net", hostname="box")

    def select(service_id: str, **kwargs: Any) -> int:
        return selection_create(owner=user, service=Service.objects.get(pk=service_id), **kwargs).pk

    selections = [
        select("searxng"),
        select("qdrant"),
        select("tika"),
        select("whisper"),
        select("edgetts"),
        select("jupyter"),
        select("tavily-loader", credential=keys["tavily"]),
        select("openai-embeddings", credential=keys["openai"]),
    ]
    answers = {
        "models": [
            {"model": "claude-haiku-4.5"},
            {"model": "gpt-4o-mini", "provider": "openai"},
            {"model": "gpt-oss-20b"},
            {"model": "qwen3-4b"},
        ],
        "services": selections,
        "openwebui": {"TASK_MODEL": "qwen3-4b"},
        "routes": {"searxng": {"exposed": True}, "jupyter": {"exposed": True}},
    }
    return user, answers


# --- HTTP as a signed-in person and as an API client ----------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """Signs in through the real login form (CSRF and all) and gets an API token, both over loopback HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = ""

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")

    def sign_in(self, username: str = USERNAME, password: str = PASSWORD) -> None:
        self.opener.open(f"{self.base}/login/", timeout=30).read()
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.cookie("csrftoken")}
        ).encode()
        request = urllib.request.Request(
            f"{self.base}/login/", data=body, headers={"Referer": f"{self.base}/login/"}, method="POST"
        )
        self.opener.open(request, timeout=30).read()
        if not self.cookie("sessionid"):
            raise RuntimeError("signing in through /login/ gave no session cookie")
        self.token = self.api("POST", "/api/v1/auth/token/", {"username": username, "password": password})["token"]

    @property
    def session_header(self) -> str:
        return f"Cookie: sessionid={self.cookie('sessionid')}"

    @property
    def token_header(self) -> str:
        return f"Authorization: Token {self.token}"

    def get(self, path: str, *, token: bool = False) -> int:
        """GET as the signed-in person (session cookie) or as an API client (token); the status, unredirected."""
        headers = {"Authorization": f"Token {self.token}"} if token else {"Cookie": self.session_header[8:]}
        request = urllib.request.Request(f"{self.base}{path}", headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=60) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, headers=headers, method=method)
        # No cookie jar: a token request is an API client's, so no CSRF applies.
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path} answered {error.code}: {error.read()[:500]!r}") from None
        return json.loads(raw) if raw else None
