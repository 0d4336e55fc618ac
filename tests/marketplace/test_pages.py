"""The /marketplace pages: browse and filter, configure with inline validation, switch a slot's provider."""

from __future__ import annotations

from django.test import Client

from leger.marketplace import services
from leger.marketplace.models import Selection
from tests.marketplace.factories import a_key, make_credential, make_service

INDEX = "/marketplace/"


def configure_url(service_id: str) -> str:
    return f"/marketplace/services/{service_id}/"


def test_the_page_groups_services_by_category_and_shows_each_slots_provider(
    alice_client: Client, alice, qdrant, chroma, tavily
) -> None:
    services.selection_create(owner=alice, service=qdrant)

    page = alice_client.get(INDEX).content.decode()

    assert '<h2 id="category-vector-database">Vector databases</h2>' in page
    assert '<h2 id="category-web-search">Web search</h2>' in page
    slot_row = page.split('<tr id="slot-vector-database">')[1].split("</tr>")[0]
    assert "Qdrant" in slot_row
    assert "None (Open WebUI's default)" in page.split('<tr id="slot-web-search">')[1].split("</tr>")[0]
    assert "needs a Tavily key" in page


def test_filters_answer_htmx_with_the_results_only_and_work_as_a_shared_url(
    alice_client: Client, qdrant, chroma, tavily
) -> None:
    fragment = alice_client.get(INDEX, {"category": "web-search"}, HTTP_HX_REQUEST="true").content.decode()
    shared = alice_client.get(INDEX, {"slot": "vector-database", "q": "chro"}).content.decode()

    assert "<html" not in fragment
    assert 'id="service-tavily-search"' in fragment and 'id="service-qdrant"' not in fragment
    assert "<html" in shared
    assert 'id="service-chroma"' in shared and 'id="service-qdrant"' not in shared
    assert 'value="chro"' in shared


def test_the_page_costs_the_same_queries_for_more_services_and_selections(
    alice_client: Client, alice, vector_slot, django_assert_max_num_queries
) -> None:
    def add(numbers: range) -> None:
        for number in numbers:
            service = make_service(f"db-{number}", slot=vector_slot)
            Selection.objects.create(owner=alice, service=service, active=False)

    add(range(2))
    with django_assert_max_num_queries(12) as few:
        alice_client.get(INDEX)
    baseline = len(few.captured_queries)
    add(range(2, 12))
    with django_assert_max_num_queries(baseline):
        page = alice_client.get(INDEX)
    assert page.content.decode().count('class="card service"') == 12


def test_configuring_a_service_saves_typed_values(alice_client: Client, alice, qdrant) -> None:
    response = alice_client.post(
        configure_url("qdrant"), {"QDRANT_TIMEOUT": "30", "QDRANT_ON_DISK": "on", "active": "on"}
    )

    assert response.status_code == 302
    selection = Selection.objects.get(owner=alice, service=qdrant)
    assert selection.active
    assert selection.values == {"QDRANT_TIMEOUT": 30, "QDRANT_ON_DISK": True}


def test_the_page_refuses_a_second_active_provider_naming_the_slot_and_the_incumbent(
    alice_client: Client, alice, qdrant, chroma
) -> None:
    services.selection_create(owner=alice, service=qdrant)

    response = alice_client.post(configure_url("chroma"), {"active": "on"})

    assert response.status_code == 400
    page = response.content.decode()
    # Next to the box it is about, read out with it; not above the form.
    errors = page.split('<ul id="errors-active" class="errorlist">')[1].split('<li class="slot-taken-next">')[0]
    assert "The vector database slot already has an active provider: Qdrant." in errors
    box = page.split('id="id_active"')[0].rsplit("<input", 1)[1] + page.split('id="id_active"')[1].split(">")[0]
    assert 'aria-describedby="id_active_helptext errors-active"' in box and 'aria-invalid="true"' in box
    assert "checked" in box  # what the person chose is kept
    assert "already has an active provider" not in page.split('id="errors-form"')[1].split("</div>")[0]
    assert page.count("already has an active provider") == 1
    # What to do: switch in one go (saying what it costs), or open the other one, or save this one inactive.
    next_steps = page.split('<li class="slot-taken-next">')[1].split("</ul>")[0]
    assert '<button class="button primary" type="submit" name="switch" value="1">' in next_steps
    assert "Save and make Chroma the vector database" in next_steps
    assert "Qdrant is deactivated and Chroma becomes the vector database." in next_steps
    assert '<a href="/marketplace/services/qdrant/">Open Qdrant</a>' in next_steps
    assert "untick the box and save" in next_steps
    assert not Selection.objects.filter(service=chroma).exists()


