"""The leger CLI's API, at the site root, so the CLI's ``LEGER_API_URL`` is Leger's own address.

=============================  ================================================================
``POST /auth/cli``             a ``leg_`` token for a machine Tailscale's API vouches for
``GET /secrets/list``          the caller's secret names (``data.secrets[]``: name, dates, version)
``GET /secrets/get/{name}``    one value
``POST /secrets/set``          store one by name (a key's secret name replaces that key)
``DELETE /secrets/{name}``     remove one
``GET /v1/users/{uuid}/versions``  the owner's published versions
``GET /auth?token=``           signs the browser that the CLI opened in as the token's owner
=============================  ================================================================

Bearer tokens only (``Authorization: Bearer leg_…``): a browser's session cookie never reads a value here, so
these views are CSRF-exempt. Answers are the CLI's envelope (``envelope.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET

from leger.cli import envelope
from leger.cli.models import CliToken
from leger.cli.signin import SignInRefused, sign_in
from leger.cli.tokens import InvalidToken, token_verify
from leger.providers import crypto, services
from leger.providers.audit import AccessSource
from leger.providers.models import AuditEntry
from leger.providers.selectors import secret_list
from leger.releases.selectors import published_versions

View = Callable[..., HttpResponseBase]


def _source(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, channel=AuditEntry.Channel.API)


def _iso(moment: Any) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "1970-01-01T00:00:00Z"


def _methods(*allowed: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in allowed:
                response = envelope.fail(
                    envelope.METHOD_NOT_ALLOWED,
                    f"{request.method} is not allowed here; use {' or '.join(allowed)}.",
                    status=405,
                )
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def bearer(view: Callable[..., HttpResponseBase]) -> View:
    """Let only a valid ``Authorization: Bearer leg_…`` through; ``request.cli_token`` is its row."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="leger"'}
        if scheme.lower() != "bearer" or not raw.strip():
            return envelope.fail(
                envelope.INVALID_TOKEN,
                "Send Authorization: Bearer <token>; get a token with: leger auth login",
                status=401,
                headers=challenge,
            )
        try:
            token = token_verify(raw.strip())
        except InvalidToken as error:
            return envelope.fail(envelope.INVALID_TOKEN, str(error), status=401, headers=challenge)
        request.cli_token = token  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _cli_view(*methods: str, token: bool = True) -> Callable[[View], View]:
    """A view of the CLI's API: no session, no CSRF (nothing reads a cookie), the token checked before the
    method, as DRF does, so a caller without one learns nothing about what the path takes."""

    def decorate(view: View) -> View:
        inner = _methods(*methods)(view)
        return login_not_required(csrf_exempt(never_cache(bearer(inner) if token else inner)))

    return decorate


# --- sign-in --------------------------------------------------------------------------------------------------


@_cli_view("POST", token=False)
def auth_cli(request: HttpRequest) -> HttpResponseBase:
    try:
        body: dict[str, Any] | None = envelope.json_object(request)
    except envelope.BadBody as error:
        if error.status == 413:
            return envelope.fail(envelope.INVALID_REQUEST, str(error), status=413)
        body = None  # counted against the rate limit, then refused as a bad request
    try:
        signed_in = sign_in(body=body, client=_source(request))
    except SignInRefused as refused:
        headers = {"Retry-After": "60"} if refused.status in (429, 503) else None
        return envelope.fail(refused.code, str(refused), status=refused.status, headers=headers)
    return envelope.ok(
        {
            "token": signed_in.token,
            "token_type": "Bearer",
            "expires_in": signed_in.expires_in,
            "user_uuid": signed_in.user_uuid,
            "user": {"tailscale_email": signed_in.login_name, "display_name": signed_in.display_name},
        }
    )


@login_not_required
@never_cache
@require_GET
def auth_web(request: HttpRequest) -> HttpResponse:
    """The page ``leger auth login`` opens: sign this browser in as the token's owner, then drop the token
    from the address bar (a redirect to the overview), so it stays in no history entry but this one."""
    raw = request.GET.get("token", "")
    try:
        token = token_verify(raw) if raw else None
    except InvalidToken as error:
        return render(request, "cli/auth_refused.html", {"reason": str(error)}, status=401)
    if token is None:
        return render(
            request,
            "cli/auth_refused.html",
            {"reason": "This page signs in the browser `leger auth login` opened; it needs the token it adds."},
            status=400,
        )
    login(request, token.owner, backend="django.contrib.auth.backends.ModelBackend")
    response = redirect(reverse("home"))
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- secrets --------------------------------------------------------------------------------------------------


