"""Every marketplace service, put in a release the way a user would (configured in /marketplace with each
required setting, its key from /providers), is cut, rendered and accepted by the programs that read the release:
Podman's quadlet generator and `caddy validate`. Self-hosted ones go through each exposure mode and each
hardware profile. The test walks the fixtures, so a new service is covered without a new test."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from leger.lib import hardware
from leger.marketplace.models import Service, Variable
from leger.marketplace.rules import selection_variables
from leger.releases import services as release_services
from leger.releases.rendering import render
from leger.releases.validation import validate
from leger.tailnet.services import tailnet_settings_put
from tests.releases import test_services_setup as setup
from tests.releases.test_real_tools import caddy_binary, generate, installed_units, write
from tests.releases.test_services_setup import a_key, add_key, select

catalog = setup.catalog

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def sample(variable: Variable) -> Any:
    """A value a person could enter for a required setting."""
    if variable.default is not None:
        return variable.default
    if variable.type == Variable.Type.ENUM:
        return variable.options[0]
    if variable.type == Variable.Type.URL:
        return "https://service.example.org"
    if variable.type == Variable.Type.INT:
        return int(variable.minimum or 1)
    if variable.type == Variable.Type.FLOAT:
        return float(variable.minimum or 1)
    if variable.type == Variable.Type.BOOL:
        return True
    if variable.type == Variable.Type.SECRET:
        return a_key("s3cret-")
    return "value"


def configure(user: User, service: Service) -> Any:
    values = {v.name: sample(v) for v in selection_variables(service) if v.required}
    credential = None
    if service.requires_api_key:
        credential, _ = add_key(user, service.key_provider_id, label=service.pk[:40])
    return select(user, service.pk, values=values, credential=credential)


def check(files: dict[str, str], snapshot: Any, tmp_path: Path, what: str) -> None:
    assert validate(files, snapshot) == [], what
    directory = tmp_path / what.replace("/", "-")
    directory.mkdir()
    _, errors = generate(write(installed_units(files), directory))
    assert errors == [], what
    (directory / "Caddyfile").write_text(files["Caddyfile"])
    result = subprocess.run(
        [caddy_binary(), "validate", "--config", str(directory / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (what, result.stderr[-2000:])


def test_every_marketplace_service_is_published_as_the_programs_that_read_it_accept(
    alice: User, catalog: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_key(alice, "anthropic")
    services = list(Service.objects.filter(enabled=True).order_by("pk"))
    assert len(services) > 50
    checked = 0
    for service in services:
        selection = configure(alice, service)
        containers = ["port", "path", "subdomain"] if service.self_hosted else ["port"]
        for exposure in containers:
            profiles = sorted(hardware.ACCELERATORS) if service.self_hosted and exposure == "port" else ["cpu"]
            for accelerator in profiles:
                tailnet_settings_put(
                    owner=alice,
                    tailnet="tail1234.ts.net",
                    hostname="box",
                    exposure=exposure,
                    custom_domain="home.example.org" if exposure == "subdomain" else "",
                    accelerator=accelerator,
                    gpu_memory_gb=None,
                )
                draft = setup.minimal_draft(alice, name=f"{service.pk} {exposure} {accelerator}")
                draft = release_services.release_update(
                    release=draft,
                    services=[selection.pk],
                    routes=_expose(service),
                )
                release = release_services.release_cut(release=draft, actor=alice)
                assert [addon["id"] for addon in release.snapshot["addons"]] == [service.pk]
                files = render(release.snapshot)
                if service.self_hosted:
                    assert f"{release.snapshot['addons'][0]['container']['id']}.container" in files
                check(files, release.snapshot, tmp_path, f"{service.pk}/{exposure}/{accelerator}")
                checked += 1
        # One provider per slot: the next service of this slot takes its place.
        selection.delete()
    assert checked > len(services)


def _expose(service: Service) -> dict[str, Any]:
    """Its container exposed, when it has one that can be."""
    from leger.releases.models import InfrastructureService

    container = InfrastructureService.objects.filter(addon=service.pk, exposable=True).first()
    return {container.pk: {"exposed": True}} if container else {}
