"""Render a release snapshot into the files a machine installs: ``render(snapshot) -> {path: text}``.

Pure: no database, no network, no clock. Everything comes from the snapshot (``leger/releases/snapshot.py``),
so the same snapshot gives byte-identical files. Templates live in ``quadlet_templates/`` (one folder per
service, ``_macros/`` for what repeats) and run under ``StrictUndefined``: a missing value is an error, never
an empty string.

Values reach five formats, each with its own escaping, applied by filters rather than by string pasting:

- Quadlet/systemd units: ``quote_env`` / ``quote_word`` quote per systemd rules (C escapes inside double
  quotes, ``%%`` for ``%``, ``$$`` for ``$``), ``unit_text`` keeps free text on one line. A newline or
  ``[Section]`` in a value can never start a new key or section.
- Open WebUI's settings are ``Environment=`` lines of ``openwebui.container`` (quoted like any unit value).
- YAML (LiteLLM, llama-swap, SearXNG): whole documents are dumped with ``yaml.safe_dump`` (``to_yaml``).
- Caddyfile: only names and paths that match a strict pattern are written (``caddy_token``); anything else
  is a RenderError.

Secrets are never values here: units carry ``Secret=NAME,type=env,target=VAR`` and LiteLLM's config carries
``os.environ/VAR``; the target machine fills them in.

How a release reaches a machine decides how units find their files. The leger CLI downloads every file a
manifest's service lists into one flat folder (it creates no subfolders), keeps a copy in a folder named after
the install (``default``, ``v3``, ...), and copies only the unit files into ``~/.config/containers/systemd/``.
So no unit points at another file of the release by a path: every config file (LiteLLM's and llama-swap's
``config.yaml``, SearXNG's ``settings.yml``, the ``Caddyfile``) is a Podman secret mounted where its program
reads it (``Secret=NAME,type=mount,target=PATH``), which the CLI creates from the secrets it synced, and Open
WebUI's settings are ``Environment=`` lines in its unit. A file secret is named after its path and the
SHA-256 of its bytes (``file_secret_name``), so a changed file is a new secret and changes its unit's checksum.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from leger.lib import hardware
from leger.lib.hardware import Accelerator
from leger.releases.snapshot import (
    CORE_SERVICES,
    Addon,
    AddonSecret,
    Route,
    Scalar,
    ServiceSpec,
    Snapshot,
    containers,
    keeps_path,
    validate_snapshot,
)

__all__ = [
    "CORE_SERVICES",
    "RELEASE_OWNED_VARIABLES",
    "TEMPLATES_DIR",
    "RenderError",
    "make_environment",
    "plan_release",
    "render",
]

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "quadlet_templates"

# Open WebUI variables the release sets itself. The wizard cannot choose them and fixtures cannot offer them.
RELEASE_OWNED_VARIABLES = frozenset(
    {
        # A new release must take effect: with persistent config on, Open WebUI would keep the values it
        # stored in its database on first start and ignore every later release.
        "ENABLE_PERSISTENT_CONFIG",
        # Single owner: the first account becomes the admin, nobody else can sign up unless the admin invites.
        "WEBUI_AUTH",
        "ENABLE_SIGNUP",
        "ENABLE_INITIAL_ADMIN_SIGNUP",
        "ENABLE_LOGIN_FORM",
        # Data in its PostgreSQL (the password arrives as the DATABASE_PASSWORD secret).
        "DATABASE_URL",
        "DATABASE_TYPE",
        "DATABASE_HOST",
        "DATABASE_PORT",
        "DATABASE_NAME",
        "DATABASE_USER",
        "DATABASE_PASSWORD",
        # Websockets and shared state through its Redis.
        "REDIS_URL",
        "ENABLE_WEBSOCKET_SUPPORT",
        "WEBSOCKET_MANAGER",
        "WEBSOCKET_REDIS_URL",
        # Every model through LiteLLM (the key is LiteLLM's master key, a secret).
        "ENABLE_OPENAI_API",
        "OPENAI_API_BASE_URL",
        "OPENAI_API_BASE_URLS",
        "OPENAI_API_KEY",
        "OPENAI_API_KEYS",
        "ENABLE_OLLAMA_API",
        "WEBUI_SECRET_KEY",
        "WEBUI_URL",
        "PORT",
        "HOST",
        # Turned on by the add-on that fills the slot (the marketplace slot's fixed values say the same).
        "ENABLE_WEB_SEARCH",
        "ENABLE_IMAGE_GENERATION",
    }
)
# A selected add-on in one of these slots switches the matching Open WebUI feature on.
FEATURE_FOR_SLOT_VARIABLE = {
    "WEB_SEARCH_ENGINE": "ENABLE_WEB_SEARCH",
    "IMAGE_GENERATION_ENGINE": "ENABLE_IMAGE_GENERATION",
}
CADDYFILE = "Caddyfile"
# Config files reach the machine as Podman secrets whose names start with this (see the module's docstring).
FILE_SECRET_PREFIX = "leger-file-"
# How long systemd waits for a container to start: the first start pulls its image.
START_TIMEOUT_SECONDS = 900


class RenderError(ValueError):
    """A value cannot be written safely into the file it belongs to."""


# --- escaping filters ---------------------------------------------------------------------------------------------

_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _systemd_escape(value: str) -> str:
    out = []
    for char in value:
        if char in _C_ESCAPES:
            out.append(_C_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            if char == "\x00":
                raise RenderError("a NUL character cannot be written into a unit file")
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    # systemd expands %-specifiers in most settings and $VARIABLES in the command line quadlet writes.
    return "".join(out).replace("%", "%%").replace("$", "$$")


def quote_word(value: Any) -> str:
    """One word of a systemd command line or multi-word key, quoted only when needed."""
    text = str(value)
    if text and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", text):
        return text.replace("%", "%%")
    return f'"{_systemd_escape(text)}"'


def quote_env(name: str, value: Any) -> str:
    """``"NAME=value"`` for ``Environment=``, escaped so the value stays one environment variable."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RenderError(f"{name!r} is not an environment variable name")
    return f'"{_systemd_escape(f"{name}={env_value(value)}")}"'