def test_save_and_switch_saves_the_configuration_and_moves_the_slot_in_one_go(
    alice_client: Client, alice, qdrant, chroma
) -> None:
    services.selection_create(owner=alice, service=qdrant)

    response = alice_client.post(configure_url("chroma"), {"active": "on", "switch": "1"}, follow=True)

    assert response.status_code == 200
    assert "Qdrant is deactivated and Chroma becomes the vector database." in response.content.decode()
    active = Selection.objects.filter(owner=alice, active=True).values_list("service_id", flat=True)
    assert list(active) == ["chroma"]
    assert Selection.objects.get(owner=alice, service=qdrant).active is False


def test_save_and_switch_saves_nothing_when_a_value_is_refused(alice_client: Client, alice, qdrant, chroma) -> None:
    mine = services.selection_create(owner=alice, service=chroma)

    response = alice_client.post(configure_url("qdrant"), {"QDRANT_TIMEOUT": "soon", "active": "on", "switch": "1"})

    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode().split('id="errors-QDRANT_TIMEOUT"')[1]
    assert not Selection.objects.filter(service=qdrant).exists()
    assert Selection.objects.get(pk=mine.pk).active


def test_inline_validation_puts_the_slot_refusal_next_to_the_box(alice_client: Client, alice, qdrant, chroma) -> None:
    services.selection_create(owner=alice, service=qdrant)

    fragment = alice_client.post(
        f"{configure_url('chroma')}validate/", {"active": "on"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    errors = fragment.split('<ul id="errors-active" class="errorlist" hx-swap-oob="true">')[1]
    errors = errors.split("</li></ul>")[0]
    assert "already has an active provider: Qdrant" in errors
    assert "Save and make Chroma the vector database" in errors
    assert "already has an active provider" not in fragment.split('id="errors-form"')[1].split("</div>")[0]


def test_each_setting_is_labelled_in_words_with_its_variable_name_as_a_hint(alice_client: Client, qdrant) -> None:
    page = alice_client.get(configure_url("qdrant")).content.decode()

    assert '<label for="id_QDRANT_TIMEOUT">Timeout</label> <code class="var-name">QDRANT_TIMEOUT</code>' in page
    assert '<label for="id_QDRANT_ON_DISK">Vectors on disk</label> <code class="var-name">QDRANT_ON_DISK</code>' in page
    # The slot's shared setting has no label in this test's data: its variable name stands in.
    assert '<label for="id_RAG_TOP_K">RAG_TOP_K</label>' in page
    assert '<label for="id_QDRANT_TIMEOUT">QDRANT_TIMEOUT' not in page


def test_a_bad_value_is_shown_next_to_its_field_and_what_was_typed_is_kept(alice_client: Client, qdrant) -> None:
    response = alice_client.post(
        configure_url("qdrant"), {"QDRANT_TIMEOUT": "soon", "QDRANT_COLLECTION_PREFIX": "mine"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    errors = page.split('id="errors-QDRANT_TIMEOUT"')[1].split("</ul>")[0]
    assert "Enter a whole number (not &#x27;soon&#x27;)." in errors
    assert 'value="soon"' in page and 'value="mine"' in page
    assert not Selection.objects.exists()


def test_a_refused_form_asks_for_a_typed_secret_again_and_never_echoes_it(alice_client: Client, vector_slot) -> None:
    variables = (
        {"name": "MILVUS_TOKEN", "label": "Token", "type": "secret", "help": "Token of the server."},
        {"name": "MILVUS_HNSW_M", "label": "HNSW graph degree", "type": "int", "help": "Graph degree."},
    )
    make_service("milvus", name="Milvus", slot=vector_slot, variables=variables)
    token = "milvus-token-" + a_key()

    response = alice_client.post(configure_url("milvus"), {"MILVUS_TOKEN": token, "MILVUS_HNSW_M": "many"})

    page = response.content.decode()
    assert response.status_code == 400
    assert token not in page
    assert 'value="many"' in page
    help_text = page.split('id="id_MILVUS_TOKEN_helptext">')[1].split("</p>")[0]
    assert help_text == "Type it again: a secret is never sent back to the page."
    assert "Type it again" not in alice_client.get(configure_url("milvus")).content.decode()
    assert not Selection.objects.exists()


def test_inline_validation_answers_htmx_with_each_fields_errors_and_saves_nothing(alice_client: Client, qdrant) -> None:
    response = alice_client.post(
        f"{configure_url('qdrant')}validate/", {"QDRANT_TIMEOUT": "0", "active": "on"}, HTTP_HX_REQUEST="true"
    )

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    timeout_errors = '<ul id="errors-QDRANT_TIMEOUT" class="errorlist" hx-swap-oob="true">'
    assert timeout_errors + "<li>Enter a value of at least 1 (not 0).</li></ul>" in fragment
    assert '<ul id="errors-QDRANT_ON_DISK" class="errorlist" hx-swap-oob="true"></ul>' in fragment
    assert not Selection.objects.exists()


def test_the_configure_form_lists_only_the_users_own_keys_masked(alice_client: Client, alice, bob, tavily) -> None:
    value = a_key()
    mine = make_credential(alice, tavily.key_provider, label="mine", value=value)
    bobs = make_credential(bob, tavily.key_provider, label="bobs")

    page = alice_client.get(configure_url("tavily-search")).content.decode()

    assert f'<option value="{mine.pk}" selected>mine ({mine.masked})</option>' in page
    assert f'value="{bobs.pk}"' not in page
    assert value not in page


def test_switching_asks_first_then_moves_the_slot_and_says_what_it_costs(alice_client: Client, alice, qdrant, chroma):
    services.selection_create(owner=alice, service=qdrant)
    waiting = services.selection_create(owner=alice, service=chroma, active=False)
    url = f"/marketplace/selections/{waiting.pk}/switch/"

    confirm = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    done = alice_client.post(url, follow=True).content.decode()

    assert "Make Chroma the vector database?" in confirm
    assert "re-indexed" in confirm
    assert "Qdrant is deactivated and Chroma becomes the vector database." in done
    assert list(Selection.objects.filter(owner=alice, active=True).values_list("service_id", flat=True)) == ["chroma"]


def test_another_users_selection_is_404_on_every_page(client: Client, bob_client: Client, alice, qdrant) -> None:
    selection = services.selection_create(owner=alice, service=qdrant)

    for path in ("switch", "deactivate", "delete"):
        assert bob_client.post(f"/marketplace/selections/{selection.pk}/{path}/").status_code == 404
    assert bob_client.get(f"/marketplace/selections/{selection.pk}/switch/").status_code == 404
    assert Selection.objects.get(pk=selection.pk).active


def test_with_nothing_configured_the_page_says_what_a_slot_does_until_one_is(alice_client: Client, alice, qdrant):
    assert "You have configured no add-on service yet" in alice_client.get(INDEX).content.decode()
    services.selection_create(owner=alice, service=qdrant, active=False)
    assert "You have configured no add-on service yet" not in alice_client.get(INDEX).content.decode()


def test_deleting_asks_first_saying_what_is_lost_and_deletes_only_when_confirmed(
    alice_client: Client, alice, qdrant
) -> None:
    selection = services.selection_create(owner=alice, service=qdrant)
    url = f"/marketplace/selections/{selection.pk}/delete/"

    page = alice_client.get(configure_url("qdrant")).content.decode()
    assert f'hx-get="{url}" hx-target="#delete-confirm"' in page
    confirm = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    whole = alice_client.get(url).content.decode()

    assert "<html" not in confirm and "<html" in whole
    assert "Delete your Qdrant configuration?" in confirm
    assert "this cannot be undone" in confirm
    assert "The vector database slot is left empty" in confirm
    assert f'<form method="post" action="{url}">' in confirm
    assert Selection.objects.filter(pk=selection.pk).exists()

    done = alice_client.post(url, follow=True).content.decode()
    assert "Your Qdrant configuration is deleted." in done
    assert not Selection.objects.filter(pk=selection.pk).exists()


def test_deactivating_and_deleting(alice_client: Client, alice, qdrant) -> None:
    selection = services.selection_create(owner=alice, service=qdrant)

    alice_client.post(f"/marketplace/selections/{selection.pk}/deactivate/")
    assert not Selection.objects.get(pk=selection.pk).active
    alice_client.post(f"/marketplace/selections/{selection.pk}/delete/")
    assert not Selection.objects.exists()


def test_the_pages_need_a_signed_in_user(client: Client, qdrant) -> None:
    for path in (INDEX, configure_url("qdrant")):
        assert client.get(path)["Location"].startswith("/login/")
