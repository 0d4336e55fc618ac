"""The URL of each exposed service on the tailnet, for each exposure mode.

Used by the /settings page (to show the user where things will be) and by the
release renderer (so Caddy's routes and the URLs people are shown cannot
disagree). A service is anything with ``id``, ``name``, ``published_port``,
``path`` and ``subdomain``: the releases app's infrastructure records are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from leger.tailnet.models import Exposure


class ExposedService(Protocol):
    id: str
    name: str
    published_port: int | None
    path: str
    subdomain: str


class ExposureSettings(Protocol):
    tailnet: str
    hostname: str
    exposure: str
    custom_domain: str


@dataclass(frozen=True)
class ServiceURL:
    id: str
    name: str
    url: str | None
    """The URL in the settings' own exposure mode (None when that mode cannot reach it)."""
    urls: dict[str, str | None] = field(default_factory=dict)
    """The URL in every exposure mode, by mode."""


def service_url(settings: ExposureSettings, service: ExposedService, mode: str | None = None) -> str | None:
    """Where ``service`` answers in ``mode`` (default: the settings' own mode), in the same form as the
    release's Caddy routes (``leger.releases.rendering.route_url``), starting from the same defaults: a
    service without its own path or subdomain gets its id."""
    mode = mode or settings.exposure
    machine = f"{settings.hostname}.{settings.tailnet}"
    if mode == Exposure.PORT:
        return f"https://{machine}:{service.published_port}" if service.published_port else None
    if mode == Exposure.PATH:
        path = service.path or f"/{service.id}"
        return f"https://{machine}" if path == "/" else f"https://{machine}{path}"
    if mode == Exposure.SUBDOMAIN:
        if not settings.custom_domain:
            return None
        return f"https://{service.subdomain or service.id}.{settings.custom_domain}"
    raise ValueError(f"unknown exposure mode {mode!r}")


def service_urls(settings: ExposureSettings, services: Iterable[ExposedService]) -> list[ServiceURL]:
    """Each service's URL in the settings' mode, and in every mode, in the order given."""
    result = []
    for service in services:
        urls = {mode: service_url(settings, service, mode) for mode in Exposure.values}
        result.append(ServiceURL(id=service.id, name=service.name, url=urls[settings.exposure], urls=urls))
    return result
