from __future__ import annotations

from django.apps import AppConfig


class LegerConfig(AppConfig):
    name = "leger"
    verbose_name = "Leger"

    def ready(self) -> None:
        from leger import checks  # noqa: F401  (registers the deploy checks)
