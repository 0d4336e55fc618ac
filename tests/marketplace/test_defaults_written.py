"""A default the marketplace shows is what runs: Leger writes it rather than leave the variable to the program.

Open WebUI 0.12.4's default for the base URL of OpenAI speech-to-text, text-to-speech, embeddings and images
reads ``OPENAI_API_BASE_URL``, which a release points at LiteLLM. Read further (open_webui/config.py), it
resets that name to https://api.openai.com/v1 before those defaults read it, so today an unset one would reach
OpenAI too; written, the address is the one the page shows whatever a version's internal defaults do
(tests/releases/test_real_openwebui.py asks the real Open WebUI).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from leger.marketplace.forms import SelectionForm, form_variables
from leger.marketplace.models import Service
from leger.providers.models import Credential
from leger.releases import services as release_services
from leger.releases.rendering import render
from tests.releases import test_services_setup as setup
from tests.releases.conftest import unit_environment
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select

catalog = setup.catalog

pytestmark = pytest.mark.django_db

OPENAI = "https://api.openai.com/v1"


@pytest.mark.parametrize(
    ("service", "variables"),
    [
        ("openai-stt", ["AUDIO_STT_OPENAI_API_BASE_URL"]),
        ("openai-tts", ["AUDIO_TTS_OPENAI_API_BASE_URL"]),
        ("openai-embeddings", ["RAG_OPENAI_API_BASE_URL"]),
        ("openai-images", ["IMAGES_OPENAI_API_BASE_URL", "IMAGES_EDIT_OPENAI_API_BASE_URL"]),
    ],
)
def test_an_openai_service_left_at_its_shown_address_calls_openai_not_litellm(
    alice: User, catalog: None, monkeypatch: pytest.MonkeyPatch, service: str, variables: list[str]
) -> None:
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_key(alice, "anthropic")
    openai, _ = add_key(alice, "openai", prefix="sk-proj-")
    add_tailnet(alice)
    selection = select(alice, service, credential=openai)  # every setting left as the page shows it
    draft = minimal_draft(alice)
    draft = release_services.release_update(release=draft, services=[selection.pk])
    release = release_services.release_cut(release=draft, actor=alice)
    environment = unit_environment(render(release.snapshot)["openwebui.container"])
    assert environment["OPENAI_API_BASE_URL"].startswith("http://litellm:")
    for variable in variables:
        assert environment[variable] == OPENAI, variable


def test_two_add_ons_that_agree_on_a_value_can_be_chosen_together_and_write_it_once(
    alice: User, catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_key(alice, "anthropic")
    firecrawl, _ = add_key(alice, "firecrawl", prefix="fc-")
    add_tailnet(alice)
    chosen = [
        select(alice, "firecrawl-search", credential=firecrawl),
        select(alice, "firecrawl-loader", credential=firecrawl),
    ]
    draft = release_services.release_update(release=minimal_draft(alice), services=[s.pk for s in chosen])
    release = release_services.release_cut(release=draft, actor=alice)
    unit = render(release.snapshot)["openwebui.container"]
    assert unit.count("FIRECRAWL_API_BASE_URL=") == 1
    assert unit_environment(unit)["FIRECRAWL_API_BASE_URL"] == "https://api.firecrawl.dev"


def test_a_setting_on_by_default_starts_ticked(catalog: None) -> None:
    ticked = [
        (service, variable)
        for service in Service.objects.filter(enabled=True)
        for variable in form_variables(service)
        if variable.type == "bool" and variable.default is True
    ]
    assert ticked, "no service has a setting on by default: the check below proved nothing"
    for service, variable in ticked:
        form: Any = SelectionForm(
            service=service, variables=form_variables(service), credentials=Credential.objects.none()
        )
        assert form[variable.name].value() is True, f"{service.pk}: {variable.name}"
