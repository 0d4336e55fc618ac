"""Writes of tailnet settings: one row per user, replaced as a whole (secrets kept unless given)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leger.lib import hardware
from leger.providers import crypto
from leger.tailnet import validation
from leger.tailnet.models import LOGIN_NAME_TAKEN, Exposure, TailnetSettings

# A read, kept in selectors; named here too because the CLI's sign-in imports it from this module.
from leger.tailnet.selectors import tailnet_for_login as tailnet_for_login

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def _set_secret(
    settings: TailnetSettings, field: str, value: str | None, *, clean: Callable[[str], str], prefix: str
) -> None:
    """Store a secret field (``auth_key``, ``api_key``) encrypted, and its masked form beside it."""
    if not value:
        setattr(settings, field, "")
        setattr(settings, f"{field}_masked", "")
        return
    key = clean(value)
    setattr(settings, field, crypto.encrypt(key))
    setattr(settings, f"{field}_masked", crypto.mask(key, prefix))


_SECRETS = {
    "auth_key": (validation.clean_auth_key, validation.AUTH_KEY_PREFIX),
    "api_key": (validation.clean_api_key, validation.API_KEY_PREFIX),
}


# What a hardware field holds once cleared: the CPU, no figure.
_HARDWARE_CLEARED: dict[str, Any] = {"accelerator": hardware.CPU, "memory_gb": None, "gpu_memory_gb": None}


def _save(settings: TailnetSettings, **options: Any) -> None:
    try:
        with transaction.atomic():
            settings.save(**options)
    except IntegrityError:
        # The row of another account took this login name between clean() and here.
        if settings.login_name_taken():
            raise ValidationError({"login_name": [LOGIN_NAME_TAKEN]}) from None
        raise


def tailnet_settings_put(
    *,
    owner: AbstractBaseUser,
    tailnet: str,
    hostname: str,
    exposure: str = Exposure.PORT,
    custom_domain: str = "",
    auth_key: str | None = KEEP,
    login_name: str = KEEP,
    api_key: str | None = KEEP,
    address: str | None = KEEP,
    accelerator: str = KEEP,
    memory_gb: int | None = KEEP,
    gpu_memory_gb: int | None = KEEP,
) -> TailnetSettings:
    """Create the owner's tailnet settings, or replace them.

    ``auth_key`` and ``api_key``: a key replaces the stored one, ``None`` or ``""`` removes it, ``KEEP`` (not
    given) keeps it, since a client never sees a stored key and so cannot send it back. ``login_name`` (the
    Tailscale login linked to this account) and ``address`` (the machine's Tailscale IPv4, where published ports
    listen) are kept when not given; ``""`` clears them. So is the machine's hardware: ``accelerator`` (a key of
    ``leger.lib.hardware.ACCELERATORS``), ``memory_gb`` and ``gpu_memory_gb`` (None clears a figure).
    """
    hardware_fields = {"accelerator": accelerator, "memory_gb": memory_gb, "gpu_memory_gb": gpu_memory_gb}
    secrets = {"auth_key": auth_key, "api_key": api_key}
    with transaction.atomic():
        settings = TailnetSettings.objects.select_for_update().filter(owner=owner).first()
        if settings is None:
            settings = TailnetSettings(owner=owner)
        settings.tailnet = tailnet or ""
        settings.hostname = hostname or ""
        settings.exposure = exposure or Exposure.PORT
        settings.custom_domain = custom_domain or ""
        if login_name is not KEEP:
            settings.login_name = login_name or ""
        if address is not KEEP:
            settings.address = address or None
        for field, value in hardware_fields.items():
            if value is not KEEP:
                setattr(settings, field, _HARDWARE_CLEARED[field] if value in ("", None) else value)
        errors: dict[str, list[str]] = {}
        for field, value in secrets.items():
            if value is not KEEP:
                clean, prefix = _SECRETS[field]
                try:
                    _set_secret(settings, field, value, clean=clean, prefix=prefix)
                except ValidationError as error:
                    errors[field] = error.messages
        try:
            settings.full_clean(exclude=["owner"])
        except ValidationError as error:
            errors = {**error.message_dict, **errors}
        if errors:
            raise ValidationError(errors)
        try:
            _save(settings)
        except IntegrityError:
            # Another request created the row first (one per user): replace that one instead.
            existing = TailnetSettings.objects.select_for_update().get(owner=owner)
            settings.pk = existing.pk
            settings.created_at = existing.created_at
            if login_name is KEEP:
                settings.login_name = existing.login_name
            if address is KEEP:
                settings.address = existing.address
            for field, value in hardware_fields.items():
                if value is KEEP:
                    setattr(settings, field, getattr(existing, field))
            for field, value in secrets.items():
                if value is KEEP:
                    setattr(settings, field, getattr(existing, field))
                    setattr(settings, f"{field}_masked", getattr(existing, f"{field}_masked"))
            _save(settings, force_update=True)
    return settings


def tailnet_settings_delete(*, owner: AbstractBaseUser) -> None:
    TailnetSettings.objects.filter(owner=owner).delete()
