"""The release services a draft goes through: saving the wizard's steps, their rules, clone, delete, key usage."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from leger.marketplace.services import selection_update
from leger.providers.selectors import credential_usages
from leger.releases import selectors, services
from leger.releases.models import Release
from leger.releases.services import ReleaseLocked
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_key, add_tailnet, full_draft, minimal_draft, select

# The shared fixtures; pytest finds them by name in this module.
catalog = setup.catalog
full_user = setup.full_user
ready_user = setup.ready_user


def messages(error: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    return " ".join(error.value.message_dict[field])


def test_a_new_draft_is_empty_and_named(alice: User) -> None:
    release = services.release_create(owner=alice, name="  home   stack ")
    assert release.status == Release.Status.DRAFT
    assert release.name == "home stack"
    assert release.version is None
    assert services.inputs_of(release) == {"models": [], "services": [], "openwebui": {}, "routes": {}}


def test_it_refuses_a_draft_without_a_name(alice: User) -> None:
    with pytest.raises(ValidationError) as error:
        services.release_create(owner=alice, name="   ")
    assert "Give the release a name" in messages(error, "name")
    assert not Release.objects.exists()


def test_it_saves_the_chosen_models(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    release.refresh_from_db()
    assert release.inputs["models"] == [{"model": "claude-haiku-4.5", "provider": None}]


def test_a_cloud_model_without_a_key_is_refused_naming_its_providers_and_nothing_is_saved(
    ready_user: dict[str, Any],
) -> None:
    release = minimal_draft(ready_user["user"])
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, name="renamed", models=[{"model": "gpt-4o-mini"}])
    assert messages(error, "models") == (
        "GPT-4o Mini needs a key for one of its providers (OpenAI and Azure OpenAI); add one on /providers."
    )
    release.refresh_from_db()
    assert release.name == "home"
    assert release.inputs["models"] == [{"model": "claude-haiku-4.5", "provider": None}]


def test_a_provider_the_user_has_no_key_for_is_refused(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, models=[{"model": "claude-haiku-4.5", "provider": "aws-bedrock"}])
    assert messages(error, "models") == (
        "Claude Haiku 4.5 through AWS Bedrock needs a key for AWS Bedrock; add one on /providers."
    )


def test_unknown_and_repeated_models_are_refused(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    with pytest.raises(ValidationError) as error:
        services.release_update(
            release=release, models=[{"model": "no-such-model"}, {"model": "claude-haiku-4.5"}, "claude-haiku-4.5"]
        )
    text = messages(error, "models")
    assert "no model 'no-such-model'" in text
    assert "claude-haiku-4.5 is chosen twice" in text


def test_a_local_model_needs_no_key(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    release = services.release_update(release=release, models=[{"model": "qwen3-4b"}])
    assert release.inputs["models"] == [{"model": "qwen3-4b", "provider": None}]


def test_two_keys_for_one_variable_are_refused(ready_user: dict[str, Any]) -> None:
    user = ready_user["user"]
    second, _ = add_key(user, "anthropic", label="personal")
    release = minimal_draft(user)
    with pytest.raises(ValidationError) as error:
        services.release_update(
            release=release,
            models=[{"model": "claude-haiku-4.5"}, {"model": "claude-sonnet-4-5", "credential": second.pk}],
        )
    assert "ANTHROPIC_API_KEY with two different keys" in messages(error, "models")


def test_an_inactive_selection_cannot_go_into_a_release(ready_user: dict[str, Any]) -> None:
    user = ready_user["user"]
    selection = select(user, "searxng")
    selection_update(selection=selection, active=False)
    release = minimal_draft(user)
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, services=[selection.pk])
    assert "SearXNG is not active in the marketplace" in messages(error, "services")


def test_another_users_selection_is_refused(ready_user: dict[str, Any], bob: User) -> None:
    bobs = select(bob, "searxng")
    release = minimal_draft(ready_user["user"])
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, services=[bobs.pk])
    assert f"no marketplace selection {bobs.pk} of yours" in messages(error, "services")


def test_open_webui_settings_are_typed_and_checked_against_their_definitions(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    release = services.release_update(
        release=release, openwebui={"RAG_TOP_K": "8", "ENABLE_CHANNELS": "on", "WEBUI_NAME": "", "CHUNK_SIZE": 2000}
    )
    assert release.inputs["openwebui"] == {"RAG_TOP_K": 8, "ENABLE_CHANNELS": True, "CHUNK_SIZE": 2000}

    with pytest.raises(ValidationError) as error:
        services.release_update(
            release=release,
            openwebui={"RAG_TOP_K": 500, "JWT_EXPIRES_IN": "forever", "DEFAULT_USER_ROLE": "boss", "NOPE": 1},
        )
    text = messages(error, "openwebui")
    assert "RAG_TOP_K (" in text and "at most 100" in text
    assert "JWT_EXPIRES_IN" in text
    assert "DEFAULT_USER_ROLE" in text and "'pending'" in text
    assert "NOPE is not one of the Open WebUI settings" in text
    release.refresh_from_db()
    assert release.inputs["openwebui"]["RAG_TOP_K"] == 8


def test_a_setting_an_add_on_already_sets_is_refused_naming_the_add_on(ready_user: dict[str, Any]) -> None:
    user = ready_user["user"]
    edgetts = select(user, "edgetts", values={"AUDIO_TTS_VOICE": "en-GB-SoniaNeural"})
    release = services.release_update(release=minimal_draft(user), services=[edgetts.pk])
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, openwebui={"AUDIO_TTS_VOICE": "alloy"})
    assert messages(error, "openwebui") == (
        "AUDIO_TTS_VOICE is set by your Edge TTS selection in the marketplace; clear it here or change it there."
    )


def test_two_exposed_services_on_one_port_are_refused_naming_both(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, routes={"cockpit": {"exposed": True, "port": 3000}})
    text = messages(error, "routes")
    assert "Open WebUI and Cockpit are both exposed on port 3000" in text
    release = services.release_update(release=release, routes={"cockpit": {"exposed": True, "port": 9443}})
    assert release.inputs["routes"] == {"cockpit": {"exposed": True, "port": 9443}}


def test_routes_clash_by_path_when_the_tailnet_exposes_by_path(alice: User, catalog: None) -> None:
    add_key(alice, "anthropic")
    add_tailnet(alice, exposure="path")
    release = minimal_draft(alice)
    # Same ports are fine in path mode; the same path is not.
    services.release_update(release=release, routes={"cockpit": {"exposed": True, "port": 3000}})
    with pytest.raises(ValidationError) as error:
        services.release_update(release=release, routes={"cockpit": {"exposed": True, "path": "/"}})
    assert "are both exposed on path /" in messages(error, "routes")


def test_routes_name_only_exposable_services_with_valid_fields(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    with pytest.raises(ValidationError) as error:
        services.release_update(
            release=release,
            routes={"openwebui-redis": {"exposed": True}, "openwebui": {"port": 70000, "subdomain": "Not A Label"}},
        )
    text = messages(error, "routes")
    assert "'openwebui-redis' is not a service Caddy can expose" in text
    assert "port is a whole number from 1 to 65535" in text
    assert "subdomain is one DNS label" in text


def test_validating_steps_in_order_records_how_far_the_wizard_got(ready_user: dict[str, Any]) -> None:
    release = services.release_create(owner=ready_user["user"], name="home")
    assert services.release_validate_step(release=release, step="models") == {
        "models": ["Choose at least one model for the stack to serve."]
    }
    assert release.step == 0
    release = services.release_update(release=release, models=[{"model": "claude-haiku-4.5"}])
    for step in services.STEPS:
        assert services.release_validate_step(release=release, step=step) == {}
    release.refresh_from_db()
    assert release.step == 4
    # Changing the models sends the wizard back to the first step.
    release = services.release_update(release=release, models=[{"model": "qwen3-4b"}])
    assert release.step == 0


def test_a_draft_is_not_ready_without_tailnet_settings(alice: User, catalog: None) -> None:
    add_key(alice, "anthropic")
    release = minimal_draft(alice)
    problems = services.release_ready(release=release)
    assert problems == [
        "Add your tailnet settings on /settings first: a release needs the machine's name and exposure."
    ]
    with pytest.raises(ValidationError):
        services.release_cut(release=release, actor=alice)
    release.refresh_from_db()
    assert release.status == Release.Status.DRAFT and release.version is None


def test_a_key_deleted_after_it_was_chosen_blocks_the_cut(ready_user: dict[str, Any]) -> None:
    from leger.providers.services import credential_delete

    release = minimal_draft(ready_user["user"])
    credential_delete(credential=ready_user["credential"])
    problems = services.release_ready(release=release)
    assert any(p.startswith("Models: ") and "Anthropic" in p for p in problems)


def test_the_preview_lists_files_and_the_secrets_the_machine_needs_without_any_value(
    full_user: dict[str, Any],
) -> None:
    release = full_draft(full_user)
    preview = selectors.release_preview(release=release)
    assert preview.ready, preview.problems
    paths = [f.path for f in preview.files]
    assert {"llm.network", "litellm-config.yaml", "llama-swap-config.yaml", "searxng-settings.yml", "Caddyfile"} <= set(
        paths
    )
    assert "openwebui.env" not in paths and all("/" not in path for path in paths)
    assert {"searxng.container", "qdrant.container", "jupyter.container", "manifest.json"} <= set(paths)
    secrets = {s["name"]: s for s in preview.secrets}
    assert secrets["anthropic_api_key"]["target"] == "ANTHROPIC_API_KEY"
    assert secrets["tavily_api_key"]["target"] == "TAVILY_API_KEY"
    assert "RAG_OPENAI_API_KEY" in secrets["openai_api_key"]["targets"]
    # Config files are secrets the machine mounts where each program reads them.
    config = {s["file"]: s for s in preview.secrets if s["source"] == "file"}
    assert set(config) == {
        "Caddyfile",
        "cockpit-cockpit.conf",
        "litellm-config.yaml",
        "llama-swap-config.yaml",
        "searxng-settings.yml",
    }
    assert (config["searxng-settings.yml"]["type"], config["searxng-settings.yml"]["target"]) == (
        "mount",
        "/etc/searxng/settings.yml",
    )
    assert all(s["required"] for s in preview.secrets)
    text = repr(preview)
    for value in full_user["secret_values"]:
        assert value not in text
    assert preview.snapshot["openwebui"]["RAG_TOP_K"] == 8
    # A default an add-on overrides is left to the add-on.
    assert "AUDIO_TTS_VOICE" not in preview.snapshot["openwebui"]


def test_the_choices_offer_keyed_cloud_models_local_models_active_selections_and_routes(
    full_user: dict[str, Any],
) -> None:
    choices = selectors.release_choices(owner=full_user["user"])
    cloud = {choice.llm.pk: choice for choice in choices.cloud_models}
    assert "claude-haiku-4.5" in cloud and "gpt-4o-mini" in cloud
    assert [option.provider.pk for option in cloud["claude-haiku-4.5"].providers] == ["anthropic"]
    assert all(
        option.provider.pk in {"anthropic", "openai"} for choice in cloud.values() for option in choice.providers
    )
    assert "qwen3-4b" in {choice.llm.pk for choice in choices.local_models}
    slot_names = {slot.name for slot in choices.slots}
    assert "web search engine" in slot_names
    assert {group.value for group in choices.openwebui} >= {"general", "rag", "task_models"}
    assert {route.service.pk for route in choices.routes} >= {"openwebui", "cockpit", "searxng", "jupyter"}


def test_a_cut_release_refuses_edits_and_a_clone_is_a_new_draft_with_the_same_answers(
    ready_user: dict[str, Any], django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path  # the local folder store
    user = ready_user["user"]
    release = minimal_draft(user)
    with django_capture_on_commit_callbacks(execute=False):
        release = services.release_cut(release=release, actor=user)
    release = services.release_publish(release_id=release.pk)  # what the queued task runs
    assert release.status == Release.Status.PUBLISHED
    assert (tmp_path / release.manifest_key).is_file()
    with pytest.raises(ReleaseLocked, match="clone it"):
        services.release_update(release=release, name="changed")
    with pytest.raises(ReleaseLocked):
        services.release_delete(release=release)
    clone = services.release_clone(release=release, actor=user)
    assert clone.status == Release.Status.DRAFT
    assert clone.cloned_from == release
    assert clone.inputs == release.inputs
    services.release_update(release=clone, name="changed")
    release.refresh_from_db()
    assert release.name == "home"


def test_deleting_a_draft_removes_it(ready_user: dict[str, Any]) -> None:
    release = minimal_draft(ready_user["user"])
    services.release_delete(release=release)
    assert not Release.objects.filter(pk=release.pk).exists()


def test_a_key_used_by_a_draft_is_named_before_it_is_deleted(full_user: dict[str, Any]) -> None:
    anthropic, _, tavily, _ = full_user["credentials"]
    release = full_draft(full_user, name="weekend")
    services.release_create(owner=full_user["user"], name="empty")
    assert "draft release “weekend”" in credential_usages(credential=anthropic)
    assert "draft release “weekend”" in credential_usages(credential=tavily)
    services.release_update(release=release, models=[{"model": "qwen3-4b"}], services=[])
    assert not [u for u in credential_usages(credential=anthropic) if "draft release" in u]
    assert not [u for u in credential_usages(credential=tavily) if "draft release" in u]
