from __future__ import annotations

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "leger.catalog"
    verbose_name = "Model catalog"

    def ready(self) -> None:
        from leger.catalog import fixtures

        fixtures.register()
