"""Writes on credentials. Every rule about keys lives here (and in validators).

Log lines name a credential by id and secret name only; no function here logs
a value or puts one in an exception, and ``sensitive_variables()`` hides every
local variable of the functions that handle a value, and of whatever they call,
from Django's error reports (debug pages, error mails).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, RestrictedError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from leger.catalog.models import Provider
from leger.lib.derived_secrets import DerivedSecretSpec, derived_value
from leger.providers import crypto, rotation, usage, validators
from leger.providers.audit import SYSTEM, AccessSource
from leger.providers.models import (
    FIELD_SEPARATOR,
    AuditEntry,
    Credential,
    InternalSecret,
    NamedSecret,
    SecretKind,
    provider_takes_key,
)
from leger.providers.rotation import ReencryptResult, reencrypt_rows

logger = logging.getLogger(__name__)

DEFAULT_LABEL = "default"
_SECRET_NAME_MAX = 80


def _audit(credential: Credential, *, action: str, actor: AbstractBaseUser | None, source: AccessSource) -> AuditEntry:
    return AuditEntry.objects.create(
        owner_id=credential.owner_id,
        credential=credential if credential.pk else None,
        secret_name=credential.secret_name,
        label=credential.label,
        provider_name=credential.provider.name,
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        channel=source.channel,
        ip=source.ip,
        user_agent=source.user_agent,
    )


# Errors about a provider's key field are keyed by this prefix and the field's name (field_api_base, ...).
FIELD_ERROR_PREFIX = "field_"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _base_secret_name(provider: Provider) -> str:
    base = _slug(provider.env_var) or f"{_slug(provider.pk)}_api_key"
    if not base[0].isalpha():
        base = f"key_{base}"
    return base[:_SECRET_NAME_MAX]


def _free_secret_name(*, owner: AbstractBaseUser, provider: Provider, label: str) -> str:
    """The provider's base name for a first key; then one from the label, then numbered ones."""
    base = _base_secret_name(provider)
    taken = set(
        Credential.objects.filter(owner=owner, secret_name__startswith=base).values_list("secret_name", flat=True)
    )
    candidates = [base]
    label_part = _slug(label)
    if label_part and label != DEFAULT_LABEL:
        candidates.append(f"{base}_{label_part}"[:_SECRET_NAME_MAX])
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def _lock_owner(owner_id: int) -> None:
    # One writer per owner at a time, so two concurrent adds cannot pick the same
    # secret name or label; the unique constraints stay as the last word.
    # NO KEY UPDATE: rows that merely point at the user (an audit entry written by a concurrent rotation)
    # can still be inserted meanwhile; a full FOR UPDATE made a rename and a rotation deadlock.
    get_user_model().objects.select_for_update(no_key=True).filter(pk=owner_id).first()


# What another request may have changed since ``credential`` was read; its relations stay cached.
_CHANGING_FIELDS = ("label", "value", "masked", "rotated_at")


class CredentialDeleted(LookupError):
    """The key was deleted by another request after this one read it; nothing was changed."""


def _lock_credential(credential: Credential) -> None:
    """Lock the key's row and bring ``credential`` up to date with it, so a change committed meanwhile (a
    rename during a rotation, or the reverse) is what this change builds on, audits and answers with.

    Raises CredentialDeleted when a delete committed meanwhile (or was waiting for this lock and then
    committed): the caller's transaction is then rolled back, so no audit entry claims a change of a key
    that is gone.
    """
    try:
        credential.refresh_from_db(
            fields=_CHANGING_FIELDS, from_queryset=Credential.objects.select_for_update(no_key=True)
        )
    except Credential.DoesNotExist:
        raise CredentialDeleted("This key was deleted meanwhile; nothing was changed.") from None


def _check_label_free(*, owner_id: int, provider: Provider, label: str, exclude_pk: int | None) -> None:
    clash = Credential.objects.filter(owner_id=owner_id, provider=provider, label=label)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError(
            {"label": [f"You already have a key labelled “{label}” for {provider.name}; give this one its own label."]}
        )


