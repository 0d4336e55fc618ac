"""What the leger CLI's sign-in leaves behind: the tokens it was given and every attempt it made.

A token is a signed JWT (``tokens.py``); the row here is what makes it revocable: a token whose ``jti`` has no
row, or whose row is revoked or expired, is refused whatever its signature says.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class CliToken(models.Model):
    """A token ``POST /auth/cli`` issued to one machine, after Tailscale's API vouched for it."""

    jti = models.UUIDField(unique=True, default=uuid.uuid4, editable=False, help_text="The token's JWT id.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cli_tokens")
    login_name = models.CharField(max_length=255, help_text="The Tailscale login it was issued to.")
    device_ip = models.GenericIPAddressField(help_text="The machine's Tailscale address.")
    device_hostname = models.CharField(max_length=255, blank=True)
    device_id = models.CharField(max_length=100, blank=True, help_text="Tailscale's id of the device.")
    cli_version = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="cli_token_owner_created")]

    def __str__(self) -> str:
        return f"{self.device_hostname or self.device_ip} ({self.login_name})"

    def is_active(self, now: dt.datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


class SignInAttempt(models.Model):
    """One ``POST /auth/cli``, granted or refused: the rate limit counts these, /account/ lists them."""

    class Outcome(models.TextChoices):
        GRANTED = "granted", "Signed in"
        REFUSED = "refused", "Refused"
        UNAVAILABLE = "unavailable", "Tailscale's API did not answer"
        LIMITED = "limited", "Too many attempts"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="cli_sign_ins"
    )
    login_name = models.CharField(max_length=255, blank=True)
    device_ip = models.CharField(max_length=100, blank=True, help_text="The address the CLI claimed.")
    device_hostname = models.CharField(max_length=255, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True, help_text="Where the request came from.")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    token = models.ForeignKey(CliToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["client_ip", "-at"], name="cli_attempt_client_at"),
            models.Index(fields=["login_name", "-at"], name="cli_attempt_login_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.login_name or '?'} from {self.client_ip or '?'}"
