"""The admin pages of the marketplace: services with their variables, slots, selections with filters."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leger.marketplace import services
from tests.marketplace.factories import a_key, make_service


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "root-password-1"))
    return client


def test_services_list_and_show_their_variables_inline(admin_client: Client, qdrant) -> None:
    assert "Qdrant" in admin_client.get("/admin/marketplace/service/?category__exact=vector-database").content.decode()
    change = admin_client.get("/admin/marketplace/service/qdrant/change/").content.decode()
    assert "QDRANT_TIMEOUT" in change


def test_slots_show_their_shared_settings(admin_client: Client, vector_slot) -> None:
    assert "RAG_TOP_K" in admin_client.get("/admin/marketplace/slot/vector-database/change/").content.decode()


def test_selections_filter_by_slot_and_category_and_never_show_a_secret(admin_client: Client, alice, vector_slot):
    service = make_service(
        "secretive", name="Secretive", slot=vector_slot, variables=({"name": "S_TOKEN", "type": "secret"},)
    )
    secret = a_key("tok-")
    selection = services.selection_create(owner=alice, service=service, values={"S_TOKEN": secret})

    listing = admin_client.get(
        "/admin/marketplace/selection/?slot__id__exact=vector-database&service__category=vector-database"
    )
    change = admin_client.get(f"/admin/marketplace/selection/{selection.pk}/change/")

    assert listing.status_code == 200 and "Secretive" in listing.content.decode()
    for page in (listing, change):
        assert secret not in page.content.decode()
    assert secret[-4:] in change.content.decode()


def test_the_admin_applies_the_slot_rule(admin_client: Client, alice, qdrant, chroma) -> None:
    services.selection_create(owner=alice, service=qdrant)

    response = admin_client.post(
        "/admin/marketplace/selection/add/", {"owner": alice.pk, "service": "chroma", "values": "{}", "active": "on"}
    )

    assert response.status_code == 200
    assert "already has an active provider: Qdrant" in response.content.decode()
