from __future__ import annotations

import re
import secrets

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leger.providers.models import Credential
from tests.e2e.pages import (
    assert_accessible_basics,
    duplicate_ids,
    focus_is_visible,
    mark_document,
    record_html,
    same_document,
    tab_to,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def a_key() -> str:
    # Different on every run, so finding it anywhere on a page means a leak.
    return "sk-ant-api03-" + secrets.token_urlsafe(36).replace("-", "x").replace("_", "y")


def what_the_page_holds(page: Page) -> str:
    """The DOM as markup plus every form field's live value (typed values are not in the markup)."""
    values = page.evaluate("[...document.querySelectorAll('input, textarea')].map((el) => el.value).join('\\n')")
    return page.content() + "\n" + values


def test_a_key_is_added_renamed_replaced_and_deleted_and_only_ever_shown_masked(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    page = signed_in
    received = record_html(page)
    first, second = a_key(), a_key()

    page.goto("/providers/?provider=anthropic")
    assert_accessible_basics(page)
    screenshot("empty")
    screenshot("empty", phone=True)
    mark_document(page)
    add = page.get_by_role("region", name="Add a key")
    anthropic = page.locator("#provider-anthropic")
    expect(anthropic).to_contain_text("no key yet")
    # With no key yet, the page says what one is for, above the form that adds it.
    expect(add.get_by_text("You have no keys yet.")).to_be_visible()

    # Refused for its label: the label stays to correct, and the page asks for the key again (never echoed).
    add.get_by_label("Label").fill("w" * 101)
    add.get_by_label("Key", exact=True).fill(first)
    add.get_by_role("button", name="Save key").click()
    expect(add.get_by_role("alert")).to_contain_text("Keep the label to 100 characters or fewer")
    expect(add.get_by_label("Label")).to_have_value("w" * 101)
    expect(add.get_by_label("Label")).to_have_attribute("aria-invalid", "true")
    expect(add.get_by_label("Key", exact=True)).to_have_value("")
    expect(add.get_by_label("Key", exact=True)).to_have_accessible_description(re.compile("Paste the key again"))
    assert not Credential.objects.exists()
    screenshot("refused-label", phone=True, of=add)

    # A pasted key with a line break in it is refused next to the field, and nothing is saved.
    add.get_by_label("Label").fill("work")
    add.get_by_label("Key", exact=True).fill(first[:20] + " " + first[20:])
    add.get_by_role("button", name="Save key").click()
    expect(add.get_by_role("alert")).to_contain_text("The key has spaces or line breaks in it")
    expect(add.get_by_label("Label")).to_have_value("work")
    assert not Credential.objects.exists()
    screenshot("refused", of=add)

    add.get_by_label("Key", exact=True).fill(first)
    add.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status").filter(has_text="Saved your Anthropic key “work”")).to_be_visible()
    expect(page.get_by_text("You have no keys yet.")).to_have_count(0)
    key_row = anthropic.get_by_role("listitem").filter(has_text="work")
    expect(key_row.locator(".providers-masked")).to_have_text(f"sk-ant-…{first[-4:]}")
    expect(anthropic).to_contain_text("key configured")
    assert first not in what_the_page_holds(page)
    assert same_document(page), "saving a key reloaded the whole page"
    screenshot("added", of=anthropic)

    key_row.get_by_role("link", name="Rename key “work”").click()
    new_label = page.get_by_role("textbox", name="New label")
    expect(new_label).to_be_focused()
    new_label.fill("personal")
    page.get_by_role("button", name="Save label").click()
    key_row = anthropic.get_by_role("listitem").filter(has_text="personal")
    expect(key_row.get_by_role("status")).to_have_text("Renamed to “personal”.")
    expect(key_row.locator(".providers-masked")).to_have_text(f"sk-ant-…{first[-4:]}")

    key_row.get_by_role("link", name="Replace key “personal”").click()
    new_key = page.get_by_label("New key")
    expect(new_key).to_be_focused()
    assert focus_is_visible(new_key), "the focused key field shows no focus ring"
    new_key.fill(second)
    screenshot("replacing", of=anthropic)
    page.get_by_role("button", name="Replace key").click()
    expect(key_row.get_by_role("status")).to_have_text("Key replaced; the next release uses the new one.")
    expect(key_row.locator(".providers-masked")).to_have_text(f"sk-ant-…{second[-4:]}")
    assert first not in what_the_page_holds(page) and second not in what_the_page_holds(page)

    # The catalog now knows this user holds an Anthropic key.
    page.goto("/models/claude-3-haiku/")
    expect(page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Anthropic"))).to_contain_text(
        "key configured"
    )

    # Deleting asks first; cancelling keeps the key.
    page.goto("/providers/")
    key_row = page.locator("#provider-anthropic").get_by_role("listitem").filter(has_text="personal")
    assert tab_to(page, key_row.get_by_role("link", name="Delete key “personal”")), "Delete cannot be reached with Tab"
    key_row.get_by_role("link", name="Delete key “personal”").click()
    expect(page.get_by_text("This cannot be undone")).to_be_visible()
    screenshot("confirm-delete", of=page.locator("#provider-anthropic"))
    page.get_by_role("link", name="Cancel").click()
    expect(key_row.locator(".providers-masked")).to_have_text(f"sk-ant-…{second[-4:]}")
    assert Credential.objects.filter(owner=user).count() == 1

    key_row.get_by_role("link", name="Delete key “personal”").click()
    page.get_by_role("button", name="Delete key").click()
    expect(page.get_by_role("status").filter(has_text="Deleted your Anthropic key “personal”.")).to_be_visible()
    expect(page.locator("#provider-anthropic")).to_contain_text("no key yet")
    assert not Credential.objects.filter(owner=user).exists()

    # No answer the browser received, page or fragment, ever carried either key.
    assert len(received) > 10
    for url, body in received:
        assert first not in body and second not in body, f"{url} sent a key back"


def test_the_rename_and_replace_forms_label_their_own_fields(signed_in: Page, user: User, catalog) -> None:
    # Opened inside /providers/ beside the add form, whose fields are also a label and a key.
    from leger.catalog.models import Provider
    from leger.providers import services

    services.credential_create(owner=user, provider=Provider.objects.get(pk="anthropic"), label="work", value=a_key())
    page = signed_in
    page.goto("/providers/")
    page.get_by_role("link", name="Rename key “work”").click()
    expect(page.get_by_role("textbox", name="New label")).to_be_focused()
    assert duplicate_ids(page) == []
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Replace key “work”").click()
    expect(page.get_by_label("New key")).to_be_focused()
    assert duplicate_ids(page) == []


def test_a_provider_that_needs_more_than_a_key_asks_for_each_field_only_when_chosen(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    page = signed_in
    page.goto("/providers/")
    azure_fields = page.locator("[data-key-fields-for='azure']")
    bedrock_fields = page.locator("[data-key-fields-for='aws-bedrock']")
    expect(azure_fields).to_be_hidden()
    page.get_by_label("Provider", exact=True).select_option("azure")
    expect(azure_fields).to_be_visible()
    expect(bedrock_fields).to_be_hidden()
    expect(page.get_by_label("API version")).to_have_value("2024-10-21")
    key = secrets.token_hex(16)
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_role("button", name="Save key").click()
    # The endpoint is missing: said next to it, the key asked for again, the version kept.
    endpoint = page.get_by_label("Endpoint")
    expect(page.get_by_text("Enter the endpoint of your Azure OpenAI key")).to_be_visible()
    expect(page.get_by_text("Enter the endpoint of your Azure OpenAI key")).to_be_in_viewport()
    expect(page.get_by_label("API version")).to_have_value("2024-10-21")
    assert key not in what_the_page_holds(page)
    screenshot("azure-refused", of=page.locator("#add-key"))
    endpoint.fill("https://leger-test.openai.azure.com")
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status").filter(has_text="Saved your Azure OpenAI key")).to_be_visible()
    saved = Credential.objects.get(owner=user, provider_id="azure")
    assert saved.key_settings == {"api_base": "https://leger-test.openai.azure.com", "api_version": "2024-10-21"}
    expect(page.locator(f"#credential-{saved.pk}")).to_contain_text("https://leger-test.openai.azure.com")
    screenshot("azure-saved", of=page.locator(f"#credential-{saved.pk}"))
    page.get_by_label("Provider", exact=True).select_option("aws-bedrock")
    expect(bedrock_fields).to_be_visible()
    screenshot("bedrock-fields", phone=True, of=page.locator("#add-key"))