@sensitive_variables()
def credential_check_new(
    *, owner: AbstractBaseUser, provider: Provider, label: str, value: str, fields: Mapping[str, Any] | None = None
) -> str:
    """Every rule a new key must pass, without saving; returns the cleaned label.

    Raises a ValidationError keyed by field (provider, label, value, and ``field_<name>`` for each of the
    provider's key fields). The admin add form calls this from clean() so refusals appear next to its fields.
    """
    errors: dict[str, list[str]] = {}
    if not provider_takes_key(provider):
        errors["provider"] = [f"{provider.name} runs on your own machine and needs no key; pick an API provider."]
    try:
        label = validators.clean_label(label) or DEFAULT_LABEL
    except ValidationError as error:
        errors["label"] = error.messages
    if "provider" not in errors:
        try:
            validators.validate_key_value(value, provider=provider)
        except ValidationError as error:
            errors["value"] = error.messages
        _, _, field_errors = validators.clean_key_fields(provider, fields)
        errors.update({f"{FIELD_ERROR_PREFIX}{name}": messages for name, messages in field_errors.items()})
    if not errors:
        try:
            _check_label_free(owner_id=owner.pk, provider=provider, label=label, exclude_pk=None)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return label


@sensitive_variables()
def credential_create(
    *,
    owner: AbstractBaseUser,
    provider: Provider,
    label: str,
    value: str,
    fields: Mapping[str, Any] | None = None,
    source: AccessSource = SYSTEM,
) -> Credential:
    """Store a new key for ``owner`` (with the provider's key ``fields`` by name); refuses bad input with field
    messages and saves nothing."""
    label = credential_check_new(owner=owner, provider=provider, label=label, value=value, fields=fields)
    plain, secret, _ = validators.clean_key_fields(provider, fields)
    try:
        with transaction.atomic():
            _lock_owner(owner.pk)
            # Again under the lock: another request may have taken the label since the check.
            _check_label_free(owner_id=owner.pk, provider=provider, label=label, exclude_pk=None)
            credential = Credential.objects.create(
                owner=owner,
                provider=provider,
                label=label,
                value=crypto.encrypt(value),
                masked=crypto.mask(value, provider.key_prefix),
                secret_name=_free_secret_name(owner=owner, provider=provider, label=label),
                env_var=provider.env_var,
                **_key_field_columns(plain, secret),
            )
            _audit(credential, action=AuditEntry.Action.CREATED, actor=owner, source=source)
    except IntegrityError:
        # Only reachable when another request won a race the owner lock did not cover.
        raise ValidationError({"label": ["This key clashes with one saved at the same moment; try again."]}) from None
    logger.info("credential %s (%s) added for user %s", credential.pk, credential.secret_name, credential.owner_id)
    return credential


def credential_check_label(*, credential: Credential, label: str) -> str:
    """The rules a new label for an existing key must pass, without saving; returns it cleaned."""
    try:
        label = validators.clean_label(label)
    except ValidationError as error:
        raise ValidationError({"label": error.messages}) from None
    if not label:
        raise ValidationError({"label": ["Give the key a label, e.g. “work” or “personal”."]})
    _check_label_free(owner_id=credential.owner_id, provider=credential.provider, label=label, exclude_pk=credential.pk)
    return label


def credential_rename(
    *,
    credential: Credential,
    label: str,
    actor: AbstractBaseUser | None = None,
    source: AccessSource = SYSTEM,
) -> Credential:
    """Change a key's label. Its secret name stays, since releases refer to it."""
    label = credential_check_label(credential=credential, label=label)
    with transaction.atomic():
        _lock_owner(credential.owner_id)
        _lock_credential(credential)
        _check_label_free(
            owner_id=credential.owner_id, provider=credential.provider, label=label, exclude_pk=credential.pk
        )
        credential.label = label
        credential.save(update_fields=["label"])
        _audit(credential, action=AuditEntry.Action.RENAMED, actor=actor or credential.owner, source=source)
    logger.info("credential %s (%s) renamed", credential.pk, credential.secret_name)
    return credential


@sensitive_variables()
@sensitive_variables()
def _key_field_columns(plain: Mapping[str, str], secret: Mapping[str, str]) -> dict[str, Any]:
    return {
        "key_settings": dict(plain),
        "key_secrets": crypto.encrypt(json.dumps(dict(secret), sort_keys=True)) if secret else "",
        "key_secrets_masked": {name: crypto.mask(text) for name, text in sorted(secret.items())},
    }


@sensitive_variables()
def credential_key_secrets(credential: Credential) -> dict[str, str]:
    """A key's secret fields in plaintext, for the code paths that hand them out (audited there)."""
    return json.loads(crypto.decrypt(credential.key_secrets)) if credential.key_secrets else {}


