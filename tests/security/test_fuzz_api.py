"""The whole REST API fuzzed from its own OpenAPI schema: no input makes it answer a server error.

Schemathesis reads ``/api/schema/`` through the WSGI app (no server), then for every operation sends
bounded, derandomized examples (valid and invalid bodies, query strings and path parameters) as a user
who owns a credential, a marketplace selection, tailnet settings and a draft release. Path ids point at
those objects in about half of the examples, so the handlers behind a 404 are reached too.
"""

from __future__ import annotations

import copy
import zlib
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from leger.catalog.loading import load_fixtures
from leger.releases.models import Release
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select

pytestmark = pytest.mark.slow

# Cutting runs the whole render-validate-publish task in-process (no broker in tests): heavy, and after the
# first example the draft is no longer a draft. It is fuzzed with bad ids below instead.
CUT = r"/releases/\{id\}/cut/$"


@pytest.fixture
def _local_store(settings, tmp_path) -> None:
    settings.LEGER_S3_BUCKET = ""
    settings.LEGER_RELEASES_DIR = tmp_path


def _in_test_transaction(app: Any) -> Any:
    """The real WSGI app, minus the signal that closes the database connection around each request (as
    Django's own test client does), so requests run inside the test's transaction."""

    def call(environ: dict[str, Any], start_response: Any) -> Any:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            return list(app(environ, start_response))
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    return call


@pytest.fixture(scope="module")
def catalog(django_db_setup: None, django_db_blocker: Any) -> Any:
    """The whole catalog, loaded once for the ~35 operations (each test's own rows roll back as usual), and
    removed again so the modules after this one start from an empty database."""
    with django_db_blocker.unblock():
        load_fixtures()
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def owner(alice: User, catalog: None, _local_store: None) -> dict[str, Any]:
    credential, _ = add_key(alice, "anthropic")
    add_tailnet(alice)
    selection = select(alice, "searxng", values={"SEARXNG_LANGUAGE": "en"})
    draft = minimal_draft(alice, "home")
    return {
        "token": Token.objects.create(user=alice).key,
        "ids": {
            "/credentials/": credential.pk,
            "/secrets/": credential.secret_name,
            "/marketplace/selections/": selection.pk,
            "/marketplace/services/": "searxng",
            "/releases/": draft.pk,
            "/models/": "claude-3.5-haiku",
            "/providers/": "anthropic",
        },
    }


SCHEMA_PATH = "/api/schema/?format=json"


def _load_schema() -> Any:
    """Read at collection (reading the schema touches no database); each operation becomes its own test."""
    app = _in_test_transaction(get_wsgi_application())
    raw = copy.deepcopy(schemathesis.openapi.from_wsgi(SCHEMA_PATH, app).raw_schema)
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = app
    loaded.location = SCHEMA_PATH
    return loaded


schema = _load_schema().exclude(method="POST", path_regex=CUT)


def _aim_at_owned_objects(case: Any, ids: dict[str, Any]) -> None:
    """Point about half of the examples' path parameter at the owner's real object (decided by the example
    itself, so a run is reproducible)."""
    if not case.path_parameters:
        return
    if zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode("utf-8", "surrogatepass")) % 2:
        return
    for prefix, value in ids.items():
        if prefix in case.path:
            name = next(iter(case.path_parameters))
            case.path_parameters[name] = value
            return


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_api_answer_a_server_error(case: Any, owner: dict[str, Any]) -> None:
    _aim_at_owned_objects(case, owner["ids"])
    case.call_and_validate(
        headers={"Authorization": f"Token {owner['token']}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


@pytest.mark.parametrize("bad_id", ["0", "-1", "99999999", "abc", "1.5", "%00", "9" * 40, "\uff11"])
def test_cutting_a_release_that_is_not_there_answers_404_and_queues_nothing(owner: dict[str, Any], bad_id: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {owner['token']}")
    answer = client.post(f"/api/v1/releases/{bad_id}/cut/")
    assert answer.status_code == 404, answer.content
    assert Release.objects.get(pk=owner["ids"]["/releases/"]).status == Release.Status.DRAFT


def test_a_draft_s_manifest_url_is_null_as_the_schema_says(client: Any) -> None:
    served = client.get(SCHEMA_PATH).json()
    manifest = served["components"]["schemas"]["Release"]["properties"]["manifest_url"]
    assert manifest.get("nullable") is True
