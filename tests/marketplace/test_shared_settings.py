"""A slot's shared settings (retrieval's chunks per prompt, ...) are the slot's, as the page says: every provider
of the slot holds the same values, so switching provider keeps them."""

from __future__ import annotations

import pytest

from leger.marketplace.models import Selection
from leger.marketplace.services import selection_create, selection_update, slot_switch

pytestmark = pytest.mark.django_db


def test_a_switch_keeps_the_shared_settings_and_a_change_reaches_every_provider(alice, qdrant, chroma, vector_slot):
    first = selection_create(owner=alice, service=qdrant, values={"RAG_TOP_K": 8})
    # A second provider of the slot starts from them.
    second = selection_create(owner=alice, service=chroma, active=False)
    assert second.values == {"RAG_TOP_K": 8}
    slot_switch(owner=alice, slot=vector_slot, to_selection=second)
    second.refresh_from_db()
    assert (second.active, second.values) == (True, {"RAG_TOP_K": 8})
    # Changed on the active provider: the other one holds the change too, for the day the slot switches back.
    selection_update(selection=second, values={"RAG_TOP_K": 12})
    first.refresh_from_db()
    assert first.values["RAG_TOP_K"] == 12
    # A value of the provider itself stays its own.
    assert set(Selection.objects.get(pk=first.pk).values) == {"RAG_TOP_K"}
