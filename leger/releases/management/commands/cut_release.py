"""``manage.py cut_release --user NAME [--release ID | --from-latest-draft] [--wait]``: cut a draft from a shell.

It does what the Cut button does (``release_cut``), then with ``--wait`` follows the row as the worker (or,
with no broker, this process) publishes it, printing each status change. Exit status 0 once published;
non-zero with the reason when the cut is refused or publishing fails.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leger.releases import services
from leger.releases.models import Release

DONE = (Release.Status.PUBLISHED, Release.Status.FAILED)


class Command(BaseCommand):
    help = "Cut a draft release (freeze it, give it the next version) and queue its publishing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The username whose draft to cut.")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--release", type=int, help="The id of the draft to cut.")
        which.add_argument(
            "--from-latest-draft", action="store_true", help="Cut the user's most recently changed draft."
        )
        parser.add_argument("--wait", action="store_true", help="Follow publishing until it ends.")
        parser.add_argument(
            "--timeout", type=float, default=600, help="Seconds --wait waits before giving up (default 600)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["user"])
        release = self._release(user, options["release"], options["from_latest_draft"])
        if not release.is_draft:
            raise CommandError(
                f"Release {release.pk} ({release}) is {release.get_status_display().lower()}, not a draft; "
                "clone it to cut it again."
            )
        try:
            release = services.release_cut(release=release, actor=user)
        except ValidationError as error:
            raise CommandError(
                "The release cannot be cut yet:\n" + "\n".join(f"- {m}" for m in error.messages)
            ) from None
        self.stdout.write(f"Cut release {release.pk} “{release.name}” as v{release.version}: {release.status}")
        if not options["wait"]:
            return
        release = self._follow(release, timeout=options["timeout"])
        if release.status == Release.Status.FAILED:
            raise CommandError(f"v{release.version} failed:\n{release.error}")
        if release.status != Release.Status.PUBLISHED:
            raise CommandError(
                f"v{release.version} is still {release.status} after {options['timeout']:.0f}s; is a worker running?"
            )
        self.stdout.write(self.style.SUCCESS(f"v{release.version} published: {release.manifest_key}"))

    def _user(self, username: str) -> Any:
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None

    def _release(self, user: Any, release_id: int | None, latest: bool) -> Release:
        releases = Release.objects.filter(owner=user)
        if release_id is not None:
            release = releases.filter(pk=release_id).first()
            if release is None:
                raise CommandError(f"{user.get_username()} has no release {release_id}.")
            return release
        draft = releases.filter(status=Release.Status.DRAFT).order_by("-updated_at", "-id").first()
        if draft is None:
            raise CommandError(f"{user.get_username()} has no draft release; start one on /releases.")
        return draft

    def _follow(self, release: Release, *, timeout: float) -> Release:
        # Poll the row: the worker writes status and progress there as it goes.
        deadline = time.monotonic() + timeout
        seen: tuple[str, int] | None = None
        while True:
            release.refresh_from_db()
            state = (release.status, release.progress)
            if state != seen:
                seen = state
                self.stdout.write(f"v{release.version}: {release.status} {release.progress}%")
            if release.status in DONE or time.monotonic() >= deadline:
                return release
            time.sleep(0.5)
