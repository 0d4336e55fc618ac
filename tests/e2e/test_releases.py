from __future__ import annotations

import re
import secrets
import tarfile

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leger.catalog.models import Provider
from leger.marketplace.models import Service
from leger.marketplace.services import selection_create
from leger.providers.services import credential_create
from leger.releases.models import Release
from leger.tailnet.services import tailnet_settings_put
from tests.e2e.pages import assert_accessible_basics

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# A cut goes through the real worker and the loopback bucket; give it more than a page load.
PUBLISH_TIMEOUT_MS = 90_000


@pytest.fixture
def configured(user: User, catalog) -> str:
    """What the other sections hold before a first release: a key, an add-on, tailnet settings."""
    key = "sk-ant-api03-" + secrets.token_urlsafe(36).replace("-", "x").replace("_", "y")
    credential_create(owner=user, provider=Provider.objects.get(pk="anthropic"), label="work", value=key)
    selection_create(owner=user, service=Service.objects.get(pk="searxng"))
    tailnet_settings_put(owner=user, tailnet="tail1234.ts.net", hostname="box", exposure="port", custom_domain="")
    return key


def saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_contain_text("Saved at")


def continue_to(page: Page, title: str) -> None:
    page.get_by_role("button", name=f"Save and continue to {title}").click()
    expect(page.get_by_role("navigation", name="Release steps").locator("[aria-current=step]")).to_contain_text(title)


def wait_until_published(page: Page, version: int) -> None:
    """The page ends on the success (it follows the worker without a reload), and nothing says "publishing" any more."""
    expect(page.get_by_role("heading", name=f"Published v{version}")).to_be_visible(timeout=PUBLISH_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Install it")).to_be_visible()
    expect(page.locator("#release-body .badge").first).to_have_text("Published")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"v{version}")
    expect(page.locator("#release-progress")).to_have_count(0)
    expect(page.get_by_text(re.compile("publishing it now|publishing version", re.I))).to_have_count(0)


# The page is no wider than the screen, and each install command fits its own box (wrapped, not cut off).
_OVERFLOW = """
() => ({
  page: document.documentElement.scrollWidth - window.innerWidth,
  commands: [...document.querySelectorAll('.releases-command pre')].map((pre) => {
    const box = pre.getBoundingClientRect();
    return {over: pre.scrollWidth - pre.clientWidth, right: box.right - window.innerWidth};
  }),
})
"""


def assert_commands_fit(page: Page) -> None:
    fit = page.evaluate(_OVERFLOW)
    assert fit["page"] <= 0, f"the page is {fit['page']}px wider than the screen"
    assert len(fit["commands"]) == 4
    for command in fit["commands"]:
        assert command["over"] <= 0 and command["right"] <= 0, f"an install command overflows: {command}"


