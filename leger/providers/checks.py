"""System checks: stored keys are unusable if LEGER_FERNET_KEYS is malformed, so say so at start-up."""

from __future__ import annotations

from typing import Any

from django.core import checks

from leger.providers import crypto


@checks.register(checks.Tags.security)
def fernet_keys_usable(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(message, hint="Fix LEGER_FERNET_KEYS in the environment.", id="leger.providers.E001")
        for message in crypto.check_keys()
    ]
