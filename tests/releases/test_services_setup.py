"""Shared setup of the release backend tests (fixtures and helpers; no tests of its own).

The catalog, marketplace and infrastructure come from the project's real fixtures (``load_fixtures``), so
the releases these tests cut are the ones users get. Keys are stored with known, random values so a test
can look for them in every byte a release produces.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from leger.catalog.models import Provider
from leger.marketplace.models import Service
from leger.marketplace.services import selection_create
from leger.providers.models import Credential
from leger.providers.services import credential_create
from leger.releases import services
from leger.releases.models import Release
from leger.tailnet.services import tailnet_settings_put
from tests.catalog_copy import load_catalog_copy


def a_key(prefix: str) -> str:
    """A key shaped like a real one and different on every call: finding it anywhere means a leak."""
    return prefix + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")


@pytest.fixture
def catalog(db: None) -> None:
    """Every fixture kind of the project, as `manage.py load_catalog` loads it (copied: tests/catalog_copy.py)."""
    load_catalog_copy()


# What a person enters for the key fields a provider needs besides the key (an endpoint, an access key ID, ...).
KEY_FIELD_SAMPLES = {
    "api_base": "https://leger-test.openai.azure.com",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "project": "leger-test-123",
}
SERVICE_ACCOUNT = json.dumps(
    {"type": "service_account", "client_email": "leger@leger-test-123.iam.gserviceaccount.com", "private_key": "k"}
)


def add_key(user: User, provider_id: str, *, label: str = "main", prefix: str = "") -> tuple[Credential, str]:
    provider = Provider.objects.get(pk=provider_id)
    value = a_key(prefix or provider.key_prefix or "key-")
    if provider.key_format == "service-account-json":
        value = SERVICE_ACCOUNT
    fields = {spec["name"]: KEY_FIELD_SAMPLES[spec["name"]] for spec in provider.key_fields if "default" not in spec}
    return credential_create(owner=user, provider=provider, label=label, value=value, fields=fields), value


def add_tailnet(user: User, *, exposure: str = "port", custom_domain: str = "") -> None:
    tailnet_settings_put(
        owner=user, tailnet="tail1234.ts.net", hostname="box", exposure=exposure, custom_domain=custom_domain
    )


def select(user: User, service_id: str, *, values: dict[str, Any] | None = None, credential: Any = None) -> Any:
    return selection_create(
        owner=user, service=Service.objects.get(pk=service_id), values=values or {}, credential=credential
    )


@pytest.fixture
def ready_user(alice: User, catalog: None) -> dict[str, Any]:
    """Alice with an Anthropic key and tailnet settings: enough to cut a minimal release."""
    credential, value = add_key(alice, "anthropic")
    add_tailnet(alice)
    return {"user": alice, "credential": credential, "secret_values": [value]}


def minimal_draft(user: User, name: str = "home") -> Release:
    release = services.release_create(owner=user, name=name)
    return services.release_update(release=release, models=[{"model": "claude-haiku-4.5"}])


def wait_until_done(release: Release, *, timeout: float = 60) -> Release:
    """Poll the row (as the page and `cut_release --wait` do) until it is published or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        release.refresh_from_db()
        if release.status in (Release.Status.PUBLISHED, Release.Status.FAILED):
            return release
        time.sleep(0.2)
    raise AssertionError(f"release {release.pk} is still {release.status} after {timeout:.0f}s")


def eventually(check: Callable[[], bool], *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached")


@pytest.fixture
def full_user(alice: User, catalog: None) -> dict[str, Any]:
    """Alice with keys for two LLM providers and two add-on services, self-hosted add-ons in several slots."""
    anthropic, anthropic_value = add_key(alice, "anthropic")
    openai, openai_value = add_key(alice, "openai", prefix="sk-proj-")
    tavily, tavily_value = add_key(alice, "tavily")
    drive, drive_value = add_key(alice, "google-drive", prefix="AIza")
    add_tailnet(alice)
    selections = [
        select(alice, "searxng", values={"SEARXNG_LANGUAGE": "en"}),
        select(alice, "qdrant"),
        select(alice, "tika"),
        select(alice, "whisper"),
        select(alice, "edgetts", values={"AUDIO_TTS_VOICE": "en-GB-SoniaNeural"}),
        select(alice, "jupyter"),
        select(alice, "tavily-loader", credential=tavily),
        select(alice, "openai-embeddings", values={"RAG_EMBEDDING_MODEL": "text-embedding-3-small"}, credential=openai),
        select(
            alice,
            "google-drive",
            values={"GOOGLE_DRIVE_CLIENT_ID": "1234.apps.googleusercontent.com"},
            credential=drive,
        ),
    ]
    return {
        "user": alice,
        "selections": selections,
        "secret_values": [anthropic_value, openai_value, tavily_value, drive_value],
        "credentials": [anthropic, openai, tavily, drive],
    }


def full_draft(setup: dict[str, Any], name: str = "everything") -> Release:
    release = services.release_create(owner=setup["user"], name=name)
    return services.release_update(
        release=release,
        models=[
            {"model": "claude-haiku-4.5"},
            {"model": "gpt-4o-mini", "provider": "openai"},
            {"model": "gpt-oss-20b"},
            {"model": "qwen3-4b"},
        ],
        services=[selection.pk for selection in setup["selections"]],
        openwebui={"WEBUI_NAME": "Everything", "TASK_MODEL": "qwen3-4b", "RAG_TOP_K": "8", "ENABLE_CHANNELS": "on"},
        routes={"searxng": {"exposed": True}, "jupyter": {"exposed": True, "port": 8890}},
    )


def forget_celery_connections() -> None:
    """Make the app pick up the real-worker fixture's broker, queue and result backend."""
    from leger.celery import app
    from tests.services import reset_celery_app

    reset_celery_app(app)
