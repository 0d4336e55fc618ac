"""PostgreSQL stopping and restarting under a running Leger: nothing lost, answers truthful, no restart of Leger.

A private PostgreSQL cluster is made for this module (initdb into a temporary folder, its own port on loopback;
the machine's server on 5432 is never touched), and Leger runs on it as production does: gunicorn, DEBUG off,
persistent connections (the settings' CONN_MAX_AGE) with health checks. The tests then restart PostgreSQL
(`pg_ctl restart -m fast`), stop it and start it again, and stop it while a POST is half-way through its
transaction, and look at what users get and at what the database holds.

Needs PostgreSQL's server binaries (initdb, pg_ctl); they skip without them, and fail under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.services import REPO, free_port, wait_until

pytestmark = pytest.mark.slow

DATABASE = "leger_f"
USERNAME = "dana"
PASSWORD = "dana-password-1"
KEY_PREFIX = "sk-ant-"
# The gunicorn worker's threads each keep a connection; enough requests in a row land on all of them.
THREADS = 4
WARM_UP_REQUESTS = 3 * THREADS


def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def a_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, run as the `postgres` OS user when we are root."""

    bin: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        # root may not run initdb or the server; the postgres OS user owns the folder and runs both.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def initdb(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -h 127.0.0.1"
        self._run(
            str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", *extra
        )

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "fast")

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}", autocommit=True)

    def scalar(self, sql: str, *params: Any) -> Any:
        with self.connect() as connection:
            return connection.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Straight under /tmp, not pytest's tmp_path: the postgres user must reach the folder (pytest's are 0700).
    root = Path(tempfile.mkdtemp(prefix="leger-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivatePostgres(bin=bin_dir, root=root, port=free_port())
    try:
        cluster.initdb()
        cluster.start()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):  # it was not running
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Leger:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    token: str
    browser: requests.Session

    def api(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def worker_pids(self) -> set[int]:
        """gunicorn's worker processes: the same ones before and after means Leger itself was not restarted."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}


# The schema, then one user and the provider their key is for (one Django start for both).
SETUP = f"""
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth.models import User
from leger.catalog.models import Provider
User.objects.create_user({USERNAME!r}, "dana@example.org", {PASSWORD!r})
Provider.objects.create(
    id="anthropic", name="Anthropic", kind="api", env_var="ANTHROPIC_API_KEY", key_prefix={KEY_PREFIX!r}
)
"""


@pytest.fixture(scope="module")
def leger(postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Leger]:
    """gunicorn serving Leger on the private cluster (DEBUG off, persistent connections), with a user signed in
    both ways: an API token, and a browser session from the sign-in form."""
    var_dir = tmp_path_factory.mktemp("leger-var")
    log = var_dir / "gunicorn.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LEGER_S3_", "CELERY_", "CONN_MAX_AGE", "DJANGO_"))
    }
    env.update(
        {
            "DATABASE_URL": postgres.url(),
            "DEBUG": "0",
            "LEGER_VAR_DIR": str(var_dir),
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )

    def manage(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    # Side by side: schema and data, and the static files' manifest (DEBUG off serves collected, hashed files).
    steps = [manage("shell", "-c", SETUP), manage("collectstatic", "--noinput", "-v", "0")]
    for step in steps:
        output, _ = step.communicate(timeout=180)
        if step.returncode:
            raise RuntimeError(f"{step.args} failed:\n{output.decode(errors='replace')}")

    port = free_port()
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "leger.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=1",
                f"--threads={THREADS}",
                "--timeout=60",
                "--access-logfile=-",
                "--error-logfile=-",
            ],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                return requests.get(url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout=60, what="gunicorn")
        token = requests.post(
            url + "/api/v1/auth/token/", data={"username": USERNAME, "password": PASSWORD}, timeout=10
        )
        assert token.status_code == 200, token.text
        browser = requests.Session()
        browser.get(url + "/login/", timeout=10).raise_for_status()
        signed_in = browser.post(
            url + "/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                "next": "/providers/",
            },
            timeout=10,
        )
        assert signed_in.url.endswith("/providers/"), signed_in.text[:500]
        yield Leger(url=url, process=process, log=log, token=token.json()["token"], browser=browser)
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: no request of these tests is left to finish
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def running(postgres: PrivatePostgres, leger: Leger) -> Iterator[Leger]:
    """Leger with its database up; whatever a test does to PostgreSQL, it is running again afterwards."""
    yield leger
    if postgres.data.joinpath("postmaster.pid").exists():
        return
    postgres.start()


def add_key(leger: Leger, label: str, *, timeout: float = 30) -> requests.Response:
    return leger.api().post(
        leger.url + "/api/v1/credentials/",
        json={"provider": "anthropic", "label": label, "value": a_key()},
        timeout=timeout,
    )


def labels(leger: Leger) -> list[str]:
    response = leger.api().get(leger.url + "/api/v1/credentials/", timeout=10)
    assert response.status_code == 200, response.text
    return [item["label"] for item in response.json()["results"]]


def many_requests(leger: Leger, count: int) -> list[int]:
    """Statuses of ``count`` requests in a row over every kind of connection user: API, page, health check."""
    api, statuses = leger.api(), []
    for number in range(count):
        if number % 3 == 0:
            response = api.get(leger.url + "/api/v1/credentials/", timeout=10)
        elif number % 3 == 1:
            response = leger.browser.get(leger.url + "/providers/", timeout=10)
        else:
            response = requests.get(leger.url + "/healthz", timeout=10)
        statuses.append(response.status_code)
    return statuses


def test_after_a_restart_of_postgresql_the_next_requests_succeed_and_nothing_is_lost(
    postgres: PrivatePostgres, running: Leger
) -> None:
    leger = running
    written = add_key(leger, "before-restart")
    assert written.status_code == 201, written.text
    # Every worker thread now holds a persistent connection that the restart will close under it.
    assert many_requests(leger, WARM_UP_REQUESTS) == [200] * WARM_UP_REQUESTS
    workers = leger.worker_pids()

    postgres.restart()

    # No request pays for a dead kept connection: each thread's is checked and replaced before use.
    assert many_requests(leger, WARM_UP_REQUESTS) == [200] * WARM_UP_REQUESTS
    assert "before-restart" in labels(leger)
    page = leger.browser.get(leger.url + "/providers/", timeout=10)
    assert page.status_code == 200 and "before-restart" in page.text
    assert add_key(leger, "after-restart").status_code == 201
    assert leger.worker_pids() == workers, "gunicorn's worker was replaced; Leger should recover by itself"


def test_while_postgresql_is_stopped_requests_get_a_503_saying_so_and_recover_once_it_is_back(
    postgres: PrivatePostgres, running: Leger
) -> None:
    leger = running
    assert add_key(leger, "before-stop").status_code == 201
    assert many_requests(leger, WARM_UP_REQUESTS) == [200] * WARM_UP_REQUESTS
    workers = leger.worker_pids()

    postgres.stop()

    health = requests.get(leger.url + "/healthz", timeout=10)
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "database": "down"}

    api = leger.api().get(leger.url + "/api/v1/credentials/", timeout=10)
    assert api.status_code == 503
    assert api.headers["Content-Type"] == "application/json"
    assert "database" in api.json()["detail"]
    assert api.headers["Retry-After"]

    page = leger.browser.get(leger.url + "/providers/", timeout=10)
    assert page.status_code == 503
    assert "database is not answering" in page.text
    for trace in ("Traceback", "OperationalError", "psycopg", str(postgres.port)):
        assert trace not in page.text
        assert trace not in api.text

    refused = add_key(leger, "while-stopped")
    assert refused.status_code == 503

    postgres.start()

    assert requests.get(leger.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert many_requests(leger, WARM_UP_REQUESTS) == [200] * WARM_UP_REQUESTS
    kept = labels(leger)
    assert "before-stop" in kept
    assert "while-stopped" not in kept
    assert leger.worker_pids() == workers


def test_a_post_in_flight_when_postgresql_stops_writes_nothing_and_can_be_sent_again(
    postgres: PrivatePostgres, running: Leger
) -> None:
    """Adding a key writes the key and its audit entry in one transaction; stopped between the two, neither
    stays. The audit table is held locked so the POST is caught after its first INSERT, for certain."""
    leger = running
    label = "in-flight"
    blocker = postgres.connect()
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE providers_auditentry IN SHARE MODE")  # INSERTs wait; reads do not
    answer: dict[str, Any] = {}

    def post() -> None:
        try:
            answer["response"] = add_key(leger, label)
        except requests.RequestException as error:
            answer["error"] = error

    thread = threading.Thread(target=post)
    thread.start()
    try:

        def waiting_on_the_audit_insert() -> bool:
            return bool(
                postgres.scalar(
                    "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                    "JOIN pg_class c ON c.oid = l.relation "
                    "WHERE a.wait_event_type = 'Lock' AND a.query LIKE %s "
                    "AND c.relname = 'providers_credential' AND l.mode = 'RowExclusiveLock'",
                    'INSERT INTO "providers_auditentry"%',
                )
            )

        # The POST's transaction has inserted the key (it holds the key table's row-exclusive lock) and waits
        # to insert the audit entry.
        wait_until(waiting_on_the_audit_insert, timeout=20, what="the POST blocked before its audit entry")
        postgres.stop()  # fast: every session ends, open transactions are rolled back
    finally:
        thread.join(timeout=30)
        blocker.close()
    assert "error" not in answer, answer.get("error")
    assert answer["response"].status_code == 503

    postgres.start()

    assert postgres.scalar("SELECT count(*) FROM providers_credential WHERE label = %s", label) == 0
    assert postgres.scalar("SELECT count(*) FROM providers_auditentry WHERE label = %s", label) == 0
    assert label not in labels(leger)

    # The user sends it again: one key, one audit entry.
    assert add_key(leger, label).status_code == 201
    assert postgres.scalar("SELECT count(*) FROM providers_credential WHERE label = %s", label) == 1
    created = "SELECT count(*) FROM providers_auditentry WHERE label = %s AND action = 'created'"
    assert postgres.scalar(created, label) == 1