@sensitive_variables()
def credential_rotate(
    *,
    credential: Credential,
    value: str | None,
    fields: Mapping[str, Any] | None = None,
    actor: AbstractBaseUser | None = None,
    source: AccessSource = SYSTEM,
) -> Credential:
    """Replace a key's value (after the user rotated it at the provider) and/or some of its key fields; name and
    label stay. ``value`` None keeps the key itself; fields not given keep their stored value."""
    provider = credential.provider
    errors: dict[str, list[str]] = {}
    if value is not None or not fields:
        try:
            validators.validate_key_value(value or "", provider=provider)
        except ValidationError as error:
            errors["value"] = error.messages
    current = {**(credential.key_settings or {}), **credential_key_secrets(credential)}
    plain, secret, field_errors = validators.clean_key_fields(provider, fields, current)
    errors.update({f"{FIELD_ERROR_PREFIX}{name}": messages for name, messages in field_errors.items()})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_credential(credential)
        if value is not None:
            credential.value = crypto.encrypt(value)
            credential.masked = crypto.mask(value, provider.key_prefix)
        for column, stored in _key_field_columns(plain, secret).items():
            setattr(credential, column, stored)
        credential.rotated_at = timezone.now()
        credential.version = F("version") + 1
        credential.save(
            update_fields=[
                "value",
                "masked",
                "key_settings",
                "key_secrets",
                "key_secrets_masked",
                "rotated_at",
                "version",
            ]
        )
        credential.refresh_from_db(fields=["version"])
        _audit(credential, action=AuditEntry.Action.REPLACED, actor=actor or credential.owner, source=source)
    logger.info("credential %s (%s) value replaced", credential.pk, credential.secret_name)
    return credential


def credential_delete(
    *,
    credential: Credential,
    actor: AbstractBaseUser | None = None,
    source: AccessSource = SYSTEM,
) -> None:
    """Delete (revoke) a key. Refused, with who holds it, while another section protects it.

    Raises CredentialDeleted when another request deleted it first, rather than auditing a second delete.
    """
    pk, secret_name = credential.pk, credential.secret_name
    try:
        with transaction.atomic():
            # Locked first: a rename or rotation under way finishes (and is audited) before the key goes, and
            # one that starts meanwhile finds it gone; a second delete finds it gone too.
            _lock_credential(credential)
            _audit(credential, action=AuditEntry.Action.DELETED, actor=actor or credential.owner, source=source)
            credential.delete()
    except (ProtectedError, RestrictedError) as error:
        holders = sorted({str(obj) for obj in error.args[1]}) if len(error.args) > 1 else []
        named = f": {', '.join(holders)}" if holders else ""
        raise ValidationError(f"This key is still in use{named}. Remove it there first, then delete the key.") from None
    logger.info("credential %s (%s) deleted", pk, secret_name)


@sensitive_variables()
def credential_reveal(*, credential: Credential, actor: AbstractBaseUser, source: AccessSource) -> str:
    """The plaintext of a key, for its owner only; every read is written to the audit log."""
    if actor.pk != credential.owner_id:
        raise PermissionDenied("Only the owner of a key can read its value.")
    plaintext = crypto.decrypt(credential.value)
    _audit(credential, action=AuditEntry.Action.READ, actor=actor, source=source)
    logger.info(
        "credential %s (%s) value read by user %s via %s",
        credential.pk,
        credential.secret_name,
        actor.pk,
        source.channel,
    )
    return plaintext


def credentials_reencrypt_all(*, batch_size: int = 500) -> ReencryptResult:
    """Re-encrypt every stored key under the newest Fernet key, so older keys can be retired."""
    return reencrypt_rows(
        Credential,
        "value",
        extra_fields=("owner_id", "secret_name"),
        describe=lambda row: f"credential {row['pk']} ({row['secret_name']} of user {row['owner_id']})",
        batch_size=batch_size,
    )


def secrets_reencrypt_all(*, batch_size: int = 500) -> dict[str, ReencryptResult]:
    """Re-encrypt everything Leger stores encrypted: credentials, every other EncryptedTextField
    column, and the stores other sections registered. Results by what was re-encrypted."""
    results = {"credentials": credentials_reencrypt_all(batch_size=batch_size)}
    for model, field_name in rotation.encrypted_columns():
        if (model, field_name) != (Credential, "value"):
            label = f"{model._meta.verbose_name_plural} ({model._meta.label}.{field_name})"
            results[label] = rotation.reencrypt_rows(model, field_name, batch_size=batch_size)
    for name, reencrypt in rotation.registered_reencryptions().items():
        results[name] = reencrypt()
    return results


