"""pytest plugin (loaded with ``-p tests.database`` before Django starts).

The suite proves the ORM code on the database production uses: when
DATABASE_URL is unset and PostgreSQL answers on 127.0.0.1:5432, the tests run
there (pytest-django creates and drops a ``test_leger`` database); otherwise
they fall back to SQLite.
"""

from __future__ import annotations

import os
import socket


def _postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if not os.environ.get("DATABASE_URL") and _postgres_answers():
    user = os.environ.get("LEGER_TEST_PGUSER", "postgres")
    os.environ["DATABASE_URL"] = f"postgres://{user}@127.0.0.1:5432/leger"


def pytest_report_header() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return f"leger database: {url.split('@')[-1] if url else 'SQLite (PostgreSQL not answering on 127.0.0.1:5432)'}"
