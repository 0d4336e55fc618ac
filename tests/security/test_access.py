"""Who may reach what: every URL pattern of the project, walked from the resolver.

- anonymous visitors get the sign-in page (pages) or 401/403 (API), except the few public URLs below;
- another user's objects answer 404 on every page and endpoint that takes an id, and stay as they were;
- the admin is for staff only;
- every form, and every unsafe API call made with the session cookie, needs the CSRF token.

A new URL pattern is covered by these tests the day it is added; one that takes an id of a kind the tables
below do not know makes the test fail and say so.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leger.cli.tokens import Identity, token_issue
from leger.marketplace.models import Selection
from leger.providers.models import Credential
from leger.releases import services as release_services
from leger.releases.models import Release
from leger.releases.services import owner_for
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select

catalog = setup.catalog  # the project's real fixtures, loaded (pytest finds the fixture by name here)

# Reachable without signing in, on purpose.
PUBLIC = {
    "login": "the sign-in page itself",
    "healthz": "the health check a load balancer or Podman polls",
    "api-schema": "the OpenAPI schema: describes the API, holds no user data",
    "api-token": "POST trades a username and password for a token (DELETE still needs one, tested below)",
    "logout": "signing out when not signed in does no harm and only redirects",
    "cli_auth": "the leger CLI's sign-in: a token only for a device Tailscale's API vouches for (tests/cli)",
    "cli_auth_web": "the page `leger auth login` opens: signs in only with a valid CLI token",
}
# Token-only endpoints outside /api/v1/ (the CLI's API, the Git source): a session or nothing gets 401.
TOKEN_ONLY_PREFIXES = ("cli_secrets_", "cli_versions", "git_")
# Unsafe requests that need no CSRF token because they read no cookie and change nothing a session owns.
CSRF_EXEMPT = {"cli_auth": "POST /auth/cli signs a machine in by its Tailscale identity; it sets no cookie"}

# What an id in a URL points at, by the URL's name.
OWNED = {
    "providers:credential_detail": "credential",
    "providers:credential_rename": "credential",
    "providers:credential_replace": "credential",
    "providers:credential_delete": "credential",
    "marketplace:switch": "selection",
    "marketplace:deactivate": "selection",
    "marketplace:delete": "selection",
    "credential-detail": "credential",
    "credential-rotate": "credential",
    "secret-detail": "secret",
    "marketplace-selection-detail": "selection",
    "marketplace-selection-switch": "selection",
    "cli_secrets_get": "secret",
    "cli_secrets_delete": "secret",
    "cli_versions": "owner",
    "git_latest": "owner",
    "git_version": "owner",
}
OWNED_PREFIXES = {"releases:": "release", "release-": "release"}
# Ids of shared catalog rows: everybody may read them.
CATALOG_IDS = {
    "catalog:model_detail": {"id": "claude-3.5-haiku"},
    "marketplace:configure": {"service_id": "searxng"},
    "marketplace:validate": {"service_id": "searxng"},
    "model-detail": {"pk": "claude-3.5-haiku"},
    "provider-detail": {"pk": "anthropic"},
    "marketplace-service-detail": {"pk": "searxng"},
}
OTHER_KWARGS = {
    "step": "models",
    "path": "manifest.json",
    "format": "json",
    "token_id": 1,
    "rest": "info/refs",
    "version": 1,
}
ID_KWARGS = {"pk", "name", "id", "service_id", "owner_uuid"}
API_METHODS = ["get", "post", "put", "patch", "delete"]


@dataclass(frozen=True)
class Route:
    name: str  # with its namespace, for reverse()
    kwargs: tuple[str, ...]
    callback: Any

    @property
    def is_api(self) -> bool:
        return self.name.startswith(("api-", *TOKEN_ONLY_PREFIXES)) or hasattr(self.callback, "cls")

    @property
    def is_cli(self) -> bool:
        return self.name.startswith(TOKEN_ONLY_PREFIXES)

    @property
    def kind(self) -> str | None:
        if self.name in OWNED:
            return OWNED[self.name]
        for prefix, kind in OWNED_PREFIXES.items():
            if self.name.startswith(prefix) and "pk" in self.kwargs:
                return kind
        return None

    def __str__(self) -> str:
        return self.name


def walk(resolver: URLResolver, namespace: str = "", kwargs: tuple[str, ...] = ()) -> list[Route]:
    routes = []
    for pattern in resolver.url_patterns:
        own = tuple(_kwarg_names(pattern))
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            routes += walk(pattern, inner, kwargs + own)
        elif isinstance(pattern, URLPattern) and pattern.name:
            routes.append(Route(f"{namespace}{pattern.name}", kwargs + own, pattern.callback))
    return routes


def _kwarg_names(pattern: URLPattern | URLResolver) -> list[str]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters:
        return list(converters)
    return list(pattern.pattern.regex.groupindex)


def all_routes() -> list[Route]:
    return [route for route in walk(get_resolver()) if not route.name.startswith("admin:")]


def url_of(route: Route, ids: dict[str, Any]) -> str:
    """The route's URL with each id taken from ``ids`` (kind → value) and the other parts filled in."""
    kwargs: dict[str, Any] = {}
    for name in route.kwargs:
        if route.name in CATALOG_IDS and name in CATALOG_IDS[route.name]:
            kwargs[name] = CATALOG_IDS[route.name][name]
        elif name in ID_KWARGS:
            assert route.kind, f"{route.name} takes an id ({name}) of a kind test_access.py does not know: add it"
            kwargs[name] = ids[route.kind]
        else:
            assert name in OTHER_KWARGS, f"{route.name} takes {name}: give it a value in OTHER_KWARGS"
            kwargs[name] = OTHER_KWARGS[name]
    return reverse(route.name, kwargs=kwargs)


