"""Deploy checks: `manage.py check --deploy` refuses the development defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def development_defaults(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        problems.append(
            checks.Error(
                "SECRET_KEY is the development default.", hint="Set SECRET_KEY in the environment.", id="leger.E001"
            )
        )
    if settings.DEV_FERNET_KEY in settings.LEGER_FERNET_KEYS:
        problems.append(
            checks.Error(
                "LEGER_FERNET_KEYS holds the development key, so stored API keys are not protected.",
                hint=(
                    "Generate a key with `python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'` and set LEGER_FERNET_KEYS."
                ),
                id="leger.E002",
            )
        )
    return problems
