"""Concurrent cuts on PostgreSQL: one version per draft, and an owner's versions without gaps or duplicates.

Each thread has its own database connection, so the row locks of ``release_cut`` are really contended. The
publish task the cut queues is left out (``_enqueue`` is replaced): these tests are about numbering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from leger.releases import services
from leger.releases.models import Owner, Release
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft
from tests.services import run_together

catalog = setup.catalog
ready_user = setup.ready_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks (select_for_update) need PostgreSQL")


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(services, "_enqueue", ids.append)
    return ids


def test_concurrent_cuts_of_one_draft_give_one_version(ready_user: dict[str, Any], queued: list[int]) -> None:
    user = ready_user["user"]
    draft = minimal_draft(user)

    def cut() -> Release:
        return services.release_cut(release=Release.objects.get(pk=draft.pk), actor=user)

    results = run_together([cut] * 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.version for r in results} == {1}
    assert {r.status for r in results} == {Release.Status.QUEUED}
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (Release.Status.QUEUED, 1)
    assert Owner.objects.get(user=user).last_version == 1
    assert queued == [draft.pk], "publishing is queued once"


def test_concurrent_cuts_of_different_drafts_number_versions_without_gaps_or_duplicates(
    ready_user: dict[str, Any], queued: list[int]
) -> None:
    user = ready_user["user"]
    drafts = [minimal_draft(user, f"draft {i}") for i in range(3)]

    def cutter(draft: Release) -> Callable[[], Release]:
        return lambda: services.release_cut(release=Release.objects.get(pk=draft.pk), actor=user)

    results = run_together([cutter(draft) for draft in drafts])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.version for r in results) == [1, 2, 3]
    assert sorted(Release.objects.filter(owner=user).values_list("version", flat=True)) == [1, 2, 3]
    assert Owner.objects.get(user=user).last_version == 3
    # Each snapshot carries the version its row got.
    for release in Release.objects.filter(owner=user):
        assert release.snapshot["release"]["version"] == release.version

    # The next one continues the sequence.
    assert services.release_cut(release=minimal_draft(user, "later"), actor=user).version == 4
