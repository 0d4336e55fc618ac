"""Many users at once, on real PostgreSQL: cuts, slot changes and key rotations racing in real threads.

Every job runs in its own thread with its own database connection (Django gives each thread one), and all of a
test's jobs are released together by a barrier, so the row locks, unique indexes and transactions of the
services really are contended. Where one precise interleaving is the risk (a read before another request's
commit, a write after it), the test holds one thread at that point until the other has committed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.utils import timezone as django_timezone
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.lib.storage import get_store
from leger.marketplace import services as marketplace
from leger.marketplace.models import Selection, Service, Slot
from leger.providers import crypto, validators
from leger.providers import services as providers
from leger.providers.models import AuditEntry, Credential
from leger.releases import services as releases
from leger.releases.models import Owner, Release
from leger.releases.publishing import latest_key
from leger.releases.selectors import latest_release
from tests.marketplace.factories import make_service, make_slot
from tests.releases import test_services_setup as setup
from tests.services import run_together

catalog = setup.catalog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        message = "these races are decided by PostgreSQL's row locks and unique indexes; run against PostgreSQL"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def errors_of(results: list[Any]) -> list[Exception]:
    return [result for result in results if isinstance(result, Exception)]


def someone_waits_on_a_lock() -> bool:
    """True while another session of this database waits for a lock (a row, or a unique index entry)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def hold_until(event: threading.Event, *, timeout: float = 15) -> None:
    """Wait (in the held thread) until ``event`` is set, or until the other thread is blocked on a lock this
    thread holds: then waiting longer could only deadlock, and that order is the service's own doing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if event.wait(0.05) or someone_waits_on_a_lock():
            return
    raise AssertionError("the other thread neither finished nor waited on a lock")


# --- many simultaneous cuts across users --------------------------------------------------------------------------

USERS = 6
DRAFTS_PER_USER = 3


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What cuts hand to the publishing queue, in order. Publishing is then run by the test, in threads too."""
    ids: list[int] = []
    lock = threading.Lock()

    def enqueue(release: Release | int, **_: Any) -> None:
        with lock:
            ids.append(getattr(release, "pk", release))

    monkeypatch.setattr(releases, "_enqueue", enqueue)
    return ids


@pytest.mark.slow
def test_simultaneous_cuts_across_users_give_each_user_versions_1_to_n_and_publish_them_all(
    catalog: None, queued: list[int], s3_bucket: str
) -> None:
    users = [User.objects.create_user(f"user{n}", f"user{n}@example.org", "password-1-x") for n in range(USERS)]
    drafts: list[Release] = []
    for user in users:
        setup.add_key(user, "anthropic")
        setup.add_tailnet(user)
        drafts += [setup.minimal_draft(user, f"draft {i}") for i in range(DRAFTS_PER_USER)]

    def cutter(draft: Release) -> Callable[[], Release]:
        return lambda: releases.release_cut(release=Release.objects.get(pk=draft.pk), actor=draft.owner)

    results = run_together([cutter(draft) for draft in drafts])

    assert not errors_of(results), errors_of(results)
    for user in users:
        versions = sorted(Release.objects.filter(owner=user).values_list("version", flat=True))
        assert versions == list(range(1, DRAFTS_PER_USER + 1)), (user.username, versions)
        assert Owner.objects.get(user=user).last_version == DRAFTS_PER_USER
    assert sorted(queued) == sorted(draft.pk for draft in drafts), "every cut is queued, once"
    for release in Release.objects.all():
        assert release.status == Release.Status.QUEUED
        assert release.snapshot["release"]["version"] == release.version

    # The queue's work, all at once too: each user's three versions publish side by side.
    published = run_together([lambda pk=pk: releases.release_publish(release_id=pk) for pk in queued])

    assert not errors_of(published), errors_of(published)
    store = get_store()
    for user in users:
        rows = list(Release.objects.filter(owner=user).order_by("version"))
        assert [row.status for row in rows] == [Release.Status.PUBLISHED] * DRAFTS_PER_USER, [r.error for r in rows]
        owner_uuid = str(Owner.objects.get(user=user).uuid)
        for row in rows:
            manifest = json.loads(store.get(f"{owner_uuid}/v{row.version}/manifest.json"))
            assert manifest["version"] == row.version
        # latest ends on the newest version, whatever order the three finished in.
        assert json.loads(store.get(latest_key(owner_uuid)))["version"] == DRAFTS_PER_USER
        assert latest_release(owner=user).version == DRAFTS_PER_USER, "the pages' latest is not the bucket's"


