"""Internal secrets: generated once per owner, stored encrypted, re-encrypted on rotation, shown by name only."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from leger.providers import crypto, services
from leger.providers.models import AuditEntry, InternalSecret

pytestmark = pytest.mark.django_db

WANTED = {
    "litellm-master-key": ["LITELLM_MASTER_KEY"],
    "litellm-openwebui-key": ["LEGER_OPENWEBUI_KEY", "OPENAI_API_KEY"],
    "openwebui-postgres-password": ["DATABASE_PASSWORD", "POSTGRES_PASSWORD"],
}


def values_of(owner: User) -> dict[str, str]:
    return {row.name: crypto.decrypt(row.value) for row in InternalSecret.objects.filter(owner=owner)}


def test_it_generates_each_secret_once_in_the_shape_its_program_needs(alice: User) -> None:
    assert services.internal_secrets_ensure(owner=alice, secrets_wanted=WANTED) == sorted(WANTED)
    first = values_of(alice)
    assert first["litellm-master-key"].startswith("sk-")
    # LiteLLM takes a caller-chosen virtual key only when it starts with sk- too.
    assert (
        first["litellm-openwebui-key"].startswith("sk-")
        and first["litellm-openwebui-key"] != first["litellm-master-key"]
    )
    password = first["openwebui-postgres-password"]
    # URL-safe: it goes into database URLs unescaped.
    assert len(password) >= 40 and password.replace("-", "").replace("_", "").isalnum()

    more = {**WANTED, "searxng-secret": ["SEARXNG_SECRET"]}
    assert services.internal_secrets_ensure(owner=alice, secrets_wanted=more) == ["searxng-secret"]
    second = values_of(alice)
    assert {name: second[name] for name in WANTED} == first  # never changed once given


def test_the_value_in_the_database_is_ciphertext(alice: User) -> None:
    services.internal_secrets_ensure(owner=alice, secrets_wanted=WANTED)
    value = values_of(alice)["litellm-master-key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM providers_internalsecret WHERE name = %s", ["litellm-master-key"])
        (raw,) = cursor.fetchone()
    assert value not in raw and crypto.is_token(raw)


def test_rotate_credentials_reencrypts_internal_secrets(settings, alice: User) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LEGER_FERNET_KEYS = [old]
    services.internal_secrets_ensure(owner=alice, secrets_wanted=WANTED)
    before = values_of(alice)
    settings.LEGER_FERNET_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_credentials", stdout=out)
    assert "providers.InternalSecret.value" in out.getvalue()
    for value in before.values():
        assert value not in out.getvalue()
    settings.LEGER_FERNET_KEYS = [new]
    assert values_of(alice) == before


def test_the_admin_lists_names_only_and_cannot_change_them(alice: User) -> None:
    operator = User.objects.create_superuser("operator", "op@example.org", "pw")
    services.internal_secrets_ensure(owner=alice, secrets_wanted=WANTED)
    client = Client()
    client.force_login(operator)
    page = client.get("/admin/providers/internalsecret/").content.decode()
    assert "litellm-master-key" in page and "openwebui-postgres-password" in page
    row = InternalSecret.objects.get(owner=alice, name="litellm-master-key")
    detail = client.get(f"/admin/providers/internalsecret/{row.pk}/change/").content.decode()
    for value in values_of(alice).values():
        assert value not in page and value not in detail
    assert row.value not in detail
    assert client.post(f"/admin/providers/internalsecret/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert InternalSecret.objects.filter(pk=row.pk).exists()


def test_reading_an_internal_secret_by_token_is_audited_with_its_kind(alice: User, alice_token: str) -> None:
    services.internal_secrets_ensure(owner=alice, secrets_wanted=WANTED)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice_token}")
    response = client.get("/api/v1/secrets/litellm-master-key/")
    assert response.status_code == 200
    assert response.json() == {
        "name": "litellm-master-key",
        "kind": "internal",
        "env_var": "",
        "provider": "",
        "label": "",
        "value": values_of(alice)["litellm-master-key"],
    }
    read = AuditEntry.objects.get(action=AuditEntry.Action.READ)
    assert (read.secret_name, read.kind, read.actor, read.channel) == ("litellm-master-key", "internal", alice, "api")
    assert str(read) == "Value read litellm-master-key by alice"
