"""The machine's hardware on /settings: what runs the local models, and the memory the wizard checks them against."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from leger.catalog.models import LLM, Capability
from leger.releases import services as release_services
from leger.releases.rendering import render
from leger.tailnet.models import TailnetSettings
from leger.tailnet.services import tailnet_settings_put
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import add_key, add_tailnet

catalog = setup.catalog

pytestmark = pytest.mark.django_db

BODY = {"tailnet": "tail1234.ts.net", "hostname": "box", "exposure": "port"}


def test_the_api_sets_keeps_and_clears_the_hardware(alice: User) -> None:
    api = APIClient()
    api.force_authenticate(alice)
    hardware = {"accelerator": "nvidia", "memory_gb": 64, "gpu_memory_gb": 24}
    created = api.put("/api/v1/tailnet/", {**BODY, **hardware}, format="json")
    assert created.status_code == 201
    assert {key: created.json()[key] for key in hardware} == hardware
    # Left out: kept, like the address.
    kept = api.put("/api/v1/tailnet/", BODY, format="json").json()
    assert {key: kept[key] for key in hardware} == hardware
    cleared = api.put("/api/v1/tailnet/", {**BODY, "gpu_memory_gb": None}, format="json").json()
    assert cleared["gpu_memory_gb"] is None and cleared["accelerator"] == "nvidia"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"accelerator": "tpu"}, "accelerator", "is not a valid choice"),
        ({"memory_gb": 0}, "memory_gb", "greater than or equal to 1"),
        ({"memory_gb": 64000}, "memory_gb", "less than or equal to 4096"),
        ({"accelerator": "cpu", "gpu_memory_gb": 16}, "gpu_memory_gb", "choose its GPU above, or leave this empty"),
    ],
)
def test_bad_hardware_is_refused_saying_what_to_change_and_keeps_the_stored_settings(
    alice: User, change: dict[str, Any], field: str, message: str
) -> None:
    api = APIClient()
    api.force_authenticate(alice)
    api.put("/api/v1/tailnet/", {**BODY, "accelerator": "amd-vulkan", "memory_gb": 96}, format="json")
    refused = api.put("/api/v1/tailnet/", {**BODY, **change}, format="json")
    assert refused.status_code == 400
    assert message in str(refused.json()[field])
    stored = TailnetSettings.objects.get(owner=alice)
    assert (stored.accelerator, stored.memory_gb, stored.gpu_memory_gb) == ("amd-vulkan", 96, None)


def test_the_settings_page_saves_the_hardware_and_shows_each_choice_with_what_it_needs(
    alice_client: Any, alice: User
) -> None:
    page = alice_client.get("/settings/").content.decode()
    assert "What runs the local models" in page and "nvidia-ctk cdi generate" in page
    form = {**BODY, "accelerator": "amd-rocm", "memory_gb": "128", "gpu_memory_gb": "96"}
    assert alice_client.post("/settings/", form).status_code == 302
    stored = TailnetSettings.objects.get(owner=alice)
    assert (stored.accelerator, stored.memory_gb, stored.gpu_memory_gb) == ("amd-rocm", 128, 96)
    refused = alice_client.post("/settings/", {**form, "accelerator": "cpu"})
    assert refused.status_code == 400
    assert "choose its GPU above" in refused.content.decode()
    assert TailnetSettings.objects.get(owner=alice).accelerator == "amd-rocm"


def _local_draft(user: User, *models: str) -> Any:
    release = release_services.release_create(owner=user, name="local")
    return release_services.release_update(release=release, models=[{"model": model} for model in models])


def test_a_cut_runs_the_gpu_build_of_llama_swap_with_the_gpu_and_embedding_models_with_embeddings(
    alice: User, catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    tailnet_settings_put(owner=alice, **BODY, accelerator="nvidia", memory_gb=64, gpu_memory_gb=24)
    embedding = LLM.objects.filter(kind="local", enabled=True, capabilities=Capability.objects.get(pk="embeddings"))
    chat = LLM.objects.filter(kind="local", enabled=True, capabilities=Capability.objects.get(pk="chat"))
    embedder, talker = embedding.exclude(capabilities="chat").first(), chat.first()
    assert embedder is not None and talker is not None
    release = release_services.release_cut(release=_local_draft(alice, embedder.pk, talker.pk), actor=alice)
    assert release.snapshot["machine"] == {"accelerator": "nvidia", "memory_gb": 64, "gpu_memory_gb": 24}
    files = render(release.snapshot)
    unit = files["llama-swap.container"]
    assert "Image=ghcr.io/mostlygeek/llama-swap:v173-cuda-" in unit
    assert "AddDevice=nvidia.com/gpu=all" in unit
    config = yaml.safe_load(files["llama-swap-config.yaml"])["models"]
    assert "--embeddings" in config[embedder.pk]["cmd"] and "--embeddings" not in config[talker.pk]["cmd"]
    assert all("--n-gpu-layers 999" in model["cmd"] for model in config.values())
    # The same machine set to the CPU: the CPU build, no device.
    tailnet_settings_put(owner=alice, **BODY, accelerator="cpu", gpu_memory_gb=None)
    cpu = release_services.release_cut(release=_local_draft(alice, talker.pk), actor=alice)
    unit = render(cpu.snapshot)["llama-swap.container"]
    assert "-cpu-" in unit and "AddDevice" not in unit


def test_the_wizard_warns_when_a_local_model_cannot_fit_the_machine(
    alice: User, alice_client: Any, catalog: None
) -> None:
    add_key(alice, "anthropic")
    add_tailnet(alice)
    big = LLM.objects.filter(kind="local", enabled=True, ram_required_gb__gte=40).order_by("-ram_required_gb").first()
    small = LLM.objects.filter(kind="local", enabled=True, ram_required_gb__lte=8).order_by("ram_required_gb").first()
    assert big is not None and small is not None
    release = _local_draft(alice, big.pk, small.pk)
    step = f"/releases/{release.pk}/models/"

    page = alice_client.get(step).content.decode()
    assert "Enter your machine" in page, "without figures the step asks for them"

    tailnet_settings_put(owner=alice, **BODY, accelerator="amd-vulkan", memory_gb=64, gpu_memory_gb=32)
    page = alice_client.get(step).content.decode()
    assert "AMD GPU (Vulkan), 32 GB of GPU memory" in page
    assert f"{big.name} needs about {big.ram_required_gb} GB" in page
    assert f"{small.name} needs about" not in page
    assert "llama-swap runs one at a time" in page
    for name in release_services.STEPS:
        assert release_services.release_validate_step(release=release, step=name) == {}, name
    summary = alice_client.get(f"/releases/{release.pk}/summary/").content.decode()
    assert f"{big.name} needs about {big.ram_required_gb} GB" in summary

    tailnet_settings_put(owner=alice, **BODY, accelerator="cpu", memory_gb=256, gpu_memory_gb=None)
    page = alice_client.get(step).content.decode()
    assert "cannot load" not in page and "They fit all loaded at once" in page
