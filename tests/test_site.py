from __future__ import annotations

import re

import pytest
from django.test import Client

SECTION_PAGES = ["/models/", "/providers/", "/marketplace/", "/settings/", "/releases/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", *SECTION_PAGES])
def test_it_sends_anonymous_visitors_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_the_sign_in_page_is_public_and_signs_a_user_in(client: Client, alice) -> None:
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302
    assert response["Location"] == "/"  # the overview: where they stand, and what to do next
    assert client.get("/models/").status_code == 200


@pytest.mark.django_db
def test_a_wrong_password_is_refused_with_a_message(client: Client, alice) -> None:
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


@pytest.mark.django_db
def test_every_page_has_the_five_sections_and_serves_htmx_itself(alice_client: Client) -> None:
    page = alice_client.get("/models/").content.decode()
    for path in SECTION_PAGES:
        assert f'href="{path}"' in page
    assert "/static/django_htmx/htmx-2.min.js" in page
    assert "cdn" not in page.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", *SECTION_PAGES, "/account/"])
def test_every_page_has_one_h1_landmarks_and_a_skip_link_first(alice_client: Client, path: str) -> None:
    page = alice_client.get(path).content.decode()
    assert page.count("<h1") == 1
    body = page[page.index("<body") :]
    # The first link on the page skips the navigation to the main content, which can take the focus.
    assert re.search(r"<a [^>]*href=\"([^\"]+)\"", body)[1] == "#main"
    assert '<main id="main" tabindex="-1">' in page
    assert "<header" in page and '<nav class="nav" aria-label="Sections">' in page


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "current"), [("/", "/"), ("/models/", "/models/"), ("/releases/", "/releases/")])
def test_the_nav_marks_the_current_section_and_only_it(alice_client: Client, path: str, current: str) -> None:
    page = alice_client.get(path).content.decode()
    assert re.findall(r'<li><a href="([^"]+)" aria-current="page">', page) == [current]
    assert '<a href="/">Overview</a>' in page or current == "/"


@pytest.mark.django_db
def test_healthz_answers_without_a_login(client: Client) -> None:
    response = client.get("/healthz")
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_the_openapi_schema_is_served_without_a_login(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
