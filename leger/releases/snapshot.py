"""The snapshot: every input of rendering a release, frozen at cut time as JSON-able data.

Rendering reads nothing else (no database, no clock, no network), so the same snapshot always renders the
same bytes, and a published release can be re-rendered or diffed years later. The cut (a later service)
builds one from the draft, the catalog, the marketplace selections and the tailnet settings, then stores it.

Shape (``Snapshot`` below; ``SNAPSHOT_SCHEMA`` is the same as JSON Schema)::

    format          always SNAPSHOT_FORMAT; bump it when the shape changes
    release         name, version (the owner's N), owner_uuid, cut_at (ISO 8601 string; the renderer never
                    reads a clock)
    tailnet         domain (tail1234.ts.net), machine (a DNS label), exposure port|path|subdomain,
                    custom_domain ("" unless exposure is subdomain)
    network         name and subnet of the stack's Podman network
    machine         its accelerator (a key of leger.lib.hardware.ACCELERATORS) and memory figures (GB or null):
                    rendering picks each GPU-capable service's image and devices from it
    infrastructure  the always-present services, copied from InfrastructureService rows (ServiceSpec)
    models          chosen models: cloud ones with provider, LiteLLM model string and the credential's secret
                    name + env var; local ones with what llama-swap needs to start them
    addons          chosen marketplace selections: slot and the slot's variable values, the add-on's Open
                    WebUI variable values, its key as secret name + env var (the first variable the key fills),
                    every other secret Open WebUI reads for it (``secrets``: the key's further variables, source
                    credential, and the selection's secret settings, source selection), and for self-hosted
                    add-ons the container (a ServiceSpec with role addon)
    openwebui       the wizard's step-3 values: {VARIABLE: value}
    routes          per exposable container: exposed or not, published port, bind address, path, subdomain,
                    websocket

Secret VALUES never appear in a snapshot: only the names the target machine's secrets are stored under and
the variables they fill. ``validate_snapshot`` checks the shape and the cross references and raises
``SnapshotError`` listing every problem.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from jsonschema import Draft202012Validator

from leger.lib import derived_secrets
from leger.lib.derived_secrets import DerivedSecretSpec
from leger.lib.hardware import ACCELERATORS, BACKENDS, CPU

# 2: add-ons carry ``secrets``. 3: the machine's hardware (``machine``), each service's GPU images
# (``accelerated``) and each local model's ``mode``. Older snapshots are upgraded on reading (``upgrade_snapshot``).
SNAPSHOT_FORMAT = 4

# The services every release runs; rendering has a template for each.
CORE_SERVICES = (
    "openwebui",
    "openwebui-postgres",
    "openwebui-redis",
    "litellm",
    "litellm-postgres",
    "litellm-redis",
    "llama-swap",
    "caddy",
    "cockpit",
)

Exposure = Literal["port", "path", "subdomain"]
Scalar = str | int | float | bool


class ReleaseInfo(TypedDict):
    name: str
    version: int
    owner_uuid: str
    cut_at: str


class Tailnet(TypedDict):
    domain: str
    machine: str
    exposure: Exposure
    custom_domain: str


class NetworkSpec(TypedDict):
    name: str
    subnet: str


class Machine(TypedDict):
    accelerator: str
    memory_gb: int | None
    gpu_memory_gb: int | None


class VolumeSpec(TypedDict):
    name: str
    mount: str


class HealthSpec(TypedDict):
    cmd: str
    interval: NotRequired[str]
    timeout: NotRequired[str]
    retries: NotRequired[int]
    start_period: NotRequired[str]
    ready_when_healthy: NotRequired[bool]


class SecretSpec(TypedDict):
    name: str
    env_var: str
    description: str
    derive: NotRequired[DerivedSecretSpec]  # made from another internal secret (leger/lib/derived_secrets.py)


class PreloadSpec(TypedDict):
    """A model the service fetches on its first start: the Open WebUI variable naming it, and either the
    service's own download endpoint (inside its container), to which the model id is appended and POSTed, or
    its own command (``ollama pull``), run inside its container with the model id after it."""

    variable: str
    url: NotRequired[str]
    auth_env: NotRequired[str]  # with url: the container's variable whose key the endpoint wants as a bearer token
    command: NotRequired[list[str]]


class BasePathSpec(TypedDict):
    """How a service lives below a path (path exposure); see fixtures/schema/infrastructure.schema.json."""

    mode: Literal["strip", "keep", "none"]
    env: NotRequired[str]
    format: NotRequired[str]
    internal: NotRequired[bool]
    why: NotRequired[str]


class ConfigFileSpec(TypedDict):
    path: str
    mount: str


class ServiceSpec(TypedDict):
    """One container, as the infrastructure fixtures describe it (see fixtures/schema/infrastructure.schema.json)."""

    id: str
    name: str
    role: Literal["core", "addon"]
    addon: str
    description: str
    image: str
    accelerated: dict[str, str]  # GPU builds by backend (cuda, rocm, vulkan, intel)
    port: int
    exposable: bool
    published_port: int | None
    bind_address: str | None
    websocket: bool
    subdomain: str
    path: str
    upstream_tls: bool
    volumes: list[VolumeSpec]
    health: HealthSpec | None
    secrets: list[SecretSpec]
    environment: dict[str, str]
    exec: list[str]
    requires: list[str]
    config_files: list[ConfigFileSpec]
    openwebui_env: dict[str, str]
    openwebui_secrets: list[SecretSpec]
    preload: PreloadSpec | None
    base_path: BasePathSpec | None


class Credential(TypedDict):
    secret: str  # the name the target machine stores the key under (a Podman secret)
    env_var: str  # the variable it fills


class ParamSecret(TypedDict):
    secret: str  # a secret field of the key (Bedrock's access key ID), delivered as its own Podman secret
    env_var: str  # the variable it fills in LiteLLM's container
    param: str  # the LiteLLM parameter that reads it (os.environ/ENV_VAR)


class CloudModel(TypedDict):
    id: str
    name: str
    kind: Literal["cloud"]
    provider: str
    litellm_model: str
    credential: Credential
    key_param: str  # the LiteLLM parameter the key fills: api_key, aws_secret_access_key, vertex_credentials
    params: dict[str, str]  # the key's plain fields by LiteLLM parameter (api_base, api_version, aws_region_name)
    param_secrets: list[ParamSecret]


class LocalModel(TypedDict):
    id: str
    name: str
    kind: Literal["local"]
    hf_repo: str
    hf_file: str
    ctx_size: int
    ttl: int
    aliases: list[str]
    flash_attn: bool
    mode: Literal["chat", "embedding", "rerank"]  # what llama-server is started to serve


class AddonSecret(TypedDict):
    secret: str  # the name the target machine stores the value under (a Podman secret)
    env_var: str  # the Open WebUI variable it fills
    source: Literal["credential", "selection"]  # a key from /providers, or a secret setting of the selection


class Addon(TypedDict):
    id: str
    name: str
    slot: str
    slot_variables: dict[str, str]  # e.g. {"WEB_SEARCH_ENGINE": "searxng"}
    variables: dict[str, Scalar]  # the selection's Open WebUI variable values
    credential: Credential | None  # its key and the (first) Open WebUI variable the key fills
    secrets: list[AddonSecret]  # every other variable Open WebUI reads from a secret for this add-on
    container: ServiceSpec | None  # self-hosted add-ons only: the container Open WebUI talks to
    companions: list[ServiceSpec]  # the containers it requires to run (SearXNG's Valkey, a gateway's database)


class Route(TypedDict):
    service: str
    exposed: bool
    port: int
    bind_address: str
    path: str
    subdomain: str
    websocket: bool


class Snapshot(TypedDict):
    format: int
    release: ReleaseInfo
    tailnet: Tailnet
    network: NetworkSpec
    machine: Machine
    infrastructure: list[ServiceSpec]
    models: list[CloudModel | LocalModel]
    addons: list[Addon]
    openwebui: dict[str, Scalar]
    routes: list[Route]


# --- JSON Schema --------------------------------------------------------------------------------------------------

_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 63}
_ENV = {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"}
_CATALOG_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$", "maxLength": 100}
_SECRET_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$", "maxLength": 253}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
# A parameter of a model in LiteLLM's model_list (api_key, api_base, aws_region_name, ...).
_PARAM = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 60}
_LABEL = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
_DOMAIN = "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$"
_IPV4 = "^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$"
# Where published ports listen when the machine's Tailscale address is not known: this machine only.
LOOPBACK = "127.0.0.1"
# A value an environment variable can hold on one line of a unit or env file.
_ONE_LINE = "^[^\\n\\r\\x00]*$"
_RFC3339 = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
_DURATION = {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"}
_PATH = {"type": "string", "pattern": "^/[A-Za-z0-9._/-]*$"}


def _obj(required: Sequence[str], properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties}


def _when_kind(kind: str, required: Sequence[str], properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"if": {"properties": {"kind": {"const": kind}}}, "then": _obj(required, properties)}


def _or_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    # Object, string and number keywords ignore null, so this reports errors of the real shape (oneOf would not).
    return {**schema, "type": [schema["type"], "null"]}


_SECRET = _obj(
    ["name", "env_var", "description"],
    {
        "name": _SECRET_NAME,
        "env_var": _ENV,
        "description": {"type": "string"},
        "derive": _obj(
            ["kind", "source", "subject", "url", "id", "name"],
            {
                "kind": {"enum": list(derived_secrets.KINDS)},
                "source": _SECRET_NAME,
                "subject": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                "url": {"type": "string", "pattern": "^http://[a-z0-9-]+:[0-9]{1,5}/[A-Za-z0-9._/-]*$"},
                "id": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
                "name": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
            },
        ),
    },
)
_CREDENTIAL = _obj(["secret", "env_var"], {"secret": _SECRET_NAME, "env_var": _ENV})
_IMAGE = {
    "type": "string",
    "pattern": "^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$",
    # A moving tag would make the same release run different software on different days.
    "not": {"pattern": ":latest$"},
}
_SERVICE = _obj(
    list(ServiceSpec.__annotations__),
    {
        "id": _NAME,
        "name": {"type": "string", "minLength": 1},
        "role": {"enum": ["core", "addon"]},
        "addon": {"type": "string"},
        "description": {"type": "string"},
        "image": _IMAGE,
        "accelerated": {
            "type": "object",
            "propertyNames": {"enum": sorted(BACKENDS)},
            "additionalProperties": _IMAGE,
        },
        "port": _PORT,
        "exposable": {"type": "boolean"},
        "published_port": _or_null(_PORT),
        "bind_address": _or_null({"type": "string", "pattern": _IPV4}),
        "websocket": {"type": "boolean"},
        "subdomain": {"type": "string", "pattern": f"({_LABEL})|^$"},
        "path": {"type": "string", "pattern": "^(/|(/[a-z0-9][a-z0-9._-]*)+)?$"},
        "upstream_tls": {"type": "boolean"},
        "volumes": {"type": "array", "items": _obj(["name", "mount"], {"name": _NAME, "mount": _PATH})},
        "health": _or_null(
            _obj(
                ["cmd"],
                {
                    "cmd": {"type": "string", "pattern": '^[^\\n\\r%]*[^\\n\\r%"]$'},
                    "interval": _DURATION,
                    "timeout": _DURATION,
                    "retries": {"type": "integer", "minimum": 1},
                    "start_period": _DURATION,
                    "ready_when_healthy": {"type": "boolean"},
                },
            )
        ),
        "secrets": {"type": "array", "items": _SECRET},
        "environment": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": {"type": "string", "pattern": _ONE_LINE},
        },
        "exec": {"type": "array", "items": {"type": "string", "minLength": 1, "pattern": _ONE_LINE}},
        "requires": {"type": "array", "items": _NAME, "uniqueItems": True},
        "config_files": {
            "type": "array",
            "items": _obj(
                ["path", "mount"],
                {"path": {"type": "string", "pattern": "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"}, "mount": _PATH},
            ),
        },
        "openwebui_env": {
            "type": "object",
            "propertyNames": _ENV,
            "additionalProperties": {"type": "string", "pattern": _ONE_LINE},
        },
        "openwebui_secrets": {"type": "array", "items": _SECRET},
        "base_path": _or_null(
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["mode"],
                "properties": {
                    "mode": {"enum": ["strip", "keep", "none"]},
                    "env": _ENV,
                    "format": {"type": "string", "pattern": "\\{path\\}", "maxLength": 200},
                    "internal": {"type": "boolean"},
                    "why": {"type": "string"},
                },
            }
        ),
        "preload": _or_null(
            {
                **_obj(
                    ["variable"],
                    {
                        "variable": _ENV,
                        "url": {"type": "string", "pattern": "^http://127\\.0\\.0\\.1:[0-9]{1,5}/[A-Za-z0-9._/-]*/$"},
                        "auth_env": _ENV,
                        "command": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
                        },
                    },
                ),
                # One way to fetch it: the endpoint or the command (null passes both, having no keys).
                "anyOf": [{"required": ["url"]}, {"required": ["command"]}],
                "not": {"type": "object", "required": ["url", "command"]},
            }
        ),
    },
)
_SCALAR = {"type": ["string", "integer", "number", "boolean"]}

SNAPSHOT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Leger release snapshot",
    **_obj(
        list(Snapshot.__annotations__),
        {
            "format": {"const": SNAPSHOT_FORMAT},
            "release": _obj(
                ["name", "version", "owner_uuid", "cut_at"],
                {
                    # Free text: the renderer escapes it for each file format it reaches.
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "version": {"type": "integer", "minimum": 1},
                    "owner_uuid": {
                        "type": "string",
                        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                    },
                    "cut_at": {
                        "type": "string",
                        "pattern": _RFC3339,
                    },
                },
            ),
            "tailnet": _obj(
                ["domain", "machine", "exposure", "custom_domain"],
                {
                    "domain": {"type": "string", "pattern": _DOMAIN},
                    "machine": {"type": "string", "pattern": _LABEL},
                    "exposure": {"enum": ["port", "path", "subdomain"]},
                    "custom_domain": {"type": "string", "pattern": f"({_DOMAIN})|^$"},
                },
            ),
            "network": _obj(
                ["name", "subnet"],
                {
                    "name": _NAME,
                    # Empty: Podman picks a subnet no other network uses (a fixed one clashed with its defaults).
                    "subnet": {"type": "string", "pattern": "^(([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2})?$"},
                },
            ),
            "machine": _obj(
                list(Machine.__annotations__),
                {
                    "accelerator": {"enum": sorted(ACCELERATORS)},
                    "memory_gb": _or_null({"type": "integer", "minimum": 1}),
                    "gpu_memory_gb": _or_null({"type": "integer", "minimum": 1}),
                },
            ),
            "infrastructure": {"type": "array", "items": _SERVICE},
            "models": {
                "type": "array",
                "minItems": 1,
                "items": {
                    # The kind picks the shape, so a problem is reported against the right one.
                    "type": "object",
                    "required": ["kind"],
                    "properties": {"kind": {"enum": ["cloud", "local"]}},
                    "allOf": [
                        _when_kind(
                            "cloud",
                            list(CloudModel.__annotations__),
                            {
                                "id": _CATALOG_ID,
                                "name": {"type": "string", "minLength": 1},
                                "kind": {"const": "cloud"},
                                "provider": _CATALOG_ID,
                                "litellm_model": {"type": "string", "pattern": "^[A-Za-z0-9._:@/-]+$"},
                                "credential": _CREDENTIAL,
                                "key_param": _PARAM,
                                "params": {
                                    "type": "object",
                                    "propertyNames": _PARAM,
                                    "additionalProperties": {"type": "string", "pattern": _ONE_LINE, "maxLength": 500},
                                },
                                "param_secrets": {
                                    "type": "array",
                                    "items": _obj(
                                        ["secret", "env_var", "param"],
                                        {"secret": _SECRET_NAME, "env_var": _ENV, "param": _PARAM},
                                    ),
                                },
                            },
                        ),
                        _when_kind(
                            "local",
                            list(LocalModel.__annotations__),
                            {
                                "id": _CATALOG_ID,
                                "name": {"type": "string", "minLength": 1},
                                "kind": {"const": "local"},
                                "hf_repo": {"type": "string", "pattern": "^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$"},
                                "hf_file": {"type": "string", "pattern": "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*\\.gguf$"},
                                "ctx_size": {"type": "integer", "minimum": 256},
                                "ttl": {"type": "integer", "minimum": 0},
                                "aliases": {"type": "array", "items": _CATALOG_ID, "uniqueItems": True},
                                "flash_attn": {"type": "boolean"},
                                "mode": {"enum": ["chat", "embedding", "rerank"]},
                            },
                        ),
                    ],
                },
            },
            "addons": {
                "type": "array",
                "items": _obj(
                    list(Addon.__annotations__),
                    {
                        "id": _CATALOG_ID,
                        "name": {"type": "string", "minLength": 1},
                        "slot": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"},
                        "slot_variables": {
                            "type": "object",
                            "propertyNames": _ENV,
                            "additionalProperties": {"type": "string", "pattern": _ONE_LINE},
                        },
                        "variables": {"type": "object", "propertyNames": _ENV, "additionalProperties": _SCALAR},
                        "credential": _or_null(_CREDENTIAL),
                        "secrets": {
                            "type": "array",
                            "items": _obj(
                                ["secret", "env_var", "source"],
                                {
                                    "secret": _SECRET_NAME,
                                    "env_var": _ENV,
                                    "source": {"enum": ["credential", "selection"]},
                                },
                            ),
                        },
                        "container": _or_null(_SERVICE),
                        "companions": {"type": "array", "items": _SERVICE},
                    },
                ),
            },
            "openwebui": {"type": "object", "propertyNames": _ENV, "additionalProperties": _SCALAR},
            "routes": {
                "type": "array",
                "items": _obj(
                    list(Route.__annotations__),
                    {
                        "service": _NAME,
                        "exposed": {"type": "boolean"},
                        "port": _PORT,
                        "bind_address": {"type": "string", "pattern": _IPV4},
                        "path": {"type": "string", "pattern": "^(/|(/[a-z0-9][a-z0-9._-]*)+)$"},
                        "subdomain": {"type": "string", "pattern": _LABEL},
                        "websocket": {"type": "boolean"},
                    },
                ),
            },
        },
    ),
}

_VALIDATOR = Draft202012Validator(SNAPSHOT_SCHEMA)
_SERVICE_VALIDATOR = Draft202012Validator(_SERVICE)


def service_spec_problems(spec: Mapping[str, Any]) -> dict[str, list[str]]:
    """Problems of one ServiceSpec by its top-level field (the admin shows them next to the fields)."""
    problems: dict[str, list[str]] = {}
    for error in _SERVICE_VALIDATOR.iter_errors(spec):
        path = list(error.absolute_path)
        field = str(path[0]) if path else "__all__"
        where = _where(path[1:])
        problems.setdefault(field, []).append(error.message if not path[1:] else f"{where}: {error.message}")
    return problems


class SnapshotError(ValueError):
    """The snapshot cannot be rendered; ``problems`` says what to change, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The release snapshot is not valid:\n" + "\n".join(f"- {p}" for p in problems))


