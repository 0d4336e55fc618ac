"""One whole session with keys, watched at DEBUG: no plaintext key in any page, answer or log line."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leger.catalog.models import Provider
from leger.providers.models import Credential

from .conftest import a_key

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_no_page_answer_admin_page_or_log_record_holds_a_plaintext(
    caplog: pytest.LogCaptureFixture,
    alice: User,
    alice_client: Client,
    alice_api: APIClient,
    anthropic: Provider,
    tavily: Provider,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    # CaptureQueriesContext makes Django log every SQL statement too.
    with CaptureQueriesContext(connection):
        operator = User.objects.create_superuser("operator", "ops@example.org", "operator-password-1")
        admin_client = Client()
        admin_client.force_login(operator)

        values: list[str] = []
        answers: list[str] = []

        def key(prefix: str = "sk-ant-api03-") -> str:
            values.append(a_key(prefix))
            return values[-1]

        def keep(response) -> None:
            answers.append(response.content.decode())

        # The page: add, refused add, rename, replace, refused replace.
        keep(alice_client.post("/providers/add/", {"provider": "anthropic", "label": "work", "value": key()}, **HTMX))
        refused = key("sk-wrong-")
        keep(alice_client.post("/providers/add/", {"provider": "anthropic", "label": "x", "value": refused}, **HTMX))
        spaced = key() + " trailing"
        keep(alice_client.post("/providers/add/", {"provider": "anthropic", "label": "y", "value": spaced}, **HTMX))
        credential = Credential.objects.get(owner=alice, label="work")
        keep(alice_client.post(f"/providers/keys/{credential.pk}/rename/", {"label": "office"}, **HTMX))
        keep(alice_client.post(f"/providers/keys/{credential.pk}/replace/", {"value": key()}, **HTMX))
        keep(alice_client.post(f"/providers/keys/{credential.pk}/replace/", {"value": key("tvly-")}, **HTMX))
        keep(alice_client.get("/providers/"))
        keep(alice_client.get("/providers/activity/"))

        # The API: create, refused create, list, retrieve, rename, rotate, refused rotate.
        created = alice_api.post("/api/v1/credentials/", {"provider": "tavily", "label": "", "value": key("tvly-")})
        keep(created)
        keep(alice_api.post("/api/v1/credentials/", {"provider": "tavily", "value": key("sk-")}, format="json"))
        keep(alice_api.get("/api/v1/credentials/"))
        pk = created.json()["id"]
        keep(alice_api.get(f"/api/v1/credentials/{pk}/"))
        keep(alice_api.patch(f"/api/v1/credentials/{pk}/", {"label": "search", "value": key("tvly-")}, format="json"))
        keep(alice_api.post(f"/api/v1/credentials/{pk}/rotate/", {"value": key("tvly-")}, format="json"))
        keep(alice_api.post(f"/api/v1/credentials/{pk}/rotate/", {"value": key("tvly-") + "\n"}, format="json"))
        keep(alice_api.get("/api/v1/secrets/"))
        # The one answer that must hold a value; its reads still must not reach a log.
        revealed = alice_api.get("/api/v1/secrets/tavily_api_key/")
        assert revealed.json()["value"] in values

        # Admin: lists, change pages, add, refused add, history, audit log.
        keep(admin_client.get("/admin/providers/credential/"))
        keep(admin_client.get(f"/admin/providers/credential/{credential.pk}/change/"))
        keep(
            admin_client.post(f"/admin/providers/credential/{credential.pk}/change/", {"label": "renamed"}, follow=True)
        )
        keep(
            admin_client.post(
                "/admin/providers/credential/add/",
                {"owner": alice.pk, "provider": "anthropic", "label": "ops", "key": key()},
                follow=True,
            )
        )
        keep(
            admin_client.post(
                "/admin/providers/credential/add/",
                {"owner": alice.pk, "provider": "anthropic", "label": "bad", "key": key("sk-proj-")},
            )
        )
        keep(admin_client.get(f"/admin/providers/credential/{credential.pk}/history/"))
        keep(admin_client.get("/admin/providers/auditentry/"))
        keep(admin_client.get("/admin/"))

        # Rotation of the encryption key, and deletion from each side.
        out = StringIO()
        call_command("rotate_credentials", stdout=out)
        answers.append(out.getvalue())
        keep(alice_client.post(f"/providers/keys/{credential.pk}/delete/", **HTMX))
        keep(alice_api.delete(f"/api/v1/credentials/{pk}/"))

    assert len(values) == 12
    assert any("sk-ant-" in answer for answer in answers)  # the masked forms did show
    for value in values:
        for answer in answers:
            assert value not in answer
        for record in caplog.records:
            assert value not in record.getMessage()
            assert value not in (record.exc_text or "")
        assert value not in caplog.text
    assert any(record.name == "leger.providers.services" for record in caplog.records)
    assert any(record.name == "django.db.backends" for record in caplog.records)
