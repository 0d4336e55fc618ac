"""The /releases list and the release wizard, as a signed-in person uses them (whole pages and htmx fragments)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from leger.releases import services
from leger.releases.models import Release
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select

# The shared fixtures; pytest finds them by name in this module.
catalog = setup.catalog
ready_user = setup.ready_user

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


def step_url(release: Release, step: str) -> str:
    return f"/releases/{release.pk}/{step}/"


def inputs(release: Release) -> dict[str, Any]:
    release.refresh_from_db()
    return services.inputs_of(release)


def checked_models(html: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" name="models" value="([^"]+)"[^>]*\schecked', html))


def field_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if match is None:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def errors_of(html: str, field_id: str) -> str:
    """The text of the error area next to a field (the one the autosave refills)."""
    match = re.search(rf'<div id="errors-{re.escape(field_id)}"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no error area for {field_id}"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def publish(user: User, release: Release, capture) -> Release:
    with capture(execute=True):
        release = services.release_cut(release=release, actor=user)
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    return release


@pytest.fixture
def store(settings, tmp_path: Path) -> Path:
    """No bucket configured: releases go to a local folder with the bucket's layout."""
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    return tmp_path


@pytest.fixture
def draft(ready_user: dict[str, Any]) -> Release:
    return services.release_create(owner=ready_user["user"], name="home")


# --- access ------------------------------------------------------------------------------------------------------


def release_urls(release: Release) -> list[str]:
    pk = release.pk
    return [
        f"/releases/{pk}/",
        f"/releases/{pk}/models/",
        f"/releases/{pk}/services/",
        f"/releases/{pk}/openwebui/",
        f"/releases/{pk}/routes/",
        f"/releases/{pk}/summary/",
        f"/releases/{pk}/progress/",
        f"/releases/{pk}/promote/",
        f"/releases/{pk}/delete/",
        f"/releases/{pk}/archive/",
        f"/releases/{pk}/diff/",
        f"/releases/{pk}/files/manifest.json",
    ]


def test_every_release_page_requires_sign_in(draft: Release, settings) -> None:
    anonymous = Client()
    for url in ["/releases/", *release_urls(draft)]:
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse(settings.LOGIN_URL) + "?next="), url
    response = anonymous.post(f"/releases/{draft.pk}/models/", {"models": ["claude-haiku-4.5"]})
    assert response.status_code == 302
    assert inputs(draft)["models"] == []


def test_another_users_release_answers_404_on_every_page_and_refuses_every_write(
    ready_user: dict[str, Any], bob_client: Client, store: Path, django_capture_on_commit_callbacks
) -> None:
    alice = ready_user["user"]
    draft = minimal_draft(alice, name="alice's draft")
    published = publish(alice, minimal_draft(alice, name="alice's release"), django_capture_on_commit_callbacks)
    for release in (draft, published):
        for url in release_urls(release):
            response = bob_client.get(url)
            assert response.status_code == 404, url
            assert b"alice" not in response.content, url
    for url, data in [
        (f"/releases/{draft.pk}/models/", {"models": []}),
        (f"/releases/{draft.pk}/name/", {"name": "bob's now"}),
        (f"/releases/{draft.pk}/cut/", {}),
        (f"/releases/{draft.pk}/delete/", {}),
        (f"/releases/{published.pk}/clone/", {}),
        (f"/releases/{published.pk}/promote/", {}),
        (f"/releases/{published.pk}/retry/", {}),
    ]:
        assert bob_client.post(url, data).status_code == 404, url
    draft.refresh_from_db()
    assert draft.name == "alice's draft"
    assert draft.status == Release.Status.DRAFT
    assert services.inputs_of(draft)["models"] == [{"model": "claude-haiku-4.5", "provider": None}]
    assert Release.objects.count() == 2
    # Comparing with someone else's release is as if it did not exist either.
    bob = User.objects.get(username="bob")
    add_key(bob, "anthropic")
    add_tailnet(bob)
    bobs = publish(bob, minimal_draft(bob), django_capture_on_commit_callbacks)
    assert bob_client.get(f"/releases/{bobs.pk}/diff/?against={published.pk}").status_code == 404


