from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leger.catalog import api
from leger.catalog.models import Provider
from leger.providers.services import credential_create
from tests.catalog.factories import make_catalog, make_llm, make_maker, make_provider

API_MODEL_FIELDS = {"id", "name", "maker", "kind", "capabilities", "context_window", "pricing", "providers"}


@pytest.fixture
def catalog(db: None) -> None:
    make_maker("anthropic", name="Anthropic")
    make_maker("google", name="Google")
    make_provider("anthropic", name="Anthropic", env_var="ANTHROPIC_API_KEY")
    make_llm(
        "claude-3.5-haiku",
        name="Claude 3.5 Haiku",
        maker="anthropic",
        capabilities=["chat", "vision"],
        providers={"anthropic": "anthropic/claude-3-5-haiku", "openrouter": "openrouter/anthropic/claude-3.5-haiku"},
        context_window=200_000,
        max_output=8192,
        input_price=Decimal("0.80"),
        output_price=Decimal("4.00"),
        price_tier="standard",
    )
    make_llm(
        "gemini-2.0-flash",
        name="Gemini 2.0 Flash",
        maker="google",
        capabilities=["chat"],
        providers={"gemini": "gemini/gemini-2.0-flash"},
        context_window=1_048_576,
    )
    make_llm(
        "gemma-3-4b-it",
        name="Gemma 3 4B Instruct",
        maker="google",
        kind="local",
        capabilities=["chat", "code"],
        context_window=8192,
        hf_repo="google/gemma-3-4b-it-GGUF",
        hf_file="gemma-3-4b-it-Q4_K_M.gguf",
        ctx_size=8192,
        ttl=900,
        ram_required_gb=6,
        aliases=["gemma-small"],
    )


