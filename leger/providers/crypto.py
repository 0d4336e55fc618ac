"""Encryption at rest for provider keys and other secrets Leger stores.

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``, under the keys in
``settings.LEGER_FERNET_KEYS`` (newest first), kept apart from Django's
``SECRET_KEY`` so the two can be rotated independently. MultiFernet encrypts
with the first key and decrypts with any of them, so a new key can be put in
front, every token re-encrypted (``manage.py rotate_credentials``), and only
then the old key removed.

No function here ever puts a plaintext (or a key) into an exception message, and
``sensitive_variables`` keeps plaintexts out of Django's error reports.
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

GENERATE_KEY_HINT = (
    "generate one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)

# Fernet tokens are url-safe base64 of: version byte 0x80, 8-byte timestamp,
# 16-byte IV, ciphertext (at least one 16-byte block), 32-byte HMAC.
_FERNET_VERSION = 0x80
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32

MASK_GAP = "…"
# How much of a value must sit beyond its prefix before its last four characters may be shown:
# on a short value four characters would give away too large a part of it.
_MIN_HIDDEN_FOR_TAIL = 12


class UndecryptableError(Exception):
    """A stored token that none of the configured keys opens."""


def _keys() -> tuple[str, ...]:
    keys = tuple(settings.LEGER_FERNET_KEYS)
    if not keys:
        raise ImproperlyConfigured(f"LEGER_FERNET_KEYS is empty; set at least one Fernet key ({GENERATE_KEY_HINT}).")
    return keys


@functools.lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError, binascii.Error):
            # The position, never the key: a misconfigured key is still a secret.
            raise ImproperlyConfigured(
                f"LEGER_FERNET_KEYS entry {position} of {len(keys)} is not a Fernet key "
                f"(32 url-safe base64-encoded bytes); {GENERATE_KEY_HINT}."
            ) from None
    return MultiFernet(fernets)


def _fernet() -> MultiFernet:
    return _multifernet(_keys())


def check_keys() -> list[str]:
    """Problems with the configured keys, as messages (empty when they are usable)."""
    try:
        _fernet()
    except ImproperlyConfigured as error:
        return [str(error)]
    return []


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    """A Fernet token of ``plaintext`` under the newest key."""
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    """The plaintext of a token made by :func:`encrypt` under any configured key."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise UndecryptableError(
            "A stored secret could not be decrypted: it was encrypted under a key that is not in "
            "LEGER_FERNET_KEYS (put the old key back at the end of the list, run "
            "`manage.py rotate_credentials`, then remove it), or the stored value is damaged."
        ) from None


def reencrypt(token: str) -> str:
    """The same plaintext, encrypted under the newest key (for key rotation)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise UndecryptableError(
            "A stored secret could not be re-encrypted: none of the keys in LEGER_FERNET_KEYS opens it."
        ) from None


def is_token(value: str) -> bool:
    """Whether ``value`` has the shape of a Fernet token (not whether a key opens it)."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (ValueError, UnicodeError, binascii.Error):
        return False
    return len(raw) >= _MIN_TOKEN_BYTES and raw[0] == _FERNET_VERSION


@sensitive_variables()
def mask(value: str, prefix: str = "") -> str:
    """The form of a secret that may be shown: its known prefix and its last four characters.

    ``mask("sk-ant-api03-…9f2c", "sk-ant-")`` is ``"sk-ant-…9f2c"``. Nothing else of
    the value is ever shown, and a short value shows no tail at all.
    """
    shown_prefix = prefix if prefix and value.startswith(prefix) else ""
    hidden = value[len(shown_prefix) :]
    tail = hidden[-4:] if len(hidden) >= _MIN_HIDDEN_FOR_TAIL else ""
    return f"{shown_prefix}{MASK_GAP}{tail}"
