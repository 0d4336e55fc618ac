from __future__ import annotations

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
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="SearXNG: configuration active.")).to_be_visible()
    expect(slot_row(page, "Web search engine")).to_contain_text("SearXNG")

    # The first vector database; a bad value is flagged next to its field while typing, before saving.
    configure(page, "Qdrant")
    mark_document(page)
    page.get_by_label("QDRANT_TIMEOUT").fill("soon")
    expect(page.locator("#errors-QDRANT_TIMEOUT")).not_to_be_empty()
    assert same_document(page)
    screenshot("inline-error", of=page.locator(".field", has=page.get_by_label("QDRANT_TIMEOUT")))
    page.get_by_label("QDRANT_TIMEOUT").fill("10")
    expect(page.locator("#errors-QDRANT_TIMEOUT")).to_be_empty()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Qdrant: configuration active.")).to_be_visible()
    expect(slot_row(page, "Vector database")).to_contain_text("Qdrant")

    # A second vector database: the page warns, and asking for it anyway is refused, naming slot and incumbent.
    configure(page, "Chroma")
    expect(page.get_by_text("The vector database slot is filled by Qdrant")).to_be_visible()
    active = page.get_by_role("checkbox", name="Use it as the vector database")
    expect(active).not_to_be_checked()
    active.check()
    page.get_by_role("button", name="Save").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("vector database")
    expect(refusal).to_contain_text("Qdrant")
    expect(active).to_be_checked()  # what the person chose is kept, to change
    assert not Selection.objects.filter(owner=user, service_id="chroma").exists()
    screenshot("refused")

    active.uncheck()
    page.get_by_role("button", name="Save").click()
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
