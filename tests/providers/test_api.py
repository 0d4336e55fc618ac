from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.models import AuditEntry, Credential

from .conftest import a_key

pytestmark = pytest.mark.django_db

CREDENTIAL_FIELDS = {
    "id",
    "provider",
    "label",
    "masked",
    "key_fields",
    "secret_name",
    "env_var",
    "created_at",
    "rotated_at",
}


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# /api/v1/credentials/


def test_creating_a_credential_answers_masked_and_never_the_value(alice_api: APIClient, alice: User, anthropic) -> None:
    value = a_key()
    response = alice_api.post("/api/v1/credentials/", {"provider": "anthropic", "label": "work", "value": value})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == CREDENTIAL_FIELDS
    assert body["provider"] == "anthropic"
    assert body["secret_name"] == "anthropic_api_key"
    assert body["env_var"] == "ANTHROPIC_API_KEY"
    assert body["masked"] == f"sk-ant-…{value[-4:]}"
    assert value not in response.content.decode()
    assert crypto.decrypt(Credential.objects.get(owner=alice).value) == value


def test_listing_credentials_is_paginated_and_shows_only_the_callers(
    alice_api: APIClient, alice_key, bob_key, mistral, alice: User
) -> None:
    services.credential_create(owner=alice, provider=mistral, label="", value=a_key(""))
    response = alice_api.get("/api/v1/credentials/")
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert {row["provider"] for row in body["results"]} == {"anthropic", "mistral"}
    assert all(set(row) == CREDENTIAL_FIELDS for row in body["results"])
    text = response.content.decode()
    assert alice_key[1] not in text
    assert bob_key[0].masked not in text


