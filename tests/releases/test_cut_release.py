"""`manage.py cut_release`: cuts from the shell, follows publishing with --wait, exits non-zero with the reason.

Publishing through a real worker is in test_publish_worker.py; here the task runs in this process (eager,
as with no broker), so the tests commit their rows for ``transaction.on_commit`` to fire.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from leger.celery import app
from leger.releases import services
from leger.releases.models import Release
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import forget_celery_connections, minimal_draft
from tests.services import database_url_for_worker

catalog = setup.catalog
ready_user = setup.ready_user

pytestmark = pytest.mark.django_db(transaction=True)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def in_process(settings, tmp_path) -> Iterator[Path]:
    """No broker: the task runs where the cut commits, into a local folder."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    yield tmp_path
    app.conf.task_always_eager = saved
    # The eager runs built Celery's routing and result backend from this configuration; later tests may
    # bring a real worker with another one.
    forget_celery_connections()


def cut_release(**options: Any) -> str:
    out = io.StringIO()
    call_command("cut_release", stdout=out, **options)
    return out.getvalue()


def test_it_cuts_the_latest_draft_waits_and_prints_the_version(ready_user: dict[str, Any], in_process: Path) -> None:
    user = ready_user["user"]
    minimal_draft(user, "older")
    newest = minimal_draft(user, "newest")
    output = cut_release(user="alice", from_latest_draft=True, wait=True)
    newest.refresh_from_db()
    assert newest.status == Release.Status.PUBLISHED and newest.version == 1
    assert f"Cut release {newest.pk} “newest” as v1" in output
    assert "v1: published 100%" in output
    assert (in_process / newest.manifest_key).is_file()
    assert output.rstrip().endswith(f"v1 published: {newest.manifest_key}")


def test_it_cuts_a_release_by_id_without_waiting(ready_user: dict[str, Any]) -> None:
    draft = minimal_draft(ready_user["user"])
    output = cut_release(user="alice", release=draft.pk)
    assert f"Cut release {draft.pk} “home” as v1:" in output
    draft.refresh_from_db()
    assert draft.version == 1


def test_a_release_that_is_not_ready_is_refused_with_every_reason(ready_user: dict[str, Any]) -> None:
    draft = services.release_create(owner=ready_user["user"], name="empty")
    with pytest.raises(CommandError) as error:
        cut_release(user="alice", release=draft.pk, wait=True)
    assert str(error.value) == (
        "The release cannot be cut yet:\n- Models: Choose at least one model for the stack to serve."
    )
    draft.refresh_from_db()
    assert draft.status == Release.Status.DRAFT


def test_a_failed_publish_exits_with_the_reason(ready_user: dict[str, Any], settings) -> None:
    draft = minimal_draft(ready_user["user"])
    settings.LEGER_RELEASES_DIR = "/proc/leger-cannot-write-here"
    with pytest.raises(CommandError) as error:
        cut_release(user="alice", release=draft.pk, wait=True)
    assert str(error.value).startswith("v1 failed:\nUploading to the local folder /proc/leger-cannot-write-here")
    draft.refresh_from_db()
    assert draft.status == Release.Status.FAILED


def test_it_names_what_it_cannot_find(ready_user: dict[str, Any], bob) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        cut_release(user="nobody", from_latest_draft=True)
    with pytest.raises(CommandError, match="bob has no draft release"):
        cut_release(user="bob", from_latest_draft=True)
    draft = minimal_draft(ready_user["user"])
    with pytest.raises(CommandError, match=f"bob has no release {draft.pk}"):
        cut_release(user="bob", release=draft.pk)
    cut_release(user="alice", release=draft.pk)
    with pytest.raises(CommandError, match="not a draft; clone it"):
        cut_release(user="alice", release=draft.pk)


def test_the_process_exits_non_zero_when_refused(ready_user: dict[str, Any]) -> None:
    draft = services.release_create(owner=ready_user["user"], name="empty")
    env = {**os.environ, "DATABASE_URL": database_url_for_worker(), "CELERY_BROKER_URL": ""}
    done = subprocess.run(
        [sys.executable, "manage.py", "cut_release", "--user", "alice", "--release", str(draft.pk), "--wait"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Choose at least one model for the stack to serve." in done.stderr
