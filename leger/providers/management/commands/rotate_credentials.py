"""Re-encrypt every stored key under the newest key in LEGER_FERNET_KEYS.

Rotation: put a new key first in LEGER_FERNET_KEYS (keep the old ones after
it), restart, run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leger.providers.services import credentials_reencrypt_all


class Command(BaseCommand):
    help = "Re-encrypt every stored API key under the newest key in LEGER_FERNET_KEYS, so older keys can be removed."

    def handle(self, *args: Any, **options: Any) -> None:
        result = credentials_reencrypt_all()
        self.stdout.write(
            f"Re-encrypted {result.reencrypted} of {result.total} credentials under the newest key"
            f" ({result.changed_meanwhile} replaced meanwhile, {len(result.unreadable)} unreadable)."
        )
        if result.unreadable:
            for what in result.unreadable:
                self.stderr.write(f"Cannot decrypt {what} with any key in LEGER_FERNET_KEYS.")
            raise CommandError(
                f"{len(result.unreadable)} credentials could not be re-encrypted: add the key they were encrypted "
                "with back to LEGER_FERNET_KEYS (after the newest) and run this again; do not remove old keys yet."
            )
        self.stdout.write(self.style.SUCCESS("Every credential now opens with the newest key alone."))
