from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from leger.releases import quadlet
from leger.releases.snapshot import Snapshot, containers, example_snapshot

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
    for candidate in containers(snapshot):
        if candidate["id"] == service_id:
            return candidate
    raise KeyError(service_id)


def secret_environment(owner: Any, snapshot: Any, files: dict[str, str], service: str) -> dict[str, str]:
    """What the leger CLI gives ``service``'s container from its secrets: each env secret the manifest lists for
    it, read by name as the CLI reads it, under every variable it fills."""
    from leger.providers.audit import SYSTEM
    from leger.providers.services import secret_reveal
    from leger.releases.manifest import build_manifest

    manifest = build_manifest(snapshot, files)
    (entry,) = [s for s in manifest["services"] if s["name"] == service]
    environment: dict[str, str] = {}
    for secret in manifest["secrets"]:
        if secret["name"] in entry["secrets_required"] and secret["type"] == "env":
            value = secret_reveal(owner=owner, name=secret["name"], actor=owner, source=SYSTEM).value
            environment.update(dict.fromkeys(secret["targets"], value))
    return environment


def unit_environment(text: str) -> dict[str, str]:
    """Every variable a unit's ``Environment=`` lines give its container, read with the project's quadlet
    parser (quotes and C escapes undone, then systemd's ``%%``/``$$``); a variable set twice fails."""
    unit = quadlet.parse(text)
    assert unit.problems == [], unit.problems
    env: dict[str, str] = {}
    for value in unit.values("Container", "Environment"):
        for word in quadlet.split_words(value):
            name, sep, setting = word.partition("=")
            assert sep, f"an Environment= word without '=': {word!r}"
            assert name not in env, f"{name} is set twice"
            env[name] = re.sub(r"%%|\$\$", lambda m: m.group()[0], setting)
    return env
