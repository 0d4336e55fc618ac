from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leger.catalog.registry import DEFAULT_MIN_ENTRIES, RegistryError
from leger.catalog.registry_sync import catalog_sync, registry_read


class Command(BaseCommand):
    help = (
        "Sync the model catalog with LiteLLM's model registry in one transaction: update the context, prices, "
        "capabilities and deprecation date of every offering it lists, add the chat and embedding models of known "
        "providers, retire what it no longer lists. Reads the installed litellm package's registry file unless "
        "--url, --file or LEGER_MODEL_REGISTRY_URL says otherwise. A registry that fails its checks changes nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--url", help="Fetch the registry JSON from this URL.")
        source.add_argument("--file", type=Path, help="Read the registry JSON from this file.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument(
            "--min-entries",
            type=int,
            default=DEFAULT_MIN_ENTRIES,
            help=f"Refuse a registry with fewer model entries than this (default {DEFAULT_MIN_ENTRIES}): a "
            "truncated file would otherwise retire most of the catalog.",
        )

    def handle(
        self, *args: Any, url: str | None, file: Path | None, dry_run: bool, min_entries: int, **options: Any
    ) -> None:
        try:
            source = registry_read(url=url, file=file)
            report = catalog_sync(source=source, dry_run=dry_run, min_entries=min_entries)
        except RegistryError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            if error.truncated:
                self.stderr.write(f"(stopped after {len(error.problems)} problems)")
            raise CommandError("The registry was not synced; the catalog is unchanged.") from None
        lines = report.lines()
        # Verbosity 0 (make run): the registry line and the totals, not every model.
        for line in lines if options["verbosity"] else [line for line in lines if not line.startswith("  ")]:
            self.stdout.write(line)
