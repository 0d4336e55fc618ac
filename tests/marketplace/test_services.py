"""Writes of selections: creating, changing, switching a slot's provider, and the key a service uses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from leger.marketplace import services
from leger.marketplace.models import Selection
from leger.marketplace.selectors import selection_list_active
from leger.providers import crypto
from leger.providers.selectors import credential_usages
from tests.marketplace.factories import a_key, make_credential, make_key_provider, make_service


def test_switching_the_vector_database_deactivates_the_old_one_and_says_to_reindex(alice, qdrant, chroma, vector_slot):
    old = services.selection_create(owner=alice, service=qdrant)
    new = services.selection_create(owner=alice, service=chroma, active=False)

    result = services.slot_switch(owner=alice, slot=vector_slot, to_selection=new)

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.active, new.active) == (False, True)
    assert result.changed and result.previous.pk == old.pk
    assert "Qdrant is deactivated and Chroma becomes the vector database" in result.message
    assert "re-indexed" in result.message


def test_switching_a_slot_without_stored_knowledge_does_not_mention_reindexing(alice, tavily, searxng, search_slot):
    key = make_credential(alice, tavily.key_provider)
    services.selection_create(owner=alice, service=tavily, credential=key)
    new = services.selection_create(owner=alice, service=searxng, active=False)

    result = services.slot_switch(owner=alice, slot=search_slot, to_selection=new)

    assert "re-index" not in result.message
    assert "SearXNG becomes the web search engine" in result.message


def test_switching_to_the_active_one_changes_nothing(alice, qdrant, vector_slot) -> None:
    current = services.selection_create(owner=alice, service=qdrant)

    result = services.slot_switch(owner=alice, slot=vector_slot, to_selection=current)

    assert not result.changed
    assert "already the vector database" in result.message


def test_a_switch_that_fails_validation_leaves_the_incumbent_active(alice, vector_slot, qdrant) -> None:
    needy = make_service("needy", slot=vector_slot, variables=({"name": "NEEDY_URL", "type": "url"},))
    current = services.selection_create(owner=alice, service=qdrant)
    # Stored before its variable became a URL (as a fixture change could do): the switch must re-check it.
    broken = Selection.objects.create(owner=alice, service=needy, active=False, values={"NEEDY_URL": "nope"})

    with pytest.raises(ValidationError):
        services.slot_switch(owner=alice, slot=vector_slot, to_selection=broken)

    current.refresh_from_db()
    assert current.active


def test_one_cannot_switch_to_another_users_selection(alice, bob, qdrant, chroma, vector_slot) -> None:
    services.selection_create(owner=alice, service=qdrant)
    bobs = services.selection_create(owner=bob, service=chroma)

    with pytest.raises(ValidationError, match="configured vector database services"):
        services.slot_switch(owner=alice, slot=vector_slot, to_selection=bobs)


def test_a_service_that_needs_a_key_is_refused_without_one(alice, tavily) -> None:
    with pytest.raises(ValidationError) as refused:
        services.selection_create(owner=alice, service=tavily)

    assert refused.value.message_dict["credential"] == [
        "Tavily needs a Tavily key: add one under Providers, then choose it here."
    ]


def test_the_key_must_be_for_the_services_provider(alice, tavily) -> None:
    brave = make_key_provider("brave-search", "Brave Search", "BRAVE_SEARCH_API_KEY")
    wrong = make_credential(alice, brave, value=a_key("BSA"))

    with pytest.raises(ValidationError) as refused:
        services.selection_create(owner=alice, service=tavily, credential=wrong)

    assert "the key chosen is for Brave Search" in refused.value.message_dict["credential"][0]


def test_another_users_key_is_refused(alice, bob, tavily) -> None:
    bobs_key = make_credential(bob, tavily.key_provider)

    with pytest.raises(ValidationError) as refused:
        services.selection_create(owner=alice, service=tavily, credential=bobs_key)

    assert refused.value.message_dict["credential"] == ["Choose one of your own keys."]


def test_a_service_without_a_key_takes_none(alice, qdrant, tavily_provider) -> None:
    key = make_credential(alice, tavily_provider)

    with pytest.raises(ValidationError, match="needs no key"):
        services.selection_create(owner=alice, service=qdrant, credential=key)


def test_the_keys_usage_names_the_service_using_it(alice, tavily) -> None:
    key = make_credential(alice, tavily.key_provider)
    services.selection_create(owner=alice, service=tavily, credential=key)

    assert credential_usages(credential=key) == ["marketplace: Tavily (web search engine, active)"]


def test_secret_values_are_stored_encrypted_replaced_kept_and_removed(alice, vector_slot) -> None:
    service = make_service(
        "secretive", slot=vector_slot, variables=({"name": "S_TOKEN", "type": "secret"}, {"name": "S_NAME"})
    )
    first, second = a_key("tok-"), a_key("tok-")
    selection = services.selection_create(owner=alice, service=service, values={"S_TOKEN": first, "S_NAME": "a"})
    assert crypto.decrypt(selection.secret_values["S_TOKEN"]) == first
    assert first not in str(Selection.objects.filter(pk=selection.pk).values().get())

    kept = services.selection_update(selection=selection, values={"S_NAME": "b"})
    assert crypto.decrypt(kept.secret_values["S_TOKEN"]) == first
    replaced = services.selection_update(selection=selection, values={"S_TOKEN": second})
    assert crypto.decrypt(replaced.secret_values["S_TOKEN"]) == second
    assert replaced.secret_masks["S_TOKEN"].endswith(second[-4:])
    removed = services.selection_update(selection=selection, values={"S_TOKEN": None})
    assert removed.secret_values == {} and removed.secret_masks == {}


def test_the_release_reads_active_selections_with_service_values_and_key(alice, qdrant, chroma, tavily):
    key = make_credential(alice, tavily.key_provider)
    services.selection_create(owner=alice, service=qdrant, values={"QDRANT_TIMEOUT": 9})
    services.selection_create(owner=alice, service=chroma, active=False)
    services.selection_create(owner=alice, service=tavily, credential=key)

    active = list(selection_list_active(owner=alice))

    assert [(s.service_id, s.values, s.credential_id) for s in active] == [
        ("qdrant", {"QDRANT_TIMEOUT": 9}, None),
        ("tavily-search", {}, key.pk),
    ]
    assert active[0].service.slot_assignment == {"VECTOR_DB": "qdrant"}


def test_a_key_in_use_cannot_be_deleted(alice, tavily) -> None:
    from django.db.models import ProtectedError

    key = make_credential(alice, tavily.key_provider)
    services.selection_create(owner=alice, service=tavily, credential=key)

    with pytest.raises(ProtectedError):
        key.delete()


def test_rotating_the_encryption_key_reencrypts_secret_values(alice, vector_slot, settings) -> None:
    from cryptography.fernet import Fernet

    from leger.marketplace.selectors import selection_secrets
    from leger.providers.services import secrets_reencrypt_all

    service = make_service("secretive", slot=vector_slot, variables=({"name": "S_TOKEN", "type": "secret"},))
    secret = a_key("tok-")
    selection = services.selection_create(owner=alice, service=service, values={"S_TOKEN": secret})
    old_key = settings.LEGER_FERNET_KEYS[0]
    settings.LEGER_FERNET_KEYS = [Fernet.generate_key().decode(), old_key]

    results = secrets_reencrypt_all()

    assert results["marketplace secret values"].reencrypted == 1
    settings.LEGER_FERNET_KEYS = settings.LEGER_FERNET_KEYS[:1]  # the old key is gone: only the new one opens it
    selection.refresh_from_db()
    assert crypto.decrypt(selection.secret_values["S_TOKEN"]) == secret
    assert selection_secrets(owner=alice)[0].name == "mp_secretive_s_token"
    assert selection_secrets(owner=alice)[0].value == secret


def test_the_values_a_release_writes_are_the_users_or_else_the_defaults(alice, qdrant, django_assert_num_queries):
    from leger.marketplace.selectors import selection_list_active, selection_values

    services.selection_create(owner=alice, service=qdrant, values={"QDRANT_TIMEOUT": 9})
    [selection] = list(selection_list_active(owner=alice))

    with django_assert_num_queries(0):
        values = selection_values(selection)

    assert values == {
        "QDRANT_TIMEOUT": 9,
        "QDRANT_ON_DISK": False,
        "QDRANT_COLLECTION_PREFIX": "open-webui",
        "RAG_TOP_K": 3,
    }