# --- internal secrets: generated by Leger, one per owner and name -------------------------------------------------

# Values some programs insist on a shape for, by the variable they fill. LiteLLM refuses a master key, and a
# virtual key chosen by its caller (Open WebUI's, which it registers at its start), that does not start with "sk-".
INTERNAL_SECRET_PREFIX_FOR_TARGET = {"LITELLM_MASTER_KEY": "sk-", "LEGER_OPENWEBUI_KEY": "sk-"}
_INTERNAL_SECRET_BYTES = 32


@sensitive_variables()
def _internal_secret_value(targets: Collection[str]) -> str:
    prefixes = {INTERNAL_SECRET_PREFIX_FOR_TARGET[t] for t in targets if t in INTERNAL_SECRET_PREFIX_FOR_TARGET}
    # token_urlsafe: letters, digits, "-" and "_" only, so a database password also fits in a URL unescaped.
    return "".join(sorted(prefixes)) + secrets.token_urlsafe(_INTERNAL_SECRET_BYTES)


@sensitive_variables()
def internal_secrets_ensure(
    *,
    owner: AbstractBaseUser,
    secrets_wanted: Mapping[str, Collection[str]],
    derived: Mapping[str, DerivedSecretSpec] | None = None,
) -> list[str]:
    """Make sure the owner has a value for every internal secret named in ``secrets_wanted`` (name → the
    variables it fills); returns the names created now. An existing value is never changed: an installed
    stack's databases were set up with it. A name in ``derived`` is made from the secret its spec names (a
    token signed with a gateway's key), once that one exists."""
    derived = derived or {}
    existing = set(
        InternalSecret.objects.filter(owner=owner, name__in=list(secrets_wanted)).values_list("name", flat=True)
    )
    missing = sorted(set(secrets_wanted) - existing)
    if not missing:
        return []
    with transaction.atomic():
        # ignore_conflicts: a concurrent first cut may have created one meanwhile; its value then stays.
        InternalSecret.objects.bulk_create(
            [
                InternalSecret(
                    owner=owner, name=name, value=crypto.encrypt(_internal_secret_value(secrets_wanted[name]))
                )
                for name in missing
                if name not in derived
            ],
            ignore_conflicts=True,
        )
        made = [name for name in missing if name in derived]
        sources = {
            row.name: row.value
            for row in InternalSecret.objects.filter(owner=owner, name__in=[derived[n]["source"] for n in made])
        }
        InternalSecret.objects.bulk_create(
            [
                InternalSecret(
                    owner=owner,
                    name=name,
                    value=crypto.encrypt(
                        derived_value(derived[name], crypto.decrypt(sources[derived[name]["source"]]))
                    ),
                )
                for name in made
            ],
            ignore_conflicts=True,
        )
    logger.info("internal secrets %s generated for user %s", ", ".join(missing), owner.pk)
    return missing


# --- every secret a release names, by name, for the CLI ----------------------------------------------------------


class SecretNotFound(LookupError):
    """The owner has no secret of that name (or it is someone else's)."""


@dataclass(frozen=True)
class RevealedSecret:
    name: str
    kind: str  # SecretKind
    value: str


def _audit_secret(
    *,
    owner_id: int,
    name: str,
    kind: str,
    label: str,
    provider_name: str,
    actor: AbstractBaseUser,
    source: AccessSource,
    action: str = AuditEntry.Action.READ,
) -> None:
    AuditEntry.objects.create(
        owner_id=owner_id,
        secret_name=name,
        kind=kind,
        label=label,
        provider_name=provider_name[:200],
        action=action,
        actor=actor,
        actor_name=actor.get_username(),
        channel=source.channel,
        ip=source.ip,
        user_agent=source.user_agent,
    )


def _credential_of_field(owner: AbstractBaseUser, name: str) -> tuple[Credential, str] | None:
    """The key and field a secret name like aws_secret_access_key__access_key_id stands for, if the key has it."""
    base, separator, field = name.partition(FIELD_SEPARATOR)
    if not separator:
        return None
    credential = Credential.objects.filter(owner=owner, secret_name=base).select_related("provider").first()
    if credential is None or field not in (credential.key_secrets_masked or {}):
        return None
    return credential, field


