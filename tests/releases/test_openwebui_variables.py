"""Every Open WebUI variable Leger offers or writes is one Open WebUI v0.12.4 really reads."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from leger.releases.rendering import RELEASE_OWNED_VARIABLES, render
from leger.releases.snapshot import example_snapshot
from leger.releases.validation import OPENWEBUI_VARIABLES_FILE, openwebui_variable_names
from tests.releases.conftest import tsv_names, unit_environment

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
START_SCRIPT_VARIABLES = {"PORT", "HOST", "UVICORN_WORKERS"}


def fixture_items(folder: str) -> list[dict]:
    items = []
    for path in sorted((FIXTURES / folder).glob("*.json")):
        items += json.loads(path.read_text(encoding="utf-8"))["items"]
    return items


def test_the_embedded_list_is_the_reference_list_plus_the_start_script_variables() -> None:
    assert openwebui_variable_names() == tsv_names() | START_SCRIPT_VARIABLES
    lines = [line for line in OPENWEBUI_VARIABLES_FILE.read_text().splitlines() if not line.startswith("#")]
    assert lines == sorted(lines), "keep the file sorted so regenerating it gives a small diff"


def test_every_variable_of_the_wizard_is_real_and_there_are_at_least_forty_in_every_group() -> None:
    items = fixture_items("openwebui")
    real = tsv_names()
    assert [item["id"] for item in items if item["id"] not in real] == []
    assert len(items) >= 40
    groups = Counter(item["group"] for item in items)
    expected = {"general", "features", "rag", "web_search", "audio", "images", "code_execution", "task_models"}
    assert set(groups) == expected


def test_the_wizard_never_offers_a_variable_the_release_fixes() -> None:
    assert {item["id"] for item in fixture_items("openwebui")} & RELEASE_OWNED_VARIABLES == set()


def test_every_variable_the_infrastructure_wires_into_open_webui_is_real() -> None:
    real = tsv_names()
    for item in fixture_items("infrastructure"):
        names = set(item["openwebui_env"]) | {secret["env_var"] for secret in item["openwebui_secrets"]}
        assert names <= real, item["id"]


def test_every_variable_a_rendered_release_gives_open_webui_is_real() -> None:
    real = tsv_names() | START_SCRIPT_VARIABLES
    files = render(example_snapshot("full"))
    names = set(unit_environment(files["openwebui.container"]))
    secret_targets = {
        line.rsplit("target=", 1)[1]
        for line in files["openwebui.container"].splitlines()
        if line.startswith("Secret=") and ",type=env," in line
    }
    assert len(names) > 30
    assert names - real == set()
    assert secret_targets - real == set()
    assert RELEASE_OWNED_VARIABLES - real == set()