# --- a world with two users who both have data ---------------------------------------------------------------


@pytest.fixture
def store(settings, tmp_path: Path) -> Path:
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    return tmp_path


def _published(user: User, name: str, capture) -> Release:
    with capture(execute=True):
        release = release_services.release_cut(release=minimal_draft(user, name), actor=user)
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    return release


def _owned(user: User, extra_provider_id: str | None, capture) -> dict[str, Any]:
    credential, _ = add_key(user, "anthropic")
    if extra_provider_id:
        credential, _ = add_key(user, extra_provider_id)
    add_tailnet(user)
    selection = select(user, "searxng")
    first = _published(user, "first", capture)
    second = _published(user, "second", capture)
    return {
        "credential": credential.pk,
        "secret": credential.secret_name,
        "selection": selection.pk,
        "release": second.pk,
        "first_release": first.pk,
        "draft": minimal_draft(user, "draft").pk,
        "owner": str(owner_for(user=user).uuid),
    }


@pytest.fixture
def world(alice: User, bob: User, catalog: None, store: Path, django_capture_on_commit_callbacks) -> dict[str, Any]:
    """Alice and Bob, each with a key, a marketplace selection, two published releases and a draft.

    Bob also holds a key for a provider Alice has none for, so its secret name is one Alice does not hold.
    """
    alice_ids = _owned(alice, None, django_capture_on_commit_callbacks)
    bob_ids = _owned(bob, "mistral", django_capture_on_commit_callbacks)
    assert not Credential.objects.filter(owner=alice, secret_name=bob_ids["secret"]).exists()
    return {"alice": alice_ids, "bob": bob_ids}


