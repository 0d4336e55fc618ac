from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.e2e.pages import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_wrong_password_shows_the_error_and_the_right_one_signs_in(page, user: User, screenshot) -> None:
    page.goto("/models/")
    # Every page asks a stranger to sign in first, and brings them back afterwards.
    expect(page).to_have_url("/login/?next=/models/")
    expect(page.get_by_role("heading", name="Sign in to Leger")).to_be_visible()
    screenshot("form")
    screenshot("form", phone=True)

    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    expect(page).to_have_url("/login/?next=/models/")
    screenshot("refused")

    sign_in(page, username=user.username, next_path="/models/")
    expect(page).to_have_url("/models/")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Sections")).to_contain_text(user.username)
