"""Sign-in under attack (django-axes), and API tokens a user can see, replace and revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

RIGHT = "alice-password-1"


def sign_in(client: Client, password: str, *, username: str = "alice", **extra: str):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def get_token(client: APIClient, password: str, *, username: str = "alice"):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def fail_until_locked(client: Client) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong")


def end_the_cool_off() -> None:
    """As if the cool-off had passed: the failures are moved back in time, past it."""
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(days=1))


# --- the sign-in page -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_few_wrong_passwords_are_refused_without_locking(client: Client, alice: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "wrong")
        assert response.status_code == 200
        assert b"enter a correct username and password" in response.content
    assert sign_in(client, RIGHT).status_code == 302


@pytest.mark.django_db
def test_too_many_wrong_passwords_lock_the_sign_in_with_a_clear_message(client: Client, alice: User) -> None:
    fail_until_locked(client)
    response = sign_in(client, "wrong")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed sign-ins" in page
    assert f"locked for {settings.AXES_COOLOFF_MINUTES} minutes" in page
    # Still the sign-in page, with its form, in the site's layout.
    assert 'name="password"' in page and "<h1>Sign in to Leger</h1>" in page


@pytest.mark.django_db
def test_the_right_password_is_refused_during_the_lock_and_works_after_it(client: Client, alice: User) -> None:
    fail_until_locked(client)
    response = sign_in(client, RIGHT)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/models/").status_code == 302

    end_the_cool_off()
    assert sign_in(client, RIGHT).status_code == 302
    assert client.get("/models/").status_code == 200


@pytest.mark.django_db
def test_the_lock_holds_one_username_from_one_address(client: Client, alice: User, bob: User) -> None:
    fail_until_locked(client)
    assert sign_in(client, RIGHT).status_code == 429
    # Bob, from the same address, is not locked out by Alice's failures ...
    assert sign_in(Client(), "bob-password-1", username="bob").status_code == 302
    # ... nor Alice from another address.
    assert sign_in(Client(), RIGHT, REMOTE_ADDR="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_starts_the_count_again(client: Client, alice: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, RIGHT).status_code == 302
    other = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(other, "wrong").status_code == 200
    assert sign_in(other, RIGHT).status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_locked_too(client: Client) -> None:
    User.objects.create_superuser("root", "root@example.org", "root-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "root", "password": "root-password-1"})
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_a_test_client_force_login_is_not_counted(alice: User) -> None:
    client = Client()
    fail_until_locked(client)
    client.force_login(alice)  # what the other tests' alice_client does
    assert client.get("/models/").status_code == 200


# --- POST /api/v1/auth/token/ ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_token_endpoint_locks_after_too_many_wrong_passwords(alice: User) -> None:
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert get_token(api, "wrong").status_code == 400
    assert get_token(api, "wrong").status_code == 429  # the failure that reaches the limit locks
    response = get_token(api, RIGHT)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert "token" not in response.json()
    assert not Token.objects.filter(user=alice).exists()

    end_the_cool_off()
    assert get_token(api, RIGHT).status_code == 200


@pytest.mark.django_db
def test_failures_on_the_token_endpoint_and_the_page_count_together(client: Client, alice: User) -> None:
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        get_token(api, "wrong")
    assert sign_in(client, RIGHT).status_code == 429


# --- tokens: see, replace, revoke -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_token_from_the_api_works_until_it_is_revoked_then_answers_401(alice: User) -> None:
    key = get_token(APIClient(), RIGHT).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/credentials/").status_code == 200

    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.get("/api/v1/credentials/").status_code == 401
    assert api.get("/api/v1/secrets/").status_code == 401
    assert not Token.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_revoking_removes_only_the_callers_token(alice: User, bob: User) -> None:
    alices = get_token(APIClient(), RIGHT).json()["token"]
    bobs = get_token(APIClient(), "bob-password-1", username="bob").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {alices}")
    assert api.delete("/api/v1/auth/token/").status_code == 204
    bob_api = APIClient()
    bob_api.credentials(HTTP_AUTHORIZATION=f"Token {bobs}")
    assert bob_api.get("/api/v1/credentials/").status_code == 200


@pytest.mark.django_db
def test_the_account_page_shows_a_new_token_once_and_only_says_it_exists_afterwards(
    alice_client: Client, alice: User
) -> None:
    page = alice_client.get("/account/")
    assert page.status_code == 200
    assert b"You have no API token." in page.content

    created = alice_client.post("/account/token/")
    key = Token.objects.get(user=alice).key
    assert key in created.content.decode()
    assert "only this once" in created.content.decode()
    assert "no-store" in created["Cache-Control"]

    again = alice_client.get("/account/").content.decode()
    assert key not in again
    assert "You have a token, made" in again

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/credentials/").status_code == 200


@pytest.mark.django_db
def test_a_new_token_from_the_account_page_stops_the_old_one(alice_client: Client, alice: User) -> None:
    old = get_token(APIClient(), RIGHT).json()["token"]
    alice_client.post("/account/token/")
    new = Token.objects.get(user=alice).key
    assert new != old
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get("/api/v1/credentials/").status_code == 401


@pytest.mark.django_db
def test_revoking_on_the_account_page_makes_the_token_answer_401(alice_client: Client, alice: User) -> None:
    key = get_token(APIClient(), RIGHT).json()["token"]
    response = alice_client.post("/account/token/revoke/", follow=True)
    assert b"Your API token is revoked" in response.content
    assert b"You have no API token." in response.content
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/credentials/").status_code == 401


@pytest.mark.django_db
def test_the_account_page_is_linked_from_every_page(alice_client: Client) -> None:
    assert b'href="/account/"' in alice_client.get("/releases/").content