class _HeldClock:
    """Stands in for ``django.utils.timezone`` in the releases services: in the thread named ``job-0``, the
    moment ``_finish`` (publishing's last step) reads the clock, it is held until ``release`` is set."""

    def __init__(self, took: threading.Event, release: threading.Event) -> None:
        self.took, self.release = took, release

    def __getattr__(self, name: str) -> Any:
        return getattr(django_timezone, name)

    def now(self) -> Any:
        moment = django_timezone.now()
        if threading.current_thread().name == "job-0" and sys._getframe(1).f_code.co_name == "_finish":
            self.took.set()
            hold_until(self.release)
        return moment


@pytest.mark.slow
def test_latest_is_the_newest_version_when_two_publishes_of_one_user_finish_together(
    catalog: None, queued: list[int], s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v2 reaches its last step and reads the clock; v1 then publishes completely; v2 finishes. latest must be
    v2 both in the bucket and for Leger's pages (the newest promotion), never v1 in one and v2 in the other."""
    user = User.objects.create_user("lee", "lee@example.org", "password-1-x")
    setup.add_key(user, "anthropic")
    setup.add_tailnet(user)
    v1, v2 = (releases.release_cut(release=setup.minimal_draft(user, f"draft {i}"), actor=user) for i in (1, 2))
    took, finished = threading.Event(), threading.Event()
    monkeypatch.setattr(releases, "timezone", _HeldClock(took, finished))

    def publish_v1_meanwhile() -> Release:
        assert took.wait(60)
        try:
            return releases.release_publish(release_id=v1.pk)
        finally:
            finished.set()

    results = run_together([lambda: releases.release_publish(release_id=v2.pk), publish_v1_meanwhile])

    assert not errors_of(results), errors_of(results)
    assert [r.status for r in results] == [Release.Status.PUBLISHED] * 2
    owner_uuid = str(Owner.objects.get(user=user).uuid)
    assert json.loads(get_store().get(latest_key(owner_uuid)))["version"] == 2
    assert latest_release(owner=user).version == 2, "the pages call v1 latest while the bucket's latest is v2"


# --- simultaneous slot changes --------------------------------------------------------------------------------------


@pytest.fixture
def vector_slot(db: None) -> Slot:
    return make_slot("vector-database", "vector database", ("VECTOR_DB",))


@pytest.fixture
def vector_services(vector_slot: Slot) -> list[Service]:
    timeout = {"name": "TIMEOUT", "type": "int", "default": 5, "min": 1, "max": 600}
    names = ("qdrant", "chroma", "milvus", "pgvector", "weaviate")
    return [make_service(name, slot=vector_slot, variables=(timeout,)) for name in names]


def test_simultaneous_slot_changes_leave_one_provider_per_slot_for_each_user_and_tell_the_refused_why(
    vector_slot: Slot, vector_services: list[Service]
) -> None:
    first, *others = vector_services[:4]
    late_comer = vector_services[4]
    racers = [User.objects.create_user(name, f"{name}@example.org", "password-1-x") for name in ("ann", "ben", "cat")]
    bystander = User.objects.create_user("dan", "dan@example.org", "password-1-x")
    untouched = marketplace.selection_create(owner=bystander, service=first, values={})
    chosen: dict[int, list[Selection]] = {}
    for user in racers:
        chosen[user.pk] = [marketplace.selection_create(owner=user, service=first, values={})] + [
            marketplace.selection_create(owner=user, service=service, values={}, active=False) for service in others
        ]

    jobs: list[Callable[[], Any]] = []
    for user in racers:
        for selection in chosen[user.pk][1:]:
            # Switching: always allowed, the one there is deactivated in the same transaction.
            jobs.append(lambda u=user, s=selection: marketplace.slot_switch(owner=u, slot=vector_slot, to_selection=s))
        # Activating beside the one there, and adding another active one: the slot rule refuses them.
        jobs.append(lambda s=chosen[user.pk][2]: marketplace.selection_update(selection=s, active=True))
        jobs.append(lambda u=user: marketplace.selection_create(owner=u, service=late_comer, values={}))

    results = run_together(jobs)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, ValidationError)]
    assert not unexpected, unexpected
    for refused in [r for r in results if isinstance(r, ValidationError)]:
        [message] = refused.message_dict["service"]
        assert "vector database" in message, message
    for user in racers:
        active = list(Selection.objects.filter(owner=user, slot=vector_slot, active=True))
        assert len(active) == 1, (user.username, active)
    # Every switch reported a change (from the provider that was there at its turn); nothing else errored.
    switches = [r for r in results if isinstance(r, marketplace.SwitchResult)]
    assert len(switches) == len(racers) * len(others)
    assert all(switch.previous is not None for switch in switches if switch.changed)
    # Activating beside the provider there is refused, or a no-op when a switch had made it the provider already.
    updates = results[len(others) :: len(others) + 2]
    assert all(isinstance(r, Selection | ValidationError) for r in updates), updates
    # Adding another active provider is always refused, and saves nothing.
    creates = results[len(others) + 1 :: len(others) + 2]
    assert all(isinstance(r, ValidationError) for r in creates), creates
    assert not Selection.objects.filter(service=late_comer).exists()
    # The bystander's slot is as it was.
    untouched_now = Selection.objects.get(pk=untouched.pk)
    assert (untouched_now.active, untouched_now.updated_at) == (True, untouched.updated_at)
    assert Selection.objects.filter(owner=bystander).count() == 1


