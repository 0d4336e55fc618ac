"""Add-on secrets in the snapshot (format 2): Secret= lines per target, the manifest's source, the checks."""

from __future__ import annotations

import copy

import pytest

from leger.releases.manifest import build_manifest
from leger.releases.rendering import render
from leger.releases.snapshot import SNAPSHOT_FORMAT, Snapshot, SnapshotError, validate_snapshot
from leger.releases.validation import validate

from .conftest import changed, unit_environment


def addon(snapshot: Snapshot, addon_id: str) -> dict:
    return next(a for a in snapshot["addons"] if a["id"] == addon_id)


def test_a_selection_secret_and_every_variable_of_a_key_reach_open_webui_as_placeholders(full: Snapshot) -> None:
    files = render(full)
    unit = files["openwebui.container"]
    assert "Secret=mp_opentelemetry_otel_basic_auth_password,type=env,target=OTEL_BASIC_AUTH_PASSWORD" in unit
    assert "Secret=openai-api-key,type=env,target=IMAGES_OPENAI_API_KEY" in unit
    assert "Secret=openai-api-key,type=env,target=IMAGES_EDIT_OPENAI_API_KEY" in unit
    # A secret, never a value: no Environment= line sets it (every other Open WebUI setting is one).
    assert "OTEL_BASIC_AUTH_PASSWORD" not in unit_environment(unit)
    assert unit_environment(unit)["OTEL_BASIC_AUTH_USERNAME"] == "leger"
    manifest = build_manifest(full, files)
    secrets = {entry["name"]: entry for entry in manifest["secrets"]}
    assert secrets["mp_opentelemetry_otel_basic_auth_password"]["source"] == "selection"
    assert secrets["mp_opentelemetry_otel_basic_auth_password"]["required"] is True
    assert {"IMAGES_OPENAI_API_KEY", "IMAGES_EDIT_OPENAI_API_KEY"} <= set(secrets["openai-api-key"]["targets"])
    openwebui = next(s for s in manifest["services"] if s["name"] == "openwebui")
    assert "mp_opentelemetry_otel_basic_auth_password" in openwebui["secrets_required"]
    assert validate(files, full) == []


def test_a_format_1_snapshot_is_upgraded_and_renders_as_before(minimal: Snapshot) -> None:
    old = copy.deepcopy(minimal)
    old["format"] = 1
    old["addons"] = [{k: v for k, v in a.items() if k != "secrets"} for a in old["addons"]]
    kept = copy.deepcopy(old)
    assert validate_snapshot(old)["format"] == SNAPSHOT_FORMAT
    assert old == kept, "the stored snapshot is not changed"
    assert render(old) == render(minimal)


def test_a_format_3_snapshot_runs_its_add_ons_without_companions_as_before(full: Snapshot) -> None:
    # Format 3 knew no companions: the example without its one add-on that has some (the MCP gateway).
    current = changed(full, lambda s: s.update(addons=[a for a in s["addons"] if not a["companions"]]))
    assert current["addons"] and len(current["addons"]) == len(full["addons"]) - 1
    old = copy.deepcopy(current)
    old["format"] = 3
    old["addons"] = [{k: v for k, v in a.items() if k != "companions"} for a in old["addons"]]
    old["routes"] = [r for r in old["routes"] if r["service"] != "mcp-gateway"]
    current["routes"] = old["routes"]
    kept = copy.deepcopy(old)
    assert validate_snapshot(old)["format"] == SNAPSHOT_FORMAT
    assert old == kept, "the stored snapshot is not changed"
    assert render(old) == render(current)


def test_a_derived_secret_is_made_only_from_one_of_the_releases_own_generated_secrets(full: Snapshot) -> None:
    (gateway,) = [a["container"] for a in full["addons"] if a["id"] == "mcp-gateway"]
    (connection,) = gateway["openwebui_secrets"]
    assert connection["derive"]["source"] in {s["name"] for s in gateway["secrets"]}
    validate_snapshot(full)
    broken = changed(
        full,
        lambda s: next(a for a in s["addons"] if a["id"] == "mcp-gateway")["container"]["openwebui_secrets"][0][
            "derive"
        ].update(source="openai-api-key"),
    )
    with pytest.raises(SnapshotError, match="is made from 'openai-api-key', which is not one of the release's own"):
        validate_snapshot(broken)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: addon(s, "opentelemetry")["secrets"][0].update(env_var="NOT_AN_OPENWEBUI_VARIABLE"),
            "does not read NOT_AN_OPENWEBUI_VARIABLE",
        ),
        (
            lambda s: addon(s, "opentelemetry")["secrets"][0].update(env_var="WEBUI_SECRET_KEY"),
            "set by the release itself",
        ),
        (
            lambda s: addon(s, "opentelemetry")["secrets"][0].update(secret="openai-api-key"),
            "give them different names",
        ),
        (lambda s: addon(s, "opentelemetry")["secrets"][0].update(secret="searxng-secret"), "reserved"),
        (
            lambda s: addon(s, "opentelemetry")["variables"].update(OTEL_BASIC_AUTH_PASSWORD="plain"),
            "also sets it as a value",
        ),
        (lambda s: addon(s, "opentelemetry")["secrets"][0].update(value="hunter2"), "Additional properties"),
        (lambda s: addon(s, "opentelemetry")["secrets"][0].update(source="typed"), "source"),
    ],
)
def test_add_on_secrets_that_cannot_work_are_refused(full: Snapshot, edit, message: str) -> None:
    with pytest.raises(SnapshotError) as refused:
        validate_snapshot(changed(full, edit))
    assert any(message in problem for problem in refused.value.problems), refused.value.problems