def token_client(user: User) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def cli_client(user: User, route: Route) -> APIClient:
    """What the CLI sends: its token as a Bearer, or, to the Git source, as the password of HTTP Basic."""
    token, _ = token_issue(
        owner=user,
        owner_uuid=str(owner_for(user=user).uuid),
        identity=Identity(login_name="a@b", user_id="1", device_ip="100.64.0.1", device_hostname="box", device_id="n"),
    )
    client = APIClient(raise_request_exception=False)
    if route.name.startswith("git_"):
        basic = base64.b64encode(f"leger:{token}".encode()).decode()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def bobs_objects(bob: User) -> dict[str, Any]:
    return {
        "credentials": sorted(Credential.objects.filter(owner=bob).values_list("pk", "label", "masked", "rotated_at")),
        "selections": sorted(Selection.objects.filter(owner=bob).values_list("pk", "active", "updated_at")),
        "releases": sorted(Release.objects.filter(owner=bob).values_list("pk", "name", "status", "updated_at")),
    }


# --- anonymous -----------------------------------------------------------------------------------------------


def test_the_walk_finds_every_section_and_the_api() -> None:
    names = {route.name for route in all_routes()}
    for expected in [
        "catalog:model_list",
        "providers:credential_delete",
        "marketplace:switch",
        "tailnet:settings",
        "releases:file",
        "account",
        "credential-detail",
        "release-archive",
        "secret-detail",
    ]:
        assert expected in names


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in all_routes() if r.name not in PUBLIC], ids=str)
def test_an_anonymous_visitor_is_sent_to_sign_in_or_refused_by_the_api(route: Route, client: Client) -> None:
    ids = {
        "credential": 1,
        "secret": "anthropic_api_key",
        "selection": 1,
        "release": 1,
        "owner": "6f1c2b4e-8a7d-4c3b-9e2f-0a1b2c3d4e5f",
    }
    url = url_of(route, ids)
    if route.is_api:
        api = APIClient()
        for method in API_METHODS:
            response = getattr(api, method)(url)
            assert response.status_code in (401, 403), f"anonymous {method.upper()} {url}: {response.status_code}"
    else:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"anonymous {method.upper()} {url}: {response.status_code}"
            assert response["Location"].startswith("/login/?next="), f"{method.upper()} {url}"


@pytest.mark.django_db
def test_the_public_urls_answer_without_a_login(settings) -> None:
    settings.WHITENOISE_USE_FINDERS = True  # serve the sources, as DEBUG does, instead of collectstatic's copy
    client = Client()
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").status_code == 200
    assert client.get("/static/leger/leger.css").status_code == 200
    # Revoking a token needs one.
    assert APIClient().delete(reverse("api-token")).status_code in (401, 403)


# --- another user's objects ----------------------------------------------------------------------------------


def owned_routes() -> list[Route]:
    return [route for route in all_routes() if set(route.kwargs) & ID_KWARGS and route.name not in CATALOG_IDS]


def test_every_route_with_an_id_has_a_known_kind() -> None:
    unknown = [route.name for route in owned_routes() if route.kind is None]
    assert not unknown, f"routes with an id of a kind test_access.py does not know: {unknown}"
    kinds = {route.kind for route in owned_routes()}
    assert kinds == {"credential", "secret", "selection", "release", "owner"}


def test_another_users_objects_answer_404_on_every_page_and_endpoint_and_stay_as_they_were(
    world: dict[str, Any], alice: User, bob: User
) -> None:
    before = bobs_objects(bob)
    page = Client(raise_request_exception=False)
    page.force_login(alice)
    api = token_client(alice)
    bobs, alices = world["bob"], world["alice"]
    refused: list[str] = []
    for route in owned_routes():
        url, own_url = url_of(route, bobs), url_of(route, alices)
        client, methods = (api, API_METHODS) if route.is_api else (page, ["get", "post"])
        if route.is_cli:
            client = cli_client(alice, route)
        answered_404 = False
        for method in methods:
            response = getattr(client, method)(url)
            if response.status_code == 404:
                answered_404 = True
                continue
            # A method the view never takes may say so (405) only if it says the same for the user's own object.
            if response.status_code == 405 and getattr(client, method)(own_url).status_code == 405:
                continue
            refused.append(f"{method.upper()} {url} → {response.status_code}")
        if not answered_404:
            refused.append(f"{url}: no method answered 404")
    assert not refused, "another user's object was not a plain 404:\n" + "\n".join(refused)
    assert bobs_objects(bob) == before


