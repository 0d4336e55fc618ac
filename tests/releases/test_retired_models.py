"""A model LiteLLM's registry retired cannot go into a new release; the refusal names what to use instead."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leger.catalog.models import LLM
from leger.releases import selectors, services
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft

catalog = setup.catalog
ready_user = setup.ready_user

pytestmark = pytest.mark.django_db


def retire(model_id: str, successor: str | None = None) -> LLM:
    llm = LLM.objects.get(pk=model_id)
    llm.retired_at = timezone.now()
    llm.successor = LLM.objects.get(pk=successor) if successor else None
    llm.save()
    return llm


def test_a_retired_model_is_refused_naming_its_successor(ready_user: dict[str, Any]) -> None:
    draft = minimal_draft(ready_user["user"])
    assert services.release_ready(release=draft) == []
    retire("claude-haiku-4.5", successor="claude-sonnet-4-5")
    problems = services.release_ready(release=draft)
    assert any("Claude Haiku 4.5 is retired" in p and "claude-sonnet-4-5" in p for p in problems), problems
    with pytest.raises(ValidationError, match="retired"):
        services.release_cut(release=draft, actor=ready_user["user"])


def test_the_wizard_no_longer_offers_a_retired_model(ready_user: dict[str, Any]) -> None:
    def offered() -> set[str]:
        choices = selectors.release_choices(owner=ready_user["user"])
        return {choice.llm.pk for choice in [*choices.cloud_models, *choices.local_models]}

    assert "claude-haiku-4.5" in offered()
    retire("claude-haiku-4.5")
    assert "claude-haiku-4.5" not in offered()


def test_an_offering_the_registry_no_longer_lists_is_neither_offered_nor_accepted(ready_user: dict[str, Any]) -> None:
    """Claude 3.5 Haiku is still served by Bedrock and Vertex AI, but no longer by Anthropic's own API: with an
    Anthropic key it is not offered, and a release that asks for it is told which providers still serve it."""
    choices = selectors.release_choices(owner=ready_user["user"])
    assert "claude-3.5-haiku" not in {choice.llm.pk for choice in choices.cloud_models}
    draft = services.release_create(owner=ready_user["user"], name="old")
    with pytest.raises(ValidationError) as refused:
        services.release_update(release=draft, models=[{"model": "claude-3.5-haiku", "provider": "anthropic"}])
    assert "is not served by 'anthropic'; it is served by AWS Bedrock and Vertex AI" in str(refused.value)
