"""The snapshot format: every input of rendering, checked before anything renders."""

from __future__ import annotations

import json

import pytest

from leger.releases.snapshot import (
    SNAPSHOT_SCHEMA,
    SnapshotError,
    canonical_json,
    default_route,
    example_snapshot,
    validate_snapshot,
)
from tests.releases.conftest import changed, service


@pytest.mark.parametrize("kind", ["minimal", "full"])
@pytest.mark.parametrize("exposure", ["port", "path", "subdomain"])
def test_the_examples_are_valid_snapshots(kind: str, exposure: str) -> None:
    snapshot = example_snapshot(kind, exposure)
    assert validate_snapshot(snapshot) is snapshot
    assert snapshot["tailnet"]["exposure"] == exposure


def test_the_minimal_example_has_one_cloud_model_and_no_add_on(minimal) -> None:
    assert [m["kind"] for m in minimal["models"]] == ["cloud"]
    assert minimal["addons"] == []


def test_the_full_example_has_every_self_hosted_add_on_slot_and_local_models(full) -> None:
    assert {m["kind"] for m in full["models"]} == {"cloud", "local"}
    containers = {a["container"]["id"] for a in full["addons"] if a["container"]}
    assert {"searxng", "qdrant", "tika", "whisper", "edgetts", "jupyter", "playwright"} <= containers
    assert all(route["exposed"] for route in full["routes"])


def test_it_survives_a_trip_through_json(full) -> None:
    text = canonical_json(full)
    assert json.loads(text) == full
    assert canonical_json(json.loads(text)) == text


def test_the_schema_is_published_with_the_module() -> None:
    assert SNAPSHOT_SCHEMA["properties"]["release"]["required"] == ["name", "version", "owner_uuid", "cut_at"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["release"].pop("cut_at"), "release: 'cut_at' is a required property"),
        (lambda s: s["release"].update(version=0), "release.version: 0 is less than the minimum of 1"),
        (lambda s: s["tailnet"].update(exposure="funnel"), "tailnet.exposure: 'funnel' is not one of"),
        (lambda s: s["tailnet"].update(machine="Box 1"), "tailnet.machine: 'Box 1' does not match"),
        (lambda s: s.update(models=[]), "models: [] should be non-empty"),
        (lambda s: s["models"][0]["credential"].update(value="sk-live"), "Additional properties are not allowed"),
    ],
)
def test_it_refuses_a_malformed_snapshot_saying_where(minimal, edit, message) -> None:
    with pytest.raises(SnapshotError) as error:
        validate_snapshot(changed(minimal, edit))
    assert any(message in problem for problem in error.value.problems), error.value.problems


def test_it_refuses_a_snapshot_without_a_core_service(minimal) -> None:
    snapshot = changed(minimal, lambda s: s["infrastructure"].pop())
    with pytest.raises(SnapshotError, match="the core service 'cockpit' is missing"):
        validate_snapshot(snapshot)


def test_it_refuses_two_add_ons_in_one_slot(full) -> None:
    def add_chroma(snapshot) -> None:
        qdrant = next(a for a in snapshot["addons"] if a["id"] == "qdrant")
        snapshot["addons"].append({**qdrant, "id": "chroma", "container": {**qdrant["container"], "id": "chroma"}})

    with pytest.raises(SnapshotError, match="slot 'vector-database' has two providers, 'qdrant' and 'chroma'"):
        validate_snapshot(changed(full, add_chroma))


def test_it_refuses_a_variable_set_in_two_places(full) -> None:
    snapshot = changed(full, lambda s: s["openwebui"].update(AUDIO_TTS_VOICE="alloy"))
    with pytest.raises(
        SnapshotError, match="AUDIO_TTS_VOICE is set by both the Open WebUI settings and add-on 'edgetts'"
    ):
        validate_snapshot(snapshot)


def test_it_refuses_variables_open_webui_does_not_read_or_the_release_fixes(minimal) -> None:
    snapshot = changed(minimal, lambda s: s["openwebui"].update(WEBUI_NAMEZ="x", ENABLE_PERSISTENT_CONFIG=True))
    with pytest.raises(SnapshotError) as error:
        validate_snapshot(snapshot)
    assert "the Open WebUI settings: Open WebUI v0.12.4 does not read WEBUI_NAMEZ; remove it" in error.value.problems
    assert (
        "the Open WebUI settings: ENABLE_PERSISTENT_CONFIG is set by the release itself and cannot be chosen"
        in error.value.problems
    )


def test_it_refuses_two_keys_for_one_variable(full) -> None:
    def second_openai_model(snapshot) -> None:
        model = {**snapshot["models"][1], "id": "gpt-4o", "name": "GPT-4o"}
        model["credential"] = {"secret": "openai_api_key_work", "env_var": "OPENAI_API_KEY"}
        snapshot["models"].append(model)

    snapshot = changed(full, second_openai_model)
    with pytest.raises(SnapshotError, match="fills OPENAI_API_KEY from secret"):
        validate_snapshot(snapshot)


def test_it_refuses_a_credential_named_like_an_internal_secret(minimal) -> None:
    snapshot = changed(minimal, lambda s: s["models"][0]["credential"].update(secret="litellm-master-key"))
    with pytest.raises(SnapshotError, match="reserved for the release's own secrets"):
        validate_snapshot(snapshot)


def test_it_refuses_a_route_to_a_service_that_cannot_be_exposed(minimal) -> None:
    route = default_route(service(minimal, "openwebui"), exposed=True)
    snapshot = changed(minimal, lambda s: s["routes"].append({**route, "service": "openwebui-postgres"}))
    with pytest.raises(SnapshotError, match="route for 'openwebui-postgres': this service cannot be exposed"):
        validate_snapshot(snapshot)


def test_subdomain_exposure_needs_a_custom_domain(minimal) -> None:
    snapshot = changed(minimal, lambda s: s["tailnet"].update(exposure="subdomain", custom_domain=""))
    with pytest.raises(SnapshotError, match="exposure by subdomain needs a custom domain"):
        validate_snapshot(snapshot)
