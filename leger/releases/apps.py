from __future__ import annotations

from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "leger.releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        # The fixture kinds of this app (infrastructure services, Open WebUI variables) for load_catalog.
        from leger.catalog.loading import register_kind
        from leger.releases.fixtures import KINDS

        for kind in KINDS:
            register_kind(kind)
