"""First run: a new user signs in, sees where they stand on the overview, and follows its steps."""

from __future__ import annotations

import re
import secrets

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leger.providers.models import Credential
from leger.releases import services as release_services
from leger.releases.models import Release
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.pages import PASSWORD, assert_accessible_basics, focus_is_visible
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select, wait_until_done

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Every page of the dashboard a person reaches from the nav.
NAV_PAGES = ["/", "/models/", "/providers/", "/marketplace/", "/settings/", "/releases/", "/account/"]


def a_key() -> str:
    return "sk-ant-api03-" + secrets.token_urlsafe(36).replace("-", "x").replace("_", "y")


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def test_a_new_user_lands_on_the_overview_and_follows_its_first_step(
    page: Page, user: User, catalog, screenshot
) -> None:
    # Signing in without a page to return to lands on the overview.
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("0 of 5 done").first).to_be_visible()
    expect(page.get_by_role("heading", name="Next: Add a provider key")).to_be_visible()
    checklist = page.get_by_role("list").filter(has=page.locator("#step-key"))
    expect(checklist.get_by_role("listitem")).to_have_count(5)
    assert_accessible_basics(page)
    screenshot("empty")
    screenshot("empty", phone=True)

    # Keyboard: the first Tab from the top lands on the skip link, which moves focus into the main content,
    # and the next Tab reaches the one thing to do next.
    page.locator("body").evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert focus_is_visible(skip), "the focused skip link shows no focus ring"
    screenshot("skip-link", of=page.locator("header"))
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main'")
    page.keyboard.press("Tab")
    primary = page.get_by_role("link", name="Add a provider key").first
    expect(primary).to_be_focused()
    assert focus_is_visible(primary), "the focused next step shows no focus ring"

    # The checklist's first step leads to the form on /providers.
    page.locator("#step-key").get_by_role("link", name="Add a provider key").click()
    expect(page).to_have_url("/providers/#add-key")
    add = page.get_by_role("region", name="Add a key")
    add.get_by_label("Provider").select_option("anthropic")
    add.get_by_label("Label").fill("work")
    add.get_by_label("Key", exact=True).fill(a_key())
    add.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status").filter(has_text="Saved your Anthropic key “work”")).to_be_visible()
    assert Credential.objects.filter(owner=user).count() == 1

    # Back on the overview, the step is ticked and the next one is offered.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Overview").click()
    expect(page).to_have_url("/")
    expect(page.get_by_text("1 of 5 done").first).to_be_visible()
    key_step = page.locator("#step-key")
    expect(key_step).to_contain_text("Done")
    expect(key_step).to_contain_text("Keys for Anthropic.")
    expect(page.get_by_role("heading", name="Next: Choose your models")).to_be_visible()
    expect(page.locator("#step-models")).to_have_attribute("aria-current", "step")
    next_action = page.locator(".overview-next").get_by_role("link", name="Start a release and choose its models")
    expect(next_action).to_have_attribute("href", "/releases/#new-release")
    screenshot("after-key")
    screenshot("after-key", phone=True)
    next_action.click()
    expect(page).to_have_url("/releases/#new-release")
    expect(page.get_by_role("button", name="Start a new release")).to_be_visible()
    assert page.console_errors == []


def test_once_everything_is_done_the_overview_shows_the_latest_release_and_quick_links(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    page = signed_in
    add_key(user, "anthropic")
    add_tailnet(user)
    select(user, "searxng")
    # Cut for real: the worker publishes it to the loopback bucket.
    release = release_services.release_cut(release=minimal_draft(user, name="home"), actor=user)
    release = wait_until_done(release, timeout=90)
    assert release.status == Release.Status.PUBLISHED, release.error

    page.goto("/")
    assert_accessible_basics(page)
    expect(page.get_by_role("heading", name="Latest release")).to_be_visible()
    latest = page.locator(".overview-release")
    expect(latest.get_by_role("link", name="Version 1")).to_have_attribute("href", f"/releases/{release.pk}/")
    expect(latest).to_contain_text("Published")
    expect(page.get_by_role("heading", name="Quick links")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Next:"))).to_have_count(0)
    # The finished checklist is folded away, one click from view.
    checklist = page.locator("details.overview-setup")
    expect(checklist.locator("summary")).to_have_text("Setup checklist: 5 of 5 done")
    expect(page.locator("#step-release")).not_to_be_visible()
    screenshot("done")
    screenshot("done", phone=True)
    checklist.locator("summary").click()
    expect(page.locator("#step-release")).to_contain_text("Version 1 (“home”) is published and latest.")
    latest.get_by_role("link", name="Version 1").click()
    expect(page).to_have_url(f"/releases/{release.pk}/")

    # Its model is retired by LiteLLM's registry later: the overview and the release page say so.
    from django.utils import timezone

    from leger.catalog.models import LLM

    llm = LLM.objects.get(pk="claude-haiku-4.5")
    llm.retired_at, llm.successor = timezone.now(), LLM.objects.get(pk="claude-sonnet-4-5")
    llm.save()
    page.goto("/")
    warning = page.locator(".overview-release .releases-retired")
    expect(warning).to_contain_text("Version 1 serves a retired model: Claude Haiku 4.5")
    expect(warning).to_contain_text("its successor: Claude Sonnet 4.5")
    expect(warning).to_be_in_viewport()
    screenshot("retired")
    screenshot("retired", phone=True, of=page.locator(".overview-release"))
    page.goto(f"/releases/{release.pk}/")
    expect(page.locator(".releases-retired")).to_contain_text("Clone it into a new draft")
    screenshot("retired-release", of=page.locator("#release-body"))


# The elements that stick out past the right edge of the window, for the failure message.
_OVERFLOWING = """
() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth)
  .filter((el) => !el.closest('.nav-sections, .table-wrap, pre, [class*=code]'))
  .slice(0, 8)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`)
"""


def test_no_page_of_the_dashboard_is_wider_than_a_phone(signed_in: Page, user: User, catalog) -> None:
    page = signed_in
    add_key(user, "anthropic")
    add_tailnet(user)
    select(user, "searxng")
    release = wait_until_done(
        release_services.release_cut(release=minimal_draft(user, name="home"), actor=user), timeout=90
    )
    assert release.status == Release.Status.PUBLISHED, release.error
    draft = minimal_draft(user, name="a draft with a rather long name that has to wrap somewhere on a phone")
    pages = [
        *NAV_PAGES,
        "/models/claude-3.5-haiku/",
        "/providers/activity/",
        "/marketplace/services/searxng/",
        f"/releases/{release.pk}/",
        f"/releases/{release.pk}/files/litellm-config.yaml",
        f"/releases/{release.pk}/diff/",
        *(f"/releases/{draft.pk}/{step}/" for step in ("models", "services", "openwebui", "routes")),
    ]
    page.set_viewport_size(PHONE)
    try:
        for path in pages:
            response = page.goto(path)
            assert response is not None and response.ok, f"{path}: {response and response.status}"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide: {page.evaluate(_OVERFLOWING)}"
            assert page.locator("h1").count() == 1, f"{path} has {page.locator('h1').count()} h1 headings"
            for landmark in ("banner", "navigation", "main"):
                expect(page.get_by_role(landmark).first).to_be_attached()
    finally:
        page.set_viewport_size(DESKTOP)
