"""Re-encrypt every stored secret under the newest key in LEGER_FERNET_KEYS.

Rotation: put a new key first in LEGER_FERNET_KEYS (keep the old ones after
it), restart, run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leger.providers.services import secrets_reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored API key (and every other secret Leger stores encrypted) under the newest key "
        "in LEGER_FERNET_KEYS, so older keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable = 0
        for name, result in secrets_reencrypt_all().items():
            self.stdout.write(
                f"{name}: re-encrypted {result.reencrypted} of {result.total} under the newest key"
                f" ({result.changed_meanwhile} replaced meanwhile, {len(result.unreadable)} unreadable)."
            )
            for what in result.unreadable:
                self.stderr.write(f"Cannot decrypt {what} with any key in LEGER_FERNET_KEYS.")
            unreadable += len(result.unreadable)
        if unreadable:
            raise CommandError(
                f"{unreadable} secrets could not be re-encrypted: add the key they were encrypted with back to "
                "LEGER_FERNET_KEYS (after the newest) and run this again; do not remove old keys yet."
            )
        self.stdout.write(self.style.SUCCESS("Every stored secret now opens with the newest key alone."))