def test_another_users_objects_are_never_in_the_lists(world: dict[str, Any], alice: User) -> None:
    api = token_client(alice)
    bobs = world["bob"]
    for url, key in [
        ("/api/v1/credentials/", "credential"),
        ("/api/v1/marketplace/selections/", "selection"),
        ("/api/v1/releases/", "release"),
    ]:
        listed = {row["id"] for row in api.get(url).json()["results"]}
        assert bobs[key] not in listed and bobs["first_release"] not in listed
        assert listed, f"{url} lists none of Alice's own objects: the check above proves nothing"
    secrets = {row["name"] for row in api.get("/api/v1/secrets/").json()["results"]}
    assert bobs["secret"] not in secrets
    page = Client()
    page.force_login(alice)
    for path, link, kind in [
        ("/providers/", "/providers/keys/{}/", "credential"),
        ("/releases/", "/releases/{}/", "release"),
    ]:
        html = page.get(path).content.decode()
        assert link.format(world["alice"][kind]) in html, f"{path} does not link Alice's own {kind}"
        assert link.format(bobs[kind]) not in html, f"{path} links Bob's {kind}"


# --- admin ---------------------------------------------------------------------------------------------------


def admin_urls() -> list[str]:
    urls = ["/admin/"]
    for model in admin.site._registry:
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"))
    return urls


@pytest.mark.django_db
def test_the_admin_is_for_staff_only(alice_client: Client, client: Client, alice: User) -> None:
    assert not alice.is_staff
    for visitor in (alice_client, client):
        for url in admin_urls():
            response = visitor.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url
    staff = User.objects.create_superuser("root", "root@example.org", "root-password-1")
    admin_client = Client()
    admin_client.force_login(staff)
    assert admin_client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_non_staff_user_cannot_sign_in_to_the_admin(client: Client, alice: User) -> None:
    response = client.post("/admin/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 200
    assert b"staff account" in response.content
    assert client.get("/admin/").status_code == 302


# --- CSRF ----------------------------------------------------------------------------------------------------


def test_every_form_and_every_unsafe_session_api_call_needs_the_csrf_token(world: dict[str, Any], alice: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    before = {
        "credentials": Credential.objects.filter(owner=alice).count(),
        "releases": Release.objects.filter(owner=alice).count(),
        "selections": Selection.objects.filter(owner=alice).count(),
    }
    accepted: list[str] = []
    for route in all_routes():
        if route.name in CSRF_EXEMPT:
            continue
        url = url_of(route, world["alice"])
        methods = ["post", "put", "patch", "delete"] if route.is_api else ["post"]
        for method in methods:
            if route.is_api:
                response = getattr(strict, method)(url, content_type="application/json")
            else:
                response = strict.post(url)
            body = response.content.decode(errors="replace")
            # 401: the endpoint takes no session at all (the CLI's token-only secrets), so it is refused too.
            if not (response.status_code == 403 and "CSRF" in body) and response.status_code != 401:
                accepted.append(f"{method.upper()} {url} → {response.status_code}")
    assert not accepted, "unsafe requests accepted without the CSRF token:\n" + "\n".join(accepted)
    after = {
        "credentials": Credential.objects.filter(owner=alice).count(),
        "releases": Release.objects.filter(owner=alice).count(),
        "selections": Selection.objects.filter(owner=alice).count(),
    }
    assert after == before


@pytest.mark.django_db
def test_a_form_with_its_csrf_token_is_accepted(alice: User) -> None:
    """The control for the test above: the same strict client gets through once it sends the token."""
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    strict.get("/account/")
    response = strict.post("/account/token/", {"csrfmiddlewaretoken": strict.cookies["csrftoken"].value})
    assert response.status_code == 200
    assert Token.objects.filter(user=alice).exists()