@sensitive_variables()
def secret_reveal(
    *, owner: AbstractBaseUser, name: str, actor: AbstractBaseUser, source: AccessSource
) -> RevealedSecret:
    """The value of one of the owner's secrets by the name releases use: a provider key, a secret setting of a
    marketplace selection, or an internal secret, looked up in that order. Every read is audited.

    Raises SecretNotFound for a name the owner does not have, and PermissionDenied unless the owner reads.
    """
    from leger.marketplace.selectors import selection_secret_get

    if actor.pk != owner.pk:
        raise PermissionDenied("Only the owner of a secret can read its value.")
    credential = Credential.objects.filter(owner=owner, secret_name=name).select_related("provider").first()
    if credential is not None:
        return RevealedSecret(
            name, SecretKind.CREDENTIAL, credential_reveal(credential=credential, actor=actor, source=source)
        )
    field_of = _credential_of_field(owner, name)
    if field_of is not None:
        credential, field = field_of
        value = credential_key_secrets(credential)[field]
        _audit(credential, action=AuditEntry.Action.READ, actor=actor, source=source)
        logger.info("credential %s field %s read by user %s via %s", credential.pk, field, actor.pk, source.channel)
        return RevealedSecret(name, SecretKind.CREDENTIAL, value)
    selection = selection_secret_get(owner=owner, name=name)
    if selection is not None:
        _audit_secret(
            owner_id=owner.pk,
            name=name,
            kind=SecretKind.SELECTION,
            label=selection.env_var,
            provider_name=selection.service,
            actor=actor,
            source=source,
        )
        logger.info("selection secret %s read by user %s via %s", name, actor.pk, source.channel)
        return RevealedSecret(name, SecretKind.SELECTION, selection.value)
    named = NamedSecret.objects.filter(owner=owner, name=name).first()
    if named is not None:
        value = crypto.decrypt(named.value)
        _audit_secret(
            owner_id=owner.pk, name=name, kind=SecretKind.NAMED, label="", provider_name="", actor=actor, source=source
        )
        logger.info("named secret %s read by user %s via %s", name, actor.pk, source.channel)
        return RevealedSecret(name, SecretKind.NAMED, value)
    internal = InternalSecret.objects.filter(owner=owner, name=name).first()
    if internal is not None:
        value = crypto.decrypt(internal.value)
        _audit_secret(
            owner_id=owner.pk,
            name=name,
            kind=SecretKind.INTERNAL,
            label="",
            provider_name="",
            actor=actor,
            source=source,
        )
        logger.info("internal secret %s read by user %s via %s", name, actor.pk, source.channel)
        return RevealedSecret(name, SecretKind.INTERNAL, value)
    for kind, (_, get_value) in usage.secret_sources().items():
        found = get_value(owner, name)
        if found is not None:
            return RevealedSecret(name, kind, found)
    raise SecretNotFound(f"You have no secret called {name!r}.")


# --- secrets set and removed by name (the CLI's `leger secrets set` / `delete`) ------------------------------------

SECRET_VALUE_MAX_BYTES = 10 * 1024
# Names Leger gives config files of releases (see leger.releases.rendering.FILE_SECRET_PREFIX): not the user's.
RESERVED_SECRET_PREFIX = "leger-file-"


class SecretRefused(ValueError):
    """A secret cannot be set or deleted by name; ``code`` is the CLI's error code, the message what to change."""

    def __init__(self, message: str, *, code: str = "invalid_secret_name") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SetSecret:
    name: str
    kind: str  # SecretKind
    version: int
    updated_at: dt.datetime
    created: bool


def _check_secret_name(name: str) -> None:
    if not re.fullmatch(NamedSecret.NAME_PATTERN, name or ""):
        raise SecretRefused(
            "A secret name is 1 to 64 letters, digits, '_' or '-' (e.g. openai_api_key); change the name."
        )
    if name.startswith(RESERVED_SECRET_PREFIX):
        raise SecretRefused(f"Names starting with {RESERVED_SECRET_PREFIX} are the config files of your releases.")


def _refuse_generated(owner: AbstractBaseUser, name: str) -> None:
    from leger.marketplace.selectors import selection_secret_names

    if InternalSecret.objects.filter(owner=owner, name=name).exists():
        raise SecretRefused(
            f"{name} is generated by Leger for your stack (a database password or service key) and never changes, "
            "so an installed stack keeps reaching its own data; choose another name.",
            code="insufficient_permissions",
        )
    for entry in selection_secret_names(owner=owner):
        if entry.name == name:
            raise SecretRefused(
                f"{name} is the {entry.env_var} setting of your {entry.service} service; change it on /marketplace.",
                code="insufficient_permissions",
            )


