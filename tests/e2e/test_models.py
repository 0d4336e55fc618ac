from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from leger.catalog.models import LLM
from tests.e2e.pages import assert_accessible_basics, focus_is_visible, mark_document, same_document, tab_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def card_names(page: Page) -> set[str]:
    return set(page.locator("#results").get_by_role("heading", level=2).all_inner_texts())


def test_filters_update_the_list_in_place_and_the_url_brings_it_back(signed_in: Page, catalog, screenshot) -> None:
    page = signed_in
    haiku = LLM.objects.filter(name__icontains="haiku")
    with_vision = set(haiku.filter(capabilities="vision").values_list("name", flat=True))
    without_vision = set(haiku.exclude(capabilities="vision").values_list("name", flat=True))
    assert with_vision and without_vision, "the catalog should hold Haiku models with and without vision"

    page.goto("/models/")
    count = page.locator("#results").get_by_role("status")
    expect(count).to_have_text(f"{LLM.objects.count()} models, page 1 of {-(-LLM.objects.count() // 24)}")
    assert_accessible_basics(page)
    screenshot("all")
    screenshot("all", phone=True)
    mark_document(page)

    page.get_by_role("searchbox", name="Search").press_sequentially("haiku")
    expect(count).to_have_text(f"{len(haiku)} models")
    assert card_names(page) == with_vision | without_vision

    page.get_by_role("checkbox", name="Vision").check()
    expect(count).to_have_text(f"{len(with_vision)} models")
    assert card_names(page) == with_vision
    for name in with_vision:
        expect(page.locator(".catalog-model", has=page.get_by_role("heading", name=name))).to_contain_text("Vision")
    assert same_document(page), "filtering reloaded the whole page instead of updating the list"
    # The pushed URL holds what the user chose and nothing else: no empty filters, no default sort order.
    query = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    assert query == {"search": ["haiku"], "capability": ["vision"]}, page.url
    screenshot("filtered")
    screenshot("filtered", phone=True)

    sort = page.get_by_role("combobox", name="Sort by")
    sort.select_option(label="Largest context first")
    expect(page).to_have_url(re.compile(r"ordering=-context"))
    sort.select_option(label="Name")
    expect(page).not_to_have_url(re.compile("ordering"))
    assert parse_qs(urlsplit(page.url).query, keep_blank_values=True) == query, page.url

    # The URL is shareable: opening it again shows the same list with the same filters set.
    page.reload()
    assert not same_document(page)
    expect(count).to_have_text(f"{len(with_vision)} models")
    assert card_names(page) == with_vision
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("haiku")
    expect(page.get_by_role("checkbox", name="Vision")).to_be_checked()

    # A keyboard user reaches the filters and sees where the focus is.
    search = page.get_by_role("searchbox", name="Search")
    assert tab_to(page, search), "the search field cannot be reached with Tab"
    assert focus_is_visible(search), "the focused search field shows no focus ring"


def test_a_model_leads_to_adding_a_key_for_its_provider(signed_in: Page, catalog, screenshot) -> None:
    page = signed_in
    llm = LLM.objects.filter(name__icontains="haiku", offerings__provider_id="anthropic").order_by("name").first()
    page.goto("/models/?search=haiku")
    page.get_by_role("link", name=llm.name, exact=True).click()

    expect(page).to_have_url(f"/models/{llm.id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(llm.name)
    providers = page.get_by_role("table")
    for offering in llm.offerings.select_related("provider"):
        expect(providers.get_by_role("rowheader", name=offering.provider.name, exact=True)).to_be_visible()
    assert_accessible_basics(page)
    screenshot("detail")
    screenshot("detail", phone=True)

    anthropic_row = providers.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Anthropic", exact=True))
    anthropic_row.get_by_role("link", name="Add a key for Anthropic").click()

    expect(page).to_have_url("/providers/?provider=anthropic")
    expect(page.get_by_role("combobox", name="Provider")).to_have_value("anthropic")
    expect(page.get_by_role("combobox", name="Provider").locator("option:checked")).to_have_text("Anthropic")


def test_filters_matching_nothing_say_so_and_clear_in_one_click(signed_in: Page, catalog, screenshot) -> None:
    page = signed_in
    page.goto("/models/")
    count = page.locator("#results").get_by_role("status")
    page.get_by_role("searchbox", name="Search").press_sequentially("no-such-model-anywhere")
    expect(count).to_have_text("0 models")
    empty = page.locator(".catalog-empty")
    expect(empty.get_by_role("heading", name="No model matches these filters")).to_be_visible()
    expect(empty).to_contain_text("Search for a shorter or different word than “no-such-model-anywhere”")
    assert parse_qs(urlsplit(page.url).query, keep_blank_values=True) == {"search": ["no-such-model-anywhere"]}
    screenshot("nothing-matches")
    screenshot("nothing-matches", phone=True, of=empty)

    empty.get_by_role("link", name="Clear all filters").click()
    expect(page).to_have_url(re.compile(r"/models/$"))
    total = LLM.objects.count()
    expect(count).to_have_text(f"{total} models, page 1 of {-(-total // 24)}")
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("")
