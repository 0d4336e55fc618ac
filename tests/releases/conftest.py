from __future__ import annotations

import copy
from pathlib import Path

import pytest

from leger.releases.snapshot import Snapshot, example_snapshot

# The reference data beside the repository (CI clones the repo with shared/ next to it).
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
OPENWEBUI_TSV = SHARED / "reference" / "openwebui-env.tsv"


def tsv_names() -> set[str]:
    if not OPENWEBUI_TSV.is_file():
        pytest.skip(f"the reference list of Open WebUI variables is not at {OPENWEBUI_TSV} (shared/ is absent)")
    lines = OPENWEBUI_TSV.read_text(encoding="utf-8").splitlines()[1:]
    return {line.split("\t", 1)[0] for line in lines if line.strip()}


@pytest.fixture
def minimal() -> Snapshot:
    return example_snapshot("minimal")


@pytest.fixture
def full() -> Snapshot:
    return example_snapshot("full")


def changed(snapshot: Snapshot, edit) -> Snapshot:
    """A deep copy of ``snapshot`` after ``edit(copy)``."""
    other = copy.deepcopy(snapshot)
    edit(other)
    return other


def service(snapshot: Snapshot, service_id: str) -> dict:
    for candidate in [*snapshot["infrastructure"], *(a["container"] for a in snapshot["addons"] if a["container"])]:
        if candidate["id"] == service_id:
            return candidate
    raise KeyError(service_id)
