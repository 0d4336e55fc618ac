"""Reads on providers and credentials. Every read is scoped to one owner."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from leger.catalog.models import Provider
from leger.providers import usage
from leger.providers.models import (
    KEYED_PROVIDER_KINDS,
    AuditEntry,
    Credential,
    InternalSecret,
    NamedSecret,
    SecretKind,
)


def configured_provider_ids(*, user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """Ids of the catalog providers the user holds at least one key for."""
    if not user.is_authenticated:
        return set()
    return set(Credential.objects.filter(owner=user).values_list("provider_id", flat=True).distinct())


def configured_provider_names(*, owner: AbstractBaseUser) -> list[str]:
    """Names of the providers the owner holds at least one key for, alphabetically; one query."""
    names = Provider.objects.filter(credentials__owner=owner).order_by("name").values_list("name", flat=True)
    return list(names.distinct())


def key_providers() -> QuerySet[Provider]:
    """Catalog providers a key can be added for, by name."""
    return Provider.objects.filter(kind__in=KEYED_PROVIDER_KINDS).order_by("name", "id")


def credential_list(*, owner: AbstractBaseUser) -> QuerySet[Credential]:
    return Credential.objects.filter(owner=owner).select_related("provider").order_by("provider__name", "label", "id")


def credential_get(*, owner: AbstractBaseUser, id: int) -> Credential:
    """One of the owner's credentials; 404 for anyone else's, as if it did not exist."""
    return get_object_or_404(credential_list(owner=owner), pk=id)


@dataclass(frozen=True)
class SecretEntry:
    """One secret a release can name, without its value."""

    name: str
    kind: str  # SecretKind
    env_var: str  # the variable it fills ("" for internal secrets: each release says where they go)
    provider: str  # catalog provider id of a key, else ""
    label: str  # a key's label, or the marketplace service a setting belongs to, else ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    version: int = 1


def secret_list(*, owner: AbstractBaseUser) -> list[SecretEntry]:
    """Every secret of the owner by name, for the CLI: keys, marketplace secret settings, secrets set by name
    and internal secrets, in that order of precedence when names meet; four queries, nothing decrypted."""
    from leger.marketplace.selectors import selection_secret_names

    entries: dict[str, SecretEntry] = {}
    for credential in credential_list(owner=owner):
        entries.setdefault(
            credential.secret_name,
            SecretEntry(
                credential.secret_name,
                SecretKind.CREDENTIAL,
                credential.env_var,
                credential.provider_id,
                credential.label,
                credential.created_at,
                credential.rotated_at or credential.created_at,
                credential.version,
            ),
        )
        # Each secret field of the key (Bedrock's access key ID) is its own secret, filling its own variable.
        specs = {spec["name"]: spec for spec in credential.provider.key_fields or []}
        for part in sorted(credential.key_secrets_masked or {}):
            name = credential.field_secret_name(part)
            entries.setdefault(
                name,
                SecretEntry(
                    name,
                    SecretKind.CREDENTIAL,
                    specs.get(part, {}).get("env_var", ""),
                    credential.provider_id,
                    credential.label,
                    credential.created_at,
                    credential.rotated_at or credential.created_at,
                    credential.version,
                ),
            )
    for setting in selection_secret_names(owner=owner):
        entries.setdefault(
            setting.name,
            SecretEntry(
                setting.name,
                SecretKind.SELECTION,
                setting.env_var,
                "",
                setting.service,
                setting.created_at,
                setting.updated_at,
            ),
        )
    for named in NamedSecret.objects.filter(owner=owner).only("name", "created_at", "updated_at", "version"):
        entries.setdefault(
            named.name,
            SecretEntry(named.name, SecretKind.NAMED, "", "", "", named.created_at, named.updated_at, named.version),
        )
    for name, created_at in InternalSecret.objects.filter(owner=owner).values_list("name", "created_at"):
        entries.setdefault(name, SecretEntry(name, SecretKind.INTERNAL, "", "", "", created_at, created_at))
    for list_entries, _ in usage.secret_sources().values():
        for entry in list_entries(owner):
            entries.setdefault(entry.name, entry)
    return [entries[name] for name in sorted(entries)]


def named_secret_list(*, owner: AbstractBaseUser) -> QuerySet[NamedSecret]:
    return NamedSecret.objects.filter(owner=owner).order_by("name")


def credential_usages(*, credential: Credential) -> list[str]:
    """What uses this key, in words, from the lookups other sections registered."""
    return usage.credential_usages(credential=credential)


def audit_list(*, owner: AbstractBaseUser) -> QuerySet[AuditEntry]:
    """What happened to the owner's secrets, newest first."""
    return AuditEntry.objects.filter(owner=owner).order_by("-at", "-id")


@dataclass
class ProviderKeys:
    provider: Provider
    credentials: list[Credential] = field(default_factory=list)

    @property
    def configured(self) -> bool:
        return bool(self.credentials)


@dataclass
class ProviderGroup:
    slug: str
    title: str
    description: str
    entries: list[ProviderKeys]

    @property
    def configured_count(self) -> int:
        return sum(1 for entry in self.entries if entry.configured)


_GROUPS = [
    (Provider.Kind.API, "llm-providers", "LLM providers", "Keys LiteLLM uses to reach cloud models."),
    (
        Provider.Kind.SERVICE,
        "service-keys",
        "Add-on services",
        "Keys of the marketplace services Open WebUI calls, such as search or speech.",
    ),
]


def key_overview(*, owner: AbstractBaseUser) -> list[ProviderGroup]:
    """Every provider that takes a key, grouped by kind, each with the owner's keys; two queries.

    Providers the owner has keys for come first in their group.
    """
    by_provider: dict[str, ProviderKeys] = {provider.pk: ProviderKeys(provider) for provider in key_providers()}
    for credential in credential_list(owner=owner):
        entry = by_provider.get(credential.provider_id)
        if entry is not None:
            credential.provider = entry.provider
            entry.credentials.append(credential)
    groups = []
    for kind, slug, title, description in _GROUPS:
        entries = [entry for entry in by_provider.values() if entry.provider.kind == kind]
        entries.sort(key=lambda entry: (not entry.configured, entry.provider.name.lower()))
        groups.append(ProviderGroup(slug=slug, title=title, description=description, entries=entries))
    return groups
