from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leger.releases.models import InfrastructureService
from tests.tailscale_standin import tailscale_api  # noqa: F401  (fixture)


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


def infrastructure(id: str, name: str, *, role: str = "core", addon: str = "", **fields) -> InfrastructureService:
    defaults = {
        "name": name,
        "role": role,
        "addon": addon,
        "image": f"docker.io/example/{id}:1",
        "port": 8080,
        "exposable": True,
        "published_port": 3000,
        "bind_address": "0.0.0.0",
        "path": f"/{id}",
        "subdomain": id,
    }
    return InfrastructureService.objects.update_or_create(id=id, defaults={**defaults, **fields})[0]


@pytest.fixture
def stack(db: None) -> list[InfrastructureService]:
    """The core services the /settings page lists, shaped like fixtures/infrastructure/core.json."""
    return [
        infrastructure("openwebui", "Open WebUI", published_port=3000, path="/", subdomain="ai", order=1),
        infrastructure("litellm", "LiteLLM", published_port=4000, path="/litellm", subdomain="llm", order=2),
        infrastructure("openwebui-postgres", "PostgreSQL", exposable=False, published_port=None, order=3),
        infrastructure("searxng", "SearXNG", role="addon", addon="searxng", published_port=8888, order=4),
    ]
