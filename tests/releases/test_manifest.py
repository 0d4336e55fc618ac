"""manifest.json in the shape the leger CLI reads."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from leger.releases import quadlet
from leger.releases.manifest import build_manifest, manifest_json
from leger.releases.rendering import file_secret_name, render
from leger.releases.snapshot import example_snapshot


@pytest.fixture(scope="module")
def release():
    snapshot = example_snapshot("full")
    files = render(snapshot)
    return snapshot, files, build_manifest(snapshot, files)


def test_it_has_what_the_cli_requires(release) -> None:
    snapshot, _, manifest = release
    assert manifest["version"] == snapshot["release"]["version"] >= 1
    assert manifest["created_at"] == "2025-11-20T09:30:00Z"
    assert manifest["user_uuid"] == snapshot["release"]["owner_uuid"]
    assert manifest["name"] == snapshot["release"]["name"]
    assert manifest["services"], "the CLI refuses a manifest without services"
    for service in manifest["services"]:
        assert service["type"] == "container"
        assert service["files"] and f"{service['name']}.container" in service["files"]
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", service["checksum"])
        assert service["image"]


def test_each_service_lists_its_files_dependencies_ports_and_secrets(release) -> None:
    _, files, manifest = release
    services = {s["name"]: s for s in manifest["services"]}
    openwebui = services["openwebui"]
    # The CLI downloads only what a service lists: its unit, the network, its volumes and its config files.
    assert openwebui["files"] == ["llm.network", "openwebui-data.volume", "openwebui.container"]
    assert openwebui["depends_on"] == ["litellm", "openwebui-postgres", "openwebui-redis"]
    assert openwebui["ports"] == []
    assert {"openwebui-secret-key", "litellm-openwebui-key", "openwebui-postgres-password"} <= set(
        openwebui["secrets_required"]
    )
    # Open WebUI holds its own LiteLLM key, never LiteLLM's master key.
    assert "litellm-master-key" not in openwebui["secrets_required"]
    assert {"litellm-master-key", "litellm-openwebui-key"} <= set(services["litellm"]["secrets_required"])
    assert "100.101.102.103:3000:3000" in services["caddy"]["ports"]
    assert services["litellm"]["files"] == ["litellm-config.yaml", "litellm.container", "llm.network"]
    assert services["llama-swap"]["files"] == [
        "llama-swap-config.yaml",
        "llama-swap-models.volume",
        "llama-swap.container",
        "llm.network",
    ]
    assert services["searxng"]["files"] == [
        "llm.network",
        "searxng-cache.volume",
        "searxng-settings.yml",
        "searxng.container",
    ]
    assert services["caddy"]["files"] == [
        "Caddyfile",
        "caddy-config.volume",
        "caddy-data.volume",
        "caddy.container",
        "llm.network",
    ]
    # Every file of the release is some service's, and every file a service lists is one of the release.
    listed = {path for service in manifest["services"] for path in service["files"]}
    assert listed == set(files)
    litellm_config = file_secret_name("litellm-config.yaml", files["litellm-config.yaml"])
    assert litellm_config in services["litellm"]["secrets_required"]
    assert not any(name.startswith("leger-file-") for name in openwebui["secrets_required"])
    expected = "sha256:" + hashlib.sha256(files["openwebui.container"].encode()).hexdigest()
    assert openwebui["checksum"] == expected


def test_it_declares_every_secret_once_with_its_targets(release) -> None:
    _, files, manifest = release
    secrets = {s["name"]: s for s in manifest["secrets"]}
    assert len(secrets) == len(manifest["secrets"])
    master = secrets["litellm-master-key"]
    assert master["type"] == "env" and master["required"] is True and master["source"] == "internal"
    assert master["targets"] == ["LITELLM_MASTER_KEY"]
    assert secrets["litellm-openwebui-key"]["targets"] == ["LEGER_OPENWEBUI_KEY", "OPENAI_API_KEY"]
    assert secrets["anthropic-api-key"]["source"] == "credential"
    # One key, four variables: LiteLLM's, embeddings', and both of the image add-on's (generation and edits).
    assert secrets["openai-api-key"]["targets"] == [
        "IMAGES_EDIT_OPENAI_API_KEY",
        "IMAGES_OPENAI_API_KEY",
        "OPENAI_API_KEY",
        "RAG_OPENAI_API_KEY",
    ]
    assert secrets["mp_opentelemetry_otel_basic_auth_password"]["source"] == "selection"
    # Each config file is a mount secret holding that file, named after its path and bytes.
    mounts = {s["file"]: s for s in manifest["secrets"] if s["type"] == "mount"}
    assert set(mounts) == {
        "Caddyfile",
        "cockpit-cockpit.conf",
        "litellm-config.yaml",
        "llama-swap-config.yaml",
        "searxng-settings.yml",
    }
    for path, secret in mounts.items():
        assert secret["name"] == file_secret_name(path, files[path])
        assert secret["source"] == "file" and secret["required"] is True
        assert secret["targets"] == [secret["target"]] and secret["target"].startswith("/")
    assert mounts["searxng-settings.yml"]["target"] == "/etc/searxng/settings.yml"
    assert mounts["Caddyfile"]["target"] == "/etc/caddy/Caddyfile"
    assert all("file" not in s for s in manifest["secrets"] if s["type"] == "env")
    required = {name for service in manifest["services"] for name in service["secrets_required"]}
    assert required == set(secrets)


def test_it_lists_volumes_networks_and_every_file_with_its_checksum(release) -> None:
    _, files, manifest = release
    # No subnet: Podman picks one no other network of the machine uses (a fixed one clashed with its defaults).
    assert manifest["networks"] == [{"name": "llm", "driver": "bridge", "file": "llm.network"}]
    assert quadlet.parse(files["llm.network"]).values("Network", "Subnet") == []
    assert {v["name"] for v in manifest["volumes"]} == {
        p.removesuffix(".volume") for p in files if p.endswith(".volume")
    }
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(files)
    for path, text in files.items():
        assert listed[path]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
        assert listed[path]["size"] == len(text.encode())


def test_its_json_is_deterministic(release) -> None:
    snapshot, files, manifest = release
    text = manifest_json(manifest)
    assert text == manifest_json(build_manifest(snapshot, dict(reversed(list(files.items())))))
    assert text.endswith("}\n") and json.loads(text) == manifest
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_a_release_file_cannot_take_the_manifests_name(release) -> None:
    snapshot, files, _ = release
    with pytest.raises(ValueError, match=r"manifest\.json"):
        build_manifest(snapshot, {**files, "manifest.json": "{}"})
