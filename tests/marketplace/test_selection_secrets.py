"""The secret settings of selections, as the CLI endpoint finds them: by placeholder name, per owner."""

from __future__ import annotations

import pytest

from leger.marketplace import services
from leger.marketplace.selectors import selection_secret_get, selection_secret_names

from .factories import a_key, make_service

pytestmark = pytest.mark.django_db


def test_names_come_without_values_and_include_inactive_selections(alice, bob, vector_slot) -> None:
    service = make_service("secretive", slot=vector_slot, variables=({"name": "S_TOKEN", "type": "secret"},))
    value = a_key("tok-")
    selection = services.selection_create(owner=alice, service=service, values={"S_TOKEN": value}, active=False)
    names = selection_secret_names(owner=alice)
    assert [(n.name, n.env_var, n.service, n.selection_id) for n in names] == [
        ("mp_secretive_s_token", "S_TOKEN", service.name, selection.pk)
    ]
    assert value not in repr(names)
    # An earlier release promoted back may still name it, so the CLI can still fetch it.
    assert selection_secret_get(owner=alice, name="mp_secretive_s_token").value == value
    assert selection_secret_get(owner=bob, name="mp_secretive_s_token") is None
    assert selection_secret_get(owner=alice, name="mp_secretive_other") is None
