from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leger.catalog import views
from leger.catalog.models import LLM, Provider
from leger.catalog.selectors import llm_list
from leger.catalog.templatetags.catalog_format import price_summary, tokens
from leger.providers.services import credential_create
from tests.catalog.factories import make_catalog, make_llm, make_maker, make_provider


@pytest.fixture
def catalog(db: None) -> None:
    make_maker("anthropic", name="Anthropic")
    make_maker("openai", name="OpenAI")
    make_maker("google", name="Google")
    make_llm(
        "claude-3.5-haiku",
        name="Claude 3.5 Haiku",
        maker="anthropic",
        capabilities=["chat", "vision"],
        providers={"anthropic": "anthropic/claude-3-5-haiku", "openrouter": "openrouter/anthropic/claude-3.5-haiku"},
        context_window=200_000,
        input_price=Decimal("0.80"),
        output_price=Decimal("4.00"),
    )
    make_llm(
        "gpt-4o-mini",
        name="GPT-4o mini",
        maker="openai",
        capabilities=["chat", "vision", "code"],
        providers={"openai": "openai/gpt-4o-mini"},
        context_window=128_000,
        input_price=Decimal("0.15"),
        output_price=Decimal("0.60"),
    )
    make_llm(
        "gemini-2.0-flash",
        name="Gemini 2.0 Flash",
        maker="google",
        capabilities=["chat"],
        providers={"gemini": "gemini/gemini-2.0-flash"},
        context_window=1_048_576,
        input_price=Decimal("0.10"),
        output_price=Decimal("0.40"),
    )
    make_llm(
        "gemma-3-4b-it",
        name="Gemma 3 4B Instruct",
        maker="google",
        kind="local",
        capabilities=["chat", "code"],
        context_window=8192,
        hf_repo="google/gemma-3-4b-it-GGUF",
        hf_file="gemma-3-4b-it-Q4_K_M.gguf",
        quantization="Q4_K_M",
        ram_required_gb=6,
        ctx_size=8192,
        ttl=900,
    )


def listed_ids(response) -> list[str]:
    """The models a page shows, in order, read from its cards (an htmx partial carries no template context)."""
    return re.findall(r'<h2><a href="/models/([^/"]+)/">', response.content.decode())


