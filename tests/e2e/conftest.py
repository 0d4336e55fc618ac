"""End-to-end fixtures: the app served on loopback for real, driven by Debian's chromium through Playwright.

The journeys start, once each: the moto S3 server and a Celery worker on Redis (tests/services.py), then
gunicorn serving Leger against pytest-django's test database with the worker's environment (same broker
queue, same bucket), so what a browser does goes through the same processes production uses. Each test
gets a fresh browser context; tests are `transaction=True` so the server and the worker see their rows.

Screenshots land in test-artifacts/screenshots/ (git-ignored; CI keeps the folder as an artifact).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator

from tests.catalog_copy import load_catalog_copy
from tests.e2e.pages import PASSWORD, sign_in
from tests.services import REPO, CeleryWorker, free_port, wait_until
from tests.tailscale_standin import TailscaleStandin

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
# The server's log outlives pytest's rotating temporary folders, for reading after a failure (CI keeps it).
SERVER_LOG = REPO / "test-artifacts" / "e2e" / "server.log"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Long enough for a busy 2-core machine, short enough that a broken page fails fast.
TIMEOUT_MS = 15_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: drives the app served on loopback with a real browser (needs scripts/install-browser)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Keep each phase's report on the item so the page fixture can screenshot a failure.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@dataclass(frozen=True)
class LegerServer:
    url: str
    log: Path

    def __call__(self, path: str) -> str:
        return self.url + path


def _run(command: list[str], *, env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="package")
def tailscale_standin() -> Iterator[TailscaleStandin]:
    """Tailscale's API on loopback, for the server's `POST /auth/cli` (tests add their tailnets and devices)."""
    standin = TailscaleStandin()
    standin.start()
    yield standin
    standin.stop()


# Package scope: the server and the browser stop once the journeys are done, before the rest of the suite.
@pytest.fixture(scope="package")
def leger_server(
    celery_worker: CeleryWorker,
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
    tailscale_standin: TailscaleStandin,
) -> Iterator[LegerServer]:
    """gunicorn serving Leger on a free loopback port, on the test database, queueing to the test worker.

    It runs as production does (DEBUG off, static files collected and served by WhiteNoise), except that
    cookies may travel over plain HTTP: it is loopback, and there is no TLS in front of it.
    """
    var_dir = tmp_path_factory.mktemp("leger-var")
    log = SERVER_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    env = {
        **celery_worker.env,  # DATABASE_URL of the test database, broker, queue, bucket on the moto server
        "DEBUG": "0",
        "LEGER_VAR_DIR": str(var_dir),
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "PYTHONUNBUFFERED": "1",
        "LEGER_TAILSCALE_API_URL": tailscale_standin.base_url,
        "LEGER_GIT_DIR": str(var_dir / "git"),
        "LEGER_CLI_SIGNIN_LIMIT": "100",
    }
    _run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env, what="collectstatic")
    port = free_port()
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "leger.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=1",
                # htmx fires requests while a page loads (and polls during a cut): serve them side by side.
                "--threads=8",
                "--timeout=60",
                "--access-logfile=-",
                "--error-logfile=-",
            ],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = LegerServer(url=f"http://127.0.0.1:{port}", log=log)

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early; see {log}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            return urllib.request.urlopen(server("/healthz"), timeout=1).status == 200
        except OSError:
            return False

    wait_until(answers, timeout=60, what="gunicorn")
    yield server
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """One Debian chromium for the journeys (never `playwright install`: CI's network refuses downloads)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install it with scripts/install-browser"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    # Playwright's sync API keeps an asyncio loop running in this thread while it is started; Django sees it
    # and refuses ORM calls from "async" code, although the tests' own code stays synchronous. Tell Django so,
    # until the browser stops (the package scope ends it before the rest of the suite runs).
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh, throwaway user-data dir of its own (it refuses --user-data-dir).
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    monkeypatch.undo()


def _server_errors(log: Path, *, since: int, limit: int = 6000) -> str:
    """The tracebacks and 5xx lines the server logged since byte `since`, for a failing test's report."""
    with log.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode(errors="replace")
    lines = [line for line in text.splitlines() if "Traceback" in line or '" 50' in line or "Error" in line]
    tracebacks = text[text.rfind("Traceback") :] if "Traceback" in text else ""
    return ("\n".join(lines[-20:]) + "\n" + tracebacks)[-limit:].strip()


def _test_name(request: pytest.FixtureRequest) -> str:
    name = request.node.name.removeprefix("test_")
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in name)


@pytest.fixture
def page(browser, leger_server: LegerServer, request: pytest.FixtureRequest) -> Iterator[object]:
    """A page in a fresh browser context (no cookies, no storage) at desktop width, for one test."""
    failure_shot = SCREENSHOTS / f"{_test_name(request)}-failure.png"
    failure_shot.unlink(missing_ok=True)  # a failure screenshot always belongs to the latest run
    context = browser.new_context(viewport=DESKTOP, base_url=leger_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    log_start = leger_server.log.stat().st_size
    console_errors: list[str] = []
    new_page = context.new_page()
    new_page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    new_page.on("pageerror", lambda error: console_errors.append(str(error)))
    new_page.console_errors = console_errors
    yield new_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        errors = _server_errors(leger_server.log, since=log_start)
        if errors:
            print(f"server errors (whole log: {leger_server.log}):\n{errors}")
        if console_errors:
            print("browser console errors:\n" + "\n".join(console_errors))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            new_page.screenshot(path=str(failure_shot), full_page=True)
        except Exception as error:  # the page may be the thing that broke; the test's own error matters more
            print(f"no failure screenshot: {error}")
    context.close()


Shoot = Callable[..., Path]


@pytest.fixture
def screenshot(page, request: pytest.FixtureRequest) -> Shoot:
    """`screenshot("step")` saves the whole page as test-artifacts/screenshots/<test>-<step>.png.

    `screenshot("step", phone=True)` takes the first screen at 390 px wide (a phone; a whole long page that
    narrow is too tall to read), then restores the desktop width. `screenshot("step", of=locator)` takes
    only that part of a long page (a form, a row) so it stays readable.
    """

    def shoot(step: str, *, phone: bool = False, of: Locator | None = None) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{_test_name(request)}-{step}{'-phone' if phone else ''}.png"
        if phone:
            page.set_viewport_size(PHONE)
        try:
            if of is not None:
                of.screenshot(path=str(path))
            else:
                page.screenshot(path=str(path), full_page=not phone)
        finally:
            if phone:
                page.set_viewport_size(DESKTOP)
        return path

    return shoot


@pytest.fixture
def user(transactional_db: None) -> User:
    return User.objects.create_user("robin", "robin@example.org", PASSWORD)


@pytest.fixture
def signed_in(page, user: User):
    """The page, signed in as `user`."""
    sign_in(page, username=user.username)
    return page


@pytest.fixture
def catalog(transactional_db: None) -> None:
    """The real catalog (models, providers, marketplace services), as `make run` loads it (tests/catalog_copy.py)."""
    load_catalog_copy()
