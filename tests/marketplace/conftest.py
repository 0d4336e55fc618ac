from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.marketplace.models import Service, Slot
from tests.marketplace.factories import QDRANT_VARIABLES, make_key_provider, make_service, make_slot


@pytest.fixture
def vector_slot(db: None) -> Slot:
    return make_slot(
        "vector-database",
        "vector database",
        ("VECTOR_DB",),
        shared=({"name": "RAG_TOP_K", "type": "int", "default": 3, "min": 1, "max": 100},),
    )


@pytest.fixture
def search_slot(db: None) -> Slot:
    return make_slot(
        "web-search", "web search engine", ("WEB_SEARCH_ENGINE",), fixed_values={"ENABLE_WEB_SEARCH": True}
    )


@pytest.fixture
def qdrant(vector_slot: Slot) -> Service:
    return make_service("qdrant", name="Qdrant", slot=vector_slot, runtime="container", variables=QDRANT_VARIABLES)


@pytest.fixture
def chroma(vector_slot: Slot) -> Service:
    return make_service("chroma", name="Chroma", slot=vector_slot, runtime="container")


@pytest.fixture
def tavily_provider(db: None) -> Provider:
    return make_key_provider("tavily", "Tavily", "TAVILY_API_KEY", key_prefix="tvly-")


@pytest.fixture
def tavily(search_slot: Slot, tavily_provider: Provider) -> Service:
    return make_service(
        "tavily-search",
        name="Tavily",
        slot=search_slot,
        slot_value="tavily",
        key_provider=tavily_provider,
        variables=(
            {"name": "TAVILY_SEARCH_DEPTH", "type": "enum", "default": "basic", "options": ["basic", "advanced"]},
        ),
    )


@pytest.fixture
def searxng(search_slot: Slot) -> Service:
    return make_service("searxng", name="SearXNG", slot=search_slot, runtime="container")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_api(bob) -> APIClient:
    client = APIClient()
    client.force_authenticate(bob)
    return client