def test_saving_a_providers_settings_while_its_slot_is_switched_to_it_keeps_both_changes(
    vector_slot: Slot, vector_services: list[Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings form read the selection (inactive) before the switch committed and saves after it: the save
    must not put back the old `active`, which would leave the slot empty although the switch said it was done."""
    qdrant, chroma = vector_services[:2]
    user = User.objects.create_user("eve", "eve@example.org", "password-1-x")
    marketplace.selection_create(owner=user, service=qdrant, values={})
    target = marketplace.selection_create(owner=user, service=chroma, values={}, active=False)
    read, switched = threading.Event(), threading.Event()
    original = marketplace._validate

    def validate_then_hold(selection: Selection, secret_problems: dict) -> None:
        original(selection, secret_problems)
        if threading.current_thread().name == "job-0":  # the settings save, after reading the row
            read.set()
            hold_until(switched)

    monkeypatch.setattr(marketplace, "_validate", validate_then_hold)

    def save_settings() -> Selection:
        return marketplace.selection_update(selection=target, values={"TIMEOUT": 7})

    def switch() -> marketplace.SwitchResult:
        assert read.wait(15)
        try:
            return marketplace.slot_switch(owner=user, slot=vector_slot, to_selection=target)
        finally:
            switched.set()

    results = run_together([save_settings, switch])

    assert not errors_of(results), errors_of(results)
    assert results[1].changed
    target.refresh_from_db()
    assert target.active, "the switch was undone by the concurrent settings save"
    assert target.values == {"TIMEOUT": 7}
    assert list(Selection.objects.filter(owner=user, active=True)) == [target]


# --- simultaneous credential rotations and renames ---------------------------------------------------------------


@pytest.fixture
def key_owner(db: None) -> tuple[User, Credential]:
    user = User.objects.create_user("kim", "kim@example.org", "password-1-x")
    provider = Provider.objects.create(
        id="anthropic", name="Anthropic", kind="api", env_var="ANTHROPIC_API_KEY", key_prefix="sk-ant-"
    )
    credential = providers.credential_create(owner=user, provider=provider, label="main", value=a_key())
    return user, credential


def a_key() -> str:
    return "sk-ant-" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_simultaneous_rotations_and_renames_of_one_key_lose_nothing(key_owner: tuple[User, Credential]) -> None:
    user, credential = key_owner
    values = [a_key() for _ in range(6)]
    new_labels = ["work", "home", "laptop"]
    rotate_url = f"/api/v1/credentials/{credential.pk}/rotate/"
    key_url = f"/api/v1/credentials/{credential.pk}/"
    jobs: list[Callable[[], Any]] = [
        *[lambda v=value: api_for(user).post(rotate_url, {"value": v}, format="json") for value in values],
        *[lambda label=label: api_for(user).patch(key_url, {"label": label}, format="json") for label in new_labels],
    ]

    responses = run_together(jobs)

    assert not errors_of(responses), errors_of(responses)
    assert [response.status_code for response in responses] == [200] * len(jobs), [r.content for r in responses]
    credential.refresh_from_db()
    final = crypto.decrypt(credential.value)
    assert final in values
    assert credential.masked == crypto.mask(final, "sk-ant-"), "the masked form belongs to another rotation"
    assert credential.label in new_labels
    entries = AuditEntry.objects.filter(credential=credential)
    assert entries.filter(action=AuditEntry.Action.REPLACED).count() == len(values)
    assert entries.filter(action=AuditEntry.Action.RENAMED).count() == len(new_labels)
    # The key reads back (through the API the CLI uses) as what the list shows.
    listed = api_for(user).get("/api/v1/credentials/").json()["results"]
    assert [(item["label"], item["masked"]) for item in listed] == [(credential.label, credential.masked)]


@pytest.mark.parametrize("first", ["rename", "rotate"])
def test_a_rename_and_a_rotation_crossing_each_other_keep_both(
    key_owner: tuple[User, Credential], monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """One request checked its input (and read the key) before the other committed, and writes after it: neither
    change is undone, and the audit log names each change once, with the label the key had when it happened."""
    _, credential = key_owner
    value = a_key()
    read, other_done = threading.Event(), threading.Event()

    def rotate() -> Credential:
        return providers.credential_rotate(credential=Credential.objects.get(pk=credential.pk), value=value)

    def rename() -> Credential:
        return providers.credential_rename(credential=Credential.objects.get(pk=credential.pk), label="work")

    # The held request ("job-0") stops right after checking its input, until the other one has committed.
    checker = "validate_key_value" if first == "rotate" else "credential_check_label"
    module = validators if first == "rotate" else providers
    original = getattr(module, checker)

    def check_then_hold(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)
        if threading.current_thread().name == "job-0":
            read.set()
            hold_until(other_done)
        return answer

    monkeypatch.setattr(module, checker, check_then_hold)
    held, other = (rotate, rename) if first == "rotate" else (rename, rotate)

    def then_other() -> Credential:
        assert read.wait(15)
        try:
            return other()
        finally:
            other_done.set()

    results = run_together([held, then_other])

    assert not errors_of(results), errors_of(results)
    credential.refresh_from_db()
    assert credential.label == "work"
    assert crypto.decrypt(credential.value) == value
    assert credential.masked == crypto.mask(value, "sk-ant-")
    entries = AuditEntry.objects.filter(credential=credential)
    [rotated] = entries.filter(action=AuditEntry.Action.REPLACED)
    [renamed] = entries.filter(action=AuditEntry.Action.RENAMED)
    assert renamed.label == "work"
    # Rotated after the rename committed, the key was "work" by then; before it, still "main".
    assert rotated.label == ("work" if first == "rotate" else "main")
    # The change committed last answers with the key as it is now (both changes), not as it first read it.
    assert (results[0].label, results[0].masked) == (credential.label, credential.masked)


@pytest.mark.parametrize("channel", ["api", "page"])
@pytest.mark.parametrize("change", ["rename", "rotate"])
def test_a_rename_or_rotation_that_read_the_key_before_it_was_deleted_says_so_and_changes_nothing(
    key_owner: tuple[User, Credential], monkeypatch: pytest.MonkeyPatch, change: str, channel: str
) -> None:
    """The change read the key and checked its input; a delete commits; then the change writes. It answers 404
    (API) or "this key was deleted" (page), never a 500, and the audit log claims no change of the gone key."""
    user, credential = key_owner
    read, deleted = threading.Event(), threading.Event()

    # The same hold as above: the change ("job-0") stops right after checking its input, until the delete is in.
    checker = "validate_key_value" if change == "rotate" else "credential_check_label"
    module = validators if change == "rotate" else providers
    original = getattr(module, checker)

    def check_then_hold(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)
        if threading.current_thread().name == "job-0":
            read.set()
            hold_until(deleted)
        return answer

    monkeypatch.setattr(module, checker, check_then_hold)

    def make_change() -> Any:
        if channel == "api":
            client = api_for(user)
            if change == "rotate":
                return client.post(f"/api/v1/credentials/{credential.pk}/rotate/", {"value": a_key()}, format="json")
            return client.patch(f"/api/v1/credentials/{credential.pk}/", {"label": "work"}, format="json")
        client = Client()
        client.force_login(user)
        if change == "rotate":
            return client.post(f"/providers/keys/{credential.pk}/replace/", {"value": a_key()}, follow=True)
        return client.post(f"/providers/keys/{credential.pk}/rename/", {"label": "work"}, follow=True)

    def delete_meanwhile() -> Any:
        assert read.wait(15)
        try:
            return api_for(user).delete(f"/api/v1/credentials/{credential.pk}/")
        finally:
            deleted.set()

    changed, delete = run_together([make_change, delete_meanwhile])

    assert not errors_of([changed, delete]), errors_of([changed, delete])
    assert delete.status_code == 204
    if channel == "api":
        assert changed.status_code == 404, changed.content
        assert "deleted" in changed.json()["detail"]
    else:
        assert changed.status_code == 200
        assert changed.redirect_chain == [("/providers/", 302)]
        assert "This key was deleted" in changed.content.decode()
    assert not Credential.objects.filter(pk=credential.pk).exists()
    # Created, then deleted: nothing claims a rename or rotation of the key after it was gone.
    actions = list(
        AuditEntry.objects.filter(owner=user, secret_name=credential.secret_name)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [AuditEntry.Action.CREATED, AuditEntry.Action.DELETED]


@pytest.mark.parametrize("other", ["delete", "rotate"])
def test_a_delete_that_read_the_key_before_another_change_committed(
    key_owner: tuple[User, Credential], monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """Two deletes crossing: the second answers 404 and audits no second delete. A rotation committed before the
    delete takes its lock: both happened, so both stay in the audit log (the rotation's entry outlives the key)."""
    user, credential = key_owner
    read, other_done = threading.Event(), threading.Event()
    original = providers._lock_credential

    def hold_then_lock(*args: Any, **kwargs: Any) -> Any:
        # The held delete ("job-0") has read the key and stops just before taking its lock.
        if threading.current_thread().name == "job-0":
            read.set()
            hold_until(other_done)
        return original(*args, **kwargs)

    monkeypatch.setattr(providers, "_lock_credential", hold_then_lock)
    key_url = f"/api/v1/credentials/{credential.pk}/"

    def then_other() -> Any:
        assert read.wait(15)
        try:
            if other == "delete":
                return api_for(user).delete(key_url)
            return api_for(user).post(f"{key_url}rotate/", {"value": a_key()}, format="json")
        finally:
            other_done.set()

    held, meanwhile = run_together([lambda: api_for(user).delete(key_url), then_other])

    assert not errors_of([held, meanwhile]), errors_of([held, meanwhile])
    assert not Credential.objects.filter(pk=credential.pk).exists()
    actions = list(
        AuditEntry.objects.filter(owner=user, secret_name=credential.secret_name)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    if other == "delete":
        assert (meanwhile.status_code, held.status_code) == (204, 404), held.content
        assert "deleted" in held.json()["detail"]
        assert actions == [AuditEntry.Action.CREATED, AuditEntry.Action.DELETED]
    else:
        assert (meanwhile.status_code, held.status_code) == (200, 204)
        assert actions == [AuditEntry.Action.CREATED, AuditEntry.Action.REPLACED, AuditEntry.Action.DELETED]
