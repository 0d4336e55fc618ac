"""Security headers, and a Content-Security-Policy the dashboard really satisfies.

Every page of every section is rendered for a user who has data (whole pages and htmx fragments) and
scanned for what the policy would block: inline scripts, inline event handlers, style attributes, <style>
elements, hx-on and other code htmx would have to eval.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.security import test_access as access
from tests.security.test_access import all_routes, token_client, url_of

# The world of test_access.py: Alice and Bob with keys, selections and releases (pytest finds fixtures by name).
catalog = access.catalog
store = access.store
world = access.world

REPO = Path(__file__).resolve().parents[2]
HTMX_ATTRIBUTES_WITH_CODE = ("hx-on", "data-hx-on", "hx-vars", "data-hx-vars")


def policy(response: Any) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


class InlineCode(HTMLParser):
    """Collects everything in a page that a CSP without 'unsafe-inline' or 'unsafe-eval' would block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in names
        if tag == "style":
            self.problems.append("a <style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (inline event handler)")
            elif name == "style":
                self.problems.append(f'<{tag} style="{value}">')
            elif name.startswith(HTMX_ATTRIBUTES_WITH_CODE):
                self.problems.append(f"<{tag} {name}=…> (htmx would eval it)")
            elif name in ("hx-vals", "data-hx-vals") and (value or "").lstrip().startswith(("js:", "javascript:")):
                self.problems.append(f"<{tag} {name}> with code")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:…>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"an inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def dashboard_pages(ids: dict[str, Any]) -> list[str]:
    """Every dashboard URL pattern (not API, not admin), with the user's own ids filled in."""
    return [url_of(route, ids) for route in all_routes() if not route.is_api and route.name not in ("logout",)]


# --- the policy ---------------------------------------------------------------------------------------------


def test_every_page_of_every_section_satisfies_the_content_security_policy(world: dict[str, Any], alice: User) -> None:
    client = Client()
    client.force_login(alice)
    scanned: list[str] = []
    problems: list[str] = []
    ids = world["alice"]
    steps = ["models", "services", "openwebui", "routes"]
    wizard = [f"/releases/{pk}/{step}/" for pk in (ids["draft"], ids["release"]) for step in steps]
    for url in dashboard_pages(ids) + wizard + [f"/releases/{ids['draft']}/summary/"]:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, **headers)
            if response.status_code == 405:  # a POST-only route: nothing to render
                continue
            # The page `leger auth login` opens says 400 without its token, and explains that.
            expected = (400,) if url == "/auth" else (200, 302)
            assert response.status_code in expected, f"GET {url} {headers}: {response.status_code}"
            assert "Content-Security-Policy" in response.headers, f"GET {url} has no Content-Security-Policy"
            if response.status_code == 302 or not response["Content-Type"].startswith("text/html"):
                continue
            scanned.append(url)
            problems += [f"{url}{' (htmx)' if headers else ''}: {p}" for p in inline_code(response.content.decode())]
    assert not problems, "the Content-Security-Policy would block:\n" + "\n".join(problems)
    # The scan reached every section and the pages that take a user's ids.
    for expected in ["/models/", "/providers/", "/marketplace/", "/settings/", "/releases/", "/account/"]:
        assert expected in scanned, expected
    release = ids["release"]
    for expected in [
        f"/releases/{release}/",
        f"/releases/{release}/diff/",
        f"/releases/{release}/files/manifest.json",
        f"/releases/{ids['draft']}/models/",
        f"/releases/{ids['draft']}/services/",
        f"/providers/keys/{ids['credential']}/",
        "/marketplace/services/searxng/",
    ]:
        assert expected in scanned, expected


def test_the_policy_allows_only_our_own_files_and_never_inline_code_or_framing(client: Client) -> None:
    directives = policy(client.get("/login/"))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert not [value for values in directives.values() for value in values if "unsafe" in value]


@pytest.mark.django_db
def test_htmx_is_told_not_to_inject_its_style_nor_eval_code(alice_client: Client) -> None:
    html = alice_client.get("/models/").content.decode()
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert meta, "no htmx-config meta on the page"
    config = json.loads(meta.group(1))
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    # htmx reads its config when it starts: the meta must come before the script.
    assert html.index('name="htmx-config"') < html.index("htmx-2.min.js")
    # The indicator's look, which htmx no longer injects, is in our stylesheet.
    css = (REPO / "leger" / "static" / "leger" / "leger.css").read_text()
    assert ".htmx-indicator" in css and ".htmx-request" in css


def test_no_template_holds_inline_code() -> None:
    """The templates themselves, including any part no test renders."""
    templates = sorted((REPO / "leger").glob("**/templates/**/*.html"))
    assert len(templates) > 20
    problems = []
    for template in templates:
        text = template.read_text()
        # Template tags would confuse the HTML parser; what they print is checked on the rendered pages.
        text = re.sub(r"{% comment %}.*?{% endcomment %}", "", text, flags=re.S)
        text = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "x", text, flags=re.S)
        problems += [f"{template.relative_to(REPO)}: {p}" for p in inline_code(text)]
    assert not problems, "\n".join(problems)


def test_the_scanner_finds_what_the_policy_blocks() -> None:
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<button onclick="go()">')
    assert inline_code('<div style="color: red">')
    assert inline_code("<style>p {}</style>")
    assert inline_code('<form hx-on::config-request="x()">')
    assert inline_code('<a href="javascript:go()">')
    assert not inline_code('<script src="/static/x.js" defer></script><div class="x" hx-get="/a/">')


# --- the other headers --------------------------------------------------------------------------------------


def assert_security_headers(response: Any, what: str) -> None:
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Referrer-Policy"] == "same-origin", what
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", what
    assert response["X-Frame-Options"] == "DENY", what
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"], what


@pytest.mark.django_db
def test_pages_and_api_answers_carry_the_security_headers(alice: User, alice_client: Client, client: Client) -> None:
    answers = {
        "the sign-in page": client.get("/login/"),
        "a redirect to sign in": client.get("/models/"),
        "a page": alice_client.get("/models/"),
        "an htmx fragment": alice_client.get("/models/", HTTP_HX_REQUEST="true"),
        "the health check": client.get("/healthz"),
        "an API answer": token_client(alice).get("/api/v1/models/"),
        "an API refusal": APIClient().get("/api/v1/credentials/"),
        "a 404": alice_client.get("/releases/999999/"),
    }
    for what, response in answers.items():
        assert_security_headers(response, what)
