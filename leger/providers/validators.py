"""The input rules for keys and labels, written once.

Services call these before saving; the model's ``clean()`` uses the label rule
too. Messages say what to change and never quote the submitted key.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

if TYPE_CHECKING:
    from leger.catalog.models import Provider

MAX_LABEL_LENGTH = 100
# Control characters (tabs, newlines, escapes) and the Unicode line and paragraph separators.
_NOT_ON_ONE_LINE = {"Cc", "Zl", "Zp"}
MAX_KEY_LENGTH = 2048
# No provider issues keys this short; a value shorter than this beyond its prefix is a partial paste.
MIN_KEY_BODY_LENGTH = 8


def clean_label(label: str) -> str:
    """The label with surrounding spaces removed, or a ValidationError saying what to change."""
    label = (label or "").strip()
    if any(unicodedata.category(char) in _NOT_ON_ONE_LINE for char in label):
        raise ValidationError("Write the label on one line, without tabs or line breaks.", code="label_not_one_line")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValidationError(
            f"Keep the label to {MAX_LABEL_LENGTH} characters or fewer (this one has {len(label)}).",
            code="label_too_long",
        )
    return label


@sensitive_variables()
def validate_key_value(value: str, *, provider: Provider) -> None:
    """Refuse a value that cannot be a key of ``provider``. The message never contains the value."""
    value = value or ""
    if not value.strip():
        raise ValidationError(f"Paste your {provider.name} key; this field is empty.", code="key_empty")
    if provider.key_format == "service-account-json":
        _validate_service_account(value, provider=provider)
        return
    if any(char.isspace() for char in value):
        raise ValidationError(
            "The key has spaces or line breaks in it. Paste the key alone, on one line, "
            "without anything before or after it.",
            code="key_has_whitespace",
        )
    if not all(char.isascii() and char.isprintable() for char in value):
        raise ValidationError(
            "The key has characters API keys do not use (only plain letters, digits and punctuation). "
            f"Copy it again from {provider.name}.",
            code="key_has_odd_characters",
        )
    if len(value) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"This is longer than any API key ({MAX_KEY_LENGTH} characters at most); paste only the key.",
            code="key_too_long",
        )
    prefix = provider.key_prefix
    if prefix and not value.startswith(prefix):
        where = f" from {provider.key_url}" if provider.key_url else ""
        raise ValidationError(
            f'{provider.name} keys start with "{prefix}" and this one does not. '
            f"Check that you copied the whole key{where}, and that it is the key for {provider.name}.",
            code="key_wrong_prefix",
        )
    if len(value) - len(prefix) < MIN_KEY_BODY_LENGTH:
        raise ValidationError(
            f"This is too short to be a key for {provider.name}; paste the whole key.", code="key_too_short"
        )


MAX_SERVICE_ACCOUNT_BYTES = 10 * 1024
MAX_FIELD_LENGTH = 500


@sensitive_variables()
def _validate_service_account(value: str, *, provider: Provider) -> None:
    """A Google service-account key file, pasted whole; the message never quotes it."""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SERVICE_ACCOUNT_BYTES:
        raise ValidationError(
            "This is larger than a service-account key file (10 KB at most); paste only the file's JSON.",
            code="key_too_long",
        )
    try:
        data = json.loads(value)
    except ValueError:
        raise ValidationError(
            f"Paste the whole JSON key file of a service account ({provider.name}: Google Cloud console → IAM → "
            "Service accounts → Keys → Add key → JSON), from its first { to its last }.",
            code="key_not_json",
        ) from None
    missing = [name for name in ("client_email", "private_key") if not isinstance(data, dict) or not data.get(name)]
    if not isinstance(data, dict) or data.get("type") != "service_account" or missing:
        raise ValidationError(
            'This JSON is not a service-account key file (it needs "type": "service_account", a client_email '
            "and a private_key); download a JSON key for a service account and paste it whole.",
            code="key_not_service_account",
        )


def clean_key_fields(
    provider: Provider, given: Mapping[str, Any] | None, current: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """The provider's key fields from ``given`` (by name), falling back to ``current`` then to each field's default:
    (plain values, secret values, errors by field name). A message never quotes a secret field's value."""
    specs = {spec["name"]: spec for spec in provider.key_fields or []}
    given = dict(given or {})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(given) - set(specs)):
        known = ", ".join(sorted(specs)) or "none"
        errors[name] = [f"{name} is not a field of {provider.name} keys (its fields: {known}); remove it."]
    plain: dict[str, str] = {}
    secret: dict[str, str] = {}
    for name, spec in specs.items():
        raw = given.get(name)
        if raw is None or raw == "":
            raw = (current or {}).get(name) or spec.get("default", "")
        if not isinstance(raw, str):
            errors[name] = [f"Send the {spec['label'].lower()} as text."]
            continue
        text = raw.strip()
        if not text:
            if spec.get("required"):
                errors[name] = [f"Enter the {spec['label'].lower()} of your {provider.name} key."]
            continue
        if any(unicodedata.category(char) in _NOT_ON_ONE_LINE for char in text) or len(text) > MAX_FIELD_LENGTH:
            errors[name] = [f"Write the {spec['label'].lower()} on one line, in at most {MAX_FIELD_LENGTH} characters."]
            continue
        pattern = spec.get("pattern")
        if pattern and not re.fullmatch(pattern, text):
            errors[name] = [spec.get("pattern_help") or f"This is not a valid {spec['label'].lower()}."]
            continue
        (secret if spec.get("secret") else plain)[name] = text
    return plain, secret, errors