def unit_text(value: Any) -> str:
    """Free text (a description) on one line of a unit file: escapes line breaks, ``%`` and backslashes."""
    text = str(value)
    text = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("%", "%%")
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def ini_value(value: Any) -> str:
    """A value on one line of an INI file (cockpit.conf): refuses a line break, which would start a new key."""
    text = str(value)
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise RenderError(f"{text!r} must fit on one line of an INI file")
    return text


def unit_value(value: Any) -> str:
    """A single-argument value quadlet copies into the command line as-is (HealthCmd=): ``%``/``$`` escaped."""
    text = str(value)
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise RenderError(f"{text!r} must fit on one line of a unit file")
    if text.endswith('"'):
        # Quadlet drops a trailing double quote of such values.
        raise RenderError(f"{text!r} must not end with a double quote; use single quotes")
    return text.replace("%", "%%").replace("$", "$$")


def env_line(name: str, value: Any) -> str:
    """``NAME=value`` for an env file; refuses what the file cannot hold (the plan moves such values)."""
    text = env_value(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not env_file_safe(text):
        raise RenderError(f"{name}: {text!r} cannot be written into an environment file")
    return f"{name}={text}"


def comment_text(value: Any) -> str:
    """Text inside a ``#`` comment of any of our formats: one line, no control characters.

    NEL and the Unicode line and paragraph separators go too: PyYAML (LiteLLM's reader) ends a comment at
    them, so the rest of the text would be read as YAML. It also refuses a whole file holding C1 controls or
    the non-characters U+FFFE/U+FFFF, even inside a comment.
    """
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]", " ", str(value))