# --- the list ---------------------------------------------------------------------------------------------------


def test_the_list_says_a_release_cannot_be_cut_before_the_tailnet_settings_exist(
    alice_client: Client, catalog: None
) -> None:
    response = alice_client.get("/releases/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "A release cannot be cut yet" in page
    assert 'href="/settings/"' in page
    assert "No releases yet" in page


def test_the_list_shows_drafts_and_cut_releases_with_their_status_and_which_is_latest(
    ready_user: dict[str, Any], alice_client: Client, store: Path, django_capture_on_commit_callbacks
) -> None:
    alice = ready_user["user"]
    first = publish(alice, minimal_draft(alice, name="first"), django_capture_on_commit_callbacks)
    second = publish(alice, minimal_draft(alice, name="second"), django_capture_on_commit_callbacks)
    minimal_draft(alice, name="still thinking")
    page = alice_client.get("/releases/").content.decode()
    assert "A release cannot be cut yet" not in page
    assert "No releases yet" not in page
    drafts, cut = page.split('id="cut-heading"')
    assert "still thinking" in drafts and "1 of 4 steps done" not in drafts
    assert "0 of 4 steps done" in drafts
    assert f'href="/releases/{second.pk}/">v2</a>' in cut
    assert f'href="/releases/{first.pk}/">v1</a>' in cut
    assert cut.count("Published") == 2
    latest_row = re.search(rf'<tr id="release-{second.pk}">.*?</tr>', cut, re.S).group(0)
    assert "latest" in latest_row
    assert "latest" not in re.search(rf'<tr id="release-{first.pk}">.*?</tr>', cut, re.S).group(0)


def test_the_list_costs_the_same_queries_with_many_releases(
    ready_user: dict[str, Any],
    alice_client: Client,
    store: Path,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
) -> None:
    alice = ready_user["user"]
    publish(alice, minimal_draft(alice, name="one"), django_capture_on_commit_callbacks)
    minimal_draft(alice, name="draft one")
    with django_assert_max_num_queries(8) as few:
        assert alice_client.get("/releases/").status_code == 200
    for n in range(4):
        publish(alice, minimal_draft(alice, name=f"more {n}"), django_capture_on_commit_callbacks)
        minimal_draft(alice, name=f"draft {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = alice_client.get("/releases/").content.decode()
    assert page.count("Published") == 5
    assert "draft 3" in page


def test_a_new_release_is_a_draft_that_opens_at_the_first_step(draft: Release, alice_client: Client) -> None:
    response = alice_client.post("/releases/new/", {"name": "  weekend  box "})
    release = Release.objects.exclude(pk=draft.pk).get()
    assert response.status_code == 302
    assert response["Location"] == step_url(release, "models")
    assert release.name == "weekend box"
    assert release.status == Release.Status.DRAFT


def test_a_new_release_needs_a_name_and_htmx_gets_the_form_back_with_the_message(
    alice_client: Client, catalog: None
) -> None:
    response = alice_client.post("/releases/new/", {"name": "   "}, **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert "Give the release a name" in page
    assert not Release.objects.exists()
    response = alice_client.post("/releases/new/", {"name": "home"}, **HTMX)
    assert response["HX-Redirect"] == step_url(Release.objects.get(), "models")


def test_renaming_a_draft_keeps_the_name_typed_when_it_is_refused(draft: Release, alice_client: Client) -> None:
    response = alice_client.post(f"/releases/{draft.pk}/name/", {"name": "x" * 201}, **HTMX)
    assert "under 200 characters" in response.content.decode()
    assert 'value="' + "x" * 201 + '"' in response.content.decode()
    response = alice_client.post(f"/releases/{draft.pk}/name/", {"name": "living room"}, **HTMX)
    assert "Renamed" in response.content.decode()
    draft.refresh_from_db()
    assert draft.name == "living room"


# --- step 1: models ---------------------------------------------------------------------------------------------


def test_the_models_step_offers_keyed_cloud_models_and_local_ones_and_links_to_keys_for_the_rest(
    draft: Release, alice_client: Client
) -> None:
    page = alice_client.get(step_url(draft, "models")).content.decode()
    assert 'name="models" value="claude-haiku-4.5"' in page  # the Anthropic key is there
    assert 'name="models" value="qwen3-4b"' in page  # local: no key needed
    assert 'name="models" value="gpt-4o-mini"' not in page  # no OpenAI key
    # Searching for a model without a key says where to add one.
    page = alice_client.get(step_url(draft, "models") + "?search=gpt-4o-mini").content.decode()
    assert 'name="models" value="gpt-4o-mini"' not in page
    assert "GPT-4o" in page and "/providers/?provider=openai#add-key" in page


def test_the_models_step_filters_its_list_with_an_htmx_fragment(draft: Release, alice_client: Client) -> None:
    services.release_update(release=draft, models=[{"model": "qwen3-4b"}])
    response = alice_client.get(step_url(draft, "models") + "?search=haiku&kind=cloud", **htmx("model-choices"))
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="model-choices">')
    assert "<html" not in page and 'id="step-form"' not in page
    assert 'name="models" value="claude-haiku-4.5"' in page
    assert 'name="models" value="claude-opus-4"' not in page
    # What is already chosen stays listed (and ticked) whatever the search.
    assert checked_models(page) == {"qwen3-4b"}


def test_the_models_step_saves_as_the_user_goes_and_a_reload_shows_the_choice(
    draft: Release, alice_client: Client
) -> None:
    response = alice_client.post(step_url(draft, "models"), {"models": ["claude-haiku-4.5", "qwen3-4b"]}, **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and 'hx-swap-oob="true"' in page and "Saved at" in page
    # Once it settles, the search form fetches the list again, drawn from what was saved (the tick moves up).
    assert response["HX-Trigger-After-Settle"] == '{"models-saved": {}}'
    step = alice_client.get(step_url(draft, "models")).content.decode()
    assert re.search(r'<form id="model-filter"[^>]*hx-trigger="[^"]*models-saved from:body', step)
    assert inputs(draft)["models"] == [
        {"model": "claude-haiku-4.5", "provider": None},
        {"model": "qwen3-4b", "provider": None},
    ]
    assert checked_models(alice_client.get(step_url(draft, "models")).content.decode()) == {
        "claude-haiku-4.5",
        "qwen3-4b",
    }
    # Without htmx the same post saves and redirects back to the step.
    response = alice_client.post(step_url(draft, "models"), {"models": ["qwen3-4b"]})
    assert response.status_code == 302 and response["Location"] == step_url(draft, "models")
    assert inputs(draft)["models"] == [{"model": "qwen3-4b", "provider": None}]


def test_a_model_served_by_several_of_the_users_providers_asks_which_and_keeps_the_answer(
    draft: Release, alice_client: Client
) -> None:
    alice = draft.owner
    add_key(alice, "deepinfra")
    add_key(alice, "fireworks")
    page = alice_client.get(step_url(draft, "models")).content.decode()
    assert 'name="provider-qwen-3-235b"' in page
    assert "Choose a provider…" in page
    # Going on without choosing is refused next to the picker, and the tick stays.
    response = alice_client.post(step_url(draft, "models"), {"models": ["qwen-3-235b"], "action": "next"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "choose the provider" in errors_of(page, "id_provider-qwen-3-235b")
    assert checked_models(page) == {"qwen-3-235b"}
    draft.refresh_from_db()
    assert draft.step == 0
    response = alice_client.post(
        step_url(draft, "models"), {"models": ["qwen-3-235b"], "provider-qwen-3-235b": "fireworks"}, **HTMX
    )
    assert "Saved at" in response.content.decode()
    assert inputs(draft)["models"] == [{"model": "qwen-3-235b", "provider": "fireworks"}]
    page = alice_client.get(step_url(draft, "models")).content.decode()
    assert re.search(r'<option value="fireworks"[^>]*selected', page)


def test_a_refused_models_save_does_not_redraw_the_list(draft: Release, alice_client: Client) -> None:
    response = alice_client.post(step_url(draft, "models"), {"models": ["no-such-model"]}, **HTMX)
    assert "Not saved" in response.content.decode()
    assert "HX-Trigger-After-Settle" not in response


def test_going_on_without_a_model_is_refused_with_a_message(draft: Release, alice_client: Client) -> None:
    response = alice_client.post(step_url(draft, "models"), {"action": "next"}, **HTMX)
    page = response.content.decode()
    assert response["HX-Retarget"] == "#step-form"
    assert "Choose at least one model" in errors_of(page, "id_models")
    draft.refresh_from_db()
    assert draft.step == 0


def test_a_model_that_cannot_be_chosen_is_refused_and_nothing_is_saved(draft: Release, alice_client: Client) -> None:
    services.release_update(release=draft, models=[{"model": "qwen3-4b"}])
    response = alice_client.post(step_url(draft, "models"), {"models": ["qwen3-4b", "gpt-4o-mini"]}, **HTMX)
    page = response.content.decode()
    assert "Not saved" in page
    assert "needs a key for one of its providers" in errors_of(page, "id_models")
    assert inputs(draft)["models"] == [{"model": "qwen3-4b", "provider": None}]


def test_moving_on_swaps_in_the_next_step_and_pushes_its_url(draft: Release, alice_client: Client) -> None:
    response = alice_client.post(step_url(draft, "models"), {"models": ["claude-haiku-4.5"], "action": "next"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#wizard"
    assert response["HX-Push-Url"] == step_url(draft, "services")
    page = response.content.decode()
    assert "<html" not in page
    assert "Step 2 of 4" in page
    draft.refresh_from_db()
    assert draft.step == 1
    # The indicator now links back to the done step.
    assert f'href="{step_url(draft, "models")}"' in page


def test_a_step_link_gets_the_wizard_fragment_and_a_plain_visit_the_whole_page(
    draft: Release, alice_client: Client
) -> None:
    fragment = alice_client.get(step_url(draft, "models"), **htmx("wizard")).content.decode()
    assert "<html" not in fragment and 'id="wizard-steps"' in fragment and "Step 1 of 4" in fragment
    assert "<title>home · Models · Leger</title>" in fragment  # htmx takes the page title from it
    page = alice_client.get(step_url(draft, "models")).content.decode()
    assert "<html" in page and 'id="wizard"' in page
    history = alice_client.get(step_url(draft, "models"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **htmx("wizard"))
    assert "<html" in history.content.decode()


def test_a_later_step_waits_until_the_ones_before_it_pass(draft: Release, alice_client: Client) -> None:
    response = alice_client.get(step_url(draft, "routes"))
    assert response.status_code == 302
    assert response["Location"] == step_url(draft, "models")
    response = alice_client.get(f"/releases/{draft.pk}/summary/", **htmx("wizard"))
    assert response["HX-Push-Url"] == step_url(draft, "models")
    assert "Step 1 of 4" in response.content.decode()


# --- step 2: services -------------------------------------------------------------------------------------------


def passed(release: Release, *steps: str) -> Release:
    for step in steps:
        assert services.release_validate_step(release=release, step=step) == {}
    release.refresh_from_db()
    return release


def test_the_services_step_groups_active_selections_by_slot_and_saves_the_choice(
    draft: Release, alice_client: Client
) -> None:
    alice = draft.owner
    searxng = select(alice, "searxng")
    qdrant = select(alice, "qdrant")
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models")
    page = alice_client.get(step_url(draft, "services")).content.decode()
    assert "SearXNG" in page and "Qdrant" in page
    assert "Sets WEB_SEARCH_ENGINE=searxng." in page
    assert re.search(r"<legend>Web search", page, re.I)
    response = alice_client.post(step_url(draft, "services"), {"services": [str(searxng.pk)]}, **HTMX)
    assert "Saved at" in response.content.decode()
    assert inputs(draft)["services"] == [searxng.pk]
    page = alice_client.get(step_url(draft, "services")).content.decode()
    assert re.search(rf'value="{searxng.pk}"[^>]*checked', page)
    assert not re.search(rf'value="{qdrant.pk}"[^>]*checked', page)


def test_the_services_step_refuses_a_selection_that_is_not_offered(draft: Release, alice_client: Client) -> None:
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models")
    response = alice_client.post(step_url(draft, "services"), {"services": ["999999"]}, **HTMX)
    assert "no marketplace selection 999999 of yours" in errors_of(response.content.decode(), "id_services")
    response = alice_client.post(step_url(draft, "services"), {"services": ["three"]}, **HTMX)
    assert "“three” is not a selection" in errors_of(response.content.decode(), "id_services")
    assert inputs(draft)["services"] == []


# --- step 3: Open WebUI settings --------------------------------------------------------------------------------


def test_the_open_webui_step_groups_typed_inputs_with_defaults_and_help(draft: Release, alice_client: Client) -> None:
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models", "services")
    page = alice_client.get(step_url(draft, "openwebui")).content.decode()
    for legend in (
        "General",
        "Features",
        "Documents (RAG)",
        "Web search",
        "Audio",
        "Images",
        "Code execution",
        "Task models",
    ):
        assert f"<legend>{legend}</legend>" in page
    assert re.search(r'<input type="number" name="RAG_TOP_K" value="3"[^>]*min="1"[^>]*max="100"', page)
    assert re.search(r'<input type="checkbox" name="ENABLE_MESSAGE_RATING"[^>]*checked', page)
    assert re.search(r'<select name="GLOBAL_LOG_LEVEL"', page)
    assert field_value(page, "WEBUI_NAME") == "Leger AI"
    assert "Default: Leger AI." in page
    assert '<label for="id_RAG_TOP_K">' in page


def test_the_open_webui_step_saves_what_changed_and_a_reload_shows_it(draft: Release, alice_client: Client) -> None:
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models", "services")
    page = alice_client.get(step_url(draft, "openwebui")).content.decode()
    data = form_data(page)
    data.update(WEBUI_NAME="Home AI", RAG_TOP_K="8")
    data.pop("ENABLE_MESSAGE_RATING")  # untick
    response = alice_client.post(step_url(draft, "openwebui"), data, **HTMX)
    assert "Saved at" in response.content.decode()
    assert inputs(draft)["openwebui"] == {"WEBUI_NAME": "Home AI", "RAG_TOP_K": 8, "ENABLE_MESSAGE_RATING": False}
    page = alice_client.get(step_url(draft, "openwebui")).content.decode()
    assert field_value(page, "WEBUI_NAME") == "Home AI"
    assert field_value(page, "RAG_TOP_K") == "8"
    assert not re.search(r'<input type="checkbox" name="ENABLE_MESSAGE_RATING"[^>]*checked', page)


def test_the_open_webui_step_refuses_a_bad_value_next_to_its_field_and_keeps_what_was_typed(
    draft: Release, alice_client: Client
) -> None:
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}], openwebui={"WEBUI_NAME": "Old"})
    passed(draft, "models", "services")
    data = form_data(alice_client.get(step_url(draft, "openwebui")).content.decode())
    data.update(WEBUI_NAME="New", RAG_TOP_K="500", JWT_EXPIRES_IN="forever")
    response = alice_client.post(step_url(draft, "openwebui"), data, **HTMX)
    page = response.content.decode()
    assert "Enter a value of at most 100 (not 500)" in errors_of(page, "id_RAG_TOP_K")
    assert "JWT_EXPIRES_IN (Session lifetime)" in errors_of(page, "id_JWT_EXPIRES_IN")
    assert "Not saved" in page
    assert inputs(draft)["openwebui"] == {"WEBUI_NAME": "Old"}
    # Going on re-shows the whole form with the typed values.
    data["action"] = "next"
    page = alice_client.post(step_url(draft, "openwebui"), data).content.decode()
    assert field_value(page, "RAG_TOP_K") == "500"
    assert field_value(page, "JWT_EXPIRES_IN") == "forever"
    assert field_value(page, "WEBUI_NAME") == "New"
    data["RAG_TOP_K"] = "many"
    page = alice_client.post(step_url(draft, "openwebui"), data).content.decode()
    assert "enter a whole number" in errors_of(page, "id_RAG_TOP_K")
    assert field_value(page, "RAG_TOP_K") == "many"


def test_settings_an_add_on_sets_are_listed_as_the_add_ons_not_offered_as_inputs(
    draft: Release, alice_client: Client
) -> None:
    edgetts = select(draft.owner, "edgetts", values={"AUDIO_TTS_VOICE": "en-GB-SoniaNeural"})
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}], services=[edgetts.pk])
    passed(draft, "models", "services")
    page = alice_client.get(step_url(draft, "openwebui")).content.decode()
    assert 'name="AUDIO_TTS_VOICE"' not in page
    assert re.search(r"<code>AUDIO_TTS_VOICE</code> by Edge", page)
    # The form, untouched, saves without clashing with the add-on.
    response = alice_client.post(step_url(draft, "openwebui"), {**form_data(page), "action": "next"})
    assert response.status_code == 302 and response["Location"] == step_url(draft, "routes")


def form_data(page: str) -> dict[str, Any]:
    """What a browser would post for the step form as shown: text, numbers, ticked boxes, selected options."""
    form = re.search(r'<form id="step-form".*?</form>', page, re.S).group(0)
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or "csrf" in name.group(1) or " disabled" in tag:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) == "checkbox":
            if " checked" in tag:
                data.setdefault(name.group(1), []).append(value.group(1) if value else "on")
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        first = re.search(r'<option value="([^"]*)"', body)
        data[name] = (selected or first).group(1)
    return {
        key: value[0] if isinstance(value, list) and len(value) == 1 and key.isupper() else value
        for key, value in data.items()
    }


# --- step 4: routes ---------------------------------------------------------------------------------------------


def test_the_routes_step_shows_each_exposable_service_with_its_url_and_saves_changes(
    draft: Release, alice_client: Client
) -> None:
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models", "services", "openwebui")
    page = alice_client.get(step_url(draft, "routes")).content.decode()
    for name in ("Open WebUI", "LiteLLM", "llama-swap", "Cockpit"):
        assert f"Reach {name} from the tailnet" in page
    assert "https://box.tail1234.ts.net:3000" in page
    data = form_data(page)
    data["litellm-exposed"] = "on"
    data["litellm-port"] = "4443"
    response = alice_client.post(step_url(draft, "routes"), data, **HTMX)
    page = response.content.decode()
    assert "Saved at" in page
    assert 'id="url-litellm"' in page and "https://box.tail1234.ts.net:4443" in page
    assert inputs(draft)["routes"] == {"litellm": {"exposed": True, "port": 4443}}
    page = alice_client.get(step_url(draft, "routes")).content.decode()
    assert field_value(page, "litellm-port") == "4443"
    assert re.search(r'name="litellm-exposed"[^>]*checked', page)


def test_two_services_on_one_port_are_refused_next_to_both_and_the_typed_ports_stay(
    draft: Release, alice_client: Client
) -> None:
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models", "services", "openwebui")
    data = form_data(alice_client.get(step_url(draft, "routes")).content.decode())
    data.update({"litellm-exposed": "on", "litellm-port": data["openwebui-port"], "action": "next"})
    response = alice_client.post(step_url(draft, "routes"), data)
    page = response.content.decode()
    assert response.status_code == 200
    clash = errors_of(page, "id_litellm-port")
    assert "Open WebUI and LiteLLM are both exposed on port" in clash
    assert "Open WebUI and LiteLLM" in errors_of(page, "id_openwebui-port")
    assert field_value(page, "litellm-port") == data["openwebui-port"]
    assert inputs(draft)["routes"] == {}


def test_every_piece_an_autosave_answers_has_its_place_on_the_step(draft: Release, alice_client: Client) -> None:
    add_key(draft.owner, "deepinfra")
    add_key(draft.owner, "fireworks")
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models", "services", "openwebui")
    for step, data in [
        ("models", {"models": ["qwen-3-235b"]}),  # refused: the provider must be chosen
        ("routes", {"litellm-exposed": "on", "litellm-port": "3000", "openwebui-exposed": "on"}),
    ]:
        page = alice_client.get(step_url(draft, step)).content.decode()
        answer = alice_client.post(step_url(draft, step), data, **HTMX).content.decode()
        ids = re.findall(r'id="([^"]+)"[^>]*hx-swap-oob', answer)
        assert ids and "save-status" in ids and "step-errors" in ids
        for element_id in ids:
            assert f'id="{element_id}"' in page, (step, element_id)
        assert "Not saved" in answer


def test_the_routes_step_asks_for_paths_when_the_tailnet_exposes_by_path(draft: Release, alice_client: Client) -> None:
    add_tailnet(draft.owner, exposure="path")
    services.release_update(release=draft, models=[{"model": "claude-haiku-4.5"}])
    passed(draft, "models", "services", "openwebui")
    page = alice_client.get(step_url(draft, "routes")).content.decode()
    assert '<label for="id_litellm-path">' in page
    assert '<label for="id_litellm-port">' not in page
    assert '<input type="hidden" name="litellm-port"' in page


# --- summary and cut --------------------------------------------------------------------------------------------


def test_the_summary_lists_choices_files_and_secrets_without_any_secret_value(
    ready_user: dict[str, Any], alice_client: Client
) -> None:
    release = minimal_draft(ready_user["user"])
    passed(release, *services.STEPS)
    response = alice_client.get(f"/releases/{release.pk}/summary/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Claude Haiku 4.5" in page
    for path in ("llm.network", "openwebui.container", "litellm-config.yaml", "Caddyfile", "manifest.json"):
        assert f"<code>{path}</code>" in page
    assert "<code>anthropic_api_key</code>" in page and "<code>ANTHROPIC_API_KEY</code>" in page
    # Providers by name ("Anthropic"), the catalog id only beside it.
    assert "through Anthropic" in page and "Your Anthropic key" in page
    assert "Key for provider anthropic" not in page and "· anthropic," not in page
    assert "litellm-master-key" in page
    # Config files are delivered as secrets mounted where each program reads them, and said to be no secret.
    assert re.search(r"<code>leger-file-litellm-config-yaml-[0-9a-f]{12}</code>", page)
    assert "This release's config file, not a secret" in page and "<code>/app/config.yaml</code>" in page
    assert "https://box.tail1234.ts.net" in page
    assert "Cut and publish version 1" in page
    assert "What stops the cut" not in page
    for value in ready_user["secret_values"]:
        assert value not in page


def test_the_summary_names_what_stops_the_cut_and_the_cut_is_refused(
    alice: User, catalog: None, alice_client: Client
) -> None:
    add_key(alice, "anthropic")  # no tailnet settings
    release = minimal_draft(alice)
    passed(release, *services.STEPS)
    page = alice_client.get(f"/releases/{release.pk}/summary/").content.decode()
    assert "What stops the cut" in page and "tailnet settings" in page
    assert re.search(r"<button[^>]*disabled[^>]*>Cut and publish", page)
    response = alice_client.post(f"/releases/{release.pk}/cut/")
    assert response.status_code == 200
    assert "tailnet settings" in response.content.decode()
    release.refresh_from_db()
    assert release.status == Release.Status.DRAFT and release.version is None


def test_the_cut_button_queues_the_release_and_it_ends_published_in_the_local_folder(
    ready_user: dict[str, Any], alice_client: Client, store: Path, django_capture_on_commit_callbacks
) -> None:
    release = minimal_draft(ready_user["user"])
    passed(release, *services.STEPS)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = alice_client.post(f"/releases/{release.pk}/cut/")
    assert response.status_code == 302 and response["Location"] == f"/releases/{release.pk}/"
    release.refresh_from_db()
    assert release.status == Release.Status.QUEUED and release.version == 1
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert "Queued" in page and 'hx-trigger="every 1s"' in page
    # What says "publishing" is the progress card, which goes once it is done (no flash message that stays).
    assert "Publishing version 1</h2>" in page and 'class="message' not in page
    for callback in queued:  # the publish task, run in-process as with no broker configured
        callback()
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    assert (store / owner_uuid / "v1" / "manifest.json").is_file()
    assert (store / owner_uuid / "latest" / "manifest.json").is_file()
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert "Published v1" in page and "every 1s" not in page
    assert "Publishing version 1" not in page and "publishing it now" not in page
    # Cutting it again changes nothing.
    alice_client.post(f"/releases/{release.pk}/cut/")
    assert Release.objects.get(pk=release.pk).version == 1


def test_a_cut_releases_wizard_is_read_only(
    ready_user: dict[str, Any], alice_client: Client, store: Path, django_capture_on_commit_callbacks
) -> None:
    release = publish(ready_user["user"], minimal_draft(ready_user["user"]), django_capture_on_commit_callbacks)
    before = release.inputs
    page = alice_client.get(step_url(release, "models")).content.decode()
    assert "never changes" in page and "Clone into a new draft" in page
    assert re.search(r'value="claude-haiku-4.5"[^>]*checked[^>]*disabled', page)
    assert "hx-post" not in page.split('id="step-form"')[1].split(">")[0]
    response = alice_client.post(step_url(release, "models"), {"models": ["qwen3-4b"]})
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.inputs == before
    page = alice_client.get(f"/releases/{release.pk}/openwebui/").content.decode()
    assert re.search(r'name="WEBUI_NAME"[^>]*disabled', page)
    # Its summary says what it was cut from, with no cut button.
    page = alice_client.get(f"/releases/{release.pk}/summary/").content.decode()
    assert "What version 1 was cut from" in page and "Claude Haiku 4.5" in page
    assert "Cut and publish" not in page and "<code>litellm-config.yaml</code>" in page


@pytest.mark.django_db
def test_every_example_the_model_search_suggests_finds_a_model_to_add(
    ready_user: dict[str, Any], alice_client: Client
) -> None:
    draft = services.release_create(owner=ready_user["user"], name="fresh")  # nothing chosen yet
    page = alice_client.get(f"/releases/{draft.pk}/models/").content.decode()
    placeholder = re.search(r'id="filter-search"[^>]*placeholder="e\.g\. ([^"]+)"', page)
    assert placeholder, "the search suggests no example"
    examples = re.split(r", | or ", placeholder.group(1))
    assert len(examples) >= 3
    for example in examples:
        found = alice_client.get(f"/releases/{draft.pk}/models/", {"search": example}).content.decode()
        count = re.search(r"Matching models you can add \((\d+)\)", found)
        assert count and int(count.group(1)) > 0, f"searching {example!r} finds nothing to add"
