"""Fixture kinds of the releases app, loaded by ``manage.py load_catalog``.

- ``releases.infrastructure`` (``fixtures/infrastructure/*.json``): the containers a release runs;
- ``releases.openwebui_variables`` (``fixtures/openwebui/*.json``): the Open WebUI settings of the wizard's step 3.

JSON Schema checks each entry's shape; the ``check`` functions here catch what a schema cannot: references
between services, names Open WebUI does not read, defaults outside their own limits, two services claiming
the same default port, route or volume, and config files without a template to render them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from leger.catalog.loading import CheckContext, FixtureKind, Item, LoadContext
from leger.releases.models import InfrastructureService, OpenWebUIVariable
from leger.releases.rendering import CORE_SERVICES, RELEASE_OWNED_VARIABLES, TEMPLATES_DIR
from leger.releases.validation import is_openwebui_variable

INFRASTRUCTURE = "releases.infrastructure"
OPENWEBUI_VARIABLES = "releases.openwebui_variables"


# --- releases.infrastructure ------------------------------------------------------------------------------------


def _first_claims(
    items: list[Item], context: CheckContext, what: str, values: Callable[[Item], list[tuple[str, Any]]]
) -> None:
    """Report a value (port, route, volume, file) claimed by two services, naming both."""
    owners: dict[Any, Item] = {}
    for item in items:
        for field, value in values(item):
            first = owners.setdefault(value, item)
            if first is not item:
                context.problem(
                    item,
                    field,
                    f"{what} {value!r} is already used by service {first.label!r}; give one of them another {what}",
                )


def _check_companion(item: Item, by_id: dict[str, Item], context: CheckContext) -> None:
    """An add-on's container not named after it is a companion (its database, its cache): its main container,
    the one named after the add-on, requires it, and Open WebUI never talks to it."""
    data, addon = item.data, item.data["addon"]
    main = by_id.get(addon)
    if main is None or main.data.get("addon") != addon:
        context.problem(
            item,
            "id",
            f"an add-on's main container is named after its marketplace service: add one with id {addon!r}, or "
            f"rename this one to {addon!r}",
        )
    elif data["id"] not in main.data.get("requires", []):
        context.problem(item, "addon", f"a companion runs for its add-on's container: list it in {addon!r}'s requires")
    for field in ("openwebui_env", "openwebui_secrets", "exposable"):
        if data.get(field):
            context.problem(item, field, f"Open WebUI talks to the add-on's container {addon!r}; move it there")


def check_infrastructure(items: list[Item], context: CheckContext) -> None:
    if not items:
        return
    ids = {item.data["id"] for item in items}
    by_id = {item.data["id"]: item for item in items}
    missing = [name for name in CORE_SERVICES if name not in ids]
    if missing:
        context.problem(
            items[0],
            None,
            f"every release runs {', '.join(CORE_SERVICES)}; add an entry for {', '.join(missing)}",
        )
    for item in items:
        data = item.data
        role, addon = data["role"], data.get("addon", "")
        if role == "core" and addon:
            context.problem(
                item, "addon", "only add-on services name a marketplace service; remove it or set role 'addon'"
            )
        if role == "addon" and not addon:
            context.problem(item, "addon", "an add-on must name the marketplace service whose selection brings it in")
        if data.get("exposable"):
            for field in ("published_port", "bind_address", "subdomain", "path"):
                if not data.get(field):
                    context.problem(item, field, "an exposable service needs a default for it (Caddy routes use it)")
        elif data.get("exposed_by_default"):
            context.problem(item, "exposed_by_default", "only an exposable service can be exposed by default")
        if role == "addon" and addon and data["id"] != addon:
            _check_companion(item, by_id, context)
        for index, name in enumerate(data.get("requires", [])):
            field = f"requires[{index}]"
            if name == data["id"]:
                context.problem(item, field, "a service cannot require itself")
            elif name not in ids:
                context.problem(item, field, f"unknown service {name!r}; known: {', '.join(sorted(ids))}")
            elif role == "core" and by_id[name].data["role"] == "addon":
                context.problem(item, field, f"a core service cannot require the add-on {name!r}, which may be absent")
        for field in ("openwebui_env",):
            for name in data.get(field, {}):
                if not is_openwebui_variable(name):
                    context.problem(item, f"{field}.{name}", "Open WebUI v0.12.4 does not read this variable")
        for index, secret in enumerate(data.get("openwebui_secrets", [])):
            if not is_openwebui_variable(secret["env_var"]):
                context.problem(
                    item, f"openwebui_secrets[{index}].env_var", "Open WebUI v0.12.4 does not read this variable"
                )
        for index, config in enumerate(data.get("config_files", [])):
            template = Path(TEMPLATES_DIR) / data["id"] / (Path(config["path"]).name + ".j2")
            if not template.is_file():
                context.problem(
                    item,
                    f"config_files[{index}].path",
                    f"no template renders it: add quadlet_templates/{data['id']}/{template.name}",
                )
    _first_claims(
        items,
        context,
        "published port",
        lambda item: [("published_port", item.data["published_port"])] if item.data.get("exposable") else [],
    )
    _first_claims(
        items, context, "path", lambda item: [("path", item.data["path"])] if item.data.get("exposable") else []
    )
    _first_claims(
        items,
        context,
        "subdomain",
        lambda item: [("subdomain", item.data["subdomain"])] if item.data.get("exposable") else [],
    )
    _first_claims(
        items,
        context,
        "volume",
        lambda item: [(f"volumes[{i}].name", v["name"]) for i, v in enumerate(item.data.get("volumes", []))],
    )
    _first_claims(
        items,
        context,
        "config file",
        lambda item: [(f"config_files[{i}].path", c["path"]) for i, c in enumerate(item.data.get("config_files", []))],
    )


def infrastructure_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "role": data["role"],
        "addon": data.get("addon", ""),
        "description": data.get("description", ""),
        "image": data["image"],
        "accelerated": data.get("accelerated", {}),
        "port": data["port"],
        "exposable": data.get("exposable", False),
        "exposed_by_default": data.get("exposed_by_default", False),
        "published_port": data.get("published_port"),
        "bind_address": data.get("bind_address"),
        "websocket": data.get("websocket", False),
        "subdomain": data.get("subdomain", ""),
        "path": data.get("path", ""),
        "upstream_tls": data.get("upstream_tls", False),
        "volumes": data.get("volumes", []),
        "health": data.get("health"),
        "secrets": data.get("secrets", []),
        "environment": data.get("environment", {}),
        "exec_args": data.get("exec", []),
        "requires": data.get("requires", []),
        "config_files": data.get("config_files", []),
        "openwebui_env": data.get("openwebui_env", {}),
        "openwebui_secrets": data.get("openwebui_secrets", []),
        "preload": data.get("preload"),
        "base_path": data.get("base_path"),
        "order": data.get("order", 0),
    }


def load_infrastructure(items: list[Item], context: LoadContext) -> None:
    for item in items:
        context.upsert(InfrastructureService, item.data["id"], infrastructure_fields(item.data), item=item)
    context.remove_missing(InfrastructureService, [item.data["id"] for item in items])


# --- releases.openwebui_variables -------------------------------------------------------------------------------


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https", "socks5", "socks5h") and bool(parts.netloc)


def variable_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every rule an Open WebUI variable breaks; the fixtures and the admin share it."""
    problems: list[tuple[str, str]] = []
    name, kind, default = data["id"], data["type"], data["default"]
    if not is_openwebui_variable(name):
        problems.append(("id", "Open WebUI v0.12.4 does not read this variable; check the name"))
    if name in RELEASE_OWNED_VARIABLES:
        problems.append(
            (
                "id",
                "the release sets this variable itself (RELEASE_OWNED_VARIABLES in leger/releases/rendering.py); "
                "remove it",
            )
        )
    minimum, maximum = data.get("minimum"), data.get("maximum")
    if kind in ("int", "float"):
        if not isinstance(default, int | float) or isinstance(default, bool):
            problems.append(("default", f"{default!r} is not a number"))
        else:
            if minimum is not None and maximum is not None and minimum > maximum:
                problems.append(("minimum", f"is above the maximum {maximum}"))
            if minimum is not None and default < minimum:
                problems.append(("default", f"{default} is below the minimum {minimum}"))
            if maximum is not None and default > maximum:
                problems.append(("default", f"{default} is above the maximum {maximum}"))
    elif minimum is not None or maximum is not None:
        problems.append(("minimum", f"only int and float variables have limits, this one is {kind}"))
    if kind == "enum" and default not in data.get("options", []):
        problems.append(("default", f"{default!r} is not one of the options {data.get('options')}"))
    if kind != "enum" and data.get("options"):
        problems.append(("options", "only enum variables have options"))
    if kind == "url" and default and not _is_url(str(default)):
        problems.append(("default", f"{default!r} is not an http(s) URL"))
    pattern = data.get("pattern")
    if pattern:
        if kind not in ("string", "url"):
            problems.append(("pattern", "only string and url variables have a pattern"))
        else:
            try:
                matches = re.fullmatch(pattern, str(default))
            except re.error as exc:
                problems.append(("pattern", f"is not a regular expression: {exc}"))
            else:
                if not matches:
                    problems.append(("default", f"{default!r} does not match the variable's own pattern {pattern!r}"))
    return problems


def check_openwebui_variables(items: list[Item], context: CheckContext) -> None:
    for item in items:
        for field, message in variable_problems(item.data):
            context.problem(item, field, message)


def openwebui_variable_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": data["label"],
        "group": data["group"],
        "type": data["type"],
        "default": data["default"],
        "options": data.get("options", []),
        "minimum": data.get("minimum"),
        "maximum": data.get("maximum"),
        "pattern": data.get("pattern", ""),
        "help_text": data["help_text"],
        "order": data.get("order", 0),
    }


def load_openwebui_variables(items: list[Item], context: LoadContext) -> None:
    for item in items:
        context.upsert(OpenWebUIVariable, item.data["id"], openwebui_variable_fields(item.data), item=item)
    context.remove_missing(OpenWebUIVariable, [item.data["id"] for item in items])


KINDS = (
    FixtureKind(
        name=INFRASTRUCTURE,
        schema_file="infrastructure.schema.json",
        load=load_infrastructure,
        check=check_infrastructure,
    ),
    FixtureKind(
        name=OPENWEBUI_VARIABLES,
        schema_file="openwebui-variables.schema.json",
        load=load_openwebui_variables,
        check=check_openwebui_variables,
    ),
)
