"""Every secret a cut release names can be fetched by the leger CLI, and none of their values is in its files.

A full release from the project's real fixtures: cloud and local models, self-hosted add-ons with internal
secrets (SearXNG, Qdrant, Jupyter), a marketplace selection with a secret setting (OpenTelemetry's password)
and a key that fills two Open WebUI variables (OpenAI images: generation and edits). Its config files are
secrets too (mounted where each program reads them), served once the release is published.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leger.providers import crypto
from leger.providers.models import AuditEntry, InternalSecret
from leger.releases import quadlet, services
from leger.releases.manifest import manifest_json
from leger.releases.models import Release
from leger.releases.snapshot import canonical_json
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import a_key, add_key, add_tailnet, full_draft, minimal_draft, select

catalog = setup.catalog
full_user = setup.full_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    # These tests are about what the cut freezes and what the CLI reads; publishing is tested elsewhere.
    ids: list[int] = []
    monkeypatch.setattr(services, "_enqueue", ids.append)
    return ids


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def everything(full_user: dict[str, Any]) -> dict[str, Any]:
    """The full setup plus a selection with a secret setting and a key that fills two variables."""
    alice = full_user["user"]
    openai = next(c for c in full_user["credentials"] if c.provider_id == "openai")
    password = a_key("otel-")
    full_user["selections"] += [
        select(
            alice, "opentelemetry", values={"OTEL_BASIC_AUTH_USERNAME": "leger", "OTEL_BASIC_AUTH_PASSWORD": password}
        ),
        select(alice, "openai-images", credential=openai),
    ]
    full_user["secret_values"].append(password)
    full_user["otel_password"] = password
    return full_user


def cut(setup_: dict[str, Any], name: str = "everything") -> tuple[Release, dict[str, Any], dict[str, str]]:
    release = services.release_cut(release=full_draft(setup_, name), actor=setup_["user"])
    rendered, problems = services.render_snapshot(release.snapshot)
    assert not problems and rendered is not None, problems
    return release, rendered.manifest, rendered.files


def published(setup_: dict[str, Any], settings: Any, tmp_path: Any) -> tuple[Release, dict[str, Any], dict[str, str]]:
    """cut(), then published to a local folder: its config files become secrets the CLI can fetch."""
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    release, manifest, files = cut(setup_)
    assert services.release_publish(release_id=release.pk).status == Release.Status.PUBLISHED
    return release, manifest, files


def placeholders(files: dict[str, str]) -> dict[str, set[str]]:
    """Secret name → the variables the units ask the machine to fill from it."""
    found: dict[str, set[str]] = {}
    for path, text in files.items():
        if path.endswith(".container"):
            for value in quadlet.parse(text).values("Container", "Secret"):
                name, *options = value.split(",")
                target = next(o.split("=", 1)[1] for o in options if o.startswith("target="))
                found.setdefault(name, set()).add(target)
    return found


def test_every_required_secret_of_a_full_release_is_served_to_its_owner(
    everything: dict[str, Any], settings, tmp_path
) -> None:
    alice = everything["user"]
    _, manifest, files = published(everything, settings, tmp_path)
    required = [entry for entry in manifest["secrets"] if entry["required"]]
    sources = {entry["source"] for entry in required}
    assert sources == {"credential", "internal", "selection", "file"}
    # The units reference exactly the secrets the manifest declares, under the same targets.
    assert placeholders(files) == {entry["name"]: set(entry["targets"]) for entry in manifest["secrets"]}

    credentials = everything["credentials"]
    stored_keys = {
        c.secret_name: value
        for c, value in zip(credentials, everything["secret_values"][: len(credentials)], strict=True)
    }
    client = token_client(alice)
    served: dict[str, str] = {}
    for entry in required:
        response = client.get(f"/api/v1/secrets/{entry['name']}/")
        assert response.status_code == 200, (entry["name"], response.content)
        body = response.json()
        assert (body["name"], body["kind"]) == (entry["name"], entry["source"])
        served[entry["name"]] = body["value"]

    # Keys are the ones stored on /providers; the two-variable key fills both image variables.
    for name, value in served.items():
        if name in stored_keys:
            assert value == stored_keys[name]
    openai_name = next(c.secret_name for c in everything["credentials"] if c.provider_id == "openai")
    assert {"IMAGES_OPENAI_API_KEY", "IMAGES_EDIT_OPENAI_API_KEY"} <= placeholders(files)[openai_name]
    # The selection's secret setting is its password, and Open WebUI reads it where OpenTelemetry expects it.
    otel = next(e for e in required if e["source"] == "selection")
    assert otel["targets"] == ["OTEL_BASIC_AUTH_PASSWORD"]
    assert served[otel["name"]] == everything["otel_password"]
    # Internal secrets: generated by the cut, the shapes the programs need.
    internal = {e["name"] for e in required if e["source"] == "internal"}
    assert {"searxng-secret", "qdrant-api-key", "jupyter-token", "litellm-master-key", "litellm-salt-key"} <= internal
    assert internal == set(InternalSecret.objects.filter(owner=alice).values_list("name", flat=True))
    assert served["litellm-master-key"].startswith("sk-")
    for name in ("openwebui-postgres-password", "litellm-postgres-password"):
        assert len(served[name]) >= 40 and served[name].replace("-", "").replace("_", "").isalnum()
    assert len({served[name] for name in internal}) == len(internal), "every internal secret has its own value"

    # Config files: each secret holds its file's text, which the CLI mounts where the program reads it.
    config_files = {e["file"]: e for e in required if e["source"] == "file"}
    assert set(config_files) == {
        "Caddyfile",
        "cockpit-cockpit.conf",
        "litellm-config.yaml",
        "llama-swap-config.yaml",
        "searxng-settings.yml",
    }
    for path, entry in config_files.items():
        assert served[entry["name"]] == files[path], path

    # Every read of a secret value was audited, naming the secret and its kind; config files are not secret
    # (the bucket serves the same bytes), so reading them is not.
    reads = AuditEntry.objects.filter(owner=alice, action=AuditEntry.Action.READ)
    assert sorted((r.secret_name, r.kind) for r in reads) == sorted(
        (e["name"], e["source"]) for e in required if e["source"] != "file"
    )


def test_the_secrets_list_names_every_kind_without_values(everything: dict[str, Any], settings, tmp_path) -> None:
    client = token_client(everything["user"])
    _, manifest, _ = cut(everything)
    # A cut release's config files are not secrets until it is published (nothing serves them before).
    listed = {row["name"]: row for row in client.get("/api/v1/secrets/?page_size=100").json()["results"]}
    assert {e["name"] for e in manifest["secrets"] if e["source"] != "file"} <= set(listed)
    assert not any(row["kind"] == "file" for row in listed.values())

    _, manifest, _ = published(everything, settings, tmp_path)
    response = client.get("/api/v1/secrets/?page_size=100")
    listed = {row["name"]: row for row in response.json()["results"]}
    for entry in manifest["secrets"]:
        assert listed[entry["name"]]["kind"] == entry["source"]
        assert "value" not in listed[entry["name"]]
    for entry in manifest["secrets"]:
        if entry["source"] == "file":
            assert listed[entry["name"]]["label"] == entry["file"]
    text = response.content.decode()
    for value in everything["secret_values"]:
        assert value not in text


def test_no_secret_value_appears_in_any_byte_of_a_cut_release(everything: dict[str, Any]) -> None:
    alice = everything["user"]
    release, manifest, files = cut(everything)
    blob = "\n".join(
        [
            *(f"{path}\0{text}" for path, text in files.items()),
            manifest_json(manifest),
            canonical_json(release.snapshot),
        ]
    ).encode()
    internal = {row.name: crypto.decrypt(row.value) for row in InternalSecret.objects.filter(owner=alice)}
    values = {**{f"key {i}": v for i, v in enumerate(everything["secret_values"])}, **internal}
    assert everything["otel_password"] in values.values()
    for name, value in values.items():
        for needle in {value, value[-12:]}:
            assert needle.encode() not in blob, f"the value of {name} leaked into the release"


def test_internal_secrets_stay_the_same_across_cuts_and_differ_between_owners(
    everything: dict[str, Any], bob: User
) -> None:
    alice = everything["user"]
    cut(everything, "first")
    first = {row.name: crypto.decrypt(row.value) for row in InternalSecret.objects.filter(owner=alice)}
    cut(everything, "second")
    second = {row.name: crypto.decrypt(row.value) for row in InternalSecret.objects.filter(owner=alice)}
    assert first == second

    add_key(bob, "anthropic")
    add_tailnet(bob)
    services.release_cut(release=minimal_draft(bob), actor=bob)
    bobs = {row.name: crypto.decrypt(row.value) for row in InternalSecret.objects.filter(owner=bob)}
    assert "litellm-master-key" in bobs and "searxng-secret" not in bobs  # only what his release names
    for name, value in bobs.items():
        assert value != first[name]


def test_another_users_token_cannot_read_them(everything: dict[str, Any], bob: User, settings, tmp_path) -> None:
    _, manifest, _ = published(everything, settings, tmp_path)
    assert any(entry["source"] == "file" for entry in manifest["secrets"])
    client = token_client(bob)
    assert client.get("/api/v1/secrets/").json()["count"] == 0
    for entry in manifest["secrets"]:
        response = client.get(f"/api/v1/secrets/{entry['name']}/")
        assert response.status_code == 404
        for value in everything["secret_values"]:
            assert value not in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.READ).exists()


def test_a_refused_cut_generates_no_internal_secret(alice: User, catalog: None) -> None:
    add_tailnet(alice)
    draft = services.release_create(owner=alice, name="no models")
    with pytest.raises(ValidationError):
        services.release_cut(release=draft, actor=alice)
    assert not InternalSecret.objects.filter(owner=alice).exists()


def test_the_secrets_list_costs_the_same_queries_however_many_secrets(
    everything: dict[str, Any], django_assert_max_num_queries, settings, tmp_path
) -> None:
    client = token_client(everything["user"])
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/secrets/")
    published(everything, settings, tmp_path)  # config files of a published release are listed too
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/v1/secrets/").json()["count"] > 10


def test_publishing_a_release_cut_before_internal_secrets_existed_generates_them(
    everything: dict[str, Any], settings, tmp_path
) -> None:
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path
    alice = everything["user"]
    release, manifest, _ = cut(everything)
    InternalSecret.objects.filter(owner=alice).delete()  # as an older Leger left it
    assert services.release_publish(release_id=release.pk).status == Release.Status.PUBLISHED
    internal = {e["name"] for e in manifest["secrets"] if e["source"] == "internal"}
    assert set(InternalSecret.objects.filter(owner=alice).values_list("name", flat=True)) == internal
