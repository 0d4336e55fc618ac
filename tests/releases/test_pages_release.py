"""A cut release's page: live progress, failure and retry, files, archive, diff, promote, clone and delete."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import html
import io
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from leger.releases import selectors, services
from leger.releases.models import Promotion, Release
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import minimal_draft

# The shared fixtures; pytest finds them by name in this module.
catalog = setup.catalog
ready_user = setup.ready_user

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def store(settings, tmp_path: Path) -> Path:
    """No bucket configured: releases go to a local folder with the bucket's layout."""
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    return tmp_path


@pytest.fixture
def publish(ready_user: dict[str, Any], store: Path, django_capture_on_commit_callbacks):
    """Cut a release and run its publishing in-process, as with no broker configured."""

    def cut(release: Release | None = None, **update: Any) -> Release:
        user = ready_user["user"]
        release = release or minimal_draft(user)
        if update:
            services.release_update(release=release, **update)
        with django_capture_on_commit_callbacks(execute=True):
            release = services.release_cut(release=release, actor=user)
        release.refresh_from_db()
        assert release.status == Release.Status.PUBLISHED, release.error
        return release

    return cut


def cut_only(user: User, django_capture_on_commit_callbacks) -> Release:
    """A cut release whose publishing has not run yet (queued)."""
    with django_capture_on_commit_callbacks(execute=False):
        release = services.release_cut(release=minimal_draft(user), actor=user)
    release.refresh_from_db()
    return release


