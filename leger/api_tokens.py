"""API tokens: get one with a password, see, replace and revoke it on /account/.

A user holds at most one token (DRF's ``authtoken.Token``). The key is shown
once, when it is made; afterwards pages and API answers only say that it
exists and since when.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from leger.lib.lockout import LOCKOUT_STATUS, lockout_message

# --- selectors and services -------------------------------------------------


def token_get(*, user: AbstractBaseUser) -> Token | None:
    return Token.objects.filter(user=user).first()


def token_create(*, user: AbstractBaseUser) -> Token:
    """A new key for the user; the one they held before stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def token_revoke(*, user: AbstractBaseUser) -> bool:
    """Delete the user's key; True when there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0


# --- API: /api/v1/auth/token/ ----------------------------------------------


class TokenView(ObtainAuthToken):
    """POST with username and password returns ``{"token"}``; DELETE revokes the caller's token.

    Sign-in failures count towards the django-axes lock like the sign-in page's:
    while a username+address is locked, POST answers 429 even with the right password.
    """

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    @extend_schema(
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Too many failed sign-ins: locked for the cool-off."),
        }
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # django-axes flags the request it refused; DRF's Request passes the flag through.
            if getattr(request, "axes_locked_out", False):
                return Response({"detail": lockout_message()}, status=LOCKOUT_STATUS)
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        user = serializer.validated_data["user"]
        token = token_get(user=user) or token_create(user=user)
        return Response({"token": token.key})

    @extend_schema(responses={204: OpenApiResponse(description="The caller's token is revoked.")})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the /account/ page -----------------------------------------------------


def _account_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    from leger.cli.models import SignInAttempt
    from leger.cli.tokens import token_list

    return {
        "token": token_get(user=request.user),
        "new_key": None,
        "cli_tokens": token_list(owner=request.user),
        "cli_attempts": list(SignInAttempt.objects.filter(owner=request.user)[:10]),
        **extra,
    }


@never_cache
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "account/account.html", _account_context(request))


@never_cache
@require_POST
def account_token_create(request: HttpRequest) -> HttpResponse:
    token = token_create(user=request.user)
    # Rendered, not redirected: the key is in this one answer and nowhere after it.
    return render(request, "account/account.html", _account_context(request, token=token, new_key=token.key))


@require_POST
def account_cli_token_revoke(request: HttpRequest, token_id: int | None = None) -> HttpResponse:
    from leger.cli.tokens import token_revoke

    revoked = token_revoke(owner=request.user, token_id=token_id)
    if revoked:
        what = "That machine's CLI token is" if token_id is not None else f"{revoked} CLI tokens are"
        messages.success(request, f"{what} revoked: the CLI there now gets 401 and must run leger auth login again.")
    else:
        messages.info(request, "No such CLI token was active.")
    return redirect("account")


@require_POST
def account_token_revoke(request: HttpRequest) -> HttpResponse:
    if token_revoke(user=request.user):
        messages.success(request, "Your API token is revoked: anything still using it now gets 401.")
    else:
        messages.info(request, "You had no API token to revoke.")
    return redirect("account")


urlpatterns = [
    path("", account, name="account"),
    path("token/", account_token_create, name="account_token_create"),
    path("token/revoke/", account_token_revoke, name="account_token_revoke"),
    path("cli-tokens/<int:token_id>/revoke/", account_cli_token_revoke, name="account_cli_token_revoke"),
    path("cli-tokens/revoke/", account_cli_token_revoke, name="account_cli_token_revoke_all"),
]
