"""The overview at /: a setup checklist that ticks itself from the user's own rows, then the latest release."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leger.overview import setup_overview
from leger.releases import services as release_services
from leger.releases.models import Release
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select

catalog = setup.catalog  # the project's real fixtures (pytest finds the fixture by name here)

STEP = re.compile(
    r'<li class="checklist-step is-(?P<state>\w+)" id="step-(?P<key>\w+)"(?P<current> aria-current="step")?'
)


def steps(page: str) -> dict[str, str]:
    """Each checklist step's state, by key, as the page shows it."""
    return {match["key"]: match["state"] for match in STEP.finditer(page)}


def current_step(page: str) -> str | None:
    return next((match["key"] for match in STEP.finditer(page) if match["current"]), None)


def next_action(page: str) -> tuple[str, str]:
    """The (href, text) of the page's primary action: the one next step to take."""
    match = re.search(r'<a class="button primary" href="([^"]+)">([^<]+)</a>', page)
    assert match, "the page offers no primary action"
    return match[1], match[2]


def overview(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def store(settings, tmp_path: Path) -> Path:
    """No bucket configured: releases are published to a local folder."""
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    return tmp_path


def cut(user: User, release: Release, capture, *, publish: bool) -> Release:
    with capture(execute=publish):
        release = release_services.release_cut(release=release, actor=user)
    release.refresh_from_db()
    return release


def everything(user: User, capture) -> Release:
    """A user with every step done: a key, tailnet, an active add-on, a published release and a new draft."""
    add_key(user, "anthropic")
    add_tailnet(user)
    select(user, "searxng")
    release = cut(user, minimal_draft(user), capture, publish=True)
    assert release.status == Release.Status.PUBLISHED, release.error
    minimal_draft(user, name="next one")
    return release


# --- the empty state ----------------------------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_signing_in_lands_on_the_overview(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "0 of 5 done" in overview(client)


def test_a_new_user_sees_nothing_done_and_adding_a_key_as_the_next_step(alice_client: Client, catalog) -> None:
    page = overview(alice_client)
    assert page.count("<h1") == 1
    assert "0 of 5 done" in page
    assert steps(page) == {"key": "todo", "models": "todo", "services": "todo", "tailnet": "todo", "release": "todo"}
    assert current_step(page) == "key"
    assert next_action(page) == ("/providers/#add-key", "Add a provider key")
    # Each step links to the page where it is done.
    for href in ["/providers/#add-key", "/releases/#new-release", "/marketplace/", "/settings/"]:
        assert f'href="{href}"' in page
    # Nothing to show of a release that does not exist, and no quick links while setting up.
    assert "Latest release" not in page and "Quick links" not in page
    assert '<a href="/" aria-current="page">Overview</a>' in page


# --- each step ticks from real rows -------------------------------------------------------------------------------


def test_a_key_ticks_the_first_step_and_offers_choosing_models(alice: User, alice_client: Client, catalog) -> None:
    add_key(alice, "anthropic")
    page = overview(alice_client)
    assert steps(page)["key"] == "done"
    assert "Keys for Anthropic." in page
    assert "1 of 5 done" in page
    assert current_step(page) == "models"
    assert next_action(page) == ("/releases/#new-release", "Start a release and choose its models")


def test_the_models_step_reads_the_newest_draft(alice: User, alice_client: Client, catalog) -> None:
    draft = release_services.release_create(owner=alice, name="home")
    page = overview(alice_client)
    assert steps(page)["models"] == "todo"
    assert "Your draft “home” has no model yet." in page
    # The step leads into that draft's model step, not to a new release.
    assert f'href="/releases/{draft.pk}/models/"' in page

    release_services.release_update(release=draft, models=[{"model": "qwen3-4b"}, {"model": "gpt-oss-20b"}])
    page = overview(alice_client)
    assert steps(page)["models"] == "done"
    assert "2 models chosen in the draft “home”." in page

    # A newer draft without models is what the user works on now: the step is not done any more.
    release_services.release_create(owner=alice, name="another")
    assert steps(overview(alice_client))["models"] == "todo"


def test_an_active_add_on_ticks_the_services_step(alice: User, alice_client: Client, catalog) -> None:
    select(alice, "searxng")
    page = overview(alice_client)
    assert steps(page)["services"] == "done"
    assert "Active: SearXNG." in page


def test_tailnet_settings_tick_their_step(alice: User, alice_client: Client, catalog) -> None:
    add_tailnet(alice)
    page = overview(alice_client)
    assert steps(page)["tailnet"] == "done"
    assert "box.tail1234.ts.net" in page


def test_the_release_step_says_publishing_then_failed_truthfully(
    alice: User, alice_client: Client, catalog, store: Path, django_capture_on_commit_callbacks
) -> None:
    add_key(alice, "anthropic")
    add_tailnet(alice)
    draft = minimal_draft(alice)
    page = overview(alice_client)
    assert steps(page)["release"] == "todo"
    assert f'href="/releases/{draft.pk}/"' in page  # finish the draft the user has

    release = cut(alice, draft, django_capture_on_commit_callbacks, publish=False)
    assert release.status == Release.Status.QUEUED
    page = overview(alice_client)
    # A cut release counts for the models step (every cut has models), not yet for the release step.
    assert steps(page)["models"] == "done"
    assert steps(page)["release"] == "publishing"
    assert "Version 1 is publishing…" in page
    assert "Publishing…" in page
    assert next_action(page)[0] == "/marketplace/"  # add-ons are still the first step not done

    Release.objects.filter(pk=release.pk).update(status=Release.Status.FAILED, error="the bucket said no")
    page = overview(alice_client)
    assert steps(page)["release"] == "failed"
    assert "Publishing version 1 failed" in page
    assert f'href="/releases/{release.pk}/"' in page
    assert "3 of 5 done" in page  # key, models, tailnet


def test_everything_done_shows_the_latest_release_and_quick_links_instead_of_a_next_step(
    alice: User, alice_client: Client, catalog, store: Path, django_capture_on_commit_callbacks
) -> None:
    release = everything(alice, django_capture_on_commit_callbacks)
    page = overview(alice_client)
    assert set(steps(page).values()) == {"done"}
    assert "5 of 5 done" in page
    assert "Next:" not in page and 'class="button primary"' not in page
    assert "Latest release" in page
    assert f'<a href="/releases/{release.pk}/">Version 1</a> “home”' in page
    assert "Published" in page
    assert "Quick links" in page
    # The finished checklist stays one click away, folded.
    assert "<details" in page and "Setup checklist: 5 of 5 done" in page


def test_a_newer_cut_that_failed_is_shown_beside_the_latest_one(
    alice: User, alice_client: Client, catalog, store: Path, django_capture_on_commit_callbacks
) -> None:
    everything(alice, django_capture_on_commit_callbacks)
    second = cut(alice, minimal_draft(alice, name="second"), django_capture_on_commit_callbacks, publish=False)
    Release.objects.filter(pk=second.pk).update(status=Release.Status.FAILED, error="the bucket said no")
    page = overview(alice_client)
    assert steps(page)["release"] == "done"  # a release is published; the failure does not undo that
    assert "Version 1 (“home”) is published and latest. Publishing version 2 failed" in page
    assert f'<a href="/releases/{second.pk}/">Version 2</a> “second”' in page


# --- only the user's own rows count -------------------------------------------------------------------------------


def test_another_users_data_never_ticks_a_step(
    alice: User, bob: User, alice_client: Client, catalog, store: Path, django_capture_on_commit_callbacks
) -> None:
    bobs = everything(bob, django_capture_on_commit_callbacks)
    page = overview(alice_client)
    assert "0 of 5 done" in page
    assert set(steps(page).values()) == {"todo"}
    assert f"/releases/{bobs.pk}/" not in page
    assert "Anthropic" not in page and "SearXNG" not in page and "box.tail1234.ts.net" not in page
    assert setup_overview(alice).done_count == 0
    assert setup_overview(bob).complete


# --- cost ---------------------------------------------------------------------------------------------------------


def test_the_page_costs_a_few_queries_however_much_the_user_holds(
    alice: User,
    alice_client: Client,
    catalog,
    store: Path,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries: Any,
) -> None:
    with django_assert_max_num_queries(10):
        overview(alice_client)
    everything(alice, django_capture_on_commit_callbacks)
    for name in ["a", "b", "c"]:
        cut(alice, minimal_draft(alice, name=name), django_capture_on_commit_callbacks, publish=True)
        add_key(alice, "openai", label=name, prefix="sk-proj-")
    select(alice, "qdrant")
    with django_assert_max_num_queries(10):
        page = overview(alice_client)
    assert "Version 4" in page
    assert "Active: Qdrant, SearXNG." in page


def test_a_retired_model_in_the_latest_release_or_the_draft_is_said_on_the_overview_and_the_release_page(
    alice: User, alice_client: Client, catalog, store: Path, django_capture_on_commit_callbacks
) -> None:
    from django.utils import timezone

    from leger.catalog.models import LLM

    release = everything(alice, django_capture_on_commit_callbacks)  # serves claude-haiku-4.5
    page = overview(alice_client)
    assert "retired" not in page
    llm = LLM.objects.get(pk="claude-haiku-4.5")
    llm.retired_at, llm.successor = timezone.now(), LLM.objects.get(pk="claude-sonnet-4-5")
    llm.save()
    page = overview(alice_client)
    assert "Version 1 serves a retired model:" in page and "Claude Haiku 4.5" in page
    assert "its successor: Claude Sonnet 4.5" in page
    # The new draft holds it too: its cut would be refused, and the page links to its models step.
    draft = Release.objects.get(owner=alice, name="next one")
    assert "Your draft “next one” holds Claude Haiku 4.5 (use Claude Sonnet 4.5 instead)" in page
    assert f'href="/releases/{draft.pk}/models/"' in page
    detail = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert "Version 1 serves a retired model:" in detail and "Clone it into a new draft" in detail
