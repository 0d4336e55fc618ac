from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leger.catalog.loading import FixtureProblems, load_fixtures


class Command(BaseCommand):
    help = (
        "Load the catalog fixtures (every *.json under LEGER_FIXTURES_DIR) in one transaction: "
        "create, update and remove rows so the database matches the files. A bad file stops the load "
        "before anything is written."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dir", type=Path, default=None, help="Fixtures directory (default: LEGER_FIXTURES_DIR).")
        parser.add_argument(
            "--check", action="store_true", help="Only validate the files and their references; write nothing."
        )

    def handle(self, *args: Any, dir: Path | None, check: bool, **options: Any) -> None:
        try:
            report = load_fixtures(dir, dry_run=check)
        except FixtureProblems as problems:
            for error in problems.errors:
                self.stderr.write(str(error))
            if problems.truncated:
                self.stderr.write(f"(stopped after {len(problems.errors)} problems)")
            raise CommandError(
                f"{len(problems.errors)} problem(s) in the fixtures; nothing was written. Fix them and run again."
            ) from None
        for line in report.lines():
            self.stdout.write(line)