def test_retrieving_a_credential_shows_it_masked(alice_api: APIClient, alice_key) -> None:
    credential, value = alice_key
    response = alice_api.get(f"/api/v1/credentials/{credential.pk}/")
    assert response.json()["masked"] == credential.masked
    assert "value" not in response.json()
    assert value not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"provider": "anthropic", "value": ""}, "value", "Paste your Anthropic key; this field is empty."),
        ({"provider": "anthropic", "value": "  \n "}, "value", "Paste your Anthropic key; this field is empty."),
        ({"provider": "anthropic", "value": "sk-ant-api03-abc defghijklmnopqrstu"}, "value", "spaces or line breaks"),
        ({"provider": "anthropic", "value": "sk-ant-api03-abcdefghijklmnopqrstu\n"}, "value", "spaces or line breaks"),
        ({"provider": "anthropic", "value": "sk-proj-abcdefghijklmnopqrstuvwxyz"}, "value", 'start with "sk-ant-"'),
        ({"provider": "anthropic", "label": "a\nb", "value": a_key()}, "label", "on one line"),
        ({"provider": "openai", "value": a_key()}, "provider", "There is no provider “openai” that takes a key"),
        ({"provider": "llama-cpp", "value": a_key()}, "provider", "There is no provider “llama-cpp” that takes a key"),
        ({"provider": "anthropic"}, "value", "This field is required."),
    ],
)
def test_bad_input_is_a_400_with_a_message_and_nothing_is_saved(
    alice_api: APIClient, anthropic, llama_cpp, body: dict, field: str, message: str
) -> None:
    response = alice_api.post("/api/v1/credentials/", body, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    if body.get("value", "").strip():
        assert body["value"].strip() not in response.content.decode()
    assert Credential.objects.count() == 0


def test_a_duplicate_label_is_a_400_naming_the_label(alice_api: APIClient, alice_key) -> None:
    response = alice_api.post("/api/v1/credentials/", {"provider": "anthropic", "label": "work", "value": a_key()})
    assert response.status_code == 400
    assert response.json()["label"] == [
        "You already have a key labelled “work” for Anthropic; give this one its own label."
    ]


def test_patch_renames_and_nothing_else(alice_api: APIClient, alice_key) -> None:
    credential, value = alice_key
    response = alice_api.patch(f"/api/v1/credentials/{credential.pk}/", {"label": "office"}, format="json")
    assert response.status_code == 200
    assert response.json()["label"] == "office"
    assert response.json()["secret_name"] == "anthropic_api_key"

    new_value = a_key()
    refused = alice_api.patch(
        f"/api/v1/credentials/{credential.pk}/", {"value": new_value, "provider": "mistral"}, format="json"
    )
    assert refused.status_code == 400
    assert f"POST /api/v1/credentials/{credential.pk}/rotate/" in refused.json()["value"][0]
    assert "cannot change" in refused.json()["provider"][0]
    assert new_value not in refused.content.decode()
    credential.refresh_from_db()
    assert crypto.decrypt(credential.value) == value
    assert alice_api.put(f"/api/v1/credentials/{credential.pk}/", {"label": "x"}).status_code == 405


def test_rotate_replaces_the_value(alice_api: APIClient, alice_key) -> None:
    credential, _ = alice_key
    new_value = a_key()
    response = alice_api.post(f"/api/v1/credentials/{credential.pk}/rotate/", {"value": new_value}, format="json")
    assert response.status_code == 200
    assert response.json()["rotated_at"] is not None
    assert new_value not in response.content.decode()
    credential.refresh_from_db()
    assert crypto.decrypt(credential.value) == new_value
    bad = alice_api.post(f"/api/v1/credentials/{credential.pk}/rotate/", {"value": "nope nope"}, format="json")
    assert bad.status_code == 400
    assert "spaces or line breaks" in bad.json()["value"][0]


def test_delete_answers_204(alice_api: APIClient, alice_key) -> None:
    credential, _ = alice_key
    assert alice_api.delete(f"/api/v1/credentials/{credential.pk}/").status_code == 204
    assert not Credential.objects.exists()
    assert AuditEntry.objects.get(action="deleted").channel == "api"


def test_another_users_credential_is_404_on_every_endpoint(alice_api: APIClient, bob_key) -> None:
    credential, value = bob_key
    url = f"/api/v1/credentials/{credential.pk}/"
    assert alice_api.get(url).status_code == 404
    assert alice_api.patch(url, {"label": "mine"}, format="json").status_code == 404
    assert alice_api.post(f"{url}rotate/", {"value": a_key()}, format="json").status_code == 404
    assert alice_api.delete(url).status_code == 404
    credential.refresh_from_db()
    assert (credential.label, crypto.decrypt(credential.value)) == ("bob's", value)


def test_the_credentials_api_needs_a_login(client: Client, alice_key) -> None:
    assert client.get("/api/v1/credentials/").status_code in (401, 403)


def test_the_credential_list_query_count_does_not_grow(
    alice_api: APIClient, alice: User, anthropic: Provider, django_assert_max_num_queries
) -> None:
    services.credential_create(owner=alice, provider=anthropic, label="first", value=a_key())
    with django_assert_max_num_queries(6) as few:
        alice_api.get("/api/v1/credentials/")
    for number in range(15):
        services.credential_create(owner=alice, provider=anthropic, label=f"k{number}", value=a_key())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert alice_api.get("/api/v1/credentials/").json()["count"] == 16


# /api/v1/secrets/


def test_the_secrets_list_gives_the_callers_names_env_vars_and_providers(
    alice_token: str, alice_key, bob_key, tavily, alice: User
) -> None:
    services.credential_create(owner=alice, provider=tavily, label="", value=a_key("tvly-"))
    response = token_client(alice_token).get("/api/v1/secrets/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert sorted((row["name"], row["env_var"], row["provider"]) for row in results) == [
        ("anthropic_api_key", "ANTHROPIC_API_KEY", "anthropic"),
        ("tavily_api_key", "TAVILY_API_KEY", "tavily"),
    ]
    assert all("value" not in row for row in results)
    assert alice_key[1] not in response.content.decode()


def test_a_secret_value_is_served_to_its_owner_by_token_and_every_read_is_audited(
    alice_token: str, alice_key, alice: User
) -> None:
    _, value = alice_key
    client = token_client(alice_token)
    for _ in range(2):
        response = client.get("/api/v1/secrets/anthropic_api_key/", HTTP_USER_AGENT="leger-cli/0.4")
        assert response.status_code == 200
        assert response.json() == {
            "name": "anthropic_api_key",
            "kind": "credential",
            "env_var": "ANTHROPIC_API_KEY",
            "provider": "anthropic",
            "label": "work",
            "value": value,
        }
        assert response["Cache-Control"] == "no-store"
    reads = AuditEntry.objects.filter(action="read")
    assert reads.count() == 2
    assert {(read.actor, read.secret_name, read.channel, read.ip, read.user_agent) for read in reads} == {
        (alice, "anthropic_api_key", "api", "127.0.0.1", "leger-cli/0.4")
    }


@pytest.mark.parametrize("path", ["/api/v1/secrets/", "/api/v1/secrets/anthropic_api_key/"])
def test_the_secrets_endpoint_refuses_a_session_or_no_credentials(
    alice_client: Client, client: Client, alice_key, path: str
) -> None:
    assert alice_client.get(path).status_code == 401  # a browser session is not enough
    assert client.get(path).status_code == 401
    assert APIClient().get(path, HTTP_AUTHORIZATION="Token not-a-real-token").status_code == 401
    assert not AuditEntry.objects.filter(action="read").exists()


def test_another_users_secret_is_404_and_not_audited(alice_token: str, bob_key) -> None:
    response = token_client(alice_token).get("/api/v1/secrets/anthropic_api_key/")
    assert response.status_code == 404
    assert bob_key[1] not in response.content.decode()
    assert not AuditEntry.objects.filter(action="read").exists()


def test_each_user_gets_their_own_value_under_the_same_name(alice_token: str, bob_token: str, alice_key, bob_key):
    assert token_client(alice_token).get("/api/v1/secrets/anthropic_api_key/").json()["value"] == alice_key[1]
    assert token_client(bob_token).get("/api/v1/secrets/anthropic_api_key/").json()["value"] == bob_key[1]


def test_a_secret_that_no_key_opens_is_a_clear_server_error(settings, alice_token: str, alice_key) -> None:
    from cryptography.fernet import Fernet

    settings.LEGER_FERNET_KEYS = [Fernet.generate_key().decode()]
    response = token_client(alice_token).get("/api/v1/secrets/anthropic_api_key/")
    assert response.status_code == 500
    assert "LEGER_FERNET_KEYS" in response.json()["detail"]
    assert alice_key[1] not in response.content.decode()
    assert not AuditEntry.objects.filter(action="read").exists()


def test_the_schema_describes_the_credential_and_secret_endpoints(client: Client) -> None:
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/credentials/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/credentials/{id}/"])
    assert "put" not in paths["/api/v1/credentials/{id}/"]
    assert "post" in paths["/api/v1/credentials/{id}/rotate/"]
    assert "get" in paths["/api/v1/secrets/"]
    secret = paths["/api/v1/secrets/{name}/"]["get"]
    assert secret["security"] == [{"tokenAuth": []}]
