"""Small helpers creating marketplace rows for tests, shaped like the real fixtures."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from leger.catalog.models import Provider
from leger.marketplace.models import Service, Slot, Variable
from leger.providers import services as provider_services
from leger.providers.models import Credential


def make_slot(
    id: str = "vector-database",
    name: str = "vector database",
    variables: tuple[str, ...] = ("VECTOR_DB",),
    *,
    reindex: bool | None = None,
    shared: tuple[dict[str, Any], ...] = (),
    **fields: Any,
) -> Slot:
    if reindex is None:
        reindex = id in ("vector-database", "embedding")
    slot, _ = Slot.objects.get_or_create(
        id=id,
        defaults={
            "name": name,
            "variables": list(variables),
            "reindex_on_switch": reindex,
            "switch_cost": "Open WebUI's knowledge must be re-indexed." if reindex else "",
            **fields,
        },
    )
    for position, data in enumerate(shared):
        Variable.objects.get_or_create(slot=slot, name=data["name"], defaults={"position": position, **_variable(data)})
    return slot


def make_key_provider(
    id: str = "tavily", name: str = "Tavily", env_var: str = "TAVILY_API_KEY", **fields: Any
) -> Provider:
    return Provider.objects.get_or_create(
        id=id, defaults={"name": name, "kind": "service", "env_var": env_var, **fields}
    )[0]


def _variable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": data.get("label", ""),
        "type": data.get("type", "string"),
        "default": data.get("default"),
        "options": data.get("options", []),
        "minimum": data.get("min"),
        "maximum": data.get("max"),
        "pattern": data.get("pattern", ""),
        "required": data.get("required", False),
        "help_text": data.get("help", "A setting."),
    }


def make_service(
    id: str,
    *,
    slot: Slot | None = None,
    slot_value: str | None = None,
    runtime: str = "external",
    key_provider: Provider | None = None,
    key_variables: tuple[str, ...] = (),
    variables: tuple[dict[str, Any], ...] = (),
    **fields: Any,
) -> Service:
    defaults: dict[str, Any] = {
        "name": fields.pop("name", id.replace("-", " ").title()),
        "category": fields.pop("category", slot.pk if slot else "integrations"),
        "slot": slot,
        "slot_value": id if slot_value is None else slot_value,
        "runtime": runtime,
        "description": f"{id} for tests.",
        "key_provider": key_provider,
        "key_variables": list(key_variables or ((key_provider.env_var,) if key_provider else ())),
        **fields,
    }
    if runtime == "container":
        defaults.setdefault("image", f"docker.io/example/{id}:1.0")
        defaults.setdefault("port", 8080)
    service, _ = Service.objects.get_or_create(id=id, defaults=defaults)
    for position, data in enumerate(variables):
        Variable.objects.get_or_create(
            service=service, name=data["name"], defaults={"position": position, **_variable(data)}
        )
    return service


def a_key(prefix: str = "tvly-") -> str:
    """A key shaped like a real one, different on every call, so finding it anywhere means a leak."""
    return prefix + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")


def make_credential(owner: AbstractBaseUser, provider: Provider, label: str = "main", value: str = "") -> Credential:
    return provider_services.credential_create(owner=owner, provider=provider, label=label, value=value or a_key())


# Shapes of the real fixtures' services, small enough to read in a test.
QDRANT_VARIABLES = (
    {"name": "QDRANT_TIMEOUT", "label": "Timeout", "type": "int", "default": 5, "min": 1, "max": 600},
    {"name": "QDRANT_ON_DISK", "label": "Vectors on disk", "type": "bool", "default": False},
    {"name": "QDRANT_COLLECTION_PREFIX", "label": "Collection prefix", "type": "string", "default": "open-webui"},
)
