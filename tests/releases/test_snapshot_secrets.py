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
    old = copy.deepcopy(full)
    old["format"] = 3
    assert all(not a["companions"] for a in old["addons"])
    old["addons"] = [{k: v for k, v in a.items() if k != "companions"} for a in old["addons"]]
    kept = copy.deepcopy(old)
    assert validate_snapshot(old)["format"] == SNAPSHOT_FORMAT
    assert old == kept, "the stored snapshot is not changed"
    assert render(old) == render(full)


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
