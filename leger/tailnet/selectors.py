"""Reads of tailnet settings. Every read is scoped to one owner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from leger.tailnet.models import TailnetSettings

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.tailnet.exposure import ExposedService


def tailnet_settings_get(*, owner: AbstractBaseUser) -> TailnetSettings | None:
    """The owner's tailnet settings, or None before they exist (a release cannot be cut until they do)."""
    return TailnetSettings.objects.filter(owner=owner).first()


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
