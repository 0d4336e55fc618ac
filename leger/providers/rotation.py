"""Re-encrypting stored secrets under the newest Fernet key (``manage.py rotate_credentials``).

Covered without any registration: credentials, and every other model column
declared as an ``EncryptedTextField`` (e.g. the tailnet auth key). A section
that keeps tokens some other way (inside a JSON column, say) registers a
function with :func:`register_reencryption` that re-encrypts them and returns
a :class:`ReencryptResult`; :func:`reencrypt_rows` does the work for a column.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

from leger.providers import crypto
from leger.providers.fields import EncryptedTextField

logger = logging.getLogger(__name__)


@dataclass
class ReencryptResult:
    total: int = 0
    reencrypted: int = 0
    changed_meanwhile: int = 0
    unreadable: list[str] = field(default_factory=list)


def reencrypt_rows(
    model: type[models.Model],
    field_name: str,
    *,
    describe: Callable[[dict], str] | None = None,
    extra_fields: tuple[str, ...] = (),
    batch_size: int = 500,
) -> ReencryptResult:
    """Re-encrypt one token column of every row of ``model``.

    A row is updated only if it still holds the token that was read, so a value
    replaced meanwhile (already under the newest key) is never overwritten.
    ``describe`` names an unreadable row (never by its value) from its pk and
    ``extra_fields``.
    """
    result = ReencryptResult()
    rows = (
        model._default_manager.exclude(**{f"{field_name}__isnull": True})
        .exclude(**{field_name: ""})
        .order_by("pk")
        .values("pk", field_name, *extra_fields)
    )
    for row in rows.iterator(chunk_size=batch_size):
        result.total += 1
        token = row[field_name]
        try:
            new_token = crypto.reencrypt(token)
        except crypto.UndecryptableError:
            what = describe(row) if describe else f"{model._meta.label} {row['pk']}"
            result.unreadable.append(what)
            continue
        updated = model._default_manager.filter(pk=row["pk"], **{field_name: token}).update(**{field_name: new_token})
        if updated:
            result.reencrypted += 1
        else:
            result.changed_meanwhile += 1
    logger.info(
        "re-encrypted %s of %s %s.%s values (%s changed meanwhile, %s unreadable)",
        result.reencrypted,
        result.total,
        model._meta.label,
        field_name,
        result.changed_meanwhile,
        len(result.unreadable),
    )
    return result


_extra_stores: dict[str, Callable[[], ReencryptResult]] = {}


def register_reencryption(name: str, reencrypt: Callable[[], ReencryptResult]) -> None:
    """Have ``rotate_credentials`` also run ``reencrypt`` (re-registering a name replaces it)."""
    _extra_stores[name] = reencrypt


def unregister_reencryption(name: str) -> None:
    _extra_stores.pop(name, None)


def registered_reencryptions() -> dict[str, Callable[[], ReencryptResult]]:
    return dict(_extra_stores)


def encrypted_columns() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) declared as an EncryptedTextField, in every installed app."""
    return [
        (model, model_field.name)
        for model in apps.get_models()
        for model_field in model._meta.get_fields()
        if isinstance(model_field, EncryptedTextField)
    ]
