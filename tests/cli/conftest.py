from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.harness import build

# harness/ holds Go source (main.go), not tests.
collect_ignore = ["harness"]


@pytest.fixture(scope="session")
def cli_harness_binary() -> Path:
    """The leger-harness binary, built once per session (skips without Go locally, fails under CI)."""
    return build()
