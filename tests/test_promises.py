"""The README's promises and the tests that prove them stay together.

Each promise under "What Leger guarantees" names its tests as ``path::function``. A promise without a test, a
cited file that is gone, or a cited function that was renamed fails here, so a promise can never outlive the
test that made it true. (The cited tests themselves run with the rest of the suite.)
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CITATION = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def promises() -> list[str]:
    """The guarantees section's bullets, each joined onto one line."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## What Leger guarantees")
    end = text.index("\n## ", start + 1)
    bullets: list[str] = []
    for line in text[start:end].splitlines():
        if line.startswith("- "):
            bullets.append(line[2:].strip())
        elif bullets and line.startswith("  ") and line.strip():
            bullets[-1] += " " + line.strip()
        elif not line.strip() or line.startswith("**"):
            continue
    return bullets


@cache
def functions_in(path: str) -> frozenset[str]:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    )


def test_the_readme_makes_promises_about_secrets_releases_failures_and_access() -> None:
    text = README.read_text(encoding="utf-8")
    for heading in ("**Secrets**", "**Releases**", "**Failures**", "**Access**"):
        assert heading in text, f"the guarantees section lost its {heading} part"
    assert len(promises()) >= 15


@pytest.mark.parametrize("promise", promises(), ids=lambda promise: promise[:60])
def test_every_promise_names_tests_that_exist(promise: str) -> None:
    cited = CITATION.findall(promise)
    assert cited, f"this promise names no test (add 'Proven by: `tests/...py::test_...`'): {promise[:120]}"
    for path, function in cited:
        assert (REPO / path).is_file(), f"{path}, cited by the README, does not exist"
        assert function in functions_in(path), f"{path} has no {function}, which the README cites"
