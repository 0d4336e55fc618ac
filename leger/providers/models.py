"""A user's API keys (credentials) and the audit log of what happened to them.

A credential's value is only ever stored as a Fernet token (``value``); the
masked form shown everywhere is computed once, when the value is set, so
listing keys never needs to decrypt one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leger.catalog.models import Provider
from leger.providers import validators
from leger.providers.fields import EncryptedTextField

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.providers.audit import AccessSource

# Catalog provider kinds whose use needs a key: LLM APIs, and the services of
# marketplace add-ons (Tavily, ElevenLabs, ...). Local providers need none.
KEYED_PROVIDER_KINDS = (Provider.Kind.API, Provider.Kind.SERVICE)

SECRET_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# Between a key's secret name and one of its secret fields; a key's own name is a slug, with single underscores.
FIELD_SEPARATOR = "__"
# What the leger CLI's secrets API accepts as a name (letters, digits, '_' and '-', at most 64).
NAMED_SECRET_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def provider_takes_key(provider: Provider) -> bool:
    return provider.kind in KEYED_PROVIDER_KINDS


class Credential(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials")
    provider = models.ForeignKey("catalog.Provider", on_delete=models.PROTECT, related_name="credentials")
    label = models.CharField(
        max_length=validators.MAX_LABEL_LENGTH,
        help_text="Tells two keys for the same provider apart, e.g. “work” and “personal”.",
    )
    value = EncryptedTextField(help_text="The key, encrypted with LEGER_FERNET_KEYS.")
    masked = models.CharField(max_length=60, editable=False, help_text="The only form of the key that is shown.")
    secret_name = models.CharField(
        max_length=100,
        editable=False,
        help_text="The placeholder releases use for this key (a Podman secret name); never changes once given.",
    )
    env_var = models.CharField(
        max_length=100, editable=False, help_text="The environment variable this key fills, from the catalog."
    )
    # What the provider's key needs besides the key itself (its catalog key_fields): an Azure endpoint and API
    # version, a Bedrock access key ID and region, a Vertex project and location.
    key_settings = models.JSONField(
        default=dict, blank=True, editable=False, help_text="The key's plain fields (endpoint, region, ...)."
    )
    key_secrets = EncryptedTextField(blank=True, help_text="The key's secret fields, one encrypted JSON object.")
    key_secrets_masked = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rotated_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the value was last replaced."
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="1, then one more per replacement.")

    class Meta:
        ordering = ["provider_id", "label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "secret_name"], name="providers_secret_name_unique_per_owner"),
            models.UniqueConstraint(
                fields=["owner", "provider", "label"],
                name="providers_label_unique_per_provider",
                violation_error_message="You already have a key with this label for this provider.",
            ),
            models.CheckConstraint(condition=~Q(label=""), name="providers_credential_has_label"),
            models.CheckConstraint(
                condition=Q(secret_name__regex=SECRET_NAME_PATTERN), name="providers_secret_name_shape"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} · {self.label}"

    def clean(self) -> None:
        try:
            self.label = validators.clean_label(self.label)
        except ValidationError as error:
            raise ValidationError({"label": error.messages}) from None

    def field_secret_name(self, field: str) -> str:
        """The secret name one secret field of this key is delivered under (e.g. aws_secret_access_key__access_key_id);
        a double underscore never occurs in a key's own secret name."""
        return f"{self.secret_name}{FIELD_SEPARATOR}{field}"

    def reveal(self, *, actor: AbstractBaseUser, source: AccessSource) -> str:
        """The plaintext key, for the few code paths that must hand it out. Every call is audited."""
        from leger.providers.services import credential_reveal

        return credential_reveal(credential=self, actor=actor, source=source)


class InternalSecret(models.Model):
    """A secret the stack itself needs (a database password, LiteLLM's master key), one per owner and name.

    Leger generates it on the first cut that needs it and never changes it afterwards: an installed stack's
    databases were initialised with it, so a new release must hand the machine the same value.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="internal_secrets")
    name = models.CharField(max_length=253, editable=False, help_text="The Podman secret name releases use.")
    value = EncryptedTextField(help_text="The generated value, encrypted with LEGER_FERNET_KEYS.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["owner_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="providers_internal_secret_unique_per_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class NamedSecret(models.Model):
    """A value the user stored by name with ``leger secrets set NAME VALUE``, for units of their own that name it.

    Encrypted, masked and audited like a key. A name that is already a key's secret name replaces that key
    instead (see ``services.secret_set``), so one name never means two values.
    """

    NAME_PATTERN = NAMED_SECRET_PATTERN

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="named_secrets")
    name = models.CharField(max_length=64, help_text="The Podman secret name a unit uses.")
    value = EncryptedTextField(help_text="The value, encrypted with LEGER_FERNET_KEYS.")
    masked = models.CharField(max_length=60, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["owner_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="providers_named_secret_unique_per_owner"),
            models.CheckConstraint(condition=Q(name__regex=NAMED_SECRET_PATTERN), name="providers_named_secret_shape"),
        ]

    def __str__(self) -> str:
        return self.name


class SecretKind(models.TextChoices):
    """Where a secret a release names comes from."""

    CREDENTIAL = "credential", "Provider key"
    INTERNAL = "internal", "Generated by Leger"
    SELECTION = "selection", "Marketplace setting"
    NAMED = "named", "Set with leger secrets set"
    FILE = "file", "Config file of a release"


class AuditEntry(models.Model):
    """Something that happened to one of a user's secrets: above all, every read of a value."""

    class Action(models.TextChoices):
        CREATED = "created", "Added"
        RENAMED = "renamed", "Renamed"
        REPLACED = "replaced", "Value replaced"
        DELETED = "deleted", "Deleted"
        READ = "read", "Value read"
        CLI_SIGNED_IN = "cli_login", "CLI signed in"
        CLI_REFUSED = "cli_refuse", "CLI sign-in refused"
        CLI_REVOKED = "cli_revoke", "CLI token revoked"

    class Channel(models.TextChoices):
        WEB = "web", "Web page"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        SYSTEM = "system", "System"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credential_audit")
    # Kept after the key is deleted, so the log still says which secret it was.
    credential = models.ForeignKey(Credential, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    secret_name = models.CharField(max_length=253)
    # Credentials are named by label and provider; the other kinds by secret name (and service) only.
    kind = models.CharField(max_length=10, choices=SecretKind.choices, default=SecretKind.CREDENTIAL)
    label = models.CharField(max_length=validators.MAX_LABEL_LENGTH, blank=True)
    provider_name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Who did it, as they were named then.")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name="IP address")
    user_agent = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["owner", "-at"], name="providers_audit_owner_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.secret_name} by {self.actor_name or 'unknown'}"

    @property
    def origin(self) -> str:
        """Where the action came from, in words: channel, address and program."""
        parts = [self.get_channel_display()]
        if self.ip:
            parts.append(self.ip)
        if self.user_agent:
            parts.append(self.user_agent)
        return " · ".join(parts)
