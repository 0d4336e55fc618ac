"""The settings read from the environment give a database Django can open, whichever engine DATABASE_URL names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import json, django
django.setup()
from django.db import connection
connection.ensure_connection()
print(json.dumps({"vendor": connection.vendor, "options": connection.settings_dict["OPTIONS"]}))
"""


def open_database(database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "leger.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_sqlite_database_url_opens(tmp_path: Path) -> None:
    # PostgreSQL's connect_timeout is not an option SQLite takes: it must not be passed to it.
    opened = open_database(f"sqlite:///{tmp_path}/leger.sqlite3")
    assert opened["vendor"] == "sqlite" and "connect_timeout" not in opened["options"]


def test_a_postgresql_database_url_gives_up_connecting_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("PostgreSQL is not the test database here")
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "7")
    opened = open_database(url.rsplit("/", 1)[0] + "/postgres")  # a database that always exists
    assert opened["vendor"] == "postgresql" and opened["options"]["connect_timeout"] == 7