# --- progress -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "progress", "words"),
    [
        ("queued", 0, "waiting for a worker"),
        ("rendering", 5, "Rendering and checking the files"),
        ("uploading", 55, "Uploading the files"),
    ],
)
def test_the_progress_fragment_keeps_polling_while_publishing_runs(
    ready_user: dict[str, Any],
    alice_client: Client,
    django_capture_on_commit_callbacks,
    status: str,
    progress: int,
    words: str,
) -> None:
    release = cut_only(ready_user["user"], django_capture_on_commit_callbacks)
    Release.objects.filter(pk=release.pk).update(status=status, progress=progress)
    response = alice_client.get(f"/releases/{release.pk}/progress/", **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'hx-trigger="every 1s"' in page
    assert f'<progress max="100" value="{progress}"' in page
    assert words in page
    assert "HX-Retarget" not in response


def test_the_progress_fragment_stops_polling_and_shows_the_files_once_published(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    release = publish()
    response = alice_client.get(f"/releases/{release.pk}/progress/", **HTMX)
    page = response.content.decode()
    assert response["HX-Retarget"] == "#release-body"
    assert "every 1s" not in page
    assert "Published v1" in page and "litellm-config.yaml" in page
    # Screen readers hear the outcome: the live region outside the swapped body gets it out of band.
    assert re.search(r'<p id="release-announce"[^>]*hx-swap-oob="true">Published v1.</p>', page)


def test_a_release_page_costs_the_same_queries_with_a_previous_release_to_compare(
    ready_user: dict[str, Any], alice_client: Client, publish, django_assert_max_num_queries
) -> None:
    publish()
    second = publish(models=[{"model": "claude-haiku-4.5"}, {"model": "qwen3-4b"}])
    selectors._DIFF_CACHE.clear()
    # A first view reads the changed files' texts to make the diff; later views take it from the cache (below).
    # (One of them asks whether a model it serves was retired since.)
    with django_assert_max_num_queries(13):
        page = alice_client.get(f"/releases/{second.pk}/").content.decode()
    assert "What changed since v1" in page and "Your Anthropic key" in page


def test_a_release_page_makes_its_diff_once_and_then_reads_no_file_texts(
    ready_user: dict[str, Any], alice_client: Client, publish, django_assert_max_num_queries
) -> None:
    publish()
    second = publish(models=[{"model": "claude-haiku-4.5"}, {"model": "qwen3-4b"}])
    selectors._DIFF_CACHE.clear()
    cold = alice_client.get(f"/releases/{second.pk}/").content.decode()
    with django_assert_max_num_queries(12) as warm:
        page = alice_client.get(f"/releases/{second.pk}/").content.decode()
    # The diff comes from the cache: no file's text is read, only the manifest's (for the secrets table).
    reads = [query["sql"] for query in warm.captured_queries if '"releases_releasefile"."content"' in query["sql"]]
    assert len(reads) == 1 and "manifest.json" in reads[0]
    changes = re.compile(r'<section[^>]*aria-labelledby="diff-heading".*?</section>', re.S)
    assert "What changed since v1" in page
    assert changes.findall(page) == changes.findall(cold) != []


def test_a_failed_release_shows_the_reason_and_a_retry_that_publishes_it(
    ready_user: dict[str, Any], alice_client: Client, store: Path, django_capture_on_commit_callbacks
) -> None:
    release = cut_only(ready_user["user"], django_capture_on_commit_callbacks)
    reason = "Uploading to the bucket 'releases' failed: connection reset. Nothing moved."
    Release.objects.filter(pk=release.pk).update(status="failed", error=reason)
    response = alice_client.get(f"/releases/{release.pk}/progress/", **HTMX)
    assert response["HX-Retarget"] == "#release-body"
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert "Publishing version 1 failed" in page and "connection reset" in page
    assert "every 1s" not in page and "Publishing version 1</h2>" not in page
    assert f'action="/releases/{release.pk}/retry/"' in page
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = alice_client.post(f"/releases/{release.pk}/retry/")
    assert response.status_code == 302
    # Until the worker is done, the progress card says it is publishing; no message stays behind it.
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert "Publishing version 1</h2>" in page and 'class="message' not in page
    assert "Publishing version 1 failed" not in page and "connection reset" not in page
    for callback in queued:
        callback()
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert "Published v1" in page and "Publishing version 1 failed" not in page and "connection reset" not in page
    assert "Publishing version 1" not in page and "Retry publishing" not in page
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    # Retrying a published release is refused with a message, and it stays published.
    response = alice_client.post(f"/releases/{release.pk}/retry/", follow=True)
    assert "Only a failed release can be retried" in response.content.decode()


def test_a_publish_that_shows_no_progress_for_too_long_is_offered_again_and_publishes_once(
    ready_user: dict[str, Any], alice_client: Client, store: Path, settings, django_capture_on_commit_callbacks
) -> None:
    # Its queue message was lost (Redis restarted without it): nothing would ever move it on.
    release = cut_only(ready_user["user"], django_capture_on_commit_callbacks)
    page = alice_client.get(f"/releases/{release.pk}/progress/", **HTMX).content.decode()
    assert "Publish it again" not in page, "a publish that just started is not stuck"
    stale = timezone.now() - dt.timedelta(seconds=settings.LEGER_PUBLISH_STALE_SECONDS + 60)
    Release.objects.filter(pk=release.pk).update(updated_at=stale)
    for page in (
        alice_client.get(f"/releases/{release.pk}/progress/", **HTMX).content.decode(),
        alice_client.get(f"/releases/{release.pk}/").content.decode(),
    ):
        assert "No progress for over" in page and "Publish it again" in page
        assert f'action="/releases/{release.pk}/retry/"' in page
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = alice_client.post(f"/releases/{release.pk}/retry/")
    assert response.status_code == 302 and len(queued) == 1
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED and release.version == 1
    assert Promotion.objects.filter(release=release).count() == 1


def test_a_draft_has_no_release_page_and_opens_in_the_wizard(draft_client: tuple[Client, Release]) -> None:
    client, draft = draft_client
    response = client.get(f"/releases/{draft.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/releases/{draft.pk}/models/"
    assert client.get(f"/releases/{draft.pk}/progress/", **HTMX).status_code == 404
    assert client.get(f"/releases/{draft.pk}/files/manifest.json").status_code == 404
    assert client.get(f"/releases/{draft.pk}/archive/").status_code == 404


@pytest.fixture
def draft_client(ready_user: dict[str, Any], alice_client: Client) -> tuple[Client, Release]:
    return alice_client, minimal_draft(ready_user["user"])


# --- a published release ------------------------------------------------------------------------------------------


def test_a_published_release_lists_its_files_secrets_manifest_and_install_commands(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    release = publish()
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    for file in release.files.all():
        assert f'href="/releases/{release.pk}/files/{file.path}"' in page
        assert file.sha256 in page
    assert "litellm-config.yaml" in page and "manifest.json" in page
    assert "Published v1" in page
    assert "<code>anthropic_api_key</code>" in page
    # The key's provider by the name a person knows it by, its id beside it; where each value is kept.
    assert "Your Anthropic key" in page and "<code>anthropic</code>" in page
    assert "Key for provider anthropic" not in page
    assert 'href="/providers/">Providers</a>' in page and "Generated once for you by Leger" in page
    # One box per command, each with its copy button (shown by releases.js, a static file: no inline script), as
    # the real leger CLI takes them: this Leger's address, sign-in, sync, then the Git source this Leger serves.
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    commands = dict(re.findall(r'<code id="(install-[a-z-]+)">(.*?)</code>', page))
    assert commands["install-api"] == "export LEGER_API_URL=http://testserver"
    assert commands["install-login"] == "leger auth login"
    assert commands["install-sync"] == "leger secrets sync"
    assert html.unescape(commands["install-run"]) == (
        'leger deploy install v1 --source "http://leger:$(jq -r .token ~/.local/share/leger/auth.json)'
        f'@testserver/git/{owner_uuid}/v1.git"'
    )
    for name in ("address", "sign-in", "sync", "install"):
        assert re.search(rf'data-copy="install-[a-z-]+">Copy<span class="releases-sr-only"> the {name} command<', page)
    assert "releases/releases.js" in page and "<script>" not in page and " onclick" not in page
    assert f"{release.snapshot['release']['owner_uuid']}/v1/manifest.json" in page
    assert "Publishing version 1" not in page
    assert "This is the release machines that follow latest install" in page
    for value in ready_user["secret_values"]:
        assert value not in page


def test_a_leger_publishing_to_the_clis_own_host_gives_the_plain_install_command(
    ready_user: dict[str, Any], alice_client: Client, publish, settings
) -> None:
    settings.LEGER_RELEASES_PUBLIC_URL = "https://static.leger.run"
    release = publish()
    page = alice_client.get(f"/releases/{release.pk}/").content.decode()
    assert '<code id="install-run">leger deploy install v1</code>' in page
    manifest = f"https://static.leger.run/{release.snapshot['release']['owner_uuid']}/v1/manifest.json"
    assert f'href="{manifest}"' in page


def test_each_file_is_viewable_highlighted_and_as_plain_text(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    release = publish()
    config = release.files.get(path="litellm-config.yaml")
    response = alice_client.get(f"/releases/{release.pk}/files/litellm-config.yaml")
    page = response.content.decode()
    assert response.status_code == 200
    assert config.sha256 in page
    assert 'class="highlight"' in page and 'id="L-1"' in page
    assert "claude-haiku-4.5" in page
    raw = alice_client.get(f"/releases/{release.pk}/files/litellm-config.yaml?raw=1")
    assert raw["Content-Type"].startswith("text/plain")
    assert raw.content.decode() == config.content
    assert alice_client.get(f"/releases/{release.pk}/files/no/such.file").status_code == 404
    for value in ready_user["secret_values"]:
        for file in release.files.all():
            assert value not in alice_client.get(f"/releases/{release.pk}/files/{file.path}").content.decode()


def test_the_archive_holds_every_file_with_its_checksum(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    release = publish()
    response = alice_client.get(f"/releases/{release.pk}/archive/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert 'filename="home-v1.tar.gz"' in response["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(response.content))) as tar:
        members = {member.name: tar.extractfile(member).read() for member in tar.getmembers()}
    expected = {f"home-v1/{file.path}": file.sha256 for file in release.files.all()}
    assert {name: hashlib.sha256(data).hexdigest() for name, data in members.items()} == expected


def test_the_diff_page_costs_a_fixed_number_of_queries(
    ready_user: dict[str, Any], alice_client: Client, publish, django_assert_max_num_queries
) -> None:
    first = publish()
    second = publish(models=[{"model": "claude-haiku-4.5"}, {"model": "qwen3-4b"}])
    selectors._DIFF_CACHE.clear()
    # Both releases' checksums, then the changed files' texts in one query, whatever the number of files.
    with django_assert_max_num_queries(8):
        page = alice_client.get(f"/releases/{second.pk}/diff/?against={first.pk}").content.decode()
    assert "v1/litellm-config.yaml" in page and "v2/llama-swap-config.yaml" in page


def test_the_diff_shows_each_changed_file_and_what_was_added(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    first = publish()
    second = publish(models=[{"model": "claude-haiku-4.5"}, {"model": "qwen3-4b"}])
    page = alice_client.get(f"/releases/{second.pk}/").content.decode()
    assert f'<option value="{first.pk}" selected>v1' in page  # the one before it, by default
    # The release page itself shows what changed since the release before it, the real changes open.
    assert "What changed since v1" in page
    assert re.search(r'<details class="releases-diff-file" open>\s*<summary><code>litellm-config.yaml<', page)
    assert "qwen3-4b" in page.split("What changed since v1")[1]
    assert "This is your only published release" not in page
    assert "What changed since" not in alice_client.get(f"/releases/{first.pk}/").content.decode()
    response = alice_client.get(f"/releases/{second.pk}/diff/?against={first.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "from v1 to v2" in page
    assert "litellm-config.yaml" in page and "llama-swap-config.yaml" in page
    assert "qwen3-4b" in page
    assert "v1/litellm-config.yaml" in page and "v2/litellm-config.yaml" in page
    assert 'class="highlight"' in page
    # Each changed file says how much changed; v2's LiteLLM config gains the local model's entry.
    summary = re.search(r"<summary><code>litellm-config.yaml</code>.*?</summary>", page, re.S).group(0)
    added, removed = map(int, re.search(r"(\d+) lines? added, (\d+) removed", summary).groups())
    assert added > removed
    # A changed file is shown open; files nothing changed in (the version lives in the manifest) are not listed.
    assert re.search(r'<details class="releases-diff-file" open>\s*<summary><code>litellm-config.yaml<', page)
    assert not re.search(r"<summary><code>llm.network</code>", page)
    # LiteLLM's unit changed with its config: it mounts the secret of the config's new bytes.
    assert re.search(r"<summary><code>litellm.container</code>", page)
    assert re.search(r"\+Secret=leger-file-litellm-config-yaml-[0-9a-f]{12},type=mount,target=/app/config.yaml", page)
    # Comparing the other way round works too.
    assert alice_client.get(f"/releases/{first.pk}/diff/?against={second.pk}").status_code == 200


def test_the_diff_explains_a_bad_choice_of_release(ready_user: dict[str, Any], alice_client: Client, publish) -> None:
    release = publish()
    response = alice_client.get(f"/releases/{release.pk}/diff/?against=abc")
    assert response.status_code == 400 and "is not a release" in response.content.decode()
    response = alice_client.get(f"/releases/{release.pk}/diff/?against={release.pk}")
    assert response.status_code == 400 and "no differences with itself" in response.content.decode()
    draft = minimal_draft(ready_user["user"])
    response = alice_client.get(f"/releases/{release.pk}/diff/?against={draft.pk}")
    assert response.status_code == 400 and "has no files yet" in response.content.decode()
    assert alice_client.get(f"/releases/{release.pk}/diff/?against=999999").status_code == 404


def test_promoting_an_earlier_release_asks_first_then_moves_latest_and_records_who(
    ready_user: dict[str, Any], alice_client: Client, publish, store: Path
) -> None:
    first = publish()
    second = publish()
    owner_uuid = first.snapshot["release"]["owner_uuid"]
    latest = store / owner_uuid / "latest" / "manifest.json"
    assert '"version": 2' in latest.read_text()
    page = alice_client.get(f"/releases/{first.pk}/").content.decode()
    assert f'href="/releases/{first.pk}/promote/"' in page
    confirm = alice_client.get(f"/releases/{first.pk}/promote/").content.decode()
    assert "Make version 1 latest?" in confirm and "in place of v2" in confirm
    assert '"version": 2' in latest.read_text()  # asking moved nothing
    response = alice_client.post(f"/releases/{first.pk}/promote/", follow=True)
    assert "Version 1 is now latest" in response.content.decode()
    assert '"version": 1' in latest.read_text()
    promotion = Promotion.objects.order_by("-promoted_at", "-id").first()
    assert promotion.release == first and promotion.promoted_by == ready_user["user"]
    listing = alice_client.get("/releases/").content.decode()
    assert re.search(rf'<tr id="release-{first.pk}">.*?latest', listing, re.S)
    assert "Latest, over time" in listing and "by alice" in listing
    assert f'href="/releases/{second.pk}/">v2</a>' in listing


def test_cloning_a_release_opens_a_new_draft_with_its_choices(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    release = publish(openwebui={"WEBUI_NAME": "Kitchen"})
    response = alice_client.post(f"/releases/{release.pk}/clone/")
    clone = Release.objects.get(cloned_from=release)
    assert response.status_code == 302 and response["Location"] == f"/releases/{clone.pk}/models/"
    assert clone.status == Release.Status.DRAFT
    assert services.inputs_of(clone)["openwebui"] == {"WEBUI_NAME": "Kitchen"}
    page = alice_client.get(f"/releases/{clone.pk}/models/").content.decode()
    assert re.search(r'name="models" value="claude-haiku-4.5"[^>]*checked', page)


def test_deleting_a_draft_asks_first_and_a_cut_release_cannot_be_deleted(
    ready_user: dict[str, Any], alice_client: Client, publish
) -> None:
    draft = minimal_draft(ready_user["user"], name="scratch")
    # The wizard offers it; the link leads to a page that asks first.
    page = alice_client.get(f"/releases/{draft.pk}/models/").content.decode()
    assert f'<a href="/releases/{draft.pk}/delete/">Delete this draft…</a>' in page
    page = alice_client.get(f"/releases/{draft.pk}/delete/").content.decode()
    assert "Delete the draft “scratch”?" in page
    assert Release.objects.filter(pk=draft.pk).exists()
    response = alice_client.post(f"/releases/{draft.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/releases/"
    assert not Release.objects.filter(pk=draft.pk).exists()
    release = publish()
    assert "Delete this draft" not in alice_client.get(f"/releases/{release.pk}/models/").content.decode()
    response = alice_client.post(f"/releases/{release.pk}/delete/", follow=True)
    assert "Only drafts can be deleted" in response.content.decode()
    assert Release.objects.filter(pk=release.pk).exists()
