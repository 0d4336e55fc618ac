"""Internal secrets made from another one, for programs that only take a value another program issues.

ContextForge (the MCP gateway) accepts requests carrying a JWT signed with its own JWT_SECRET_KEY, and Open
WebUI reaches an MCP server through one JSON setting, TOOL_SERVER_CONNECTIONS, whose entry holds that token.
Both are secrets, so Leger makes the connection once per owner, from the gateway's key (itself an internal
secret), exactly as the gateway's own ``mcpgateway.utils.create_jwt_token`` signs one; it is never written into
a release file and, like every internal secret, never changes afterwards.

Pure: no Django, no database. ``derived_value(spec, source)`` is the whole interface.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Literal, NotRequired, TypedDict

import jwt

CONTEXTFORGE_TOOL_SERVER = "contextforge-tool-server"
KINDS = (CONTEXTFORGE_TOOL_SERVER,)

# ContextForge's defaults (mcpgateway/config.py: jwt_audience, jwt_issuer, jwt_algorithm); the release leaves
# them unset, so its tokens must carry these.
CONTEXTFORGE_AUDIENCE = "mcpgateway-api"
CONTEXTFORGE_ISSUER = "mcpgateway"
# The gateway requires an expiry (REQUIRE_TOKEN_EXPIRATION); the connection lives as long as the install.
TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600


class DerivedSecretSpec(TypedDict):
    kind: Literal["contextforge-tool-server"]
    source: str  # the internal secret it is made from (the gateway's JWT_SECRET_KEY)
    subject: str  # the gateway user the token acts as (its platform admin, PLATFORM_ADMIN_EMAIL)
    url: str  # the gateway's streamable-HTTP endpoint inside the stack's network
    id: str  # Open WebUI's id for the connection (its tools are server:mcp:<id>)
    name: str
    description: NotRequired[str]


def _contextforge_tool_server(spec: DerivedSecretSpec, source: str, now: float) -> str:
    issued = int(now)
    token = jwt.encode(
        {
            "sub": spec["subject"],
            "jti": str(uuid.uuid4()),  # REQUIRE_JTI: the gateway can revoke it
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECONDS,
            "aud": CONTEXTFORGE_AUDIENCE,
            "iss": CONTEXTFORGE_ISSUER,
        },
        source,
        algorithm="HS256",
    )
    connection = {
        "type": "mcp",
        "url": spec["url"],
        "path": "",  # Open WebUI's form requires it; MCP connections use the url as it is
        "auth_type": "bearer",
        "key": token,
        # No access grants: Open WebUI lets its admins use the gateway's tools (its default for a connection).
        "config": {"enable": True},
        "info": {"id": spec["id"], "name": spec["name"], "description": spec.get("description", "")},
    }
    return json.dumps([connection], separators=(",", ":"))


_DERIVATIONS: dict[str, Callable[[DerivedSecretSpec, str, float], str]] = {
    CONTEXTFORGE_TOOL_SERVER: _contextforge_tool_server,
}


def derived_value(spec: DerivedSecretSpec, source: str, *, now: float | None = None) -> str:
    """The value of a derived secret, made from ``source`` (the value of ``spec["source"]``)."""
    return _DERIVATIONS[spec["kind"]](spec, source, time.time() if now is None else now)
