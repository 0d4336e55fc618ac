"""Two requests racing to fill one slot, on real PostgreSQL: exactly one wins, the other gets the rule's message.

Each thread has its own database connection (Django gives every thread one) and both wait at a barrier, so
both have passed clean() before either inserts; the conditional unique index decides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from leger.marketplace import services
from leger.marketplace.models import Selection
from tests.marketplace.factories import make_service

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread and connection, released together; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # the test inspects what each thread got
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture(autouse=True)
def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race is decided by PostgreSQL's unique index; run the suite against PostgreSQL")


def test_two_concurrent_activations_in_one_slot_let_exactly_one_win(alice, qdrant, chroma, monkeypatch) -> None:
    # Hold both threads after clean() found the slot empty, so both really reach the INSERT.
    after_clean = threading.Barrier(2)
    original = services._validate

    def validate_then_wait(selection: Selection, secret_problems: dict) -> None:
        original(selection, secret_problems)
        after_clean.wait(timeout=10)

    monkeypatch.setattr(services, "_validate", validate_then_wait)

    results = _race(
        lambda: services.selection_create(owner=alice, service=qdrant, values={}),
        lambda: services.selection_create(owner=alice, service=chroma, values={}),
    )

    winners = [result for result in results if isinstance(result, Selection)]
    losers = [result for result in results if isinstance(result, ValidationError)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    [message] = losers[0].message_dict["service"]
    assert "vector database" in message
    assert winners[0].service.name in message
    assert Selection.objects.filter(owner=alice, active=True).count() == 1


def test_two_concurrent_switches_leave_one_active_provider(alice, qdrant, chroma, vector_slot) -> None:
    milvus = make_service("milvus", name="Milvus", slot=vector_slot)
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    to_chroma = Selection.objects.create(owner=alice, service=chroma, active=False)
    to_milvus = Selection.objects.create(owner=alice, service=milvus, active=False)

    results = _race(
        lambda: services.slot_switch(owner=alice, slot=vector_slot, to_selection=to_chroma),
        lambda: services.slot_switch(owner=alice, slot=vector_slot, to_selection=to_milvus),
    )

    assert not [result for result in results if isinstance(result, Exception)], results
    active = list(Selection.objects.filter(owner=alice, active=True).values_list("service_id", flat=True))
    assert len(active) == 1
    assert active[0] in ("chroma", "milvus")
