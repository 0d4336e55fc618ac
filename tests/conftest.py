from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.services import celery_worker, moto_server, s3_bucket, worker_bucket  # noqa: F401  (fixtures)


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.org", "alice-password-1")


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", "bob@example.org", "bob-password-1")


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture(autouse=True)
def _plain_static_files(settings) -> None:
    # Production serves hashed files from collectstatic's manifest; tests serve sources.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_real_tailscale(settings) -> None:
    # No test reaches Tailscale's real API: unless a test starts the stand-in (tests/tailscale_standin.py), the
    # URL is a loopback port nothing listens on, so a call fails fast as "Tailscale's API did not answer".
    settings.LEGER_TAILSCALE_API_URL = "http://127.0.0.1:9"