def env_value(value: Scalar) -> str:
    """How Open WebUI reads a typed value from the environment (it compares booleans as 'true'/'false')."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def env_file_safe(value: str) -> bool:
    """Whether Podman's env-file reader returns ``value`` unchanged from a ``KEY=value`` line.

    It has no escaping: a line break ends the value, surrounding whitespace is trimmed and newer Podman
    strips a leading quote pair, so such values go to ``Environment=`` in the unit instead.
    """
    return not (re.search(r"[\x00-\x1f\x7f]", value) or value != value.strip() or value[:1] in ("'", '"', "`"))


def to_yaml(data: Any) -> str:
    """A whole YAML document: keys sorted, every string quoted as YAML needs, nothing left to templating."""
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True, width=10_000)


_CADDY_TOKEN = re.compile(r"[A-Za-z0-9._:/*-]+")


def caddy_token(value: Any) -> str:
    """A Caddyfile token we generate (address, path, upstream); refuses anything that could end a token."""
    text = str(value)
    if not _CADDY_TOKEN.fullmatch(text):
        raise RenderError(f"{text!r} cannot be written into the Caddyfile; use letters, digits, '.', '-', '/'")
    return text


@cache
def shared_environment() -> Environment:
    """One compiled set of templates per process; Jinja environments are safe to share between threads."""
    return make_environment()


def make_environment() -> Environment:
    # No HTML comes out of here: each file format has its own escaping filter, applied where values land.
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        quote_word=quote_word,
        quote_env=quote_env,
        unit_text=unit_text,
        unit_value=unit_value,
        env_line=env_line,
        comment_text=comment_text,
        env_value=env_value,
        to_yaml=to_yaml,
        caddy_token=caddy_token,
        ini_value=ini_value,
    )
    return env


# --- the plan: what each file says, computed once -------------------------------------------------------------


def volume_file(name: str) -> str:
    return f"{name}.volume"


def volume_unit(name: str) -> str:
    return f"{name}-volume.service"


def network_file(name: str) -> str:
    return f"{name}.network"


def network_unit(name: str) -> str:
    return f"{name}-network.service"


def container_file(service_id: str) -> str:
    return f"{service_id}.container"


def container_unit(service_id: str) -> str:
    return f"{service_id}.service"


def release_file_name(template_path: str) -> str:
    """Where a config file lies in the release: flat (``litellm/config.yaml`` → ``litellm-config.yaml``), since
    the CLI downloads into one folder without making subfolders."""
    return template_path.replace("/", "-")


def file_secret_name(path: str, text: str) -> str:
    """The Podman secret a config file is delivered as: its path and the start of the SHA-256 of its bytes."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return f"{FILE_SECRET_PREFIX}{slug}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def internal_secret_names(services: Iterable[ServiceSpec]) -> set[str]:
    """Names of the secrets the stack itself needs (database passwords, master keys)."""
    names: set[str] = set()
    for service in services:
        names.update(secret["name"] for secret in service["secrets"])
        names.update(secret["name"] for secret in service["openwebui_secrets"])
    return names


@dataclass
class SecretUse:
    name: str
    target: str
    description: str
    # "internal" (Leger generates it per owner), "credential" (a key the user stored), "selection" (a secret
    # setting of a marketplace selection) or "file" (a config file of the release, mounted at ``target``)
    source: str
    file: str = ""  # the release file a "file" secret holds


@dataclass
class ContainerPlan:
    service: ServiceSpec
    file: str
    unit: str
    image: str = ""  # the service's image, or its GPU build for the machine's accelerator
    gpu: Accelerator | None = None  # the accelerator the container is given, None on the CPU
    post_start: list[str] = field(default_factory=list)  # a command run once the container runs (ExecStartPost=)
    requires: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    environment: list[tuple[str, str]] = field(default_factory=list)
    secrets: list[SecretUse] = field(default_factory=list)
    volumes: list[tuple[str, str]] = field(default_factory=list)  # (x.volume, mount)
    config_files: list[tuple[str, str, str]] = field(default_factory=list)  # (template path, release file, mount)
    file_secrets: list[tuple[str, str]] = field(default_factory=list)  # (secret name, mount), filled by render
    publish: list[str] = field(default_factory=list)
    files: list[str] = field(
        default_factory=list
    )  # every release file the unit needs: itself, network, volumes, configs


@dataclass
class OpenWebUIEnv:
    """Open WebUI's settings by where they come from; each is one ``Environment=`` line of its unit."""

    fixed: list[tuple[str, str]]
    chosen: list[tuple[str, str]]
    addons: list[tuple[str, str, str]]  # (add-on name, variable, value)

    def items(self) -> list[tuple[str, str]]:
        return [*self.fixed, *self.chosen, *((name, value) for _, name, value in self.addons)]


@dataclass
class CaddySite:
    address: str
    routes: list[dict[str, Any]]  # {"service", "path", "upstream", "tls", "websocket"}


@dataclass
class ReleasePlan:
    snapshot: Snapshot
    network: str
    containers: list[ContainerPlan]
    volumes: list[dict[str, str]]  # {"name", "service"}
    openwebui_env: OpenWebUIEnv
    caddy_sites: list[CaddySite]
    caddy_publish: list[str]
    caddy_global: list[str]
    urls: dict[str, str]
    local_models: list[dict[str, Any]]
    litellm_models: list[dict[str, Any]]


