"""The input rules for keys and labels, written once.

Services call these before saving; the model's ``clean()`` uses the label rule
too. Messages say what to change and never quote the submitted key.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

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