@pytest.fixture
def api_client(alice: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def ids(response) -> list[str]:
    return [model["id"] for model in response.json()["results"]]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/models/", "/api/v1/models/claude-3.5-haiku/", "/api/v1/providers/"])
def test_it_refuses_a_caller_without_credentials(catalog: None, path: str) -> None:
    response = APIClient().get(path)
    assert response.status_code in (401, 403)
    assert "results" not in response.json() and "name" not in response.json()


def test_a_token_from_the_token_endpoint_opens_the_api(alice: User, catalog: None) -> None:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/models/").status_code == 200

    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/models/").status_code in (401, 403)


def test_it_lists_models_with_the_documented_fields(api_client: APIClient, catalog: None) -> None:
    response = api_client.get("/api/v1/models/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    haiku = next(model for model in body["results"] if model["id"] == "claude-3.5-haiku")
    assert set(haiku) >= API_MODEL_FIELDS
    assert haiku["name"] == "Claude 3.5 Haiku"
    assert haiku["maker"] == "anthropic"
    assert haiku["maker_name"] == "Anthropic"
    assert haiku["kind"] == "cloud"
    assert sorted(haiku["capabilities"]) == ["chat", "vision"]
    assert haiku["context_window"] == 200_000
    assert haiku["max_output"] == 8192
    assert Decimal(haiku["pricing"]["input_per_1m"]) == Decimal("0.80")
    assert Decimal(haiku["pricing"]["output_per_1m"]) == Decimal("4.00")
    assert haiku["pricing"]["currency"] == "USD"
    assert haiku["pricing"]["tier"] == "standard"
    assert haiku["local"] is None
    providers = {provider["id"]: provider for provider in haiku["providers"]}
    assert set(providers) == {"anthropic", "openrouter"}
    assert {"id", "litellm_model", "is_default"} <= set(providers["anthropic"])
    assert providers["anthropic"]["litellm_model"] == "anthropic/claude-3-5-haiku"
    assert providers["anthropic"]["is_default"] is True
    assert providers["openrouter"]["is_default"] is False


def test_a_local_model_carries_what_llama_swap_needs(api_client: APIClient, catalog: None) -> None:
    gemma = api_client.get("/api/v1/models/gemma-3-4b-it/").json()
    assert gemma["kind"] == "local"
    assert gemma["local"]["hf_repo"] == "google/gemma-3-4b-it-GGUF"
    assert gemma["local"]["hf_file"] == "gemma-3-4b-it-Q4_K_M.gguf"
    assert gemma["local"]["ctx_size"] == 8192
    assert gemma["local"]["ttl"] == 900
    assert gemma["local"]["ram_required_gb"] == 6
    assert gemma["local"]["aliases"] == ["gemma-small"]
    assert gemma["providers"] == [
        {
            "id": "llama-cpp",
            "name": "Llama-Cpp",
            "kind": "local",
            "litellm_model": "",
            "is_default": True,
            "enabled": True,
            "retired_at": None,
            "configured": False,
        }
    ]


def test_one_model_by_its_dotted_id(api_client: APIClient, catalog: None) -> None:
    response = api_client.get("/api/v1/models/claude-3.5-haiku/")
    assert response.status_code == 200
    assert response.json()["id"] == "claude-3.5-haiku"
    assert api_client.get("/api/v1/models/claude-9/").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("search=HAIKU", {"claude-3.5-haiku"}),
        ("search=gemini/", {"gemini-2.0-flash"}),
        ("search=google", {"gemini-2.0-flash", "gemma-3-4b-it"}),
        ("capability=chat", {"claude-3.5-haiku", "gemini-2.0-flash", "gemma-3-4b-it"}),
        ("capability=chat&capability=code", {"gemma-3-4b-it"}),
        ("maker=anthropic", {"claude-3.5-haiku"}),
        ("provider=openrouter", {"claude-3.5-haiku"}),
        ("kind=local", {"gemma-3-4b-it"}),
        ("kind=cloud", {"claude-3.5-haiku", "gemini-2.0-flash"}),
        ("min_context=200000", {"claude-3.5-haiku", "gemini-2.0-flash"}),
        # Gemma needs 6 GB; cloud models need no memory of the machine's.
        ("max_memory=6", {"claude-3.5-haiku", "gemini-2.0-flash", "gemma-3-4b-it"}),
        ("max_memory=5", {"claude-3.5-haiku", "gemini-2.0-flash"}),
        ("max_memory=5&kind=local", set()),
    ],
)
def test_each_filter_narrows_the_list(api_client: APIClient, catalog: None, query: str, expected: set[str]) -> None:
    response = api_client.get(f"/api/v1/models/?{query}")
    assert response.status_code == 200
    assert response.json()["count"] == len(expected)
    assert set(ids(response)) == expected


