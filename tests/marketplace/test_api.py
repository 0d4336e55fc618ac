"""/api/v1/marketplace/: the services catalog and the caller's selections."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leger.marketplace.models import Selection
from tests.marketplace.factories import a_key, make_credential, make_service

SERVICES = "/api/v1/marketplace/services/"
SELECTIONS = "/api/v1/marketplace/selections/"


def test_services_list_the_catalog_with_slot_key_and_variables(api: APIClient, qdrant, tavily) -> None:
    response = api.get(SERVICES)

    assert response.status_code == 200
    by_id = {item["id"]: item for item in response.json()["results"]}
    assert by_id["qdrant"]["slot"] == "vector-database"
    assert by_id["qdrant"]["self_hosted"] is True
    assert by_id["qdrant"]["requires_api_key"] is False
    assert by_id["qdrant"]["variables"][0] == {
        "name": "QDRANT_TIMEOUT",
        "label": "Timeout",
        "type": "int",
        "default": 5,
        "options": [],
        "min": 1.0,
        "max": 600.0,
        "pattern": "",
        "required": False,
        "help": "A setting.",
    }
    assert by_id["tavily-search"]["requires_api_key"] is True
    assert by_id["tavily-search"]["key_provider"] == "tavily"
    assert by_id["tavily-search"]["key_variables"] == ["TAVILY_API_KEY"]


def test_services_filter_by_category(api: APIClient, qdrant, tavily) -> None:
    response = api.get(SERVICES, {"category": "web-search"})

    assert [item["id"] for item in response.json()["results"]] == ["tavily-search"]


def test_the_services_list_costs_the_same_queries_for_more_services(
    api: APIClient, vector_slot, django_assert_max_num_queries
) -> None:
    for number in range(3):
        make_service(f"db-{number}", slot=vector_slot, variables=({"name": f"DB_{number}_URL", "type": "url"},))
    with django_assert_max_num_queries(4) as few:
        api.get(SERVICES)
    baseline = len(few.captured_queries)  # now: the log is cleared by later requests
    for number in range(3, 12):
        make_service(f"db-{number}", slot=vector_slot, variables=({"name": f"DB_{number}_URL", "type": "url"},))
    with django_assert_max_num_queries(baseline):
        response = api.get(SERVICES)
    assert response.json()["count"] == 12


def test_a_selection_is_created_and_answered(api: APIClient, qdrant) -> None:
    response = api.post(SELECTIONS, {"service": "qdrant", "values": {"QDRANT_TIMEOUT": 10}}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["service"], body["slot"], body["active"], body["values"]) == (
        "qdrant",
        "vector-database",
        True,
        {"QDRANT_TIMEOUT": 10},
    )


def test_a_second_active_selection_in_a_slot_is_a_400_naming_the_slot_and_incumbent(api: APIClient, qdrant, chroma):
    api.post(SELECTIONS, {"service": "qdrant"}, format="json")

    response = api.post(SELECTIONS, {"service": "chroma"}, format="json")

    assert response.status_code == 400
    [message] = response.json()["service"]
    assert "The vector database slot already has an active provider: Qdrant." in message
    assert Selection.objects.filter(service="chroma").count() == 0


def test_activating_a_second_one_by_patch_is_a_400_too(api: APIClient, qdrant, chroma) -> None:
    api.post(SELECTIONS, {"service": "qdrant"}, format="json")
    inactive = api.post(SELECTIONS, {"service": "chroma", "active": False}, format="json").json()

    response = api.patch(f"{SELECTIONS}{inactive['id']}/", {"active": True}, format="json")

    assert response.status_code == 400
    assert "Qdrant" in response.json()["service"][0]


def test_switch_moves_the_slot_in_one_step_and_says_what_it_costs(api: APIClient, qdrant, chroma) -> None:
    first = api.post(SELECTIONS, {"service": "qdrant"}, format="json").json()
    second = api.post(SELECTIONS, {"service": "chroma", "active": False}, format="json").json()

    response = api.post(f"{SELECTIONS}{second['id']}/switch/")

    assert response.status_code == 200
    body = response.json()
    assert body["changed"] is True and body["previous"] == first["id"]
    assert body["selection"]["active"] is True
    assert "re-indexed" in body["message"]
    assert api.get(f"{SELECTIONS}{first['id']}/").json()["active"] is False


def test_bad_values_are_400_with_a_message_per_variable(api: APIClient, qdrant) -> None:
    response = api.post(
        SELECTIONS, {"service": "qdrant", "values": {"QDRANT_TIMEOUT": "soon", "QDRANT_ON_DISK": "yes"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "values": {
            "QDRANT_TIMEOUT": ["Enter a whole number (not 'soon')."],
            "QDRANT_ON_DISK": ["Enter true or false (not 'yes')."],
        }
    }


def test_the_key_is_one_of_the_callers_own(api: APIClient, alice, bob, tavily) -> None:
    bobs = make_credential(bob, tavily.key_provider)
    mine = make_credential(alice, tavily.key_provider)

    refused = api.post(SELECTIONS, {"service": "tavily-search", "credential": bobs.pk}, format="json")
    accepted = api.post(SELECTIONS, {"service": "tavily-search", "credential": mine.pk}, format="json")

    assert refused.status_code == 400
    assert "does not exist" in refused.json()["credential"][0]
    assert accepted.status_code == 201
    assert accepted.json()["credential"] == mine.pk


def test_secret_values_are_write_only(api: APIClient, vector_slot) -> None:
    make_service("secretive", slot=vector_slot, variables=({"name": "S_TOKEN", "type": "secret"},))
    secret = a_key("tok-")

    created = api.post(SELECTIONS, {"service": "secretive", "values": {"S_TOKEN": secret}}, format="json")
    listed = api.get(SELECTIONS)

    assert created.status_code == 201
    for response in (created, listed):
        assert secret not in response.content.decode()
    assert created.json()["secrets"] == {"S_TOKEN": "…" + secret[-4:]}
    assert created.json()["values"] == {}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_users_selection_is_404(api: APIClient, bob_api: APIClient, qdrant, method: str) -> None:
    bobs = bob_api.post(SELECTIONS, {"service": "qdrant"}, format="json").json()

    response = getattr(api, method)(f"{SELECTIONS}{bobs['id']}/", {"active": False}, format="json")

    assert response.status_code == 404
    assert Selection.objects.get(pk=bobs["id"]).active is True


def test_another_users_selection_cannot_be_switched_to(api: APIClient, bob_api: APIClient, qdrant) -> None:
    bobs = bob_api.post(SELECTIONS, {"service": "qdrant", "active": False}, format="json").json()

    assert api.post(f"{SELECTIONS}{bobs['id']}/switch/").status_code == 404


def test_the_list_shows_only_the_callers_selections(api: APIClient, bob_api: APIClient, qdrant, chroma) -> None:
    api.post(SELECTIONS, {"service": "qdrant"}, format="json")
    bob_api.post(SELECTIONS, {"service": "chroma"}, format="json")

    assert [item["service"] for item in api.get(SELECTIONS).json()["results"]] == ["qdrant"]


def test_the_selections_list_costs_the_same_queries_for_more_selections(
    api: APIClient, alice, vector_slot, tavily, django_assert_max_num_queries
) -> None:
    key = make_credential(alice, tavily.key_provider)
    api.post(SELECTIONS, {"service": "tavily-search", "credential": key.pk}, format="json")
    with django_assert_max_num_queries(8) as few:
        api.get(SELECTIONS)
    baseline = len(few.captured_queries)  # now: the log is cleared by later requests
    for number in range(8):
        make_service(f"db-{number}", slot=vector_slot)
        api.post(SELECTIONS, {"service": f"db-{number}", "active": False}, format="json")
    with django_assert_max_num_queries(baseline):
        response = api.get(SELECTIONS)
    assert response.json()["count"] == 9


def test_the_api_needs_a_signed_in_caller(client, qdrant) -> None:
    assert APIClient().get(SELECTIONS).status_code in (401, 403)