def _where(path: Sequence[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the snapshot"


def upgrade_snapshot(data: Any) -> Any:
    """``data`` in the current format: an older snapshot (stored by an earlier Leger) gets the fields added
    since, with the values that render it exactly as before. Anything else comes back as it is."""
    if not isinstance(data, dict) or data.get("format") not in (1, 2, 3):
        return data
    upgraded = copy.deepcopy(data)
    old = upgraded["format"]
    upgraded["format"] = SNAPSHOT_FORMAT
    addons = [addon for addon in upgraded.get("addons") or [] if isinstance(addon, dict)]
    for addon in addons:
        if old == 1:
            addon.setdefault("secrets", [])
        # Before format 4 an add-on ran at most one container.
        addon.setdefault("companions", [])
    # Format 2 knew no hardware: everything ran on the CPU, and every local model was a chat model.
    upgraded.setdefault("machine", {"accelerator": CPU, "memory_gb": None, "gpu_memory_gb": None})
    services = [*(upgraded.get("infrastructure") or []), *(addon.get("container") for addon in addons)]
    for service in services:
        if isinstance(service, dict):
            service.setdefault("accelerated", {})
            service.setdefault("preload", None)
            service.setdefault("base_path", None)
    for model in upgraded.get("models") or []:
        if isinstance(model, dict) and model.get("kind") == "local":
            model.setdefault("mode", "chat")
        elif isinstance(model, dict):
            model.setdefault("key_param", "api_key")
            model.setdefault("params", {})
            model.setdefault("param_secrets", [])
    return upgraded


def validate_snapshot(data: Any) -> Snapshot:
    """Check ``data`` against SNAPSHOT_SCHEMA and its cross references; return it typed or raise SnapshotError.

    A snapshot of an older format is upgraded first (the caller's data is not changed)."""
    data = upgrade_snapshot(data)
    problems = [
        f"{_where(error.absolute_path)}: {error.message}"
        for error in sorted(_VALIDATOR.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    ]
    if problems:
        raise SnapshotError(problems)
    problems = _cross_reference_problems(data)
    if problems:
        raise SnapshotError(problems)
    return data  # type: ignore[no-any-return]


def addon_containers(addon: Addon) -> list[ServiceSpec]:
    """The containers one add-on runs: the one Open WebUI talks to, then those it requires."""
    return [addon["container"], *addon["companions"]] if addon["container"] else []


def containers(snapshot: Snapshot) -> list[ServiceSpec]:
    """Every container of the release: the infrastructure, then each self-hosted add-on's, in snapshot order."""
    return [*snapshot["infrastructure"], *(c for a in snapshot["addons"] for c in addon_containers(a))]


def derived_secret_specs(services: Sequence[ServiceSpec]) -> dict[str, DerivedSecretSpec]:
    """The release's secrets made from another one, by name (see leger/lib/derived_secrets.py)."""
    return {
        secret["name"]: secret["derive"]
        for service in services
        for secret in [*service["secrets"], *service["openwebui_secrets"]]
        if "derive" in secret
    }


def _cross_reference_problems(snapshot: Snapshot) -> list[str]:
    # Imported here: both modules describe the same release, and rendering imports this one.
    from leger.releases.rendering import RELEASE_OWNED_VARIABLES, internal_secret_names
    from leger.releases.validation import is_openwebui_variable

    problems: list[str] = []
    services = containers(snapshot)
    ids = [s["id"] for s in services]
    for name in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"container {name!r} appears twice; each service runs once")
    infra_ids = {s["id"] for s in snapshot["infrastructure"]}
    for name in CORE_SERVICES:
        if name not in infra_ids:
            problems.append(f"infrastructure: the core service {name!r} is missing; every release runs it")
    for service in snapshot["infrastructure"]:
        if service["role"] != "core":
            problems.append(f"infrastructure: {service['id']!r} is an add-on; put it under its addon's container")
    known = set(ids)
    for service in services:
        for name in service["requires"]:
            if name not in known:
                problems.append(f"service {service['id']!r} requires {name!r}, which is not in the release")
        for name in service["openwebui_env"]:
            if not is_openwebui_variable(name):
                problems.append(f"service {service['id']!r}: Open WebUI v0.12.4 does not read {name}")
        if service["exposable"] and not service["published_port"]:
            problems.append(f"service {service['id']!r} is exposable but has no published port")
    volume_owner: dict[str, str] = {}
    for service in services:
        for volume in service["volumes"]:
            first = volume_owner.setdefault(volume["name"], service["id"])
            if first != service["id"]:
                problems.append(f"volume {volume['name']!r} is used by both {first!r} and {service['id']!r}")

    # Models.
    model_ids = [m["id"] for m in snapshot["models"]]
    for name in sorted({i for i in model_ids if model_ids.count(i) > 1}):
        problems.append(f"model {name!r} is chosen twice")
    alias_owner: dict[str, str] = {}
    for model in snapshot["models"]:
        if model["kind"] != "local":
            continue
        for alias in model["aliases"]:
            if alias in model_ids:
                problems.append(f"alias {alias!r} of model {model['id']!r} is also a model id; drop the alias")
            first = alias_owner.setdefault(alias, model["id"])
            if first != model["id"]:
                problems.append(f"alias {alias!r} belongs to both {first!r} and {model['id']!r}")

    # Credentials: one secret per variable, and never the name of an internal secret.
    internal = internal_secret_names(services)
    derived = derived_secret_specs(services)
    for service in services:
        for secret in [*service["secrets"], *service["openwebui_secrets"]]:
            source = secret.get("derive", {}).get("source")
            if source is not None and (source not in internal or source in derived):
                problems.append(
                    f"service {service['id']!r}: secret {secret['name']!r} is made from {source!r}, which is not "
                    "one of the release's own generated secrets"
                )
    secret_for_var: dict[str, tuple[str, str]] = {}
    credentials = [(f"model {m['id']!r}", m["credential"]) for m in snapshot["models"] if m["kind"] == "cloud"]
    credentials += [(f"add-on {a['id']!r}", a["credential"]) for a in snapshot["addons"] if a["credential"]]
    credentials += [(f"add-on {a['id']!r}", s) for a in snapshot["addons"] for s in a["secrets"]]
    # The CLI fetches a value by name alone, so one name must mean one kind of secret.
    source_of: dict[str, tuple[str, str]] = {}
    for owner, credential in credentials:
        source = str(credential.get("source", "credential"))
        first_source = source_of.setdefault(credential["secret"], (owner, source))
        if first_source[1] != source:
            problems.append(
                f"{owner}: secret name {credential['secret']!r} is a {source} secret but {first_source[0]} uses it "
                f"as a {first_source[1]} secret; give them different names"
            )
    for owner, credential in credentials:
        if credential["secret"] in internal:
            problems.append(
                f"{owner}: secret name {credential['secret']!r} is reserved for the release's own secrets; rename it"
            )
        first = secret_for_var.setdefault(credential["env_var"], (owner, credential["secret"]))
        if first[1] != credential["secret"]:
            problems.append(
                f"{owner} fills {credential['env_var']} from secret {credential['secret']!r} but {first[0]} fills it "
                f"from {first[1]!r}; one variable can hold one key, so choose one credential for both"
            )
    for addon in snapshot["addons"]:
        credential = addon["credential"]
        if credential and not is_openwebui_variable(credential["env_var"]):
            problems.append(f"add-on {addon['id']!r}: Open WebUI v0.12.4 does not read {credential['env_var']}")
        for secret in addon["secrets"]:
            if not is_openwebui_variable(secret["env_var"]):
                problems.append(f"add-on {addon['id']!r}: Open WebUI v0.12.4 does not read {secret['env_var']}")
            elif secret["env_var"] in RELEASE_OWNED_VARIABLES:
                problems.append(
                    f"add-on {addon['id']!r}: {secret['env_var']} is set by the release itself and cannot come "
                    "from a secret"
                )

    # Add-ons: one per slot, and every Open WebUI variable set once.
    slot_owner: dict[str, str] = {}
    addon_ids = [a["id"] for a in snapshot["addons"]]
    for name in sorted({i for i in addon_ids if addon_ids.count(i) > 1}):
        problems.append(f"add-on {name!r} is selected twice")
    for addon in snapshot["addons"]:
        first = slot_owner.setdefault(addon["slot"], addon["id"])
        if first != addon["id"]:
            problems.append(
                f"slot {addon['slot']!r} has two providers, {first!r} and {addon['id']!r}; Open WebUI takes one"
            )
        if addon["container"] is not None and addon["container"]["role"] != "addon":
            problems.append(f"add-on {addon['id']!r}: its container must have role 'addon'")
        if addon["companions"] and addon["container"] is None:
            problems.append(f"add-on {addon['id']!r}: companions run beside a container; it has none")
        for companion in addon["companions"]:
            if companion["role"] != "addon":
                problems.append(f"add-on {addon['id']!r}: companion {companion['id']!r} must have role 'addon'")
            if companion["openwebui_env"] or companion["openwebui_secrets"]:
                problems.append(
                    f"add-on {addon['id']!r}: Open WebUI talks to its container, not to companion "
                    f"{companion['id']!r}; move its openwebui_env and openwebui_secrets there"
                )
    setters: dict[str, list[str]] = {}
    layers: list[tuple[str, Mapping[str, Any]]] = [("the Open WebUI settings", snapshot["openwebui"])]
    for addon in snapshot["addons"]:
        layers.append((f"add-on {addon['id']!r}", {**addon["slot_variables"], **addon["variables"]}))
        if addon["container"]:
            layers.append((f"add-on {addon['id']!r}", addon["container"]["openwebui_env"]))
    for who, values in layers:
        for name in values:
            if not is_openwebui_variable(name):
                problems.append(f"{who}: Open WebUI v0.12.4 does not read {name}; remove it")
            elif name in RELEASE_OWNED_VARIABLES:
                problems.append(f"{who}: {name} is set by the release itself and cannot be chosen")
            if who not in setters.setdefault(name, []):
                setters[name].append(who)
    for name, who in sorted(setters.items()):
        if len(who) > 1:
            problems.append(f"{name} is set by both {who[0]} and {who[1]}; keep it in one place")
    for owner, credential in credentials:
        if owner.startswith("add-on") and credential["env_var"] in setters:
            problems.append(
                f"{owner}: {credential['env_var']} comes from secret {credential['secret']!r} but "
                f"{setters[credential['env_var']][0]} also sets it as a value; keep one"
            )
    for who, values in layers:
        for name, value in values.items():
            if isinstance(value, str) and "\x00" in value:
                problems.append(f"{who}: {name} contains a NUL character, which no environment variable can hold")

    # Routes.
    by_id = {s["id"]: s for s in services}
    routed: set[str] = set()
    mode = snapshot["tailnet"]["exposure"]
    problems += below_path_refusals(snapshot["routes"], by_id, mode)
    for route in snapshot["routes"]:
        service = by_id.get(route["service"])
        if service is None:
            problems.append(f"route for {route['service']!r}: no such container in the release")
            continue
        if not service["exposable"]:
            problems.append(f"route for {route['service']!r}: this service cannot be exposed through Caddy")
        if route["service"] in routed:
            problems.append(f"route for {route['service']!r} appears twice")
        routed.add(route["service"])
    if mode == "subdomain" and not snapshot["tailnet"]["custom_domain"]:
        problems.append(
            "tailnet: exposure by subdomain needs a custom domain (names below a tailnet name do not resolve)"
        )
    if mode != "subdomain" and not snapshot["tailnet"]["domain"].endswith(".ts.net"):
        problems.append("tailnet: the domain must be the tailnet's *.ts.net name unless exposure is by subdomain")
    return problems


# --- building blocks for the cut and for examples --------------------------------------------------------------

SERVICE_KEYS = tuple(ServiceSpec.__annotations__)


def service_spec(data: Mapping[str, Any]) -> ServiceSpec:
    """A ServiceSpec from an infrastructure fixture entry (or any mapping with the same keys).

    Missing optional keys take the fixture defaults; ``exposed_by_default`` and ``order`` are wizard data and
    are left out.
    """
    defaults: dict[str, Any] = {
        "addon": "",
        "description": "",
        "accelerated": {},
        "exposable": False,
        "published_port": None,
        "bind_address": None,
        "websocket": False,
        "subdomain": "",
        "path": "",
        "upstream_tls": False,
        "volumes": [],
        "health": None,
        "secrets": [],
        "environment": {},
        "exec": [],
        "requires": [],
        "config_files": [],
        "openwebui_env": {},
        "openwebui_secrets": [],
        "preload": None,
        "base_path": None,
    }
    merged = {**defaults, **{k: v for k, v in data.items() if k in SERVICE_KEYS}}
    return copy.deepcopy({key: merged[key] for key in SERVICE_KEYS})  # type: ignore[return-value]


def service_spec_from_row(row: Any) -> ServiceSpec:
    """A ServiceSpec from an ``InfrastructureService`` row (the cut calls this)."""
    data = {key: getattr(row, key) for key in SERVICE_KEYS if key != "exec"}
    data["exec"] = list(row.exec_args)
    return service_spec(data)


def below_path_refusals(routes: Sequence[Route], services: Mapping[str, ServiceSpec], mode: str) -> list[str]:
    """Exposed services that cannot live below a path, when exposure is by path (one rule: the wizard's routes
    step and the snapshot check both call it)."""
    if mode != "path":
        return []
    problems = []
    for route in routes:
        service = services.get(route["service"])
        base_path = (service or {}).get("base_path") or {}
        if route["exposed"] and service is not None and base_path.get("mode") == "none":
            why = f" ({base_path['why']})" if base_path.get("why") else ""
            problems.append(
                f"{service['name']} cannot be served below a path{why}; expose it by port or subdomain on "
                "/settings, or leave it unexposed."
            )
    return problems


def keeps_path(service: ServiceSpec) -> bool:
    """Whether Caddy passes the path prefix on to the service (it was told its path) rather than strip it."""
    return bool(service["base_path"] and service["base_path"]["mode"] == "keep")


def default_route(service: ServiceSpec, *, exposed: bool | None = None) -> Route:
    """The route the wizard starts from for an exposable service."""
    if not service["exposable"] or service["published_port"] is None:
        raise ValueError(f"service {service['id']!r} is not exposable")
    return {
        "service": service["id"],
        "exposed": bool(exposed),
        "port": service["published_port"],
        "bind_address": service["bind_address"] or LOOPBACK,
        "path": service["path"] or f"/{service['id']}",
        "subdomain": service["subdomain"] or service["id"],
        "websocket": service["websocket"],
    }


_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _fixture_services(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = {}
    for path in sorted(((directory or _FIXTURES) / "infrastructure").glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8"))["items"]:
            services[item["id"]] = item
    return services


EXAMPLE_CLOUD_MODELS: list[CloudModel] = [
    {
        "id": "claude-haiku-4.5",
        "name": "Claude Haiku 4.5",
        "kind": "cloud",
        "provider": "anthropic",
        "litellm_model": "anthropic/claude-haiku-4-5-20251001",
        "credential": {"secret": "anthropic-api-key", "env_var": "ANTHROPIC_API_KEY"},
        "key_param": "api_key",
        "params": {},
        "param_secrets": [],
    },
    {
        "id": "gpt-4o-mini",
        "name": "GPT-4o Mini",
        "kind": "cloud",
        "provider": "openai",
        "litellm_model": "openai/gpt-4o-mini",
        "credential": {"secret": "openai-api-key", "env_var": "OPENAI_API_KEY"},
        "key_param": "api_key",
        "params": {},
        "param_secrets": [],
    },
]
EXAMPLE_LOCAL_MODELS: list[LocalModel] = [
    {
        "id": "granite-4.0-h-micro",
        "name": "Granite 4.0 H-Micro",
        "kind": "local",
        "hf_repo": "unsloth/granite-4.0-h-micro-GGUF",
        "hf_file": "granite-4.0-h-micro-UD-Q4_K_XL.gguf",
        "ctx_size": 8192,
        "ttl": 600,
        "aliases": ["granite-micro"],
        "flash_attn": True,
        "mode": "chat",
    },
    {
        "id": "gpt-oss-20b",
        "name": "GPT-OSS 20B",
        "kind": "local",
        "hf_repo": "openai/gpt-oss-20b-GGUF",
        "hf_file": "gpt-oss-20b-mxfp4.gguf",
        "ctx_size": 8192,
        "ttl": 600,
        "aliases": ["gpt-oss"],
        "flash_attn": False,
        "mode": "chat",
    },
]
# What the marketplace selection of each self-hosted add-on sets (slot and the slot's variables).
EXAMPLE_ADDON_SLOTS: dict[str, tuple[str, dict[str, str], dict[str, Scalar]]] = {
    "searxng": ("web-search", {"WEB_SEARCH_ENGINE": "searxng"}, {"SEARXNG_LANGUAGE": "all"}),
    "qdrant": ("vector-database", {"VECTOR_DB": "qdrant"}, {}),
    "chroma": ("vector-database", {"VECTOR_DB": "chroma"}, {}),
    "tika": ("content-extraction", {"CONTENT_EXTRACTION_ENGINE": "tika"}, {}),
    "docling": ("content-extraction", {"CONTENT_EXTRACTION_ENGINE": "docling"}, {}),
    "whisper": ("speech-to-text", {"AUDIO_STT_ENGINE": "openai"}, {"AUDIO_STT_MODEL": "Systran/faster-whisper-small"}),
    "edgetts": ("text-to-speech", {"AUDIO_TTS_ENGINE": "openai"}, {"AUDIO_TTS_VOICE": "en-US-AriaNeural"}),
    "jupyter": (
        "code-execution",
        {"CODE_EXECUTION_ENGINE": "jupyter", "CODE_INTERPRETER_ENGINE": "jupyter"},
        {},
    ),
    "playwright": ("web-loader", {"WEB_LOADER_ENGINE": "playwright"}, {}),
    # An integration (its own slot) with a companion: the gateway and its PostgreSQL.
    "mcp-gateway": ("mcp-gateway", {}, {"MCP_INITIALIZE_TIMEOUT": 10}),
}
EXAMPLE_OWNER = "6f1c2b4e-8a7d-4c3b-9e2f-0a1b2c3d4e5f"
EXAMPLE_ADDRESS = "100.101.102.103"  # the example machine's Tailscale address


def example_snapshot(
    kind: Literal["minimal", "full"] = "minimal",
    exposure: Exposure = "port",
    *,
    accelerator: str = CPU,
    fixtures_dir: Path | None = None,
) -> Snapshot:
    """A valid snapshot built from the project's infrastructure fixtures, for tests and benchmarks.

    ``minimal``: the core stack and one cloud model, no add-ons. ``full``: two cloud and two local models,
    one self-hosted add-on per slot (every add-on of the fixtures whose slot is still free), an external API
    add-on with a key, and every exposable service exposed. ``accelerator``: the machine's (hardware.py).
    """
    fixtures = _fixture_services(fixtures_dir)
    infrastructure = [service_spec(fixtures[name]) for name in CORE_SERVICES]
    full = kind == "full"
    models: list[CloudModel | LocalModel] = copy.deepcopy(
        [*EXAMPLE_CLOUD_MODELS, *EXAMPLE_LOCAL_MODELS] if full else EXAMPLE_CLOUD_MODELS[:1]
    )
    addons: list[Addon] = []
    openwebui: dict[str, Scalar] = {"WEBUI_NAME": "Leger AI", "DEFAULT_MODELS": models[0]["id"]}
    if full:
        used_slots: set[str] = set()
        for data in fixtures.values():
            if data["role"] != "addon" or data["id"] not in EXAMPLE_ADDON_SLOTS:
                continue
            slot, slot_variables, variables = EXAMPLE_ADDON_SLOTS[data["id"]]
            if slot in used_slots:
                continue
            used_slots.add(slot)
            addons.append(
                {
                    "id": data["addon"],
                    "name": data["name"],
                    "slot": slot,
                    "slot_variables": dict(slot_variables),
                    "variables": dict(variables),
                    "credential": None,
                    "secrets": [],
                    "container": service_spec(data),
                    "companions": [
                        service_spec(other)
                        for other in fixtures.values()
                        if other["role"] == "addon" and other.get("addon") == data["addon"] and other is not data
                    ],
                }
            )
        # An add-on that is only an API with a key; its key is the OpenAI credential the models use too.
        addons.append(
            {
                "id": "openai-embeddings",
                "name": "OpenAI embeddings",
                "slot": "embedding",
                "slot_variables": {"RAG_EMBEDDING_ENGINE": "openai"},
                "variables": {"RAG_EMBEDDING_MODEL": "text-embedding-3-small"},
                "credential": {"secret": "openai-api-key", "env_var": "RAG_OPENAI_API_KEY"},
                "secrets": [],
                "container": None,
                "companions": [],
            }
        )
        # A key that fills two variables (generation and edits), so the same secret reaches both.
        addons.append(
            {
                "id": "openai-images",
                "name": "OpenAI images",
                "slot": "image-generation",
                "slot_variables": {"IMAGE_GENERATION_ENGINE": "openai"},
                "variables": {"IMAGE_EDIT_ENGINE": "openai", "IMAGE_GENERATION_MODEL": "dall-e-3"},
                "credential": {"secret": "openai-api-key", "env_var": "IMAGES_OPENAI_API_KEY"},
                "secrets": [
                    {"secret": "openai-api-key", "env_var": "IMAGES_EDIT_OPENAI_API_KEY", "source": "credential"}
                ],
                "container": None,
                "companions": [],
            }
        )
        # A secret setting of a selection (not a key from /providers).
        addons.append(
            {
                "id": "opentelemetry",
                "name": "OpenTelemetry",
                "slot": "opentelemetry",
                "slot_variables": {},
                "variables": {
                    "ENABLE_OTEL": True,
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example.org:4317",
                    "OTEL_BASIC_AUTH_USERNAME": "leger",
                },
                "credential": None,
                "secrets": [
                    {
                        "secret": "mp_opentelemetry_otel_basic_auth_password",
                        "env_var": "OTEL_BASIC_AUTH_PASSWORD",
                        "source": "selection",
                    }
                ],
                "container": None,
                "companions": [],
            }
        )
        openwebui.update({"TASK_MODEL": "granite-4.0-h-micro", "TASK_MODEL_EXTERNAL": "gpt-4o-mini", "RAG_TOP_K": 5})
    snapshot: Snapshot = {
        "format": SNAPSHOT_FORMAT,
        "release": {
            "name": "home" if not full else "home (everything)",
            "version": 3 if full else 1,
            "owner_uuid": EXAMPLE_OWNER,
            "cut_at": "2025-11-20T09:30:00Z",
        },
        "tailnet": {
            "domain": "tail1234.ts.net",
            "machine": "box",
            "exposure": exposure,
            "custom_domain": "home.example.org" if exposure == "subdomain" else "",
        },
        "network": {"name": "llm", "subnet": ""},
        "machine": {"accelerator": accelerator, "memory_gb": 64, "gpu_memory_gb": 24 if accelerator != CPU else None},
        "infrastructure": infrastructure,
        "models": models,
        "addons": addons,
        "openwebui": openwebui,
        "routes": [],
    }
    for service in containers(snapshot):
        if service["exposable"]:
            exposed = full or fixtures[service["id"]].get("exposed_by_default", False)
            route = default_route(service, exposed=exposed)
            # What cannot live below a path stays unexposed in path mode (the rule would refuse it).
            route["exposed"] = exposed and not below_path_refusals([route], {service["id"]: service}, exposure)
            snapshot["routes"].append(route)
    return validate_snapshot(listen_on(snapshot, EXAMPLE_ADDRESS))


def listen_on(snapshot: Snapshot, address: str) -> Snapshot:
    """Make every port the machine publishes listen on ``address`` only: the machine's Tailscale address, so the
    stack is reachable from the tailnet and nowhere else (not the LAN, not the internet), or loopback."""
    for service in containers(snapshot):
        if service["bind_address"]:
            service["bind_address"] = address
    for route in snapshot["routes"]:
        route["bind_address"] = address
    return snapshot


def canonical_json(snapshot: Snapshot) -> str:
    """The snapshot as stored: sorted keys, so equal snapshots are equal text."""
    return json.dumps(snapshot, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


_SECRET_NAME_RE = re.compile(_SECRET_NAME["pattern"])


def is_secret_name(value: str) -> bool:
    return bool(_SECRET_NAME_RE.fullmatch(value))
