"""/settings: the user's tailnet, and where each service will answer on it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leger.tailnet import selectors, services
from leger.tailnet.exposure import service_urls
from leger.tailnet.forms import TailnetSettingsForm
from leger.tailnet.models import Exposure, TailnetSettings


def _initial(current: TailnetSettings | None) -> dict[str, str]:
    if current is None:
        return {"exposure": Exposure.PORT}
    return {
        "tailnet": current.tailnet,
        "hostname": current.hostname,
        "exposure": current.exposure,
        "custom_domain": current.custom_domain,
    }


def _preview(form: TailnetSettingsForm, request: HttpRequest) -> list:
    """The URLs the settings in the form would give, when the form holds valid settings."""
    if not form.is_bound or form.errors:
        return []
    data = form.service_input()
    candidate = TailnetSettings(
        owner=request.user,
        tailnet=data["tailnet"],
        hostname=data["hostname"],
        exposure=data["exposure"],
        custom_domain=data["custom_domain"],
    )
    try:
        candidate.full_clean(exclude=["owner", "auth_key"])
    except ValidationError as error:
        form.add_service_errors(error)
        return []
    return service_urls(candidate, selectors.exposed_services(owner=request.user))


def settings(request: HttpRequest) -> HttpResponse:
    current = selectors.tailnet_settings_get(owner=request.user)
    masked = current.auth_key_masked if current else ""
    if request.method == "POST":
        form = TailnetSettingsForm(request.POST, auth_key_masked=masked)
        if form.is_valid():
            try:
                services.tailnet_settings_put(owner=request.user, **form.service_input())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, "Tailnet settings saved.")
                return redirect("tailnet:settings")
        form.ask_for_the_auth_key_again()
        status = 400
    else:
        form = TailnetSettingsForm(initial=_initial(current), auth_key_masked=masked)
        status = 200
    urls = service_urls(current, selectors.exposed_services(owner=request.user)) if current else []
    context = {"form": form, "current": current, "urls": urls, "preview": False}
    return render(request, "tailnet/settings.html", context, status=status)


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """Inline validation as the user types: field errors and the URLs these settings would give; nothing saved."""
    current = selectors.tailnet_settings_get(owner=request.user)
    form = TailnetSettingsForm(request.POST, auth_key_masked=current.auth_key_masked if current else "")
    form.is_valid()
    urls = _preview(form, request)
    context = {"form": form, "current": current, "urls": urls, "preview": True}
    return render(request, "tailnet/settings.html#feedback", context)
