"""The slot rule in model validation and in the database: at most one active selection per slot per user."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leger.marketplace.models import Selection
from tests.marketplace.factories import make_service


def test_it_refuses_a_second_active_vector_database_in_clean(alice, qdrant, chroma) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    second = Selection(owner=alice, service=chroma, active=True)

    with pytest.raises(ValidationError) as refused:
        second.full_clean()

    [message] = refused.value.message_dict["service"]
    assert "vector database" in message
    assert "Qdrant" in message
    assert "already has an active provider" in message


def test_a_second_service_may_be_configured_inactive_in_the_same_slot(alice, qdrant, chroma) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    second = Selection(owner=alice, service=chroma, active=False)

    second.full_clean()
    second.save()

    assert Selection.objects.filter(owner=alice, slot="vector-database").count() == 2


def test_reactivating_an_inactive_one_beside_the_incumbent_is_refused(alice, qdrant, chroma) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    inactive = Selection.objects.create(owner=alice, service=chroma, active=False)

    inactive.active = True
    with pytest.raises(ValidationError, match="Qdrant"):
        inactive.full_clean()


def test_each_user_has_their_own_slots(alice, bob, qdrant, chroma) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    bobs = Selection(owner=bob, service=chroma, active=True)

    bobs.full_clean()
    bobs.save()


def test_services_without_a_slot_can_all_be_on(alice) -> None:
    drive = make_service("google-drive", category="integrations")
    otel = make_service("opentelemetry", category="observability")
    for service in (drive, otel):
        selection = Selection(owner=alice, service=service, active=True)
        selection.full_clean()
        selection.save()

    assert Selection.objects.filter(owner=alice, active=True).count() == 2


def test_the_selection_keeps_its_services_slot(alice, qdrant) -> None:
    selection = Selection.objects.create(owner=alice, service=qdrant)

    assert selection.slot_id == "vector-database"


def test_the_database_refuses_a_second_active_selection_even_without_clean(alice, qdrant, chroma) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        Selection.objects.create(owner=alice, service=chroma, active=True)


def test_the_database_refuses_activating_a_second_one_by_update(alice, qdrant, chroma) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    inactive = Selection.objects.create(owner=alice, service=chroma, active=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        Selection.objects.filter(pk=inactive.pk).update(active=True)


def test_a_service_is_configured_once_per_user(alice, qdrant) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=False)
    again = Selection(owner=alice, service=qdrant, active=False)

    with pytest.raises(ValidationError, match="already configured Qdrant"):
        again.full_clean()
