"""/settings: the user's tailnet, where each service answers on it, and the Tailscale link the CLI signs in by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from leger.lib import hardware
from leger.tailnet import selectors, services
from leger.tailnet.exposure import service_urls
from leger.tailnet.forms import TailnetSettingsForm
from leger.tailnet.models import Exposure, TailnetSettings
from leger.tailnet.tailscale_api import Device, TailscaleError


def _initial(current: TailnetSettings | None) -> dict[str, Any]:
    if current is None:
        return {"exposure": Exposure.PORT, "accelerator": hardware.CPU}
    return {
        "tailnet": current.tailnet,
        "hostname": current.hostname,
        "exposure": current.exposure,
        "custom_domain": current.custom_domain,
        "login_name": current.login_name,
        "address": current.address or "",
        "accelerator": current.accelerator,
        "memory_gb": current.memory_gb,
        "gpu_memory_gb": current.gpu_memory_gb,
    }


def _masked(current: TailnetSettings | None) -> dict[str, str]:
    if current is None:
        return {}
    return {"auth_key_masked": current.auth_key_masked, "api_key_masked": current.api_key_masked}


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
        login_name=data["login_name"],
        address=data["address"] or None,
        accelerator=data["accelerator"],
        memory_gb=data["memory_gb"],
        gpu_memory_gb=data["gpu_memory_gb"],
    )
    try:
        candidate.full_clean(exclude=["owner", "auth_key", "api_key"])
    except ValidationError as error:
        form.add_service_errors(error)
        return []
    return service_urls(candidate, selectors.exposed_services(owner=request.user))


@sensitive_post_parameters("auth_key", "api_key")
def settings(request: HttpRequest) -> HttpResponse:
    current = selectors.tailnet_settings_get(owner=request.user)
    masked = _masked(current)
    if request.method == "POST":
        form = TailnetSettingsForm(request.POST, **masked)
        if form.is_valid():
            try:
                services.tailnet_settings_put(owner=request.user, **form.service_input())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, "Tailnet settings saved.")
                return redirect("tailnet:settings")
        form.ask_for_the_secrets_again()
        status = 400
    else:
        form = TailnetSettingsForm(initial=_initial(current), **masked)
        status = 200
    urls = service_urls(current, selectors.exposed_services(owner=request.user)) if current else []
    context = {"form": form, "current": current, "urls": urls, "preview": False}
    return render(request, "tailnet/settings.html", context, status=status)


@sensitive_post_parameters("auth_key", "api_key")
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """Inline validation as the user types: field errors and the URLs these settings would give; nothing saved."""
    current = selectors.tailnet_settings_get(owner=request.user)
    form = TailnetSettingsForm(request.POST, **_masked(current))
    form.is_valid()
    urls = _preview(form, request)
    context = {"form": form, "current": current, "urls": urls, "preview": True}
    return render(request, "tailnet/settings.html#feedback", context)


@dataclass(frozen=True)
class _DeviceRow:
    device: Device
    yours: bool
    expired: bool


@sensitive_post_parameters("auth_key", "api_key")
@require_POST
def tailscale_test(request: HttpRequest) -> HttpResponse:
    """The Test button: what Tailscale shows for the token just typed (not saved), or else the saved one."""
    current = selectors.tailnet_settings_get(owner=request.user)
    login_name = (request.POST.get("login_name") or "").strip() or (current.login_name if current else "")
    context: dict[str, object] = {"test_login_name": login_name}
    try:
        devices = selectors.tailscale_devices(owner=request.user, api_key=request.POST.get("api_key") or "")
    except ValidationError as error:
        context["test_error"] = " ".join(error.messages)
    except TailscaleError as error:
        context["test_error"] = str(error)
    else:
        now = timezone.now()
        rows = [
            _DeviceRow(device, bool(login_name) and device.user.lower() == login_name.lower(), device.is_expired(now))
            for device in devices
        ]
        rows.sort(key=lambda row: (not row.yours, row.device.name or row.device.hostname))
        context |= {"test_devices": rows, "test_yours": sum(row.yours for row in rows)}
    return render(request, "tailnet/settings.html#tailscale_test", context)