@_cli_view("GET")
def secrets_list(request: HttpRequest) -> HttpResponseBase:
    owner = request.cli_token.owner  # type: ignore[attr-defined]
    entries = secret_list(owner=owner)
    return envelope.ok(
        {
            "secrets": [
                {
                    "name": entry.name,
                    "kind": entry.kind,
                    "created_at": _iso(entry.created_at),
                    "updated_at": _iso(entry.updated_at or entry.created_at),
                    "version": entry.version,
                }
                for entry in entries
            ],
            "total_count": len(entries),
        }
    )


@_cli_view("GET")
@sensitive_variables()
def secrets_get(request: HttpRequest, name: str) -> HttpResponseBase:
    owner = request.cli_token.owner  # type: ignore[attr-defined]
    entry = next((entry for entry in secret_list(owner=owner) if entry.name == name), None)
    if entry is None:
        return _not_found(name)
    try:
        revealed = services.secret_reveal(owner=owner, name=name, actor=owner, source=_source(request))
    except services.SecretNotFound:
        return _not_found(name)
    except crypto.UndecryptableError:
        return envelope.fail(
            "secret_unreadable",
            "This secret cannot be decrypted with the server's current keys; the operator must restore the old "
            "encryption key (LEGER_FERNET_KEYS). Until then, replace it on /providers.",
            status=500,
        )
    return envelope.ok({"name": name, "value": revealed.value, "version": entry.version})


def _not_found(name: str) -> HttpResponseBase:
    return envelope.fail(
        envelope.SECRET_NOT_FOUND,
        f"Secret {name!r} not found. Add it on /providers, or create it with: leger secrets set {name} <value>",
        status=404,
    )


@_cli_view("POST")
@sensitive_variables()
def secrets_set(request: HttpRequest) -> HttpResponseBase:
    owner = request.cli_token.owner  # type: ignore[attr-defined]
    try:
        body = envelope.json_object(request)
    except envelope.BadBody as error:
        return envelope.fail(envelope.INVALID_REQUEST, str(error), status=error.status)
    name, value = body.get("name"), body.get("value")
    if not isinstance(name, str) or not isinstance(value, str):
        return envelope.fail(envelope.INVALID_REQUEST, 'Send {"name": "...", "value": "..."} as text.', status=400)
    try:
        stored = services.secret_set(owner=owner, name=name, value=value, source=_source(request))
    except services.SecretRefused as refused:
        status = 403 if refused.code == envelope.INSUFFICIENT_PERMISSIONS else 400
        if refused.code == envelope.SECRET_NOT_FOUND:
            status = 404
        return envelope.fail(refused.code, str(refused), status=status)
    return envelope.ok(
        {
            "name": stored.name,
            "version": stored.version,
            "updated_at": _iso(stored.updated_at),
            "message": "Secret created successfully" if stored.created else "Secret updated successfully",
        },
        status=201 if stored.created else 200,
    )


@_cli_view("DELETE")
def secrets_delete(request: HttpRequest, name: str) -> HttpResponseBase:
    owner = request.cli_token.owner  # type: ignore[attr-defined]
    try:
        services.secret_delete(owner=owner, name=name, source=_source(request))
    except services.SecretNotFound:
        return _not_found(name)
    except services.SecretRefused as refused:
        return envelope.fail(refused.code, str(refused), status=403)
    return envelope.ok({"name": name, "deleted_at": _iso(timezone.now())})


# --- versions -------------------------------------------------------------------------------------------------


@_cli_view("GET")
def versions(request: HttpRequest, owner_uuid: Any) -> HttpResponseBase:
    token: CliToken = request.cli_token  # type: ignore[attr-defined]
    listed = published_versions(owner=token.owner)
    if str(owner_uuid) != listed.owner_uuid:
        # Another owner's folder, or one that does not exist: the same answer, so neither is revealed.
        return envelope.fail(envelope.NOT_FOUND, "You have no releases under that id.", status=404)
    names = (["latest"] if listed.latest else []) + [f"v{n}" for n in listed.versions]
    # The CLI reads {"versions": [...]} at the top level (legerrun.ListVersions); the envelope is beside it.
    response = JsonResponse({"success": True, "versions": names, "data": {"versions": names, "latest": listed.latest}})
    response["Cache-Control"] = "no-store"
    return response
