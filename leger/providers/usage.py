"""Who uses a credential: a registry other sections fill.

Releases and the marketplace register a lookup (usually in their
``AppConfig.ready()``) that describes their users of a credential in words,
e.g. ``"draft release 'home'"`` or ``"marketplace: Tavily"``. The delete
confirmation on /providers lists them, so a user knows what a deletion breaks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leger.providers.models import Credential

CredentialUsageLookup = Callable[["Credential"], list[str]]

_lookups: list[CredentialUsageLookup] = []


def register_credential_usage(lookup: CredentialUsageLookup) -> CredentialUsageLookup:
    """Add a lookup; returns it, so it also works as a decorator. Registering twice is harmless."""
    if lookup not in _lookups:
        _lookups.append(lookup)
    return lookup


def unregister_credential_usage(lookup: CredentialUsageLookup) -> None:
    if lookup in _lookups:
        _lookups.remove(lookup)


def credential_usages(*, credential: Credential) -> list[str]:
    """Descriptions of everything that uses ``credential``, from every registered lookup."""
    usages: list[str] = []
    for lookup in list(_lookups):
        usages.extend(lookup(credential))
    return usages


# --- secrets other sections hold ---------------------------------------------------------------------------------
#
# Releases deliver their config files as Podman secrets (the CLI's only way to put a file where a unit reads it),
# so the secrets list the CLI syncs holds them too. They are not secret (the bucket serves the same bytes), so
# reading one is not audited. A source registers two functions: its entries for an owner, and one value by name.

SecretSourceList = Callable[..., list]  # (owner) -> list[SecretEntry]
SecretSourceGet = Callable[..., "str | None"]  # (owner, name) -> the value, or None

_secret_sources: dict[str, tuple[SecretSourceList, SecretSourceGet]] = {}


def register_secret_source(kind: str, entries: SecretSourceList, value: SecretSourceGet) -> None:
    """Add the secrets of ``kind`` (re-registering a kind replaces it)."""
    _secret_sources[kind] = (entries, value)


def secret_sources() -> dict[str, tuple[SecretSourceList, SecretSourceGet]]:
    return dict(_secret_sources)
