"""Writes of tailnet settings: one row per user, replaced as a whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leger.providers import crypto
from leger.tailnet import validation
from leger.tailnet.models import Exposure, TailnetSettings

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def _set_auth_key(settings: TailnetSettings, auth_key: str | None) -> None:
    if not auth_key:
        settings.auth_key = ""
        settings.auth_key_masked = ""
        return
    key = validation.clean_auth_key(auth_key)
    settings.auth_key = crypto.encrypt(key)
    settings.auth_key_masked = crypto.mask(key, validation.AUTH_KEY_PREFIX)


def tailnet_settings_put(
    *,
    owner: AbstractBaseUser,
    tailnet: str,
    hostname: str,
    exposure: str = Exposure.PORT,
    custom_domain: str = "",
    auth_key: str | None = KEEP,
) -> TailnetSettings:
    """Create the owner's tailnet settings, or replace them.

    ``auth_key``: a key replaces the stored one, ``None`` or ``""`` removes it, ``KEEP`` (not given) keeps it,
    since a client never sees the stored key and so cannot send it back.
    """
    with transaction.atomic():
        settings = TailnetSettings.objects.select_for_update().filter(owner=owner).first()
        if settings is None:
            settings = TailnetSettings(owner=owner)
        settings.tailnet = tailnet or ""
        settings.hostname = hostname or ""
        settings.exposure = exposure or Exposure.PORT
        settings.custom_domain = custom_domain or ""
        errors: dict[str, list[str]] = {}
        if auth_key is not KEEP:
            try:
                _set_auth_key(settings, auth_key)
            except ValidationError as error:
                errors["auth_key"] = error.messages
        try:
            settings.full_clean(exclude=["owner"])
        except ValidationError as error:
            errors = {**error.message_dict, **errors}
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                settings.save()
        except IntegrityError:
            # Another request created the row first (one per user): replace that one instead.
            existing = TailnetSettings.objects.select_for_update().get(owner=owner)
            settings.pk = existing.pk
            settings.created_at = existing.created_at
            if auth_key is KEEP:
                settings.auth_key, settings.auth_key_masked = existing.auth_key, existing.auth_key_masked
            settings.save(force_update=True)
    return settings


def tailnet_settings_delete(*, owner: AbstractBaseUser) -> None:
    TailnetSettings.objects.filter(owner=owner).delete()
