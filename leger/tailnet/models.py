"""A user's tailnet: where their machine lives on Tailscale and how its services are reached.

One row per user. Tailscale's MagicDNS gives one name per machine
(``box.tail1234.ts.net``); names *below* it do not resolve on a tailnet, so the
default exposure is one HTTPS port per service on that name. The optional
Tailscale auth key is a secret: stored only as a Fernet token, shown masked.

The row also links the user's Tailscale login name to their Leger account, with
a Tailscale API access token (a secret like the auth key) that Leger uses to
verify the CLI's ``leger auth login`` against Tailscale's API. A login name is
linked to at most one account.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from leger.lib import hardware
from leger.providers.fields import EncryptedTextField
from leger.tailnet import validation


class Exposure(models.TextChoices):
    PORT = "port", "A port per service on the machine's name"
    PATH = "path", "A path per service on the machine's name"
    SUBDOMAIN = "subdomain", "A subdomain per service of a domain you control"


LOGIN_NAME_TAKEN = (
    "This Tailscale login is already linked to another Leger account; a login signs the leger CLI in to one "
    "account only. Unlink it there first (clear the login name on that account's /settings), or use another "
    "Tailscale login."
)


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
    address = models.GenericIPAddressField(
        protocol="IPv4",
        null=True,
        blank=True,
        help_text="The machine's Tailscale address (tailscale ip -4): every published port listens there only.",
    )
    accelerator = models.CharField(
        max_length=20,
        choices=hardware.CHOICES,
        default=hardware.CPU,
        help_text="What runs the local models (and other GPU-capable services): the image and devices they get.",
    )
    memory_gb = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(hardware.MAX_MEMORY_GB)],
        help_text="The machine's RAM in GB; the wizard warns when a local model needs more.",
    )
    gpu_memory_gb = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(hardware.MAX_MEMORY_GB)],
        help_text="The GPU's memory (VRAM) in GB; on a GPU machine local models must fit in it to run fast.",
    )
    auth_key = EncryptedTextField(blank=True, help_text="Tailscale auth key, encrypted; never shown back.")
    auth_key_masked = models.CharField(max_length=60, blank=True, editable=False)
    login_name = models.CharField(
        max_length=255,
        blank=True,
        help_text="The user's Tailscale login name, e.g. alice@github; “leger auth login” signs it in to this account.",
    )
    api_key = EncryptedTextField(
        blank=True, help_text="Tailscale API access token (tskey-api-…), encrypted; never shown back."
    )
    api_key_masked = models.CharField(max_length=60, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "tailnet settings"
        verbose_name_plural = "tailnet settings"
        constraints = [
            models.UniqueConstraint(
                Lower("login_name"),
                condition=~Q(login_name=""),
                name="tailnet_login_name_unique_ci",
                violation_error_message=LOGIN_NAME_TAKEN,
            )
        ]

    def __str__(self) -> str:
        return self.machine_name

    @property
    def machine_name(self) -> str:
        """The machine's MagicDNS name, e.g. box.tail1234.ts.net."""
        return f"{self.hostname}.{self.tailnet}"

    @property
    def has_auth_key(self) -> bool:
        return bool(self.auth_key)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)

    def login_name_taken(self) -> bool:
        """Whether another account has linked this row's login name (compared as the constraint does)."""
        if not self.login_name:
            return False
        others = TailnetSettings.objects.alias(login=Lower("login_name")).filter(login=Lower(Value(self.login_name)))
        if self.owner_id is not None:
            others = others.exclude(owner_id=self.owner_id)
        elif self.pk is not None:
            others = others.exclude(pk=self.pk)
        return others.exists()

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
        run("address", validation.clean_tailscale_address)
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
        run("login_name", validation.clean_login_name)
        if "login_name" not in errors and self.login_name_taken():
            errors["login_name"] = [LOGIN_NAME_TAKEN]
        if self.gpu_memory_gb and not hardware.accelerator(self.accelerator).is_gpu:
            errors.setdefault("gpu_memory_gb", []).append(
                "GPU memory only counts on a machine with a GPU: choose its GPU above, or leave this empty."
            )
        if errors:
            raise ValidationError(errors)
