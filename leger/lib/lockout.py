"""What a sign-in locked out by django-axes answers (AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKOUT_STATUS = 429


def lockout_message() -> str:
    minutes = settings.AXES_COOLOFF_MINUTES
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-ins for this username from your address. "
        f"Sign-in is locked for {minutes} {unit}; try again after that, with the right password."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    message = lockout_message()
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=LOCKOUT_STATUS)
    # The sign-in page again, with the username kept and the lock explained in place of the usual error.
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout_message": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=LOCKOUT_STATUS)
