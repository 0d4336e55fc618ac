from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leger.marketplace.models import Selection
from tests.e2e.pages import assert_accessible_basics, mark_document, same_document

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def slot_row(page: Page, slot: str):
    table = page.get_by_role("region", name="Your slots")
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=slot, exact=True))


def configure(page: Page, service: str) -> None:
    """Open a service's configure page from the marketplace, by searching for it as a person would."""
    page.goto("/marketplace/")
    mark_document(page)
    page.get_by_role("searchbox", name="Search").fill(service)
    card = page.locator("#results").get_by_role("listitem").filter(has=page.get_by_role("heading", name=service))
    expect(card).to_have_count(1)
    assert same_document(page), "searching the marketplace reloaded the whole page"
    card.get_by_role("link", name=f"Configure {service}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(service)


def test_the_slot_rule_refuses_a_second_vector_database_and_the_switch_moves_the_slot(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    page = signed_in
    page.goto("/marketplace/")
    assert_accessible_basics(page)
    expect(slot_row(page, "Web search engine")).to_contain_text("None")
    screenshot("index")
    screenshot("index", phone=True)

    # A web-search engine that runs in the release: nothing to fill in, on by default.
    configure(page, "SearXNG")
    assert_accessible_basics(page)
    expect(page.get_by_role("checkbox", name="Use it as the web search engine")).to_be_checked()
    screenshot("configure-searxng")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="SearXNG: configuration active.")).to_be_visible()
    expect(slot_row(page, "Web search engine")).to_contain_text("SearXNG")

    # The first vector database; a bad value is flagged next to its field while typing, before saving.
    configure(page, "Qdrant")
    # Settings are labelled in words; the Open WebUI variable is a hint beside the label, not the label.
    timeout = page.get_by_role("textbox", name="Timeout", exact=True)
    timeout_field = page.locator(".field", has=timeout)
    expect(timeout_field.locator("code.var-name")).to_have_text("QDRANT_TIMEOUT")
    expect(page.get_by_role("checkbox", name="Vectors on disk", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Chunks per prompt", exact=True)).to_be_visible()  # a shared setting
    expect(page.locator("label", has_text="QDRANT_")).to_have_count(0)
    screenshot("configure-qdrant", phone=True)
    mark_document(page)
    timeout.fill("soon")
    expect(page.locator("#errors-QDRANT_TIMEOUT")).not_to_be_empty()
    expect(timeout).to_have_attribute("aria-invalid", "true")  # marked for screen readers while typing too
    assert same_document(page)
    screenshot("inline-error", of=timeout_field)
    timeout.fill("10")
    expect(page.locator("#errors-QDRANT_TIMEOUT")).to_be_empty()
    expect(timeout).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Qdrant: configuration active.")).to_be_visible()
    expect(slot_row(page, "Vector database")).to_contain_text("Qdrant")

    # A second vector database: the page warns, and asking for it anyway is refused, naming slot and incumbent.
    configure(page, "Chroma")
    expect(page.get_by_text("The vector database slot is filled by Qdrant")).to_be_visible()
    active = page.get_by_role("checkbox", name="Use it as the vector database")
    expect(active).not_to_be_checked()
    active.check()
    page.get_by_role("button", name="Save", exact=True).click()
    # The refusal sits next to the box it is about, is read out with it, and says what to do.
    refusal = page.locator("#errors-active")
    expect(refusal).to_contain_text("The vector database slot already has an active provider: Qdrant.")
    expect(active).to_have_accessible_description(re.compile("already has an active provider: Qdrant"))
    expect(active).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#errors-form")).to_be_empty()
    expect(page.get_by_text("already has an active provider")).to_have_count(1)
    expect(active).to_be_checked()  # what the person chose is kept, to change
    expect(refusal.get_by_role("link", name="Open Qdrant")).to_have_attribute("href", "/marketplace/services/qdrant/")
    expect(refusal.get_by_role("button", name="Save and make Chroma the vector database")).to_be_visible()
    assert not Selection.objects.filter(owner=user, service_id="chroma").exists()
    screenshot("refused")
    screenshot("refused", phone=True, of=page.locator("fieldset", has=active))

    active.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Chroma: configuration saved, not active.")).to_be_visible()
    expect(slot_row(page, "Vector database")).to_contain_text("Qdrant")

    # Switching is one action, and says what it costs before doing it.
    chroma = page.locator("#service-chroma")
    chroma.get_by_role("link", name="Make it the vector database").click()
    confirm = chroma.get_by_role("group", name="Make Chroma the vector database?")
    expect(confirm).to_contain_text("index")
    screenshot("switch-confirm", of=chroma)
    confirm.get_by_role("button", name="Switch to Chroma").click()
    expect(slot_row(page, "Vector database")).to_contain_text("Chroma")
    expect(slot_row(page, "Vector database").get_by_role("cell").nth(1)).to_contain_text("Qdrant")
    expect(slot_row(page, "Web search engine")).to_contain_text("SearXNG")
    active_services = set(Selection.objects.filter(owner=user, active=True).values_list("service_id", flat=True))
    assert active_services == {"searxng", "chroma"}
    screenshot("switched", of=page.get_by_role("region", name="Your slots"))


def test_a_second_web_search_engine_is_refused_next_to_its_box_and_switched_in_one_go(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    page = signed_in
    configure(page, "SearXNG")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(slot_row(page, "Web search engine")).to_contain_text("SearXNG")

    configure(page, "DuckDuckGo")
    active = page.get_by_role("checkbox", name="Use it as the web search engine")
    active.check()  # inline validation: the refusal appears beside the box before saving
    refusal = page.locator("#errors-active")
    expect(refusal).to_contain_text("already has an active provider: SearXNG")
    expect(refusal.get_by_role("link", name="Open SearXNG")).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(refusal).to_contain_text("already has an active provider: SearXNG")
    switch = refusal.get_by_role("button", name="Save and make DuckDuckGo the web search engine")
    expect(switch).to_be_visible()
    switch.click()

    expect(page.get_by_role("status").filter(has_text="SearXNG is deactivated and DuckDuckGo becomes")).to_be_visible()
    expect(slot_row(page, "Web search engine").get_by_role("cell").first).to_contain_text("DuckDuckGo")
    active_services = set(Selection.objects.filter(owner=user, active=True).values_list("service_id", flat=True))
    assert active_services == {"duckduckgo"}
    assert Selection.objects.filter(owner=user, service_id="searxng", active=False).exists()

    # Deleting a configuration asks first, saying what is lost, and deletes only when confirmed.
    page.goto("/marketplace/services/searxng/")
    page.get_by_role("link", name="Delete this configuration").click()
    confirm = page.get_by_role("group", name="Delete your SearXNG configuration?")
    expect(confirm).to_contain_text("cannot be undone")
    assert Selection.objects.filter(owner=user, service_id="searxng").exists()
    screenshot("delete-confirm", of=page.locator("section", has=confirm))
    confirm.get_by_role("button", name="Delete it").click()
    expect(page.get_by_role("status").filter(has_text="Your SearXNG configuration is deleted.")).to_be_visible()
    assert not Selection.objects.filter(owner=user, service_id="searxng").exists()
