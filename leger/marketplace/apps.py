from __future__ import annotations

from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "leger.marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from leger.marketplace import fixtures, selectors, services
        from leger.providers.rotation import register_reencryption
        from leger.providers.usage import register_credential_usage

        fixtures.register()
        register_credential_usage(selectors.credential_usage)
        register_reencryption("marketplace secret values", services.selection_secrets_reencrypt)
