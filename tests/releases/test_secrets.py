"""No secret value ever reaches a release: the snapshot and the renderer only know secret names."""

from __future__ import annotations

import copy
import secrets

import pytest
from django.contrib.auth.models import User

from leger.catalog.models import Provider
from leger.providers import services as providers
from leger.providers.models import Credential
from leger.releases import quadlet
from leger.releases.manifest import build_manifest, manifest_json
from leger.releases.rendering import render
from leger.releases.snapshot import canonical_json, example_snapshot


def fake_value(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")


def every_byte(snapshot) -> bytes:
    """Every file of the release, its manifest and the stored snapshot, as one blob to search."""
    files = render(snapshot)
    parts = [path.encode() + b"\0" + text.encode() for path, text in files.items()]
    parts.append(manifest_json(build_manifest(snapshot, files)).encode())
    parts.append(canonical_json(snapshot).encode())
    return b"\n".join(parts)


def assert_absent(blob: bytes, values: dict[str, str]) -> None:
    for name, value in values.items():
        # The whole value, and a 12-character piece of its random part, in case something cut it.
        for needle in {value, value[-12:]}:
            assert needle.encode() not in blob, f"the value of secret {name!r} leaked into the release"


@pytest.mark.parametrize("exposure", ["port", "path", "subdomain"])
def test_no_secret_value_appears_in_any_byte_of_a_release(exposure: str) -> None:
    snapshot = example_snapshot("full", exposure)
    manifest = build_manifest(snapshot, render(snapshot))
    # What the target machine will hold under each name; the renderer is never given this map. (Config files
    # are secrets too, but their values are the release's own files, not secret.)
    credentials = {entry["name"]: fake_value("sk-fake-") for entry in manifest["secrets"] if entry["source"] != "file"}
    assert {"litellm-master-key", "openwebui-postgres-password", "anthropic-api-key", "openai-api-key"} <= set(
        credentials
    )
    before = copy.deepcopy(snapshot)
    blob = every_byte(snapshot)
    assert snapshot == before
    assert_absent(blob, credentials)
    # Each secret is there as its placeholder instead.
    files = render(snapshot)
    referenced = {
        value.split(",", 1)[0]
        for path, text in files.items()
        if path.endswith(".container")
        for value in quadlet.parse(text).values("Container", "Secret")
    }
    config_files = {entry["name"] for entry in manifest["secrets"] if entry["source"] == "file"}
    assert referenced == set(credentials) | config_files
    assert "os.environ/ANTHROPIC_API_KEY" in files["litellm-config.yaml"]


@pytest.mark.django_db
def test_stored_keys_never_reach_the_files_of_a_release_that_uses_them(alice: User) -> None:
    anthropic = Provider.objects.create(
        id="anthropic", name="Anthropic", kind="api", env_var="ANTHROPIC_API_KEY", key_prefix="sk-ant-"
    )
    openai = Provider.objects.create(id="openai", name="OpenAI", kind="api", env_var="OPENAI_API_KEY")
    values = {"anthropic": fake_value("sk-ant-api03-"), "openai": fake_value("sk-proj-")}
    stored = {
        "anthropic": providers.credential_create(
            owner=alice, provider=anthropic, label="home", value=values["anthropic"]
        ),
        "openai": providers.credential_create(owner=alice, provider=openai, label="home", value=values["openai"]),
    }
    snapshot = example_snapshot("full")
    # What the cut copies from a stored credential: its secret name and the variable it fills, nothing else.
    for model in snapshot["models"]:
        if model["kind"] == "cloud":
            credential: Credential = stored[model["provider"]]
            model["credential"] = {"secret": credential.secret_name, "env_var": credential.env_var}
    for addon in snapshot["addons"]:
        if addon["credential"]:
            addon["credential"]["secret"] = stored["openai"].secret_name
        for secret in addon["secrets"]:
            if secret["source"] == "credential":
                secret["secret"] = stored["openai"].secret_name
    blob = every_byte(snapshot)
    assert_absent(blob, values)
    assert f"Secret={stored['anthropic'].secret_name},type=env,target=ANTHROPIC_API_KEY".encode() in blob
