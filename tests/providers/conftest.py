from __future__ import annotations

import secrets

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.providers import services
from leger.providers.models import Credential


def a_key(prefix: str = "sk-ant-api03-") -> str:
    """A key shaped like a real one, different on every call, so finding it anywhere means a leak."""
    return prefix + secrets.token_urlsafe(36).replace("-", "x").replace("_", "y")


def make_provider(
    id: str, name: str, *, kind: str = "api", env_var: str = "", key_prefix: str = "", key_url: str = ""
) -> Provider:
    return Provider.objects.create(
        id=id,
        name=name,
        kind=kind,
        env_var=env_var or ("" if kind == "local" else f"{id.upper().replace('-', '_')}_API_KEY"),
        key_prefix=key_prefix,
        key_url=key_url,
    )


@pytest.fixture
def anthropic(db: None) -> Provider:
    return make_provider(
        "anthropic", "Anthropic", key_prefix="sk-ant-", key_url="https://console.anthropic.com/settings/keys"
    )


@pytest.fixture
def mistral(db: None) -> Provider:
    return make_provider("mistral", "Mistral")  # no documented prefix: no shape check


@pytest.fixture
def tavily(db: None) -> Provider:
    # The marketplace fixtures add services like this one as kind "service".
    return make_provider("tavily", "Tavily", kind="service", key_prefix="tvly-")


@pytest.fixture
def llama_cpp(db: None) -> Provider:
    return make_provider("llama-cpp", "llama.cpp on this machine", kind="local")


@pytest.fixture
def alice_key(alice: User, anthropic: Provider) -> tuple[Credential, str]:
    value = a_key()
    return services.credential_create(owner=alice, provider=anthropic, label="work", value=value), value


@pytest.fixture
def bob_key(bob: User, anthropic: Provider) -> tuple[Credential, str]:
    value = a_key()
    return services.credential_create(owner=bob, provider=anthropic, label="bob's", value=value), value


@pytest.fixture
def alice_token(alice: User) -> str:
    return Token.objects.create(user=alice).key


@pytest.fixture
def alice_api(alice_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice_token}")
    return client


@pytest.fixture
def bob_token(bob: User) -> str:
    return Token.objects.create(user=bob).key