def test_a_release_is_walked_through_cut_published_downloaded_and_compared_with_the_next(
    signed_in: Page, user: User, configured: str, screenshot, tmp_path
) -> None:
    page = signed_in
    key = configured
    page.goto("/releases/")
    assert_accessible_basics(page)
    screenshot("index-empty")
    screenshot("index-empty", phone=True)
    page.get_by_label("Name").fill("Home box")
    page.get_by_role("button", name="Start a new release").click()

    # Step 1: the models. Only models with a key (or local ones) can be ticked; a tick saves itself.
    expect(page.get_by_role("heading", name="Step 1 of 4: Models")).to_be_visible()
    assert_accessible_basics(page)
    page.get_by_role("searchbox", name="Search models").fill("claude haiku 4.5")
    expect(page.get_by_role("heading", name=re.compile("^Matching models you can add"))).to_be_visible()
    haiku = page.get_by_role("checkbox", name="Claude Haiku 4.5", exact=True)
    haiku.check()
    saved(page)
    # The list is drawn again from what was saved: the model moves into the release, the focus stays on its box.
    expect(page.get_by_role("list", name="Models in this release")).to_contain_text("Claude Haiku 4.5")
    expect(page.get_by_role("list", name="Models in this release").get_by_role("checkbox")).to_be_focused()
    screenshot("step-models")
    screenshot("step-models", phone=True)
    continue_to(page, "Add-on services")

    # Step 2: the add-on services configured on the marketplace.
    page.get_by_role("checkbox", name="SearXNG").check()
    saved(page)
    screenshot("step-services")
    continue_to(page, "Open WebUI settings")

    # Step 3: Open WebUI's own settings.
    page.get_by_label("Instance name").fill("Robin's first AI")
    page.get_by_label("Instance name").blur()
    saved(page)
    screenshot("step-openwebui")
    continue_to(page, "Routes")

    # Step 4: routes on the tailnet, by port (the settings' mode).
    expect(page.locator("#route-openwebui")).to_contain_text("https://box.tail1234.ts.net:3000")
    screenshot("step-routes")
    continue_to(page, "Summary and cut")

    expect(page.get_by_role("heading", name="Summary: check, then cut")).to_be_visible()
    secrets_table = page.get_by_role("region", name=re.compile("Secrets the machine will need"))
    expect(secrets_table).to_contain_text("anthropic_api_key")
    # Providers by their names; the catalog id is only beside it.
    expect(secrets_table.get_by_role("row", name=re.compile("anthropic_api_key"))).to_contain_text("Your Anthropic key")
    expect(page.get_by_role("region", name=re.compile(r"Models \(1\)"))).to_contain_text("through Anthropic")
    assert key not in page.content()
    assert_accessible_basics(page)
    screenshot("summary")
    screenshot("summary", phone=True)
    page.get_by_role("button", name="Cut and publish version 1").click()

    # The cut runs on the worker; the page follows it until it is published.
    progress = page.locator("#release-progress")
    expect(progress.or_(page.get_by_role("heading", name="Install it")).first).to_be_visible()
    if progress.is_visible():  # the worker may already be done by the time the page is shown
        expect(progress.get_by_role("progressbar", name="Publishing version 1")).to_be_visible()
        screenshot("publishing", of=progress)
    wait_until_published(page, 1)
    first = Release.objects.get(owner=user, version=1)
    assert first.status == Release.Status.PUBLISHED
    paths = list(first.files.order_by("path").values_list("path", flat=True))
    files = page.get_by_role("region", name=re.compile(r"Files \(\d+\)"))
    expect(files.get_by_role("row")).to_have_count(len(paths) + 1)
    assert_accessible_basics(page)
    screenshot("published")
    # At phone width the install commands wrap inside their boxes; the page does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        assert_commands_fit(page)
        page.get_by_role("heading", name="Install it").scroll_into_view_if_needed()
        screenshot("published-install", of=page.get_by_role("region", name="Install it"))
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("published", phone=True)
    # Each command has a copy button (releases.js, a static file); loopback is a secure context for the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.url.split("/releases")[0])
    install = page.get_by_role("region", name="Install it")
    install.get_by_role("button", name="Copy the install command").click()
    expect(page.locator("#copy-status")).to_have_text("Copied the command.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#install-run").text_content()
    assert copied.startswith('leger deploy install v1 --source "http://leger:$(jq -r .token ')
    assert copied.endswith('/v1.git"')
    # The secrets by name and where each value is kept, never a value.
    secrets_section = page.get_by_role("region", name=re.compile("Secrets the machine needs"))
    expect(secrets_section.get_by_role("row", name=re.compile("anthropic_api_key"))).to_contain_text(
        "Your Anthropic key"
    )
    expect(secrets_section.get_by_role("link", name="Providers")).to_be_visible()

    # A file, highlighted, as the machine will get it; no key in it. Open WebUI's settings are its unit's lines.
    unit_path = "openwebui.container"
    assert unit_path in paths
    files.get_by_role("link", name=unit_path, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(unit_path)
    contents = page.get_by_role("region", name=f"Contents of {unit_path}")
    expect(contents).to_contain_text("Robin's first AI")
    assert contents.locator("span[class]").count() > 0, "the file is not syntax-highlighted"
    assert key not in page.content()
    screenshot("file")
    screenshot("file", phone=True)
    page.go_back()

    # The archive holds every file of the release, under one folder.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Download home-box-v1")).click()
    archive = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(archive)
    assert archive.name == "home-box-v1.tar.gz"
    with tarfile.open(archive) as tar:
        members = {member.name: member for member in tar.getmembers() if member.isfile()}
        assert sorted(name.removeprefix("home-box-v1/") for name in members) == paths
        env = tar.extractfile(members[f"home-box-v1/{unit_path}"]).read().decode()
        assert "Robin's first AI" in env
        for member in members.values():
            assert key.encode() not in tar.extractfile(member).read()

    # A second release from the first: clone, change one setting, cut again.
    page.get_by_role("button", name="Clone into a new draft").click()
    expect(page.get_by_role("heading", name="Step 1 of 4: Models")).to_be_visible()
    # A clone is checked step by step again, carrying every choice over.
    expect(page.get_by_role("checkbox", name="Claude Haiku 4.5", exact=True)).to_be_checked()
    continue_to(page, "Add-on services")
    expect(page.get_by_role("checkbox", name="SearXNG")).to_be_checked()
    continue_to(page, "Open WebUI settings")
    expect(page.get_by_label("Instance name")).to_have_value("Robin's first AI")
    page.get_by_label("Instance name").fill("Robin's second AI")
    page.get_by_label("Instance name").blur()
    saved(page)
    continue_to(page, "Routes")
    continue_to(page, "Summary and cut")
    page.get_by_role("button", name="Cut and publish version 2").click()
    wait_until_published(page, 2)
    # Its page shows what changed since v1 right away: the new instance name, an Environment= line of Open WebUI's
    # unit.
    since = page.get_by_role("region", name="What changed since v1")
    expect(since.get_by_label(f"Differences in {unit_path}")).to_contain_text(
        '+Environment="WEBUI_NAME=Robin\'s second AI"'
    )

    # What changed from v1 to v2: the instance name, in Open WebUI's unit, shown open; files
    # nothing changed in (the version lives in the manifest only) are not listed at all.
    page.get_by_label("Compare version 2 with").select_option(label="v1 · Home box")
    page.get_by_role("button", name="Show the differences").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What changed from v1 to v2")
    changed = page.get_by_role("region", name="Changed")
    unit_change = changed.locator("details").filter(has=page.get_by_label(f"Differences in {unit_path}"))
    unit_diff = unit_change.get_by_label(f"Differences in {unit_path}")
    expect(unit_diff).to_be_visible()
    expect(unit_diff).to_contain_text('-Environment="WEBUI_NAME=Robin\'s first AI"')
    expect(unit_diff).to_contain_text('+Environment="WEBUI_NAME=Robin\'s second AI"')
    expect(changed.get_by_label("Differences in Caddyfile")).to_have_count(0)
    assert_accessible_basics(page)
    screenshot("diff")
    screenshot("diff", phone=True)

    # The list: both versions, which is latest, and the way to start another.
    page.goto("/releases/")
    cut = page.get_by_role("region", name="Cut releases")
    expect(cut.get_by_role("row")).to_have_count(3)
    expect(cut.get_by_role("row", name=re.compile(r"^v2"))).to_contain_text("latest")
    expect(page.get_by_role("heading", name="No releases yet", exact=False)).to_have_count(0)
    assert_accessible_basics(page)
    screenshot("index")
    screenshot("index", phone=True)
