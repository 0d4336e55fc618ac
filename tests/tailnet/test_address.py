"""The machine's Tailscale address: where every port a release publishes listens, so nothing is on the LAN."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from leger.releases import services as release_services
from leger.tailnet.models import TailnetSettings
from leger.tailnet.services import tailnet_settings_put
from leger.tailnet.validation import clean_tailscale_address
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_key, minimal_draft

catalog = setup.catalog

pytestmark = pytest.mark.django_db


def test_a_tailscale_address_is_kept_and_anything_else_is_refused_saying_what_to_use() -> None:
    assert clean_tailscale_address(" 100.101.102.103 ") == "100.101.102.103"
    assert clean_tailscale_address("") is None
    with pytest.raises(ValidationError, match=r"not a Tailscale address.*LAN or public"):
        clean_tailscale_address("192.168.1.20")
    with pytest.raises(ValidationError, match="tailscale ip -4"):
        clean_tailscale_address("box.tail1234.ts.net")


def test_the_api_sets_keeps_and_clears_the_address(alice: User) -> None:
    api = APIClient()
    api.force_authenticate(alice)
    body = {"tailnet": "tail1234.ts.net", "hostname": "box", "exposure": "port"}
    assert api.put("/api/v1/tailnet/", {**body, "address": "100.101.102.103"}, format="json").status_code == 201
    assert api.get("/api/v1/tailnet/").json()["address"] == "100.101.102.103"
    assert api.put("/api/v1/tailnet/", body, format="json").json()["address"] == "100.101.102.103"
    refused = api.put("/api/v1/tailnet/", {**body, "address": "10.0.0.5"}, format="json")
    assert refused.status_code == 400 and "not a Tailscale address" in str(refused.json())
    assert api.put("/api/v1/tailnet/", {**body, "address": ""}, format="json").json()["address"] is None


def test_the_settings_page_saves_the_address(alice_client: Any, alice: User) -> None:
    form = {"tailnet": "tail1234.ts.net", "hostname": "box", "exposure": "port", "address": "100.64.0.9"}
    assert alice_client.post("/settings/", form).status_code == 302
    assert TailnetSettings.objects.get(owner=alice).address == "100.64.0.9"
    refused = alice_client.post("/settings/", {**form, "address": "8.8.8.8"})
    assert refused.status_code == 400
    assert "not a Tailscale address" in refused.content.decode()


@pytest.mark.parametrize(("address", "listens"), [("100.101.102.103", "100.101.102.103"), (None, "127.0.0.1")])
def test_a_cut_release_publishes_its_ports_on_that_address_or_on_loopback(
    alice: User, catalog: None, monkeypatch: pytest.MonkeyPatch, address: str | None, listens: str
) -> None:
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_key(alice, "anthropic")
    tailnet_settings_put(owner=alice, tailnet="tail1234.ts.net", hostname="box", address=address)
    release = release_services.release_cut(release=minimal_draft(alice), actor=alice)
    rendered, problems = release_services.render_snapshot(release.snapshot)
    assert not problems and rendered is not None
    ports = [port for service in rendered.manifest["services"] for port in service["ports"]]
    assert ports and all(port.startswith(f"{listens}:") for port in ports), ports
