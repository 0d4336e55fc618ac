from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.audit import AccessSource
from leger.providers.models import AuditEntry, Credential

from .conftest import a_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser("operator", "ops@example.org", "operator-password-1")


@pytest.fixture
def operator_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def staff_client(alice: User) -> Client:
    """Alice as staff without superuser rights, allowed to manage credentials."""
    alice.is_staff = True
    alice.save()
    alice.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="providers"),
    )
    client = Client()
    client.force_login(alice)
    return client


def test_the_changelist_shows_masked_values_only(operator_client: Client, alice_key, bob_key) -> None:
    page = operator_client.get("/admin/providers/credential/").content.decode()
    for credential, value in (alice_key, bob_key):
        assert credential.masked in page
        assert value not in page
        assert credential.value not in page  # not even the ciphertext


def test_the_change_page_never_shows_the_value(operator_client: Client, alice_key) -> None:
    credential, value = alice_key
    page = operator_client.get(f"/admin/providers/credential/{credential.pk}/change/").content.decode()
    assert credential.masked in page
    assert "anthropic_api_key" in page
    assert value not in page
    assert credential.value not in page
    assert 'type="password"' not in page


def test_renaming_in_admin_goes_through_the_service(operator_client: Client, alice_key) -> None:
    credential, _ = alice_key
    response = operator_client.post(f"/admin/providers/credential/{credential.pk}/change/", {"label": "office"})
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.label == "office"
    renamed = AuditEntry.objects.get(action="renamed")
    assert (renamed.actor_name, renamed.channel) == ("operator", "admin")


def test_an_admin_rename_is_checked_like_anywhere_else(operator_client: Client, alice, alice_key, anthropic) -> None:
    credential, _ = alice_key
    services.credential_create(owner=alice, provider=anthropic, label="home", value=a_key())
    response = operator_client.post(f"/admin/providers/credential/{credential.pk}/change/", {"label": "home"})
    assert response.status_code == 200
    assert "You already have a key labelled “home” for Anthropic" in response.content.decode()
    credential.refresh_from_db()
    assert credential.label == "work"


def test_an_operator_adds_a_key_through_the_service_without_it_coming_back(
    operator_client: Client, alice: User, anthropic: Provider
) -> None:
    form = operator_client.get("/admin/providers/credential/add/").content.decode()
    assert 'type="password"' in form
    value = a_key()
    response = operator_client.post(
        "/admin/providers/credential/add/", {"owner": alice.pk, "provider": "anthropic", "label": "", "key": value}
    )
    assert response.status_code == 302
    credential = Credential.objects.get(owner=alice)
    assert (credential.label, credential.secret_name) == ("default", "anthropic_api_key")
    assert crypto.decrypt(credential.value) == value
    following = operator_client.get(response["Location"]).content.decode()
    assert value not in following
    history = operator_client.get(f"/admin/providers/credential/{credential.pk}/history/").content.decode()
    assert value not in history


def test_a_bad_key_in_the_admin_add_form_is_refused_and_not_echoed(
    operator_client: Client, alice: User, anthropic: Provider
) -> None:
    value = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    response = operator_client.post(
        "/admin/providers/credential/add/", {"owner": alice.pk, "provider": "anthropic", "label": "x", "key": value}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Anthropic keys start with &quot;sk-ant-&quot; and this one does not" in page
    assert value not in page
    assert not Credential.objects.exists()


def test_operators_revoke_keys_with_an_audited_action(operator_client: Client, alice_key, bob_key) -> None:
    changelist = operator_client.get("/admin/providers/credential/").content.decode()
    assert 'value="revoke"' in changelist
    assert 'value="delete_selected"' not in changelist  # it would skip the service
    response = operator_client.post(
        "/admin/providers/credential/",
        {"action": "revoke", "_selected_action": [alice_key[0].pk, bob_key[0].pk]},
        follow=True,
    )
    assert "Revoked 2 keys." in response.content.decode()
    assert not Credential.objects.exists()
    assert AuditEntry.objects.filter(action="deleted", actor_name="operator", channel="admin").count() == 2


def test_deleting_from_the_change_page_also_goes_through_the_service(operator_client: Client, alice_key) -> None:
    credential, _ = alice_key
    response = operator_client.post(f"/admin/providers/credential/{credential.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Credential.objects.exists()
    assert AuditEntry.objects.filter(action="deleted", channel="admin").exists()


def test_the_audit_log_is_read_only_in_admin(operator_client: Client, alice: User, alice_key) -> None:
    credential, value = alice_key
    services.credential_reveal(credential=credential, actor=alice, source=AccessSource(channel="api", ip="192.0.2.1"))
    entry = AuditEntry.objects.get(action="read")
    listing = operator_client.get("/admin/providers/auditentry/").content.decode()
    assert "192.0.2.1" in listing
    assert value not in listing
    detail = operator_client.get(f"/admin/providers/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert operator_client.get("/admin/providers/auditentry/add/").status_code == 403
    assert operator_client.post(f"/admin/providers/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_staff_who_are_not_superusers_see_only_their_own_keys(staff_client: Client, alice_key, bob_key) -> None:
    page = staff_client.get("/admin/providers/credential/").content.decode()
    assert alice_key[0].masked in page
    assert bob_key[0].masked not in page
    other = staff_client.get(f"/admin/providers/credential/{bob_key[0].pk}/change/")
    assert other.status_code == 302  # the admin's answer for an object outside the queryset
    assert bob_key[0].masked not in staff_client.get(other["Location"]).content.decode()
    staff_client.post(
        "/admin/providers/credential/", {"action": "revoke", "_selected_action": [bob_key[0].pk]}, follow=True
    )
    assert Credential.objects.filter(pk=bob_key[0].pk).exists()


def test_staff_see_only_their_own_audit_entries(staff_client: Client, alice: User, bob: User, alice_key, bob_key):
    page = staff_client.get("/admin/providers/auditentry/").content.decode()
    assert "anthropic_api_key" in page
    assert "bob" not in page


def test_staff_add_keys_for_themselves_only(staff_client: Client, alice: User, anthropic: Provider) -> None:
    form = staff_client.get("/admin/providers/credential/add/").content.decode()
    assert 'name="owner"' not in form
    response = staff_client.post(
        "/admin/providers/credential/add/", {"provider": "anthropic", "label": "mine", "key": a_key()}
    )
    assert response.status_code == 302
    assert Credential.objects.get().owner == alice
