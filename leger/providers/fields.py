"""A model field for secrets that are stored encrypted.

The encrypted-field libraries (django-fernet-fields, django-fernet-encrypted-fields,
django-encrypted-model-fields) decrypt on every load, so forms, serializers,
``model_to_dict``, admin pages and debug tracebacks all see the plaintext, and
they derive their key from ``SECRET_KEY`` or their own setting rather than
``LEGER_FERNET_KEYS``. This field does the opposite: the attribute holds the
Fernet token just like the column, decrypting is an explicit
``crypto.decrypt`` call, the field stays out of every form, and saving
anything that is not a token is refused, so a plaintext can never reach the
database by mistake.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from leger.providers import crypto


class EncryptedTextField(models.TextField):
    description = "Fernet token of a secret (never the secret itself)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value not in (None, "") and not crypto.is_token(value):
            # Say what went wrong without the value: it is probably the secret itself.
            raise ValueError(
                f"{self.model.__name__}.{self.name} only stores Fernet tokens; "
                "encrypt the value with leger.providers.crypto.encrypt() first."
            )
        return value