def route_host(snapshot: Snapshot, route: Route) -> str:
    tailnet = snapshot["tailnet"]
    if tailnet["exposure"] == "subdomain":
        return f"{route['subdomain']}.{tailnet['custom_domain']}"
    return f"{tailnet['machine']}.{tailnet['domain']}"


def route_url(snapshot: Snapshot, route: Route) -> str:
    """Where the user reaches an exposed service, for the exposure mode of the snapshot."""
    mode = snapshot["tailnet"]["exposure"]
    host = route_host(snapshot, route)
    if mode == "port":
        return f"https://{host}:{route['port']}"
    if mode == "path":
        return f"https://{host}{route['path']}" if route["path"] != "/" else f"https://{host}"
    return f"https://{host}"


def _exposed_routes(snapshot: Snapshot) -> list[Route]:
    return sorted((r for r in snapshot["routes"] if r["exposed"]), key=lambda r: r["service"])


def _upstream(service: ServiceSpec) -> str:
    scheme = "https://" if service["upstream_tls"] else ""
    return f"{scheme}{service['id']}:{service['port']}"


def _caddy(snapshot: Snapshot, by_id: Mapping[str, ServiceSpec]) -> tuple[list[CaddySite], list[str], list[str]]:
    mode = snapshot["tailnet"]["exposure"]
    routes = _exposed_routes(snapshot)
    caddy = by_id["caddy"]
    # The snapshot says where Caddy listens (the machine's Tailscale address, or loopback); never every interface.
    bind = caddy["bind_address"] or "127.0.0.1"

    def entry(route: Route, path: str) -> dict[str, Any]:
        service = by_id[route["service"]]
        return {
            "service": service["id"],
            "path": path,
            "upstream": _upstream(service),
            "tls": service["upstream_tls"],
            "websocket": route["websocket"],
            # A service told its path serves below it, so the prefix is passed on rather than stripped.
            "keep_path": keeps_path(service),
        }

    sites: list[CaddySite] = []
    publish: list[str] = []
    global_options: list[str] = []
    if mode == "port":
        # One HTTPS port per service on the machine's MagicDNS name; nothing listens on 80.
        global_options.append("auto_https disable_redirects")
        for route in sorted(routes, key=lambda r: r["port"]):
            sites.append(CaddySite(f"https://{route_host(snapshot, route)}:{route['port']}", [entry(route, "/")]))
            publish.append(f"{route['bind_address']}:{route['port']}:{route['port']}")
    elif mode == "path":
        global_options.append("auto_https disable_redirects")
        if routes:
            ordered = sorted(routes, key=lambda r: (r["path"] == "/", r["path"]))
            sites.append(
                CaddySite(f"https://{route_host(snapshot, routes[0])}", [entry(r, r["path"]) for r in ordered])
            )
        publish.append(f"{bind}:443:443")
    else:
        for route in routes:
            sites.append(CaddySite(f"https://{route_host(snapshot, route)}", [entry(route, "/")]))
        # Port 80 answers ACME HTTP challenges and redirects to HTTPS.
        publish.extend([f"{bind}:80:80", f"{bind}:443:443"])
    return sites, publish, global_options


