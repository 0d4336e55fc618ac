from __future__ import annotations

from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "leger.marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from leger.marketplace import fixtures

        fixtures.register()