class _Inputs(HTMLParser):
    """The form controls of a page, to check what a reloaded URL pre-fills."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: set[tuple[str, str]] = set()
        self.selected: set[str] = set()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and "checked" in a:
            self.checked.add((a["name"] or "", a["value"] or ""))
        elif tag == "input" and a.get("type") == "search":
            self.values[a["name"] or ""] = a.get("value") or ""
        elif tag == "option" and "selected" in a:
            self.selected.add(a["value"] or "")


def inputs(html: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (None, "not listed"),
        (500, "500"),
        (8192, "8K"),
        (131_072, "131K"),
        (999_999, "1M"),
        (1_048_576, "1M"),
        (10_485_760, "10.5M"),
    ],
)
def test_token_counts_read_the_way_people_say_them(count: int | None, said: str) -> None:
    assert tokens(count) == said


@pytest.mark.parametrize(
    ("input_price", "output_price", "tier", "said"),
    [
        ("0.2500", "1.2500", "", "$0.25 in / $1.25 out"),
        ("15.0000", "75.0000", "", "$15.00 in / $75.00 out"),
        ("0.0150", "0.0600", "", "$0.015 in / $0.06 out"),
        ("0.1200", None, "", "$0.12 in"),
        ("0", "0", "", "free"),
        (None, None, "free", "free"),
        (None, None, "", "not listed"),
    ],
)
def test_prices_read_per_million_tokens(
    input_price: str | None, output_price: str | None, tier: str, said: str
) -> None:
    llm = LLM(
        kind="cloud",
        input_price=None if input_price is None else Decimal(input_price),
        output_price=None if output_price is None else Decimal(output_price),
        price_tier=tier,
    )
    assert price_summary(llm) == said


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_sign_in(client: Client, catalog: None) -> None:
    for path in ("/models/", "/models/claude-3.5-haiku/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_it_lists_every_model_with_its_facts(alice_client: Client, catalog: None) -> None:
    response = alice_client.get("/models/")
    assert response.status_code == 200
    assert set(listed_ids(response)) == {"claude-3.5-haiku", "gpt-4o-mini", "gemini-2.0-flash", "gemma-3-4b-it"}
    page = response.content.decode()
    assert "4 models" in page
    assert "Claude 3.5 Haiku" in page and "by Anthropic" in page
    assert "200K" in page and "1M" in page and "8K" in page
    assert "$0.80 in / $4.00 out" in page
    assert 'class="badge local">Local' in page and 'class="badge cloud">Cloud' in page
    assert "Vision" in page
    # A local model runs on the user's machine: nothing to pay per token.
    assert "free" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("search=haiku", {"claude-3.5-haiku"}),
        ("search=ANTHROPIC", {"claude-3.5-haiku"}),
        ("search=gemma-3", {"gemma-3-4b-it"}),
        ("search=openai/gpt", {"gpt-4o-mini"}),
        ("search=google", {"gemini-2.0-flash", "gemma-3-4b-it"}),
        ("capability=vision", {"claude-3.5-haiku", "gpt-4o-mini"}),
        ("capability=vision&capability=code", {"gpt-4o-mini"}),
        ("capability=code", {"gpt-4o-mini", "gemma-3-4b-it"}),
        ("maker=google", {"gemini-2.0-flash", "gemma-3-4b-it"}),
        ("provider=openrouter", {"claude-3.5-haiku"}),
        ("provider=llama-cpp", {"gemma-3-4b-it"}),
        ("kind=local", {"gemma-3-4b-it"}),
        ("kind=cloud", {"claude-3.5-haiku", "gpt-4o-mini", "gemini-2.0-flash"}),
        ("min_context=200000", {"claude-3.5-haiku", "gemini-2.0-flash"}),
        ("maker=google&kind=cloud&min_context=128000", {"gemini-2.0-flash"}),
    ],
)
def test_each_filter_narrows_the_list(alice_client: Client, catalog: None, query: str, expected: set[str]) -> None:
    response = alice_client.get(f"/models/?{query}")
    assert response.status_code == 200
    ids = listed_ids(response)
    assert len(ids) == len(set(ids)), "a model is listed twice"
    assert set(ids) == expected


def test_the_page_and_the_selector_filter_alike(alice_client: Client, catalog: None) -> None:
    query = "capability=chat&maker=google"
    selected = {llm.id for llm in llm_list(filters=QueryDict(query))}
    assert selected == set(listed_ids(alice_client.get(f"/models/?{query}"))) == {"gemini-2.0-flash", "gemma-3-4b-it"}


def test_the_selector_refuses_a_bad_filter_naming_the_field(catalog: None) -> None:
    with pytest.raises(ValidationError) as refused:
        llm_list(filters={"maker": "nobody", "min_context": "8.5"})
    assert set(refused.value.message_dict) == {"maker", "min_context"}
    assert "There is no maker “nobody”" in refused.value.message_dict["maker"][0]


def test_the_provider_filter_offers_only_providers_of_models(alice_client: Client, catalog: None) -> None:
    make_provider("tavily", name="Tavily", kind="service", env_var="TAVILY_API_KEY")
    page = alice_client.get("/models/").content.decode()
    assert '<option value="openrouter">' in page
    assert "Tavily" not in page


def test_it_sorts_by_context_with_unknown_sizes_last(alice_client: Client, catalog: None) -> None:
    make_llm("mystery", context_window=None)
    response = alice_client.get("/models/?ordering=-context")
    assert listed_ids(response) == ["gemini-2.0-flash", "claude-3.5-haiku", "gpt-4o-mini", "gemma-3-4b-it", "mystery"]
    response = alice_client.get("/models/?ordering=price")
    assert listed_ids(response)[:3] == ["gemini-2.0-flash", "gpt-4o-mini", "claude-3.5-haiku"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("capability=telepathy", "There is no capability “telepathy”"),
        ("maker=nobody", "There is no maker “nobody”"),
        ("provider=nowhere", "There is no provider “nowhere”"),
        ("kind=quantum", "Use kind=cloud or kind=local"),
        ("min_context=lots", "Give the minimum context as a whole number of tokens"),
        ("ordering=vibes", "Sort by one of: name, -context, context, price, -price"),
    ],
)
def test_a_bad_filter_value_says_what_to_change(alice_client: Client, catalog: None, query: str, message: str) -> None:
    for headers in ({}, {"HX-Request": "true"}):
        response = alice_client.get(f"/models/?{query}", headers=headers)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert listed_ids(response) == []


def test_an_htmx_request_gets_only_the_results(alice_client: Client, catalog: None) -> None:
    response = alice_client.get("/models/?kind=local", headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert "Filter models" not in page
    assert "Gemma 3 4B Instruct" in page and "Claude 3.5 Haiku" not in page
    assert "1 model" in page
    assert "HX-Request" in response["Vary"]


def test_a_normal_request_gets_the_whole_page_with_the_filters(alice_client: Client, catalog: None) -> None:
    response = alice_client.get("/models/")
    page = response.content.decode()
    assert page.lstrip().startswith("<!doctype html>")
    assert 'aria-label="Filter models"' in page
    # The form updates the results in place and pushes its URL, so the browser address is shareable.
    assert 'hx-get="/models/"' in page
    assert 'hx-target="#results"' in page
    assert 'hx-push-url="true"' in page
    assert "keyup changed delay:" in page
    assert '<section id="results"' in page
    assert "catalog/catalog.css" in page


def test_the_default_sort_order_is_marked_so_the_pushed_url_leaves_it_out(alice_client: Client, catalog: None) -> None:
    page = alice_client.get("/models/").content.decode()
    select = page.split('<select name="ordering"')[1].split(">")[0]
    assert 'data-default="name"' in select
    assert "data-drop-empty-params" in page and "catalog/catalog.js" in page
    # Without ordering in the URL the list is sorted by name, the same as ?ordering=name.
    assert listed_ids(alice_client.get("/models/")) == listed_ids(alice_client.get("/models/?ordering=name"))


def test_a_history_restore_gets_the_whole_page(alice_client: Client, catalog: None) -> None:
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = alice_client.get("/models/?kind=local", headers=headers)
    assert "<html" in response.content.decode()


def test_reloading_the_pushed_url_renders_the_same_filtered_page(alice_client: Client, catalog: None) -> None:
    url = "/models/?search=&capability=chat&capability=code&maker=google&provider=&kind=local&min_context=8000"
    fragment = alice_client.get(url, headers={"HX-Request": "true"})
    reloaded = alice_client.get(url)
    assert listed_ids(reloaded) == listed_ids(fragment) == ["gemma-3-4b-it"]
    form = inputs(reloaded.content.decode())
    assert {("capability", "chat"), ("capability", "code"), ("kind", "local")} <= form.checked
    assert {"google", "8000"} <= form.selected

    searched = inputs(alice_client.get("/models/?search=haiku").content.decode())
    assert searched.values["search"] == "haiku"


def test_a_shared_url_with_any_minimum_context_shows_it_selected(alice_client: Client, catalog: None) -> None:
    response = alice_client.get("/models/?min_context=150000")
    assert set(listed_ids(response)) == {"claude-3.5-haiku", "gemini-2.0-flash"}
    page = response.content.decode()
    assert inputs(page).selected >= {"150000"}
    assert "150K or more" in page
    assert "150K or more" not in alice_client.get("/models/").content.decode()


def test_it_pages_through_a_long_list_keeping_the_filters(alice_client: Client, db: None) -> None:
    for n in range(30):
        make_llm(f"model-{n:02}", capabilities=["chat"])
    make_llm("no-chat")
    response = alice_client.get("/models/?capability=chat")
    assert len(listed_ids(response)) == views.PAGE_SIZE
    page = response.content.decode()
    assert "30 models, page 1 of 2" in page
    assert 'href="?capability=chat&amp;page=2"' in page
    assert 'hx-get="?capability=chat&amp;page=2"' in page

    second = alice_client.get("/models/?capability=chat&page=2", headers={"HX-Request": "true"})
    assert len(listed_ids(second)) == 30 - views.PAGE_SIZE
    assert "<html" not in second.content.decode()
    assert not set(listed_ids(response)) & set(listed_ids(second))
    assert "Previous page" in second.content.decode()


def test_the_empty_state_says_which_filters_to_loosen(alice_client: Client, catalog: None) -> None:
    response = alice_client.get("/models/?search=llama&kind=cloud&capability=vision&capability=code")
    page = response.content.decode()
    assert "No model matches these filters" in page
    assert "Search for a shorter or different word than “llama”" in page
    assert "Tick fewer capabilities" in page
    assert "Show cloud and local models" in page
    assert "Clear all filters" in page


def test_an_empty_catalog_says_how_to_load_it(alice_client: Client) -> None:
    assert "manage.py load_catalog" in alice_client.get("/models/").content.decode()


def test_it_marks_the_providers_the_user_has_a_key_for(
    alice_client: Client, catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def configured(*, user):
        calls.append(user.username)
        return {"openrouter"}

    monkeypatch.setattr(views, "configured_provider_ids", configured)
    page = alice_client.get("/models/?maker=anthropic").content.decode()
    assert calls == ["alice"], "the keys are looked up once per request"
    haiku = page[page.index("Claude 3.5 Haiku") :]
    assert "Openrouter" in haiku
    assert haiku.count("key configured") == 1
    assert haiku.index("Openrouter") < haiku.index("key configured")


def test_no_key_is_marked_configured_without_one(alice_client: Client, catalog: None) -> None:
    assert "key configured" not in alice_client.get("/models/").content.decode()


def test_the_detail_page_shows_every_provider_and_a_way_to_add_a_key(
    alice_client: Client, catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "configured_provider_ids", lambda *, user: {"anthropic"})
    response = alice_client.get("/models/claude-3.5-haiku/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Claude 3.5 Haiku</h1>" in page
    assert "anthropic/claude-3-5-haiku" in page and "openrouter/anthropic/claude-3.5-haiku" in page
    assert "default" in page
    assert "key configured" in page
    # Only the provider without a key offers to add one, and the link preselects it.
    assert 'href="/providers/?provider=openrouter"' in page
    assert "/providers/?provider=anthropic" not in page
    assert "$0.80" in page and "$4.00" in page and "200K" in page


def test_the_detail_page_costs_a_fixed_number_of_queries(
    alice_client: Client, catalog: None, django_assert_max_num_queries
) -> None:
    # Session, user, the model with its maker, its capabilities, its offerings with their providers, the keys.
    with django_assert_max_num_queries(6):
        page = alice_client.get("/models/claude-3.5-haiku/").content.decode()
    assert "anthropic/claude-3-5-haiku" in page and "openrouter/anthropic/claude-3.5-haiku" in page


def test_the_detail_page_of_a_local_model_shows_how_it_runs(alice_client: Client, catalog: None) -> None:
    page = alice_client.get("/models/gemma-3-4b-it/").content.decode()
    for fact in ("google/gemma-3-4b-it-GGUF", "gemma-3-4b-it-Q4_K_M.gguf", "Q4_K_M", "6 GB", "900 seconds idle"):
        assert fact in page
    assert "no key needed" in page
    assert "/providers/?provider=" not in page


def test_an_unknown_model_is_a_404(alice_client: Client, catalog: None) -> None:
    assert alice_client.get("/models/claude-9/").status_code == 404


def test_each_card_links_to_its_detail_page(alice_client: Client, catalog: None) -> None:
    assert 'href="/models/claude-3.5-haiku/"' in alice_client.get("/models/").content.decode()


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx partial"])
def test_the_list_costs_the_same_queries_for_3_models_as_for_40(
    alice_client: Client, db: None, django_assert_max_num_queries, headers: dict[str, str]
) -> None:
    url = "/models/?capability=chat&provider=openrouter&search=bulk"
    make_catalog(3)
    with CaptureQueriesContext(connection) as small:
        assert alice_client.get(url, headers=headers).status_code == 200
    make_catalog(40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = alice_client.get(url, headers=headers)
    assert len(listed_ids(response)) > 3


def test_a_key_alice_saved_marks_her_provider_and_not_bobs(
    alice, alice_client: Client, bob_client: Client, catalog
) -> None:
    secret = "sk-or-v1-0123456789abcdef0123456789abcdef"
    credential_create(owner=alice, provider=Provider.objects.get(pk="openrouter"), label="personal", value=secret)

    alice_page = alice_client.get("/models/claude-3.5-haiku/").content.decode()
    assert "key configured" in alice_page
    assert "/providers/?provider=openrouter" not in alice_page
    assert "/providers/?provider=anthropic" in alice_page
    assert secret not in alice_page
    assert "key configured" in alice_client.get("/models/?maker=anthropic").content.decode()

    bob_page = bob_client.get("/models/claude-3.5-haiku/").content.decode()
    assert "key configured" not in bob_page
    assert "/providers/?provider=openrouter" in bob_page


def test_local_cards_show_the_memory_they_need_against_this_machines_and_a_link_filters_to_what_fits(
    alice_client: Client, alice, catalog: None
) -> None:
    from leger.tailnet.models import TailnetSettings

    page = alice_client.get("/models/").content.decode()
    assert "about 6 GB" in page
    assert "This machine" not in page, "without the machine's memory there is nothing to compare"

    TailnetSettings.objects.create(
        owner=alice, tailnet="tail1234.ts.net", hostname="box", accelerator="nvidia", memory_gb=32, gpu_memory_gb=4
    )
    page = alice_client.get("/models/").content.decode()
    # On a GPU machine a model must fit the GPU's memory, since llama-server puts every layer there.
    assert "This machine: 4 GB of GPU memory." in page
    assert "over this machine's 4 GB" in page and "More than this machine's 4 GB of GPU memory" in page
    (link,) = re.findall(r'<a href="([^"]*max_memory=4[^"]*)">Show what fits it</a>', page)
    fitting = listed_ids(alice_client.get("/models/" + link.replace("&amp;", "&")))
    assert "gemma-3-4b-it" not in fitting and "claude-3.5-haiku" in fitting

    TailnetSettings.objects.filter(owner=alice).update(gpu_memory_gb=8)
    page = alice_client.get("/models/?kind=local").content.decode()
    assert "about 6 GB" in page and "over this machine" not in page


def test_no_local_model_fits_says_to_allow_more_memory(alice_client: Client, catalog: None) -> None:
    page = alice_client.get("/models/?kind=local&max_memory=2").content.decode()
    assert "No model matches these filters" in page
    assert "Allow more than 2 GB of memory." in page
