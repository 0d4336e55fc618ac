from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leger.catalog.models import LLM
from tests.catalog.factories import make_catalog, make_llm, make_maker


@pytest.fixture
def admin_client(db: None) -> Client:
    admin = User.objects.create_superuser("root", "root@example.org", "root-password-1")
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def catalog(db: None) -> None:
    make_maker("anthropic", name="Anthropic")
    make_llm(
        "claude-3.5-haiku",
        name="Claude 3.5 Haiku",
        maker="anthropic",
        capabilities=["chat", "vision"],
        providers={"anthropic": "anthropic/claude-3-5-haiku", "openrouter": "openrouter/anthropic/claude-3.5-haiku"},
        context_window=200_000,
        input_price=Decimal("0.80"),
        output_price=Decimal("4.00"),
        price_tier="standard",
    )
    make_llm("gemma-3-4b-it", name="Gemma 3 4B Instruct", maker="google", kind="local", capabilities=["chat"])


ADMINS = {
    "capability": "chat",
    "maker": "anthropic",
    "provider": "openrouter",
    "llm": "claude-3.5-haiku",
}


@pytest.mark.parametrize("model", [*ADMINS, "offering"])
def test_every_changelist_and_add_form_renders(admin_client: Client, catalog: None, model: str) -> None:
    assert admin_client.get(f"/admin/catalog/{model}/").status_code == 200
    assert admin_client.get(f"/admin/catalog/{model}/add/").status_code == 200


@pytest.mark.parametrize(("model", "pk"), ADMINS.items())
def test_every_change_form_renders_with_a_fixed_id(admin_client: Client, catalog: None, model: str, pk: str) -> None:
    response = admin_client.get(f"/admin/catalog/{model}/{pk}/change/")
    assert response.status_code == 200
    # The id shows, but is no longer an input: other parts of Leger refer to the row by it.
    assert 'name="id"' not in response.content.decode()
    assert pk in response.content.decode()


def test_the_offering_change_form_renders(admin_client: Client, catalog: None) -> None:
    offering = LLM.objects.get(pk="claude-3.5-haiku").offerings.get(provider_id="openrouter")
    assert admin_client.get(f"/admin/catalog/offering/{offering.pk}/change/").status_code == 200


def test_the_llm_list_shows_useful_columns(admin_client: Client, catalog: None) -> None:
    page = admin_client.get("/admin/catalog/llm/").content.decode()
    assert "Claude 3.5 Haiku" in page
    assert "200K" in page and "$0.80" in page and "$4.00" in page
    assert '<td class="field-provider_count">2</td>' in page


def test_the_llm_form_edits_offerings_inline(admin_client: Client, catalog: None) -> None:
    page = admin_client.get("/admin/catalog/llm/claude-3.5-haiku/change/").content.decode()
    assert "offerings-TOTAL_FORMS" in page
    assert "anthropic/claude-3-5-haiku" in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("q=haiku", "Claude 3.5 Haiku", "Gemma 3 4B Instruct"),
        ("q=openrouter/anthropic", "Claude 3.5 Haiku", "Gemma 3 4B Instruct"),
        ("kind__exact=local", "Gemma 3 4B Instruct", "Claude 3.5 Haiku"),
        ("maker__id__exact=anthropic", "Claude 3.5 Haiku", "Gemma 3 4B Instruct"),
        ("capabilities__id__exact=vision", "Claude 3.5 Haiku", "Gemma 3 4B Instruct"),
        ("price_tier__exact=standard", "Claude 3.5 Haiku", "Gemma 3 4B Instruct"),
    ],
)
def test_llm_search_and_filters_narrow_the_list(
    admin_client: Client, catalog: None, query: str, shown: str, hidden: str
) -> None:
    response = admin_client.get(f"/admin/catalog/llm/?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    assert shown in page
    assert hidden not in page


def test_disabled_models_can_be_filtered(admin_client: Client, catalog: None) -> None:
    LLM.objects.filter(pk="gemma-3-4b-it").update(enabled=False)
    page = admin_client.get("/admin/catalog/llm/?enabled__exact=0").content.decode()
    assert "Gemma 3 4B Instruct" in page and "Claude 3.5 Haiku" not in page


def test_provider_and_offering_search_and_filters(admin_client: Client, catalog: None) -> None:
    page = admin_client.get("/admin/catalog/provider/?kind__exact=local").content.decode()
    assert "Llama-Cpp" in page and "Openrouter" not in page
    page = admin_client.get("/admin/catalog/provider/?q=OPENROUTER_API_KEY").content.decode()
    assert "Openrouter" in page and "Llama-Cpp" not in page
    page = admin_client.get("/admin/catalog/offering/?provider__id__exact=openrouter").content.decode()
    assert "openrouter/anthropic/claude-3.5-haiku" in page and "anthropic/claude-3-5-haiku</td>" not in page
    page = admin_client.get("/admin/catalog/maker/?q=anthrop").content.decode()
    assert "Anthropic" in page and "Acme" not in page


def test_autocomplete_finds_providers_for_the_offering_inline(admin_client: Client, catalog: None) -> None:
    response = admin_client.get(
        "/admin/autocomplete/",
        {"term": "open", "app_label": "catalog", "model_name": "offering", "field_name": "provider"},
    )
    assert [result["id"] for result in response.json()["results"]] == ["openrouter"]


def test_the_llm_changelist_costs_the_same_queries_for_3_models_as_for_40(
    admin_client: Client, db: None, django_assert_max_num_queries
) -> None:
    make_catalog(3)
    with CaptureQueriesContext(connection) as small:
        admin_client.get("/admin/catalog/llm/")
    make_catalog(40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert admin_client.get("/admin/catalog/llm/").status_code == 200
