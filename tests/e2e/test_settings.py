from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leger.marketplace.models import Service
from leger.marketplace.services import selection_create
from leger.releases.models import InfrastructureService
from leger.tailnet.models import TailnetSettings
from tests.e2e.pages import assert_accessible_basics, focus_is_visible, mark_document, same_document, tab_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MACHINE = "box.tail1234.ts.net"


def service_links(page: Page) -> dict[str, str]:
    """Service name → the URL the page shows for it."""
    items = page.locator("#service-urls li")
    return {
        item.locator(".name").inner_text(): item.get_by_role("link").inner_text()
        for item in items.all()
        if item.get_by_role("link").count()
    }


def test_tailnet_settings_refuse_a_bad_machine_name_then_show_each_services_url(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    page = signed_in
    # An active self-hosted add-on is reachable too; one that is not active is not listed.
    selection_create(owner=user, service=Service.objects.get(pk="searxng"))
    exposable = InfrastructureService.objects.filter(exposable=True)
    core = exposable.filter(role=InfrastructureService.Role.CORE)
    ports = dict((core | exposable.filter(addon="searxng")).values_list("name", "published_port"))
    assert "SearXNG" in ports and "Qdrant" not in ports
    page.goto("/settings/")
    assert_accessible_basics(page)
    expect(page.get_by_role("radio", name="A port per service on the machine's name (default)")).to_be_checked()
    screenshot("empty")
    screenshot("empty", phone=True)

    # A bad machine name is named next to its field while typing, and again when saving anyway.
    mark_document(page)
    page.get_by_label("Tailnet domain").fill("tail1234.ts.net")
    page.get_by_label("Machine name").fill("my_box!")
    hostname_errors = page.locator("#errors-hostname")
    expect(hostname_errors).to_contain_text("letters, digits and dashes")
    expect(page.get_by_label("Machine name")).to_have_attribute("aria-invalid", "true")
    assert same_document(page)
    page.get_by_role("button", name="Save settings").click()
    expect(hostname_errors).to_contain_text("letters, digits and dashes; remove “_” and “!”")
    # Said once, next to the field, and read out with it; not repeated above the form.
    expect(hostname_errors.locator("li")).to_have_count(1)
    expect(page.get_by_text("letters, digits and dashes;")).to_have_count(1)
    expect(page.locator("#errors-form")).to_be_empty()
    expect(page.get_by_label("Machine name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Machine name")).to_have_accessible_description(re.compile("remove “_” and “!”"))
    expect(page.get_by_label("Machine name")).to_have_value("my_box!")  # kept, to correct
    expect(page.get_by_label("Tailnet domain")).to_have_value("tail1234.ts.net")
    assert not TailnetSettings.objects.filter(owner=user).exists()
    machine = page.get_by_label("Machine name")
    assert tab_to(page, machine), "the machine name field cannot be reached with Tab"
    assert focus_is_visible(machine), "the focused machine name field shows no focus ring"
    screenshot("refused")
    screenshot("refused", phone=True, of=page.locator("form.tailnet-form"))

    # Corrected: the URLs appear before saving, then stay once saved.
    mark_document(page)
    machine.fill("box")
    expect(hostname_errors).to_be_empty()
    expect(machine).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("With the settings in the form (not saved yet)")).to_be_visible()
    assert same_document(page)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Tailnet settings saved.")).to_be_visible()
    links = service_links(page)
    assert links["Open WebUI"] == f"https://{MACHINE}:{ports['Open WebUI']}"
    assert links["LiteLLM"] == f"https://{MACHINE}:{ports['LiteLLM']}"
    assert links == {name: f"https://{MACHINE}:{port}" for name, port in ports.items() if port}
    screenshot("saved-by-port")

    # By path: every service on port 443 of the machine's name, each at its own path.
    page.get_by_role("radio", name="A path per service on the machine's name").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Tailnet settings saved.")).to_be_visible()
    links = service_links(page)
    assert links["Open WebUI"] == f"https://{MACHINE}"
    assert links["LiteLLM"] == f"https://{MACHINE}/litellm"
    for url in links.values():
        assert url.startswith(f"https://{MACHINE}") and ":" not in url.removeprefix("https://"), url
    saved = TailnetSettings.objects.get(owner=user)
    assert (saved.tailnet, saved.hostname, saved.exposure) == ("tail1234.ts.net", "box", "path")
    screenshot("saved-by-path")


def test_the_machines_hardware_is_saved_and_the_wizard_says_which_local_model_cannot_fit(
    signed_in: Page, user: User, catalog, screenshot
) -> None:
    from leger.catalog.models import LLM
    from leger.releases import services as release_services

    page = signed_in
    page.goto("/settings/")
    page.get_by_label("Tailnet domain").fill("tail1234.ts.net")
    page.get_by_label("Machine name").fill("box")
    vulkan = page.get_by_role("radio", name="AMD GPU (Vulkan)")
    expect(vulkan).to_have_accessible_description(re.compile("render and video groups"))
    vulkan.check()
    page.get_by_label("Memory (RAM), GB").fill("64")
    page.get_by_label("GPU memory (VRAM), GB").fill("32")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Tailnet settings saved.")).to_be_visible()
    saved = TailnetSettings.objects.get(owner=user)
    assert (saved.accelerator, saved.memory_gb, saved.gpu_memory_gb) == ("amd-vulkan", 64, 32)
    expect(page.get_by_role("radio", name="AMD GPU (Vulkan)")).to_be_checked()
    screenshot("hardware", of=page.locator("fieldset.hardware"))
    screenshot("hardware", phone=True, of=page.locator("fieldset.hardware"))

    big = LLM.objects.filter(kind="local", enabled=True, ram_required_gb__gt=32).order_by("-ram_required_gb").first()
    assert big is not None
    release = release_services.release_create(owner=user, name="local")
    page.goto(f"/releases/{release.pk}/models/")
    page.get_by_role("radio", name="Local", exact=True).check()
    box = page.get_by_role("checkbox", name=big.name, exact=True)
    box.check()
    warning = page.locator("#memory-fit")
    expect(warning).to_contain_text(f"{big.name} needs about {big.ram_required_gb} GB")
    expect(warning).to_contain_text("AMD GPU (Vulkan), 32 GB of GPU memory")
    expect(warning).to_be_in_viewport()
    screenshot("too-big")
    screenshot("too-big", phone=True, of=page.locator("#model-choices"))
