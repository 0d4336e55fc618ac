"""Keys with several fields: an Azure endpoint and API version, a Bedrock access key ID and region, a Vertex AI
project and location with a service-account file. Plain fields are shown; secret ones are encrypted, masked and
delivered like any secret; every refusal says what to enter."""

from __future__ import annotations

import json
import secrets

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.models import AuditEntry, Credential
from leger.providers.selectors import secret_list
from leger.releases import services as release_services
from tests.cli.test_secrets_api import call, token_for
from tests.providers.conftest import a_key
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_tailnet

catalog = setup.catalog

pytestmark = pytest.mark.django_db

AZURE = {"api_base": "https://leger-test.openai.azure.com", "api_version": "2024-10-21"}


def bedrock_fields() -> dict[str, str]:
    return {"access_key_id": "AKIA" + secrets.token_hex(8).upper(), "region": "eu-central-1"}


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_azure_key_is_saved_with_its_endpoint_and_version_through_the_api(alice: User, catalog: None) -> None:
    value = a_key("")
    created = api(alice).post(
        "/api/v1/credentials/", {"provider": "azure", "value": value, "key_fields": AZURE}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["key_fields"] == AZURE
    assert Credential.objects.get(owner=alice).key_settings == AZURE
    # The provider says what its keys need.
    azure = next(p for p in api(alice).get("/api/v1/providers/?page_size=100").json()["results"] if p["id"] == "azure")
    assert [field["name"] for field in azure["key_fields"]] == ["api_base", "api_version"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "api_base", "Enter the endpoint of your Azure OpenAI key"),
        ({**AZURE, "api_base": "leger-test.openai.azure.com"}, "api_base", "e.g. https://my-resource.openai.azure.com"),
        ({**AZURE, "api_version": "latest"}, "api_version", "such as 2024-10-21"),
        (
            {**AZURE, "deployment": "x"},
            "deployment",
            "not a field of Azure OpenAI keys (its fields: api_base, api_version)",
        ),
    ],
)
def test_a_bad_field_is_refused_next_to_it_and_nothing_is_saved(
    alice: User, catalog: None, fields: dict[str, str], field: str, message: str
) -> None:
    refused = api(alice).post(
        "/api/v1/credentials/", {"provider": "azure", "value": a_key(""), "key_fields": fields}, format="json"
    )
    assert refused.status_code == 400
    assert message in str(refused.json()["key_fields"][field])
    assert not Credential.objects.filter(owner=alice).exists()


def test_a_bedrock_access_key_id_is_a_secret_of_its_own_listed_served_and_audited(
    alice: User, catalog: None, client: Client
) -> None:
    fields = bedrock_fields()
    value = a_key("")[:40]
    credential = services.credential_create(
        owner=alice, provider=Provider.objects.get(pk="aws-bedrock"), label="main", value=value, fields=fields
    )
    assert credential.key_settings == {"region": "eu-central-1"}
    assert fields["access_key_id"] not in credential.key_secrets  # encrypted
    assert credential.key_secrets_masked["access_key_id"].endswith(fields["access_key_id"][-4:])
    name = credential.field_secret_name("access_key_id")
    entries = {entry.name: entry for entry in secret_list(owner=alice)}
    assert entries[name].env_var == "AWS_ACCESS_KEY_ID"
    assert entries[credential.secret_name].env_var == "AWS_SECRET_ACCESS_KEY"

    # The CLI lists and fetches it like any secret, and the read is audited.
    token = token_for(alice)
    listed = call(client, "get", "/secrets/list", token).json()
    assert name in {secret["name"] for secret in listed["data"]["secrets"]}
    before = AuditEntry.objects.filter(owner=alice, action=AuditEntry.Action.READ).count()
    got = call(client, "get", f"/secrets/get/{name}", token)
    assert got.status_code == 200 and got.json()["data"]["value"] == fields["access_key_id"]
    assert AuditEntry.objects.filter(owner=alice, action=AuditEntry.Action.READ).count() == before + 1

    # `leger secrets set` on it replaces that field only; deleting it alone is refused.
    new_id = "AKIA" + secrets.token_hex(8).upper()
    assert call(client, "post", "/secrets/set", token, {"name": name, "value": new_id}).status_code in (200, 201)
    credential.refresh_from_db()
    assert json.loads(crypto.decrypt(credential.key_secrets)) == {"access_key_id": new_id}
    assert crypto.decrypt(credential.value) == value
    assert call(client, "post", "/secrets/set", token, {"name": name, "value": "nope"}).status_code == 400
    refused = call(client, "delete", f"/secrets/{name}", token)
    assert refused.status_code == 403 and "part of a key" in refused.json()["message"]