def _openwebui_env(snapshot: Snapshot, by_id: Mapping[str, ServiceSpec], urls: Mapping[str, str]) -> OpenWebUIEnv:
    postgres, redis, litellm = by_id["openwebui-postgres"], by_id["openwebui-redis"], by_id["litellm"]
    fixed: dict[str, str] = {
        "ENABLE_PERSISTENT_CONFIG": "False",
        "WEBUI_AUTH": "True",
        "ENABLE_SIGNUP": "False",
        "ENABLE_INITIAL_ADMIN_SIGNUP": "True",
        "ENABLE_LOGIN_FORM": "True",
        "DATABASE_TYPE": "postgresql",
        "DATABASE_HOST": postgres["id"],
        "DATABASE_PORT": str(postgres["port"]),
        "DATABASE_NAME": postgres["environment"]["POSTGRES_DB"],
        "DATABASE_USER": postgres["environment"]["POSTGRES_USER"],
        "REDIS_URL": f"redis://{redis['id']}:{redis['port']}/0",
        "ENABLE_WEBSOCKET_SUPPORT": "True",
        "WEBSOCKET_MANAGER": "redis",
        "WEBSOCKET_REDIS_URL": f"redis://{redis['id']}:{redis['port']}/1",
        "ENABLE_OPENAI_API": "True",
        "OPENAI_API_BASE_URL": f"http://{litellm['id']}:{litellm['port']}/v1",
        "ENABLE_OLLAMA_API": "False",
    }
    if "openwebui" in urls:
        fixed["WEBUI_URL"] = urls["openwebui"]
    for addon in snapshot["addons"]:
        for variable in addon["slot_variables"]:
            if variable in FEATURE_FOR_SLOT_VARIABLE:
                fixed[FEATURE_FOR_SLOT_VARIABLE[variable]] = "True"

    chosen = [(name, env_value(snapshot["openwebui"][name])) for name in sorted(snapshot["openwebui"])]
    addons: list[tuple[str, str, str]] = []
    for addon in sorted(snapshot["addons"], key=lambda a: a["id"]):
        values: dict[str, Scalar] = {**addon["slot_variables"], **addon["variables"]}
        if addon["container"]:
            values.update(_internal_urls(snapshot, addon["container"]))
        addons.extend((addon["name"], name, env_value(values[name])) for name in sorted(values))
    return OpenWebUIEnv(sorted(fixed.items()), chosen, addons)


def _internal_urls(snapshot: Snapshot, service: ServiceSpec) -> dict[str, str]:
    """What Open WebUI needs to reach an add-on; a service that serves only below its path (Jupyter with a
    base_url) is reached there by the stack's own clients too."""
    values = dict(service["openwebui_env"])
    path = below_path(snapshot, service["id"])
    if path and service["base_path"] and service["base_path"].get("internal"):
        root = f"http://{service['id']}:{service['port']}"
        values = {
            name: f"{root}{path}{value[len(root) :]}" if value.startswith(root) else value
            for name, value in values.items()
        }
    return values


def _secret_uses(service: ServiceSpec) -> list[SecretUse]:
    return [SecretUse(s["name"], s["env_var"], s["description"], "internal") for s in service["secrets"]]


def _credential_use(owner: str, credential: Mapping[str, str]) -> SecretUse:
    return SecretUse(credential["secret"], credential["env_var"], f"Key for {owner}", "credential")


def _addon_secret_use(addon: Addon, secret: AddonSecret) -> SecretUse:
    if secret["source"] == "credential":
        return _credential_use(f"add-on {addon['name']}", secret)
    return SecretUse(secret["secret"], secret["env_var"], f"{secret['env_var']} of {addon['name']}", "selection")


def _dedupe_secrets(uses: Iterable[SecretUse]) -> list[SecretUse]:
    seen: dict[tuple[str, str], SecretUse] = {}
    for use in uses:
        seen.setdefault((use.name, use.target), use)
    return sorted(seen.values(), key=lambda u: (u.target, u.name))


# Open WebUI calls LiteLLM with a key of its own, not the master key: a virtual key, which lives in LiteLLM's
# database and is made through its API (POST /key/generate takes a caller-chosen "sk-" key). Once LiteLLM runs, its
# unit registers the owner's generated key, detached and until LiteLLM answers: a key it already holds (GET
# /key/info answers 200) is left alone, so a restart changes nothing. Both keys come from the container's
# environment (Podman secrets); neither is ever written here.
OPENWEBUI_KEY_VARIABLE = "LEGER_OPENWEBUI_KEY"
LITELLM_REGISTERS_OPENWEBUI_KEY = """\
import json, os, time, urllib.error, urllib.request
key = os.environ["LEGER_OPENWEBUI_KEY"]
admin = {"Authorization": "Bearer " + os.environ["LITELLM_MASTER_KEY"], "Content-Type": "application/json"}
def status(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request("http://127.0.0.1:LITELLM_PORT" + path, data, admin)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except (urllib.error.URLError, OSError) as error:
        return getattr(error, "code", 0)
body = {"key": key, "key_alias": "open-webui", "metadata": {"managed_by": "leger"}}
while status("/key/info?key=" + key) != 200 and status("/key/generate", body) != 200:
    time.sleep(10)
"""

# A model id a download endpoint takes (Systran/faster-whisper-small): nothing a shell would read.
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)?(:[A-Za-z0-9._-]+)?")


