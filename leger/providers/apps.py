from __future__ import annotations

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "leger.providers"
    verbose_name = "Providers and keys"

    def ready(self) -> None:
        from leger.providers import checks  # noqa: F401  (registers the system checks)
