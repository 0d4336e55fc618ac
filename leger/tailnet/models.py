"""A user's tailnet: where their machine lives on Tailscale and how its services are reached.

One row per user. Tailscale's MagicDNS gives one name per machine
(``box.tail1234.ts.net``); names *below* it do not resolve on a tailnet, so the
default exposure is one HTTPS port per service on that name. The optional
Tailscale auth key is a secret: stored only as a Fernet token, shown masked.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leger.providers.fields import EncryptedTextField
from leger.tailnet import validation


class Exposure(models.TextChoices):
    PORT = "port", "A port per service on the machine's name"
    PATH = "path", "A path per service on the machine's name"
    SUBDOMAIN = "subdomain", "A subdomain per service of a domain you control"


class TailnetSettings(models.Model):
    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tailnet_settings")
    tailnet = models.CharField(
        max_length=253, help_text="The tailnet's DNS domain, e.g. tail1234.ts.net (Tailscale admin → DNS)."
    )
    hostname = models.CharField(max_length=63, help_text="The machine's name on the tailnet, e.g. box.")
    exposure = models.CharField(max_length=10, choices=Exposure.choices, default=Exposure.PORT)
    custom_domain = models.CharField(
        max_length=253, blank=True, help_text="For subdomain exposure: a domain you control, e.g. home.example.com."
    )
    auth_key = EncryptedTextField(blank=True, help_text="Tailscale auth key, encrypted; never shown back.")
    auth_key_masked = models.CharField(max_length=60, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "tailnet settings"
        verbose_name_plural = "tailnet settings"

    def __str__(self) -> str:
        return self.machine_name

    @property
    def machine_name(self) -> str:
        """The machine's MagicDNS name, e.g. box.tail1234.ts.net."""
        return f"{self.hostname}.{self.tailnet}"

    @property
    def has_auth_key(self) -> bool:
        return bool(self.auth_key)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        custom_mode = self.exposure == Exposure.SUBDOMAIN

        def run(field: str, check) -> None:  # type: ignore[no-untyped-def]
            try:
                setattr(self, field, check(getattr(self, field)))
            except ValidationError as error:
                errors.setdefault(field, []).extend(error.messages)

        run("tailnet", lambda value: validation.clean_tailnet(value, custom_domain_mode=custom_mode))
        run("hostname", validation.clean_dns_label)
        if custom_mode:
            if not (self.custom_domain or "").strip():
                errors["custom_domain"] = [
                    "Subdomain exposure needs a domain you control, e.g. home.example.com, whose DNS points at "
                    "the machine's tailnet address."
                ]
            else:
                run("custom_domain", validation.clean_custom_domain)
        elif (self.custom_domain or "").strip():
            run("custom_domain", validation.clean_custom_domain)
        if errors:
            raise ValidationError(errors)