def below_path(snapshot: Snapshot, service_id: str) -> str:
    """The path a service is served below (``/litellm``), when exposure is by path and it is exposed; else ""."""
    if snapshot["tailnet"]["exposure"] != "path":
        return ""
    for route in snapshot["routes"]:
        if route["service"] == service_id and route["exposed"] and route["path"] != "/":
            return route["path"]
    return ""


def plan_release(snapshot: Snapshot) -> ReleasePlan:
    """Work out every unit, dependency, route and value once; the templates only format the plan."""
    services = containers(snapshot)
    by_id = {s["id"]: s for s in services}
    addon_services: dict[str, Addon] = {a["container"]["id"]: a for a in snapshot["addons"] if a["container"]}
    network = snapshot["network"]["name"]
    urls = {r["service"]: route_url(snapshot, r) for r in _exposed_routes(snapshot)}
    sites, caddy_publish, caddy_global = _caddy(snapshot, by_id)
    routed = sorted({route["service"] for site in sites for route in site.routes})

    plans: list[ContainerPlan] = []
    volumes: list[dict[str, str]] = []
    for service in services:
        sid = service["id"]
        image, gpu = hardware.image_for(service["image"], service["accelerated"], snapshot["machine"]["accelerator"])
        plan = ContainerPlan(service=service, file=container_file(sid), unit=container_unit(sid), image=image, gpu=gpu)
        plan.files.extend([plan.file, network_file(network)])
        plan.requires.append(network_unit(network))
        for volume in service["volumes"]:
            plan.requires.append(volume_unit(volume["name"]))
            plan.volumes.append((volume_file(volume["name"]), volume["mount"]))
            plan.files.append(volume_file(volume["name"]))
            volumes.append({"name": volume["name"], "service": sid})
        plan.requires.extend(container_unit(name) for name in service["requires"])
        if sid == "openwebui":
            # Open WebUI starts without its add-ons; they only serve features.
            plan.wants.extend(container_unit(name) for name in sorted(addon_services))
        if sid == "litellm" and any(m["kind"] == "local" for m in snapshot["models"]):
            plan.wants.append(container_unit("llama-swap"))
        if sid == "caddy":
            # A route whose service is down answers 502; it must not keep the others from starting.
            plan.wants.extend(container_unit(name) for name in routed)
            plan.publish = caddy_publish
        plan.after = [*plan.requires, *plan.wants]
        environment = dict(service["environment"])
        path = below_path(snapshot, sid)
        if path and service["base_path"] and service["base_path"].get("env"):
            # The service is told the path it is served below (LiteLLM's SERVER_ROOT_PATH, Jupyter's base_url).
            environment[service["base_path"]["env"]] = service["base_path"]["format"].replace("{path}", path)
        plan.environment = sorted(environment.items())
        plan.secrets = _secret_uses(service)
        if sid == "litellm":
            plan.secrets += [
                _credential_use(f"provider {m['provider']}", credential)
                for m in snapshot["models"]
                if m["kind"] == "cloud"
                for credential in [m["credential"], *m["param_secrets"]]
            ]
        if sid == "openwebui":
            for addon in snapshot["addons"]:
                if addon["container"]:
                    plan.secrets += _secret_uses(
                        {**addon["container"], "secrets": addon["container"]["openwebui_secrets"]}
                    )
                if addon["credential"]:
                    plan.secrets.append(_credential_use(f"add-on {addon['name']}", addon["credential"]))
                plan.secrets += [_addon_secret_use(addon, secret) for secret in addon["secrets"]]
        plan.secrets = _dedupe_secrets(plan.secrets)
        for config in service["config_files"]:
            path = release_file_name(config["path"])
            plan.config_files.append((config["path"], path, config["mount"]))
            plan.files.append(path)
        plans.append(plan)

    owui = _openwebui_env(snapshot, by_id, urls)
    openwebui_values = dict(owui.items())
    for plan in plans:
        preload = plan.service["preload"]
        model = openwebui_values.get(preload["variable"], "") if preload else ""
        if preload and MODEL_ID.fullmatch(model):
            # Fetched in the background once the server answers, so the first transcription finds its model;
            # detached, so a slow download never holds up the unit's start (and its failure never fails it).
            if "command" in preload:
                fetch = f"until {' '.join(preload['command'])} {model}; do sleep 10; done"
            else:
                # The key is the container's own variable, read by its shell; it is never written here.
                auth = f'-H "Authorization: Bearer ${preload["auth_env"]}" ' if "auth_env" in preload else ""
                fetch = f"until curl -fsS -X POST {auth}{preload['url']}{model}; do sleep 10; done"
            plan.post_start = ["/usr/bin/podman", "exec", "--detach", plan.service["id"], "sh", "-c", fetch]
        if OPENWEBUI_KEY_VARIABLE in {secret["env_var"] for secret in plan.service["secrets"]}:
            plan.post_start = [
                "/usr/bin/podman",
                "exec",
                "--detach",
                plan.service["id"],
                "python3",
                "-c",
                LITELLM_REGISTERS_OPENWEBUI_KEY.replace("LITELLM_PORT", str(plan.service["port"])),
            ]

    local_models = [
        {
            "id": m["id"],
            "name": m["name"],
            "hf_repo": m["hf_repo"],
            "hf_file": m["hf_file"],
            "ctx_size": m["ctx_size"],
            "ttl": m["ttl"],
            "aliases": sorted(m["aliases"]),
            "flash_attn": m["flash_attn"],
            "mode": m["mode"],
        }
        for m in sorted(snapshot["models"], key=lambda m: m["id"])
        if m["kind"] == "local"
    ]
    llama = by_id["llama-swap"]
    llama_gpu = next(p.gpu for p in plans if p.service["id"] == "llama-swap") is not None
    for model in local_models:
        model["gpu"] = llama_gpu
    litellm_models: list[dict[str, Any]] = []
    for model in sorted(snapshot["models"], key=lambda m: m["id"]):
        if model["kind"] == "cloud":
            # As LiteLLM reads each provider: the key under its parameter (api_key; Bedrock's
            # aws_secret_access_key; Vertex's vertex_credentials), the key's plain fields as they are, its secret
            # fields from their own variables.
            params = {
                "model": model["litellm_model"],
                model["key_param"]: f"os.environ/{model['credential']['env_var']}",
                **model["params"],
                **{secret["param"]: f"os.environ/{secret['env_var']}" for secret in model["param_secrets"]},
            }
        else:
            # llama-swap speaks the OpenAI API and starts the model named in the request.
            params = {
                "model": f"openai/{model['id']}",
                "api_base": f"http://{llama['id']}:{llama['port']}/v1",
                "api_key": "none",
            }
        litellm_models.append({"model_name": model["id"], "litellm_params": params})
    return ReleasePlan(
        snapshot=snapshot,
        network=network,
        containers=plans,
        volumes=sorted(volumes, key=lambda v: v["name"]),
        openwebui_env=owui,
        caddy_sites=sites,
        caddy_publish=caddy_publish,
        caddy_global=caddy_global,
        urls=urls,
        local_models=local_models,
        litellm_models=litellm_models,
    )