def test_it_orders_by_context(api_client: APIClient, catalog: None) -> None:
    response = api_client.get("/api/v1/models/?ordering=-context")
    assert ids(response) == ["gemini-2.0-flash", "claude-3.5-haiku", "gemma-3-4b-it"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("capability=telepathy", "capability", "There is no capability “telepathy”"),
        ("maker=nobody", "maker", "There is no maker “nobody”"),
        ("kind=quantum", "kind", "Use kind=cloud or kind=local"),
        ("min_context=lots", "min_context", "whole number of tokens"),
        ("max_memory=lots", "max_memory", "whole number of GB"),
        ("max_memory=0", "max_memory", "at least 1 GB"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(
    api_client: APIClient, catalog: None, query: str, field: str, message: str
) -> None:
    response = api_client.get(f"/api/v1/models/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert message in response.json()[field][0]


def test_it_pages_keeping_the_filters(api_client: APIClient, catalog: None) -> None:
    first = api_client.get("/api/v1/models/?capability=chat&page_size=2").json()
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "capability=chat" in first["next"] and "page=2" in first["next"]
    second = api_client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] is not None
    seen = [model["id"] for model in first["results"] + second["results"]]
    assert sorted(seen) == ["claude-3.5-haiku", "gemini-2.0-flash", "gemma-3-4b-it"]


def test_it_lists_providers_with_whether_the_caller_has_a_key(
    api_client: APIClient, catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def configured(*, user):
        calls.append(user.username)
        return {"anthropic"}

    monkeypatch.setattr(api, "configured_provider_ids", configured)
    body = api_client.get("/api/v1/providers/").json()
    assert calls == ["alice"], "the keys are looked up once per request"
    providers = {provider["id"]: provider for provider in body["results"]}
    assert set(providers) == {"anthropic", "openrouter", "gemini", "llama-cpp"}
    assert {"id", "name", "kind", "env_var", "configured"} <= set(providers["anthropic"])
    assert providers["anthropic"]["env_var"] == "ANTHROPIC_API_KEY"
    assert providers["anthropic"]["kind"] == "api"
    assert providers["anthropic"]["configured"] is True
    assert providers["openrouter"]["configured"] is False
    assert providers["llama-cpp"]["kind"] == "local"

    haiku = api_client.get("/api/v1/models/claude-3.5-haiku/").json()
    assert {provider["id"]: provider["configured"] for provider in haiku["providers"]} == {
        "anthropic": True,
        "openrouter": False,
    }


def test_without_keys_no_provider_is_configured(api_client: APIClient, catalog: None) -> None:
    body = api_client.get("/api/v1/providers/").json()
    assert body["count"] == 4
    assert not any(provider["configured"] for provider in body["results"])


def test_providers_can_be_filtered_by_kind(api_client: APIClient, catalog: None) -> None:
    make_provider("tavily", kind="service", env_var="TAVILY_API_KEY")
    body = api_client.get("/api/v1/providers/?kind=local").json()
    assert [provider["id"] for provider in body["results"]] == ["llama-cpp"]
    body = api_client.get("/api/v1/providers/?kind=service").json()
    assert [provider["id"] for provider in body["results"]] == ["tavily"]
    assert api_client.get("/api/v1/providers/?kind=magic").status_code == 400


def test_one_provider_by_id(api_client: APIClient, catalog: None) -> None:
    assert api_client.get("/api/v1/providers/anthropic/").json()["name"] == "Anthropic"
    assert api_client.get("/api/v1/providers/nobody/").status_code == 404


def test_the_api_is_read_only(api_client: APIClient, catalog: None) -> None:
    assert api_client.post("/api/v1/models/", {"id": "x"}, format="json").status_code == 405
    assert api_client.delete("/api/v1/models/claude-3.5-haiku/").status_code == 405


@pytest.mark.parametrize("path", ["/api/v1/models/?capability=chat&search=bulk", "/api/v1/providers/"])
def test_the_lists_cost_the_same_queries_for_3_models_as_for_40(
    api_client: APIClient, db: None, django_assert_max_num_queries, path: str
) -> None:
    make_catalog(3)
    with CaptureQueriesContext(connection) as small:
        assert api_client.get(path).status_code == 200
    make_catalog(40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = api_client.get(path)
    assert len(response.json()["results"]) > 3


def test_the_schema_describes_the_catalog_endpoints(client, db: None) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/models/", "/api/v1/models/{id}/", "/api/v1/providers/", "/api/v1/providers/{id}/"):
        assert "get" in schema["paths"][path]
    parameters = {parameter["name"] for parameter in schema["paths"]["/api/v1/models/"]["get"]["parameters"]}
    assert {"search", "capability", "maker", "provider", "kind", "min_context", "page"} <= parameters
    model = schema["components"]["schemas"]["LLM"]["properties"]
    assert set(model) >= API_MODEL_FIELDS


def test_configured_follows_the_callers_own_saved_keys(alice: User, bob: User, catalog: None) -> None:
    secret = "sk-ant-api03-0123456789abcdef0123456789abcdef"
    credential_create(owner=alice, provider=Provider.objects.get(pk="anthropic"), label="work", value=secret)
    for user, expected in ((alice, True), (bob, False)):
        client = APIClient()
        client.force_authenticate(user)
        response = client.get("/api/v1/providers/")
        assert {p["id"]: p["configured"] for p in response.json()["results"]}["anthropic"] is expected
        haiku = client.get("/api/v1/models/claude-3.5-haiku/")
        assert {p["id"]: p["configured"] for p in haiku.json()["providers"]}["anthropic"] is expected
        assert secret not in response.content.decode() + haiku.content.decode()