@sensitive_variables()
def secret_set(*, owner: AbstractBaseUser, name: str, value: str, source: AccessSource) -> SetSecret:
    """Store ``value`` under ``name`` for ``owner``: a key's secret name replaces that key's value, any other name
    is a named secret (created or replaced). Audited; raises SecretRefused with what to change."""
    _check_secret_name(name)
    if not value:
        raise SecretRefused("The value is empty; give the secret a value.", code="invalid_secret_value")
    if len(value.encode("utf-8", "surrogatepass")) > SECRET_VALUE_MAX_BYTES:
        raise SecretRefused("A secret value may hold at most 10 KB.", code="secret_value_too_large")
    if "\x00" in value or any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise SecretRefused("The value holds a NUL or an unpaired surrogate; send text.", code="invalid_secret_value")
    credential = Credential.objects.filter(owner=owner, secret_name=name).select_related("provider").first()
    if credential is not None:
        try:
            credential_rotate(credential=credential, value=value, actor=owner, source=source)
        except ValidationError as error:
            raise SecretRefused(" ".join(error.messages), code="invalid_secret_value") from None
        except CredentialDeleted:
            raise SecretRefused("This key was deleted meanwhile; set it again.", code="secret_not_found") from None
        return SetSecret(name, SecretKind.CREDENTIAL, credential.version, credential.rotated_at, created=False)
    field_of = _credential_of_field(owner, name)
    if field_of is not None:
        credential, field = field_of
        try:
            credential_rotate(credential=credential, value=None, fields={field: value}, actor=owner, source=source)
        except ValidationError as error:
            raise SecretRefused(" ".join(error.messages), code="invalid_secret_value") from None
        except CredentialDeleted:
            raise SecretRefused("This key was deleted meanwhile; set it again.", code="secret_not_found") from None
        return SetSecret(name, SecretKind.CREDENTIAL, credential.version, credential.rotated_at, created=False)
    _refuse_generated(owner, name)
    now = timezone.now()
    with transaction.atomic():
        _lock_owner(owner.pk)
        named = NamedSecret.objects.select_for_update().filter(owner=owner, name=name).first()
        created = named is None
        if named is None:
            named = NamedSecret(owner=owner, name=name, created_at=now)
        else:
            named.version += 1
        named.value = crypto.encrypt(value)
        named.masked = crypto.mask(value)
        named.updated_at = now
        named.save()
        _audit_secret(
            owner_id=owner.pk,
            name=name,
            kind=SecretKind.NAMED,
            label="",
            provider_name="",
            actor=owner,
            source=source,
            action=AuditEntry.Action.CREATED if created else AuditEntry.Action.REPLACED,
        )
    logger.info("named secret %s %s for user %s", name, "created" if created else "replaced", owner.pk)
    return SetSecret(name, SecretKind.NAMED, named.version, now, created=created)


def secret_delete(*, owner: AbstractBaseUser, name: str, source: AccessSource) -> str:
    """Delete the owner's secret called ``name`` (a named secret, or a key by its secret name); returns its kind.

    Raises SecretNotFound when there is none and SecretRefused for one Leger generated or a part of a key."""
    if _credential_of_field(owner, name) is not None:
        raise SecretRefused(
            f"{name} is part of a key on /providers, which needs it; delete the key itself, or set a new value.",
            code="insufficient_permissions",
        )
    credential = Credential.objects.filter(owner=owner, secret_name=name).first()
    if credential is not None:
        try:
            credential_delete(credential=credential, actor=owner, source=source)
        except ValidationError as error:
            raise SecretRefused(" ".join(error.messages), code="insufficient_permissions") from None
        except CredentialDeleted:
            raise SecretNotFound(f"You have no secret called {name!r}.") from None
        return SecretKind.CREDENTIAL
    with transaction.atomic():
        named = NamedSecret.objects.select_for_update().filter(owner=owner, name=name).first()
        if named is None:
            _refuse_generated(owner, name)
            raise SecretNotFound(f"You have no secret called {name!r}.")
        named.delete()
        _audit_secret(
            owner_id=owner.pk,
            name=name,
            kind=SecretKind.NAMED,
            label="",
            provider_name="",
            actor=owner,
            source=source,
            action=AuditEntry.Action.DELETED,
        )
    logger.info("named secret %s deleted for user %s", name, owner.pk)
    return SecretKind.NAMED
