"""Fixtures the fault tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.faults import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server on a free port, that a test may stop, freeze or restart for real."""
    server = RedisServer().start()
    yield server
    server.stop()
