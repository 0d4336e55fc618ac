"""The leger CLI's secrets API at the site root: the CLI's envelope, its error codes and statuses, one owner each.

Tokens here come from ``token_issue`` (what a verified ``POST /auth/cli`` hands out; the sign-in itself is in
test_signin.py), so each test is about what a token can and cannot do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from leger.cli.models import CliToken
from leger.cli.tokens import Identity, token_issue, token_revoke
from leger.providers import crypto
from leger.providers.models import AuditEntry, Credential, InternalSecret, NamedSecret
from leger.releases.services import owner_for
from tests.providers.conftest import a_key, make_provider

pytestmark = pytest.mark.django_db


def token_for(user: User, *, ip: str = "100.101.102.103") -> str:
    identity = Identity(
        login_name=f"{user.username}@github", user_id="1", device_ip=ip, device_hostname="box", device_id="n1"
    )
    token, _ = token_issue(owner=user, owner_uuid=str(owner_for(user=user).uuid), identity=identity)
    return token


def call(client: Client, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if body is not None:
        return getattr(client, method)(path, data=body, content_type="application/json", **headers)
    return getattr(client, method)(path, **headers)


def rfc3339(text: str) -> dt.datetime:
    # What Go's time.Time accepts when the CLI decodes created_at/updated_at.
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def keyed(alice: User) -> dict[str, Any]:
    anthropic = make_provider("anthropic", "Anthropic", key_prefix="sk-ant-")
    value = a_key()
    credential = Credential.objects.create(
        owner=alice,
        provider=anthropic,
        label="main",
        value=crypto.encrypt(value),
        masked=crypto.mask(value, "sk-ant-"),
        secret_name="anthropic_api_key",
        env_var="ANTHROPIC_API_KEY",
    )
    InternalSecret.objects.create(owner=alice, name="litellm-master-key", value=crypto.encrypt("sk-internal-1"))
    return {"credential": credential, "value": value}


def test_the_list_names_every_secret_with_rfc3339_dates_and_a_version_and_no_value(
    client: Client, alice: User, keyed: dict[str, Any]
) -> None:
    response = call(client, "get", "/secrets/list", token_for(alice))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    secrets = {entry["name"]: entry for entry in body["data"]["secrets"]}
    assert set(secrets) == {"anthropic_api_key", "litellm-master-key"}
    assert body["data"]["total_count"] == 2
    for entry in secrets.values():
        assert set(entry) >= {"name", "created_at", "updated_at", "version"}
        rfc3339(entry["created_at"]) and rfc3339(entry["updated_at"])
        assert entry["version"] == 1
    assert keyed["value"] not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_get_answers_the_value_to_its_owner_and_audits_the_read(
    client: Client, alice: User, keyed: dict[str, Any]
) -> None:
    response = call(client, "get", "/secrets/get/anthropic_api_key", token_for(alice))
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {"name": "anthropic_api_key", "value": keyed["value"], "version": 1},
    }
    read = AuditEntry.objects.get(action=AuditEntry.Action.READ)
    assert (read.owner, read.secret_name, read.channel) == (alice, "anthropic_api_key", "api")


def test_an_unknown_name_answers_404_secret_not_found_saying_how_to_create_it(client: Client, alice: User) -> None:
    response = call(client, "get", "/secrets/get/nope", token_for(alice))
    assert response.status_code == 404
    body = response.json()
    assert (body["success"], body["error"]) == (False, "secret_not_found")
    assert "leger secrets set nope" in body["message"]


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "Send Authorization: Bearer"),
        ("Token abc", "Send Authorization: Bearer"),
        ("Bearer leg_not.a.jwt", "not valid"),
        ("Bearer sk-something", "not a leger CLI token"),
    ],
)
def test_without_a_valid_bearer_token_every_endpoint_answers_401_invalid_token(
    client: Client, alice: User, header: str | None, why: str
) -> None:
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    owner = owner_for(user=alice)
    for method, path in [
        ("get", "/secrets/list"),
        ("get", "/secrets/get/x"),
        ("post", "/secrets/set"),
        ("delete", "/secrets/x"),
        ("get", f"/v1/users/{owner.uuid}/versions"),
    ]:
        response = getattr(client, method)(path, **headers)
        assert response.status_code == 401, (method, path)
        body = response.json()
        assert (body["success"], body["error"]) == (False, "invalid_token")
        assert why in body["message"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_reads_nothing(client: Client, alice: User, keyed: dict[str, Any]) -> None:
    client.force_login(alice)
    assert client.get("/secrets/get/anthropic_api_key").status_code == 401


def test_a_revoked_or_expired_token_is_refused_at_once(client: Client, alice: User, keyed: dict[str, Any]) -> None:
    token = token_for(alice)
    assert call(client, "get", "/secrets/list", token).status_code == 200
    token_revoke(owner=alice)
    revoked = call(client, "get", "/secrets/list", token)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]

    other = token_for(alice)
    CliToken.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert call(client, "get", "/secrets/list", other).json()["message"].startswith("Your token expired")


def test_a_token_signed_with_another_key_is_refused(client: Client, alice: User, settings) -> None:
    token = token_for(alice)
    settings.LEGER_CLI_TOKEN_KEY = "another-signing-key-of-at-least-32-bytes"
    assert call(client, "get", "/secrets/list", token).status_code == 401


def test_another_owners_token_sees_none_of_alices_secrets_or_versions(
    client: Client, alice: User, bob: User, keyed: dict[str, Any]
) -> None:
    bobs = token_for(bob, ip="100.64.0.2")
    assert call(client, "get", "/secrets/list", bobs).json()["data"]["secrets"] == []
    assert call(client, "get", "/secrets/get/anthropic_api_key", bobs).status_code == 404
    assert call(client, "get", "/secrets/get/litellm-master-key", bobs).status_code == 404
    assert call(client, "delete", "/secrets/anthropic_api_key", bobs).status_code == 404
    response = call(client, "get", f"/v1/users/{owner_for(user=alice).uuid}/versions", bobs)
    assert response.status_code == 404
    assert Credential.objects.filter(owner=alice).count() == 1


def test_set_creates_then_replaces_a_named_secret_encrypted_masked_and_audited(client: Client, alice: User) -> None:
    token = token_for(alice)
    value = a_key("hf_")
    created = call(client, "post", "/secrets/set", token, {"name": "hf_token", "value": value})
    assert created.status_code == 201
    assert created.json()["data"]["version"] == 1
    assert created.json()["data"]["message"] == "Secret created successfully"
    rfc3339(created.json()["data"]["updated_at"])
    replaced = call(client, "post", "/secrets/set", token, {"name": "hf_token", "value": value + "2"})
    assert replaced.status_code == 200
    assert replaced.json()["data"]["version"] == 2

    stored = NamedSecret.objects.get(owner=alice, name="hf_token")
    assert value not in stored.value and crypto.decrypt(stored.value) == value + "2"
    assert stored.masked.endswith(value[-3:] + "2") and value not in stored.masked
    actions = list(
        AuditEntry.objects.filter(secret_name="hf_token").order_by("at", "id").values_list("action", flat=True)
    )
    assert actions == ["created", "replaced"]
    got = call(client, "get", "/secrets/get/hf_token", token).json()["data"]
    assert (got["value"], got["version"]) == (value + "2", 2)
    assert {e["name"]: e["version"] for e in call(client, "get", "/secrets/list", token).json()["data"]["secrets"]} == {
        "hf_token": 2
    }


def test_set_with_a_keys_secret_name_replaces_that_key(client: Client, alice: User, keyed: dict[str, Any]) -> None:
    new = a_key()
    response = call(client, "post", "/secrets/set", token_for(alice), {"name": "anthropic_api_key", "value": new})
    assert response.status_code == 200
    assert response.json()["data"]["version"] == 2
    keyed["credential"].refresh_from_db()
    assert crypto.decrypt(keyed["credential"].value) == new
    assert not NamedSecret.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        ({"name": "bad name!", "value": "x"}, 400, "invalid_secret_name", "letters, digits"),
        ({"name": "x" * 65, "value": "x"}, 400, "invalid_secret_name", "1 to 64"),
        ({"name": "leger-file-litellm", "value": "x"}, 400, "invalid_secret_name", "config files"),
        ({"name": "ok", "value": ""}, 400, "invalid_secret_value", "empty"),
        ({"name": "ok", "value": "x" * (10 * 1024 + 1)}, 400, "secret_value_too_large", "10 KB"),
        ({"name": "ok", "value": "a\x00b"}, 400, "invalid_secret_value", "NUL"),
        ({"name": "litellm-master-key", "value": "mine"}, 403, "insufficient_permissions", "generated by Leger"),
        ({"name": "ok"}, 400, "invalid_request", '"value"'),
        ([1, 2], 400, "invalid_request", "JSON object"),
    ],
)
def test_set_refuses_bad_input_saying_what_to_change_and_stores_nothing(
    client: Client, alice: User, keyed: dict[str, Any], body: Any, status: int, code: str, says: str
) -> None:
    response = call(client, "post", "/secrets/set", token_for(alice), body)
    assert response.status_code == status
    answer = response.json()
    assert (answer["success"], answer["error"]) == (False, code)
    assert says in answer["message"]
    assert not NamedSecret.objects.exists()
    assert crypto.decrypt(InternalSecret.objects.get().value) == "sk-internal-1"


def test_a_json_body_nested_too_deep_is_a_400_not_a_500(client: Client, alice: User) -> None:
    body = "[" * 5000 + "]" * 5000
    response = client.post(
        "/secrets/set", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_delete_removes_a_named_secret_once_then_answers_404(client: Client, alice: User) -> None:
    token = token_for(alice)
    call(client, "post", "/secrets/set", token, {"name": "hf_token", "value": "hf_abc"})
    deleted = call(client, "delete", "/secrets/hf_token", token)
    assert deleted.status_code == 200
    assert deleted.json()["data"]["name"] == "hf_token"
    rfc3339(deleted.json()["data"]["deleted_at"])
    assert not NamedSecret.objects.exists()
    assert call(client, "delete", "/secrets/hf_token", token).status_code == 404


def test_delete_refuses_a_generated_secret(client: Client, alice: User, keyed: dict[str, Any]) -> None:
    response = call(client, "delete", "/secrets/litellm-master-key", token_for(alice))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_permissions"
    assert InternalSecret.objects.filter(owner=alice).exists()


def test_a_wrong_method_answers_405_in_the_envelope(client: Client, alice: User) -> None:
    response = call(client, "post", "/secrets/list", token_for(alice))
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_versions_lists_latest_and_every_published_version(client: Client, alice: User) -> None:
    token = token_for(alice)
    owner = owner_for(user=alice)
    response = call(client, "get", f"/v1/users/{owner.uuid}/versions", token)
    assert response.status_code == 200
    # legerrun.ListVersions reads {"versions": [...]} at the top level.
    assert response.json()["versions"] == []
    assert response.json()["success"] is True