def test_a_vertex_key_is_a_service_account_file_pasted_whole(alice: User, catalog: None) -> None:
    vertex = Provider.objects.get(pk="vertex-ai")
    fields = {"project": "leger-test-123", "location": "europe-west4"}
    account = json.dumps(
        {"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": "-----BEGIN…"},
        indent=2,
    )
    credential = services.credential_create(owner=alice, provider=vertex, label="main", value=account, fields=fields)
    assert crypto.decrypt(credential.value) == account
    with pytest.raises(Exception, match="not a service-account key file") as refused:
        services.credential_create(owner=alice, provider=vertex, label="other", value='{"a": 1}', fields=fields)
    assert '"a"' not in str(refused.value)
    with pytest.raises(Exception, match="Paste the whole JSON key file"):
        services.credential_create(owner=alice, provider=vertex, label="other", value="ya29.token", fields=fields)


def test_the_providers_page_adds_an_azure_key_with_its_fields_and_keeps_them_on_an_error(
    alice: User, alice_client: Client, catalog: None
) -> None:
    page = alice_client.get("/providers/").content.decode()
    assert 'data-key-fields-for="azure"' in page and "Azure OpenAI keys also need" in page
    form = {"provider": "azure", "label": "", "value": a_key(""), "kf-azure-api_version": "2024-10-21"}
    refused = alice_client.post("/providers/add/", form)
    text = refused.content.decode()
    assert "Enter the endpoint of your Azure OpenAI key" in text
    assert 'value="2024-10-21"' in text  # kept
    assert form["value"] not in text
    saved = alice_client.post("/providers/add/", {**form, "kf-azure-api_base": AZURE["api_base"]})
    assert saved.status_code == 302
    credential = Credential.objects.get(owner=alice)
    assert credential.key_settings == AZURE
    assert AZURE["api_base"] in alice_client.get("/providers/").content.decode()


def test_a_key_saved_before_its_provider_needed_fields_is_refused_in_a_release_saying_what_to_add(
    alice: User, catalog: None
) -> None:
    add_tailnet(alice)
    value = a_key("")
    Credential.objects.create(
        owner=alice,
        provider=Provider.objects.get(pk="azure"),
        label="main",
        value=crypto.encrypt(value),
        masked=crypto.mask(value),
        secret_name="azure_api_key",
        env_var="AZURE_API_KEY",
    )
    draft = release_services.release_create(owner=alice, name="old key")
    with pytest.raises(ValidationError) as refused:
        release_services.release_update(release=draft, models=[{"model": "gpt-4o-mini", "provider": "azure"}])
    (problem,) = refused.value.message_dict["models"]
    assert "key “main” lacks its endpoint and api version" in problem and "/providers" in problem


def test_replacing_only_a_field_keeps_the_key(alice: User, catalog: None, alice_client: Client) -> None:
    value = a_key("")
    credential = services.credential_create(
        owner=alice, provider=Provider.objects.get(pk="azure"), label="main", value=value, fields=AZURE
    )
    response = alice_client.post(
        f"/providers/keys/{credential.pk}/replace/", {"value": "", "kf-azure-api_version": "2025-04-01-preview"}
    )
    assert response.status_code in (200, 302)
    credential.refresh_from_db()
    assert credential.key_settings == {**AZURE, "api_version": "2025-04-01-preview"}
    assert crypto.decrypt(credential.value) == value
    assert credential.version == 2
    # Through the API too.
    rotated = api(alice).post(
        f"/api/v1/credentials/{credential.pk}/rotate/", {"key_fields": {"api_version": "2024-10-21"}}, format="json"
    )
    assert rotated.status_code == 200 and rotated.json()["key_fields"]["api_version"] == "2024-10-21"
