"""Reads of tailnet settings. Every read is scoped to one owner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Q, Value
from django.db.models.functions import Lower

from leger.providers import crypto
from leger.tailnet import validation
from leger.tailnet.models import TailnetSettings
from leger.tailnet.tailscale_api import Device, list_devices

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.tailnet.exposure import ExposedService


def tailnet_settings_get(*, owner: AbstractBaseUser) -> TailnetSettings | None:
    """The owner's tailnet settings, or None before they exist (a release cannot be cut until they do)."""
    return TailnetSettings.objects.filter(owner=owner).first()


def tailnet_for_login(*, login_name: str) -> TailnetSettings | None:
    """The settings that linked this Tailscale login name (any case), when they hold an API access token.

    What ``leger auth login`` signs in to: the owner, and the token to ask Tailscale with.
    """
    name = (login_name or "").strip()
    if not name:
        return None
    return (
        TailnetSettings.objects.select_related("owner")
        .alias(login=Lower("login_name"))
        .filter(login=Lower(Value(name)))
        .exclude(api_key="")
        .first()
    )


def tailscale_devices(*, owner: AbstractBaseUser, api_key: str = "") -> list[Device]:
    """The devices Tailscale's API shows for ``api_key`` (just typed), or else for the owner's saved token.

    Raises ``ValidationError`` when there is no token or it has the wrong shape, ``TailscaleError`` when
    Tailscale does not list the devices.
    """
    if api_key.strip():
        key = validation.clean_api_key(api_key)
    else:
        current = tailnet_settings_get(owner=owner)
        if current is None or not current.api_key:
            raise ValidationError(
                f"No API access token to test yet: paste one in the field above ({validation.API_KEY_WHERE}).",
                code="required",
            )
        try:
            key = crypto.decrypt(current.api_key)
        except crypto.UndecryptableError as error:
            raise ValidationError(str(error), code="undecryptable") from None
    return list_devices(api_key=key)


def exposed_services(*, owner: AbstractBaseUser) -> list[ExposedService]:
    """What can be reached on the tailnet: the core services, and the owner's active self-hosted add-ons.

    Exposure facts (port, path, subdomain) come from the release's own record of each container, so the URLs
    shown here are the routes Caddy gets.
    """
    from leger.marketplace.models import Selection
    from leger.releases.models import InfrastructureService

    addons = Selection.objects.filter(owner=owner, active=True, service__runtime="container").values("service_id")
    return list(
        InfrastructureService.objects.filter(exposable=True)
        .filter(Q(role=InfrastructureService.Role.CORE) | Q(role=InfrastructureService.Role.ADDON, addon__in=addons))
        .order_by("order", "id")
    )
