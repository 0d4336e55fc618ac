from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.audit import AccessSource
from leger.providers.models import AuditEntry, Credential
from leger.providers.usage import register_credential_usage, unregister_credential_usage

from .conftest import a_key

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def provider_card(page: str, provider_id: str) -> str:
    """The markup of one provider's card on /providers/."""
    match = re.search(
        rf'<li class="card providers-provider" id="provider-{provider_id}">(.*?)\n      </li>', page, re.S
    )
    assert match, f"no card for {provider_id}"
    return match.group(1)


def test_it_lists_llm_providers_and_service_keys_apart_and_says_which_have_a_key(
    alice_client: Client, alice_key, anthropic: Provider, mistral: Provider, tavily: Provider, llama_cpp: Provider
) -> None:
    page = alice_client.get("/providers/").content.decode()
    llm_part, service_part = page.split('id="group-service-keys"')
    assert "LLM providers" in llm_part and "Anthropic" in llm_part and "Mistral" in llm_part
    assert "Tavily" in service_part and "Mistral" not in service_part
    assert "llama.cpp" not in page  # local providers take no key
    assert "key configured" in provider_card(page, "anthropic")
    assert "key configured" not in provider_card(page, "mistral")
    assert "no key yet" in provider_card(page, "tavily")
    credential, value = alice_key
    assert credential.masked in provider_card(page, "anthropic")
    assert "anthropic_api_key" in page
    assert value not in page


def test_a_provider_in_the_query_is_preselected(alice_client: Client, anthropic: Provider, mistral: Provider) -> None:
    page = alice_client.get("/providers/?provider=mistral").content.decode()
    assert re.search(r'<option value="mistral" selected>', page)
    assert not re.search(r'<option value="anthropic" selected>', page)
    # An unknown id is ignored rather than an error.
    assert alice_client.get("/providers/?provider=nope").status_code == 200


def test_adding_a_key_with_htmx_swaps_in_the_updated_list(alice_client: Client, alice: User, anthropic) -> None:
    value = a_key()
    response = alice_client.post("/providers/add/", {"provider": "anthropic", "label": "work", "value": value}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body  # a fragment, not the page
    assert "Saved your Anthropic key “work” as secret anthropic_api_key" in body
    assert "key configured" in provider_card(body, "anthropic")
    assert value not in body
    credential = Credential.objects.get(owner=alice)
    assert crypto.decrypt(credential.value) == value
    assert credential.masked in body


def test_adding_a_key_without_htmx_redirects_back_with_a_message(alice_client: Client, anthropic) -> None:
    value = a_key()
    response = alice_client.post("/providers/add/", {"provider": "anthropic", "label": "", "value": value}, follow=True)
    assert response.redirect_chain[0][0].startswith("/providers/#credential-")
    assert "Saved your Anthropic key “default”" in response.content.decode()
    assert value not in response.content.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "Paste your Anthropic key; this field is empty."),
        ("sk-ant-api03-abcdefghij klmnopqrstuvwxyz", "spaces or line breaks"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n", "spaces or line breaks"),
        (
            "sk-proj-abcdefghijklmnopqrstuvwxyz01234",
            "Anthropic keys start with &quot;sk-ant-&quot; and this one does not",
        ),
    ],
)
def test_a_refused_key_shows_the_message_keeps_the_label_and_never_echoes_the_key(
    alice_client: Client, anthropic, value: str, message: str
) -> None:
    response = alice_client.post(
        "/providers/add/", {"provider": "anthropic", "label": "my work key", "value": value}, **HTMX
    )
    body = response.content.decode()
    assert message in body
    assert 'value="my work key"' in body
    if value.strip():
        assert value.strip() not in body
    assert re.search(r'<input type="password" name="value"[^>]*aria-invalid="true"', body)
    assert not re.search(r'<input type="password" name="value"[^>]*value=', body)
    assert Credential.objects.count() == 0


def test_a_bad_label_or_missing_provider_is_refused_next_to_its_field(alice_client: Client, anthropic) -> None:
    body = alice_client.post(
        "/providers/add/", {"provider": "", "label": "a", "value": a_key()}, **HTMX
    ).content.decode()
    assert "Choose the provider this key is for." in body
    body = alice_client.post(
        "/providers/add/", {"provider": "anthropic", "label": "x" * 120, "value": a_key()}, **HTMX
    ).content.decode()
    assert "Keep the label to 100 characters or fewer (this one has 120)." in body
    assert Credential.objects.count() == 0


