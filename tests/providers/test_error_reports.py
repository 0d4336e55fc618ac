"""When saving a key crashes, Django's error report (debug page, error mail) must not hold the key."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.views.debug import ExceptionReporter
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.providers import services

from .conftest import a_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def crash_while_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fails deep inside credential_create and credential_rotate, while the key is a local variable there.
    def broken(**kwargs: object) -> None:
        raise RuntimeError("the database went away")

    def broken_mask(value: str, prefix: str = "") -> str:
        raise RuntimeError("mask broke")

    monkeypatch.setattr(services, "_free_secret_name", broken)
    monkeypatch.setattr(services.crypto, "mask", broken_mask)


def error_reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The text and HTML error reports Django would mail to admins for each logged server error."""
    reports = []
    for record in caplog.records:
        if record.name == "django.request" and record.exc_info:
            reporter = ExceptionReporter(getattr(record, "request", None), *record.exc_info, is_email=True)
            reports += [reporter.get_traceback_text(), reporter.get_traceback_html()]
    assert reports, "the crash was not logged"
    return reports


def test_a_crash_while_adding_on_the_page_reports_no_key(
    caplog: pytest.LogCaptureFixture, alice: User, anthropic: Provider, crash_while_saving: None
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    value = a_key()
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post("/providers/add/", {"provider": "anthropic", "label": "work", "value": value})
    assert response.status_code == 500
    for report in error_reports(caplog):
        assert "RuntimeError" in report
        assert value not in report


def test_a_crash_while_replacing_on_the_page_reports_no_key(
    caplog: pytest.LogCaptureFixture, alice: User, alice_key, crash_while_saving: None
) -> None:
    credential, old_value = alice_key
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    value = a_key()
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post(f"/providers/keys/{credential.pk}/replace/", {"value": value})
    assert response.status_code == 500
    for report in error_reports(caplog):
        assert value not in report and old_value not in report


@pytest.mark.parametrize("format", ["json", "multipart"])
def test_a_crash_while_adding_through_the_api_reports_no_key(
    caplog: pytest.LogCaptureFixture, alice_token: str, anthropic: Provider, crash_while_saving: None, format: str
) -> None:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice_token}")
    value = a_key()
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post(
            "/api/v1/credentials/", {"provider": "anthropic", "label": "w", "value": value}, format=format
        )
    assert response.status_code == 500
    for report in error_reports(caplog):
        assert value not in report


def test_a_crash_while_adding_in_admin_reports_no_key(
    caplog: pytest.LogCaptureFixture, alice: User, anthropic: Provider, crash_while_saving: None
) -> None:
    operator = User.objects.create_superuser("operator", "ops@example.org", "operator-password-1")
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    value = a_key()
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post(
            "/admin/providers/credential/add/", {"owner": alice.pk, "provider": "anthropic", "label": "", "key": value}
        )
    assert response.status_code == 500
    for report in error_reports(caplog):
        assert value not in report
