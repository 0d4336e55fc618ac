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

        # Deleting a key a draft uses asks first, naming the drafts (see leger.providers.usage).
        from leger.providers.usage import register_credential_usage
        from leger.releases.selectors import draft_credential_usages

        register_credential_usage(draft_credential_usages)

        # Published config files reach the machine as Podman secrets; the CLI's secrets list must hold them.
        from leger.providers.models import SecretKind
        from leger.providers.usage import register_secret_source
        from leger.releases.selectors import release_file_secret_value, release_file_secrets

        register_secret_source(SecretKind.FILE, release_file_secrets, release_file_secret_value)