def test_a_form_refused_for_its_label_keeps_the_label_and_asks_for_the_key_again(alice_client: Client, anthropic):
    key = a_key()
    body = alice_client.post(
        "/providers/add/", {"provider": "anthropic", "label": "x" * 120, "value": key}, **HTMX
    ).content.decode()

    assert key not in body
    assert 'value="' + "x" * 120 + '"' in body
    value_field = re.search(r'<input type="password" name="value"[^>]*>', body).group(0)
    assert 'aria-describedby="id_value_helptext"' in value_field
    helptext = body.split('id="id_value_helptext">')[1].split("</small>")[0]
    assert helptext == "Paste the key again: a key is never sent back to the page."
    assert Credential.objects.count() == 0


def test_with_no_keys_the_page_says_what_a_key_is_for_above_the_add_form(alice_client: Client, alice, anthropic):
    page = alice_client.get("/providers/").content.decode()
    empty = page.split('id="no-keys"')[1].split("</div>")[0]
    assert "You have no keys yet." in empty and "LiteLLM uses it" in empty
    assert 'href="/models/"' in empty
    assert page.index('id="no-keys"') < page.index('action="/providers/add/"')

    services.credential_create(owner=alice, provider=anthropic, label="work", value=a_key())
    assert 'id="no-keys"' not in alice_client.get("/providers/").content.decode()


def test_renaming_swaps_the_row_for_a_form_and_back(alice_client: Client, alice_key) -> None:
    credential, value = alice_key
    url = f"/providers/keys/{credential.pk}/rename/"
    form = alice_client.get(url, **HTMX).content.decode()
    assert form.lstrip().startswith(f'<li class="providers-key providers-key-editing" id="credential-{credential.pk}">')
    assert 'value="work"' in form
    row = alice_client.post(url, {"label": "office"}, **HTMX).content.decode()
    assert "<strong>office</strong>" in row
    assert "Renamed to “office”." in row
    assert value not in row
    credential.refresh_from_db()
    assert (credential.label, credential.secret_name) == ("office", "anthropic_api_key")


def test_a_refused_rename_keeps_the_typed_label_and_the_old_one(alice_client: Client, alice, alice_key, anthropic):
    credential, _ = alice_key
    services.credential_create(owner=alice, provider=anthropic, label="home", value=a_key())
    body = alice_client.post(f"/providers/keys/{credential.pk}/rename/", {"label": "home"}, **HTMX).content.decode()
    assert "You already have a key labelled “home” for Anthropic" in body
    assert 'value="home"' in body
    credential.refresh_from_db()
    assert credential.label == "work"


def test_replacing_a_key_stores_the_new_value_and_never_echoes_either(alice_client: Client, alice_key) -> None:
    credential, old_value = alice_key
    url = f"/providers/keys/{credential.pk}/replace/"
    assert 'type="password"' in alice_client.get(url, **HTMX).content.decode()
    bad = "sk-ant-api03-has a space-abcdefghijk"
    body = alice_client.post(url, {"value": bad}, **HTMX).content.decode()
    assert "spaces or line breaks" in body
    assert bad not in body
    credential.refresh_from_db()
    assert crypto.decrypt(credential.value) == old_value

    new_value = a_key()
    row = alice_client.post(url, {"value": new_value}, **HTMX).content.decode()
    assert "Key replaced" in row
    assert new_value not in row and old_value not in row
    credential.refresh_from_db()
    assert crypto.decrypt(credential.value) == new_value
    assert credential.masked in row


def test_deleting_asks_first_and_names_the_drafts_that_use_the_key(alice_client: Client, alice_key) -> None:
    credential, _ = alice_key

    def drafts(candidate: Credential) -> list[str]:
        return ["draft release 'home'", "draft release 'lab'"] if candidate.pk == credential.pk else []

    register_credential_usage(drafts)
    try:
        confirm = alice_client.get(f"/providers/keys/{credential.pk}/delete/", **HTMX).content.decode()
    finally:
        unregister_credential_usage(drafts)
    assert "This key is in use." in confirm
    assert "<li>draft release &#x27;home&#x27;</li>" in confirm
    assert "<li>draft release &#x27;lab&#x27;</li>" in confirm
    assert "Delete it anyway" in confirm
    assert Credential.objects.filter(pk=credential.pk).exists()

    after = alice_client.post(f"/providers/keys/{credential.pk}/delete/", **HTMX).content.decode()
    assert "Deleted your Anthropic key “work”." in after
    assert "key configured" not in provider_card(after, "anthropic")
    assert not Credential.objects.filter(pk=credential.pk).exists()