# --- documents built as data and dumped as YAML ----------------------------------------------------------------


def litellm_config(plan: ReleasePlan) -> dict[str, Any]:
    by_id = {p.service["id"]: p.service for p in plan.containers}
    redis = by_id["litellm-redis"]
    return {
        "model_list": plan.litellm_models,
        "litellm_settings": {"drop_params": True},
        "router_settings": {"redis_host": redis["id"], "redis_port": redis["port"]},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


def llama_swap_config(plan: ReleasePlan) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for model in plan.local_models:
        cmd = [
            "/app/llama-server",
            "--host",
            "127.0.0.1",
            "--port",
            "${PORT}",
            "--hf-repo",
            model["hf_repo"],
            "--hf-file",
            model["hf_file"],
            "--ctx-size",
            str(model["ctx_size"]),
            "--flash-attn",
            "on" if model["flash_attn"] else "off",
        ]
        if model["gpu"]:
            cmd += ["--n-gpu-layers", hardware.ALL_LAYERS]
        # Without these, llama-server answers 501 to /v1/embeddings and /v1/rerank.
        cmd += {"chat": [], "embedding": ["--embeddings"], "rerank": ["--reranking"]}[model["mode"]]
        entry: dict[str, Any] = {
            "name": model["name"],
            "cmd": " ".join(cmd),
            "proxy": "http://127.0.0.1:${PORT}",
            "ttl": model["ttl"],
        }
        if model["aliases"]:
            entry["aliases"] = model["aliases"]
        models[model["id"]] = entry
    # Large GGUF files download on first use; give llama-server time before llama-swap gives up on it.
    return {"healthCheckTimeout": 600, "logLevel": "info", "models": models}


def searxng_settings(plan: ReleasePlan) -> dict[str, Any]:
    searxng = next(p.service for p in plan.containers if p.service["id"] == "searxng")
    settings: dict[str, Any] = {
        "use_default_settings": True,
        # The secret key comes from SEARXNG_SECRET (a Podman secret), never from this file.
        "server": {
            "bind_address": "0.0.0.0",  # noqa: S104 - inside its container, reached over the stack's network
            "port": searxng["port"],
            "limiter": False,
            "image_proxy": False,
            "public_instance": False,
        },
        # Open WebUI queries /search?format=json; SearXNG answers 403 unless JSON is enabled.
        "search": {"formats": ["html", "json"], "safe_search": 0},
    }
    if "searxng" in plan.urls:
        # Its links and redirects; below a path, SearXNG also takes the path off requests itself.
        settings["server"]["base_url"] = plan.urls["searxng"].rstrip("/") + "/"
    return settings


def cockpit_settings(plan: ReleasePlan) -> dict[str, dict[str, str]]:
    """cockpit.conf for the bastion container: its default (log in over SSH, the image's own auth command),
    the address browsers use (websocket origin check) and, below a path, its UrlRoot."""
    settings: dict[str, dict[str, str]] = {
        "WebService": {
            "ProtocolHeader": "X-Forwarded-Proto",
            "LoginTitle": f"{plan.snapshot['tailnet']['machine']}: log in to host.containers.internal",
            "RequireHost": "true",
        },
        "Negotiate": {"action": "none"},
        "Basic": {"Command": "/container/cockpit-auth-ssh-key"},
        "Ssh-Login": {"Command": "/container/cockpit-auth-ssh-key"},
    }
    url = plan.urls.get("cockpit")
    if url:
        parts = urlsplit(url)
        settings["WebService"]["Origins"] = f"{parts.scheme}://{parts.netloc}"
        path = below_path(plan.snapshot, "cockpit")
        if path:
            settings["WebService"]["UrlRoot"] = f"{path}/"
    return settings


# --- entry point ----------------------------------------------------------------------------------------------


def render(snapshot: Snapshot) -> dict[str, str]:
    """Every file of the release, by path relative to the install directory.

    Raises SnapshotError when the snapshot is not valid and RenderError when a value cannot be written
    safely; in both cases nothing is returned.
    """
    snapshot = validate_snapshot(snapshot)
    plan = plan_release(snapshot)
    env = shared_environment()
    context = {
        "plan": plan,
        "release": snapshot["release"],
        "network": snapshot["network"],
        "start_timeout": START_TIMEOUT_SECONDS,
    }
    files: dict[str, str] = {}

    def emit(path: str, text: str) -> None:
        if path in files:
            raise RenderError(f"two parts of the release both write {path}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            # A lone surrogate (JSON allows "\ud800") cannot be written to a file or uploaded.
            raise RenderError(
                f"{path}: a value holds {text[error.start]!r}, which is not a Unicode character; remove it"
            ) from None
        files[path] = text

    # Config files first: each unit names the secret its files are delivered as, which the bytes decide.
    emit(CADDYFILE, env.get_template("caddy/Caddyfile.j2").render(context))
    documents = {"litellm": litellm_config(plan), "llama-swap": llama_swap_config(plan)}
    if any(p.service["id"] == "searxng" for p in plan.containers):
        documents["searxng"] = searxng_settings(plan)
    documents["cockpit"] = cockpit_settings(plan)
    for container in plan.containers:
        sid = container.service["id"]
        for template_path, path, mount in container.config_files:
            if template_path != CADDYFILE:
                template = env.get_template(f"{sid}/{Path(template_path).name}.j2")
                emit(path, template.render(context, document=documents.get(sid)))
            container.file_secrets.append((file_secret_name(path, files[path]), mount))

    emit(network_file(plan.network), env.get_template("network/network.network.j2").render(context))
    for volume in plan.volumes:
        emit(
            volume_file(volume["name"]),
            env.get_template("volume/volume.volume.j2").render(context, volume=volume),
        )
    for container in plan.containers:
        sid = container.service["id"]
        template = env.select_template([f"{sid}/{sid}.container.j2", "_generic/service.container.j2"])
        emit(container.file, template.render(context, c=container, svc=container.service, owui=plan.openwebui_env))
    return dict(sorted(files.items()))
