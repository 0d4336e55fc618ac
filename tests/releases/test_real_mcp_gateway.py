"""The real ContextForge (IBM's MCP gateway; its pip package at the version releases run), started with a
release's own environment and secrets on PostgreSQL, answers Open WebUI's MCP connection, the one the release
gives Open WebUI in TOOL_SERVER_CONNECTIONS, and refuses a token its key did not sign.

The environment is what the leger CLI gives each container: the unit's Environment= lines and every secret the
manifest lists for it, read by name. The test changes only where the gateway listens and where its database is
(this machine's PostgreSQL instead of the release's companion container).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
import pytest
from django.contrib.auth.models import User

from leger.lib.derived_secrets import CONTEXTFORGE_AUDIENCE, CONTEXTFORGE_ISSUER
from leger.releases import services as release_services
from leger.releases.rendering import render
from tests.releases import test_services_setup as setup
from tests.releases.conftest import secret_environment, unit_environment
from tests.releases.test_real_openwebui import psql
from tests.releases.test_real_tools import require
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select
from tests.services import free_port, running_program

catalog = setup.catalog

REPO = Path(__file__).resolve().parents[2]
GATEWAY = REPO / ".cache" / "tools" / "mcp-gateway" / "bin" / "mcpgateway"

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "leger-test", "version": "1"},
    },
}


def gateway() -> Path:
    found = str(GATEWAY) if GATEWAY.is_file() else None
    return Path(require(found, "ContextForge (MCP gateway)", install="scripts/install-mcp-gateway"))


def test_the_real_gateway_runs_on_the_releases_environment_and_answers_open_webuis_connection(
    alice: User, catalog: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = gateway()
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_tailnet(alice)
    add_key(alice, "anthropic")
    draft = release_services.release_update(release=minimal_draft(alice), services=[select(alice, "mcp-gateway").pk])
    release = release_services.release_cut(release=draft, actor=alice)
    files = render(release.snapshot)
    assert "mcp-gateway-postgres.container" in files
    for name in ("mcp-gateway-tool-server", "mcp-gateway-jwt-secret", "mcp-gateway-admin-password"):
        # Secrets reach the machine by name; no file of the release holds a value.
        assert f"Secret={name}," in "".join(files.values())

    environment = {
        **unit_environment(files["mcp-gateway.container"]),
        **secret_environment(alice, release.snapshot, files, "mcp-gateway"),
    }
    jwt_secret = environment["JWT_SECRET_KEY"]
    assert len(jwt_secret) >= 32 and jwt_secret not in "".join(files.values())
    (connection,) = json.loads(
        secret_environment(alice, release.snapshot, files, "openwebui")["TOOL_SERVER_CONNECTIONS"]
    )
    assert (connection["type"], connection["auth_type"], connection["config"]["enable"]) == ("mcp", "bearer", True)
    assert connection["url"] == "http://mcp-gateway:4444/mcp"

    # The release's database address, on this machine's PostgreSQL: same user and options, password from
    # PGPASSWORD (libpq reads it), only the host and database name changed.
    address = urlsplit(environment["DATABASE_URL"])
    assert address.password is None and address.username == "mcpgateway"
    database = f"leger_mcp_{uuid.uuid4().hex[:12]}"
    psql("DO $$ BEGIN CREATE ROLE mcpgateway LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    psql(f"CREATE DATABASE {database} OWNER mcpgateway")
    port = free_port()
    environment.update(
        DATABASE_URL=urlunsplit(address._replace(netloc="mcpgateway@127.0.0.1:5432", path=f"/{database}")),
        HOST="127.0.0.1",
        PORT=str(port),
        PATH=os.environ["PATH"],
        HOME=str(tmp_path),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with running_program(
            [str(program), "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            cwd=tmp_path,
            health_url=f"{base}/health",
            timeout=240,
            log=tmp_path / "gateway.log",
        ):

            def initialize(key: str) -> httpx.Response:
                return httpx.post(
                    f"{base}{urlsplit(connection['url']).path}/",
                    headers={
                        "Authorization": f"Bearer {key}",
                        "Accept": "application/json, text/event-stream",
                        "Content-Type": "application/json",
                    },
                    json=INITIALIZE,
                    timeout=30,
                )

            # Open WebUI's connection, as Open WebUI sends it (auth_type bearer: its key as a bearer token).
            answer = initialize(connection["key"])
            assert answer.status_code == 200, answer.text
            assert answer.json()["result"]["capabilities"]["tools"] is not None
            listed = httpx.get(f"{base}/tools", headers={"Authorization": f"Bearer {connection['key']}"}, timeout=30)
            assert listed.status_code == 200 and listed.json() == [], listed.text

            # A token the gateway's key did not sign gets nothing.
            claims = jwt.decode(connection["key"], jwt_secret, algorithms=["HS256"], audience=CONTEXTFORGE_AUDIENCE)
            assert claims["iss"] == CONTEXTFORGE_ISSUER and claims["exp"] > time.time() + 5 * 365 * 24 * 3600
            forged = jwt.encode(claims, "another-key-of-more-than-thirty-two-characters", algorithm="HS256")
            assert initialize(forged).status_code == 401

            # The admin signs in to its UI with the generated first password (the gateway then asks for a new one).
            login = httpx.post(
                f"{base}/auth/email/login",
                json={"email": environment["PLATFORM_ADMIN_EMAIL"], "password": environment["PLATFORM_ADMIN_PASSWORD"]},
                timeout=30,
            )
            first_login = login.status_code == 403 and "password change required" in login.text.lower()
            assert login.status_code == 200 or first_login, login.text
            wrong = httpx.post(
                f"{base}/auth/email/login",
                json={"email": environment["PLATFORM_ADMIN_EMAIL"], "password": "not the password"},
                timeout=30,
            )
            assert wrong.status_code == 401
    finally:
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