def test_deleting_an_unused_key_says_nothing_uses_it(alice_client: Client, alice_key) -> None:
    credential, _ = alice_key
    confirm = alice_client.get(f"/providers/keys/{credential.pk}/delete/").content.decode()
    assert "Nothing uses this key at the moment." in confirm
    assert "<html" in confirm  # a page of its own without htmx
    response = alice_client.post(f"/providers/keys/{credential.pk}/delete/")
    assert response.status_code == 302
    assert not Credential.objects.exists()


def test_cancel_brings_the_row_back(alice_client: Client, alice_key) -> None:
    credential, _ = alice_key
    row = alice_client.get(f"/providers/keys/{credential.pk}/", **HTMX).content.decode()
    assert row.lstrip().startswith(f'<li class="providers-key" id="credential-{credential.pk}">')
    assert alice_client.get(f"/providers/keys/{credential.pk}/").status_code == 302


@pytest.mark.parametrize("action", ["", "rename/", "replace/", "delete/"])
def test_another_users_key_is_404_on_every_page(alice_client: Client, bob_key, action: str) -> None:
    credential, value = bob_key
    url = f"/providers/keys/{credential.pk}/{action}"
    assert alice_client.get(url, **HTMX).status_code == 404
    assert alice_client.get(url).status_code == 404
    if action:
        assert alice_client.post(url, {"label": "mine", "value": a_key()}, **HTMX).status_code == 404
    credential.refresh_from_db()
    assert credential.label == "bob's"
    assert crypto.decrypt(credential.value) == value


def test_another_users_keys_never_show_on_the_page(alice_client: Client, bob_key) -> None:
    credential, _ = bob_key
    page = alice_client.get("/providers/").content.decode()
    assert credential.masked not in page
    assert "bob&#x27;s" not in page
    assert "key configured" not in page


def test_the_activity_page_shows_each_read_of_the_users_own_secrets(
    alice_client: Client, alice: User, alice_key, bob: User, bob_key
) -> None:
    credential, _ = alice_key
    source = AccessSource(channel="api", ip="203.0.113.9", user_agent="leger-cli/0.4")
    services.credential_reveal(credential=credential, actor=alice, source=source)
    services.credential_reveal(credential=bob_key[0], actor=bob, source=AccessSource(channel="api", ip="198.51.100.1"))
    page = alice_client.get("/providers/activity/").content.decode()
    assert "Value read" in page
    assert "anthropic_api_key" in page
    assert "API · 203.0.113.9 · leger-cli/0.4" in page
    assert "198.51.100.1" not in page  # bob's read is bob's business


def test_the_list_page_query_count_does_not_grow_with_keys(
    alice_client: Client, alice: User, anthropic, mistral, tavily, django_assert_max_num_queries
) -> None:
    services.credential_create(owner=alice, provider=anthropic, label="one", value=a_key())
    with django_assert_max_num_queries(8) as few:
        alice_client.get("/providers/")
    for number in range(12):
        services.credential_create(owner=alice, provider=anthropic, label=f"k{number}", value=a_key())
        services.credential_create(owner=alice, provider=tavily, label=f"k{number}", value=a_key("tvly-"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = alice_client.get("/providers/").content.decode()
    assert page.count('class="providers-key"') == 25


def test_the_activity_page_query_count_does_not_grow_with_entries(
    alice_client: Client, alice: User, alice_key, django_assert_max_num_queries
) -> None:
    credential, _ = alice_key
    with django_assert_max_num_queries(8) as few:
        alice_client.get("/providers/activity/")
    for _ in range(30):
        services.credential_reveal(credential=credential, actor=alice, source=AccessSource(channel="api"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        alice_client.get("/providers/activity/")


def test_the_audit_log_records_page_actions_from_the_browser(alice_client: Client, alice_key) -> None:
    credential, _ = alice_key
    alice_client.post(f"/providers/keys/{credential.pk}/rename/", {"label": "office"}, HTTP_USER_AGENT="Firefox/140")
    renamed = AuditEntry.objects.get(action="renamed")
    assert (renamed.channel, renamed.ip, renamed.user_agent, renamed.actor_name) == (
        "web",
        "127.0.0.1",
        "Firefox/140",
        "alice",
    )


def test_a_key_another_section_still_holds_is_not_deleted_and_the_page_says_why(
    alice_client: Client, alice_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db.models import ProtectedError

    credential, _ = alice_key

    def protected_delete(*args: object, **kwargs: object) -> None:
        raise ProtectedError("protected", {"Tavily selection of alice"})

    monkeypatch.setattr(Credential, "delete", protected_delete)
    body = alice_client.post(f"/providers/keys/{credential.pk}/delete/", **HTMX).content.decode()
    assert "This key is still in use: Tavily selection of alice. Remove it there first" in body
    assert Credential.objects.filter(pk=credential.pk).exists()
