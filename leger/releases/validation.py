"""Check a rendered release before it is uploaded: ``validate(files, snapshot) -> list[Problem]``.

Each problem names the file, the line (when there is one) and what to change. The checks read the files
the way the programs that consume them do, with our own parsers, and need no external tool:

- Quadlet units (``quadlet.py``): they parse; only sections and keys Podman 5's generator knows; ``Image=``
  in every container; ``Network=``, ``Volume=`` and ``Requires=`` point at files and units of the release, and
  no unit points at a file beside it (the leger CLI installs only unit files: config files are mounted
  secrets, settings ``Environment=`` lines); every ``Secret=`` is declared in the manifest, and a file secret
  holds its file's bytes; no two services publish one port.
- YAML: LiteLLM's config has ``model_list`` entries with ``model_name`` and ``litellm_params.model`` and keys
  only as ``os.environ/VAR``; llama-swap's config follows the rules its loader enforces
  (shared/reference/llama-swap-config.md); SearXNG answers JSON.
- The stack agrees with itself: every model of the release and every model Open WebUI is told about is in
  LiteLLM's ``model_list``; every local model LiteLLM sends to llama-swap is one of llama-swap's models; every
  Caddy route points at a container and port of the release; no two routes share a port, path or name.
- Open WebUI: every variable its container sets is one Open WebUI v0.12.4 reads
  (``data/openwebui-0.12.4-env.txt``).

In tests and CI the same files also go through the real readers (Podman's quadlet generator and
``caddy validate``, see tests/releases/test_real_tools.py).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from leger.releases import quadlet

OPENWEBUI_VARIABLES_FILE = Path(__file__).resolve().parent / "data" / "openwebui-0.12.4-env.txt"


@cache
def openwebui_variable_names() -> frozenset[str]:
    """Every environment variable Open WebUI v0.12.4 reads (its backend, plus PORT/HOST/UVICORN_WORKERS)."""
    lines = OPENWEBUI_VARIABLES_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def is_openwebui_variable(name: str) -> bool:
    return name in openwebui_variable_names()


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


QUADLET_SUFFIXES = (".container", ".network", ".volume")
OPENWEBUI_UNIT = "openwebui.container"
FILE_SECRET_PREFIX = "leger-file-"  # rendering.FILE_SECRET_PREFIX: validation reads files, not the renderer
LITELLM_CONFIG = "litellm-config.yaml"
LLAMA_SWAP_CONFIG = "llama-swap-config.yaml"
SEARXNG_SETTINGS = "searxng-settings.yml"
CADDYFILE = "Caddyfile"
# Open WebUI variables that name models; each must be a model LiteLLM serves.
MODEL_VARIABLES = ("DEFAULT_MODELS", "TASK_MODEL", "TASK_MODEL_EXTERNAL")


def validate(files: Mapping[str, str], snapshot: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a rendered release, sorted by file and line; an empty list means it may be published."""
    from leger.releases.manifest import build_manifest

    problems: list[Problem] = []
    units = {path: quadlet.parse(text) for path, text in files.items() if path.endswith(QUADLET_SUFFIXES)}
    for path, unit in units.items():
        problems += _check_unit(path, unit, files)
    manifest = build_manifest(snapshot, files)  # type: ignore[arg-type]
    problems += _check_secrets(units, {secret["name"] for secret in manifest["secrets"]})
    problems += _check_published_ports(units)
    problems += _check_openwebui(files, units)

    litellm = _load_yaml(files, LITELLM_CONFIG, problems)
    llama = _load_yaml(files, LLAMA_SWAP_CONFIG, problems)
    litellm_models = _check_litellm(litellm, problems) if litellm is not None else {}
    llama_models = _check_llama_swap(llama, problems) if llama is not None else set()
    problems += _check_models_agree(snapshot, files, litellm, litellm_models, llama_models)
    if SEARXNG_SETTINGS in files:
        searxng = _load_yaml(files, SEARXNG_SETTINGS, problems)
        if searxng is not None:
            problems += _check_searxng(searxng)
    problems += _check_caddy(files, snapshot, units)
    problems += _check_route_clashes(snapshot)
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message))


# --- Quadlet ----------------------------------------------------------------------------------------------------


def _generated_units(files: Iterable[str]) -> dict[str, str]:
    """unit name → the release file that generates it."""
    return {quadlet.unit_name(path): path for path in files if path.endswith(QUADLET_SUFFIXES)}


def _check_unit(path: str, unit: quadlet.UnitFile, files: Mapping[str, str]) -> list[Problem]:
    problems = [Problem(path, p.line, p.message) for p in unit.problems]
    suffix = "." + path.rsplit(".", 1)[-1]
    allowed = quadlet.SECTIONS_BY_SUFFIX[suffix]
    main = quadlet.MAIN_SECTION[suffix]
    for section in unit.sections:
        keys = allowed.get(section.name)
        if keys is None:
            problems.append(
                Problem(
                    path,
                    section.line,
                    f"unknown section [{section.name}] in a {suffix} file; use {', '.join(f'[{s}]' for s in allowed)}",
                )
            )
            continue
        for entry in section.entries:
            known = entry.key in keys or (section.name == "Unit" and entry.key.startswith(quadlet.UNIT_KEY_PREFIXES))
            if not known:
                problems.append(
                    Problem(path, entry.line, f"{entry.key}= is not a key of [{section.name}]; check its spelling")
                )
    if unit.section(main) is None:
        problems.append(Problem(path, None, f"a {suffix} file needs a [{main}] section; add one"))
    required = quadlet.REQUIRED_KEYS.get(suffix)
    if required and unit.section(required[0]) is not None and not unit.values(*required):
        problems.append(
            Problem(
                path,
                unit.section(required[0]).line,
                f"[{required[0]}] needs {required[1]}=; add the image to run, with a pinned tag",
            )  # type: ignore[union-attr]
        )

    generated = _generated_units(files)
    for entry in unit.entries("Container", "Network"):
        if entry.value.endswith(".network") and entry.value not in files:
            problems.append(
                Problem(
                    path,
                    entry.line,
                    f"Network={entry.value} but the release has no {entry.value}; use the release's network file",
                )
            )
    for entry in unit.entries("Container", "Volume"):
        source = entry.value.split(":", 1)[0]
        if source.endswith(".volume") and source not in files:
            problems.append(
                Problem(
                    path, entry.line, f"Volume= uses {source} but the release has no such file; add it or fix the name"
                )
            )
        elif source.startswith("."):
            # The CLI copies only unit files into ~/.config/containers/systemd/, where Quadlet resolves this.
            problems.append(
                Problem(
                    path,
                    entry.line,
                    f"Volume= mounts {source}, a path next to the unit, where the leger CLI installs only unit files; "
                    "deliver the file as Secret=NAME,type=mount,target=PATH",
                )
            )
    for entry in unit.entries("Container", "EnvironmentFile"):
        if not entry.value.startswith("/"):
            problems.append(
                Problem(
                    path,
                    entry.line,
                    f"EnvironmentFile={entry.value} is a path next to the unit, where the leger CLI installs only "
                    "unit files; write the variables as Environment= lines",
                )
            )
    for key in ("Requires", "Wants", "After"):
        for entry in unit.entries("Unit", key):
            for name in entry.value.split():
                if name.endswith(".service") and name not in generated:
                    problems.append(
                        Problem(
                            path,
                            entry.line,
                            f"{key}={name} but no file of the release generates {name}; "
                            f"add its .container/.volume/.network file or remove the dependency",
                        )
                    )
    return problems


def _secret_name(value: str) -> str:
    return value.split(",", 1)[0].strip()


def _check_secrets(units: Mapping[str, quadlet.UnitFile], declared: set[str]) -> list[Problem]:
    problems = []
    for path, unit in units.items():
        for entry in unit.entries("Container", "Secret"):
            options = dict(part.split("=", 1) for part in entry.value.split(",")[1:] if "=" in part)
            name = _secret_name(entry.value)
            if name not in declared and name.startswith(FILE_SECRET_PREFIX):
                # The manifest names each config file's secret after the file's bytes as they are now.
                problems.append(
                    Problem(
                        path,
                        entry.line,
                        f"Secret={name} names a config file that changed after it was rendered (its bytes no longer "
                        "give this name); render the release again instead of editing files",
                    )
                )
            elif name not in declared:
                problems.append(
                    Problem(
                        path,
                        entry.line,
                        f"Secret={name} is not declared in the manifest's secrets, so the machine would not create it; "
                        "remove the line or give the release that secret",
                    )
                )
            kind, target = options.get("type"), options.get("target", "")
            if not (kind == "env" and target) and not (kind == "mount" and target.startswith("/")):
                problems.append(
                    Problem(
                        path,
                        entry.line,
                        f"Secret={name} must be type=env with a target variable, or type=mount with an absolute target",
                    )
                )
    return problems


def _published(value: str) -> tuple[str, int] | None:
    """(host address, host port) of a PublishPort= value, or None for a container-only port."""
    parts = value.rsplit("/", 1)[0].split(":")
    if len(parts) == 3 and parts[1]:
        return parts[0] or "0.0.0.0", int(parts[1])  # noqa: S104 - Podman's default, compared not bound
    if len(parts) == 2:
        return "0.0.0.0", int(parts[0])  # noqa: S104
    return None


# Tailscale gives machines addresses in these ranges (CGNAT space and its ULA prefix).
_TAILNET_RANGES = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("fd7a:115c:a1e0::/48"))


def _tailnet_or_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or any(ip in network for network in _TAILNET_RANGES)


def _check_published_ports(units: Mapping[str, quadlet.UnitFile]) -> list[Problem]:
    problems = []
    taken: dict[int, list[tuple[str, str, str]]] = defaultdict(list)  # port → [(address, service, file)]
    for path, unit in sorted(units.items()):
        if not path.endswith(".container"):
            continue
        service = path.removesuffix(".container")
        for entry in unit.entries("Container", "PublishPort"):
            try:
                published = _published(entry.value)
            except ValueError:
                problems.append(Problem(path, entry.line, f"PublishPort={entry.value} is not [ip:]hostPort:port"))
                continue
            if published is None:
                continue
            address, port = published
            if not _tailnet_or_loopback(address):
                problems.append(
                    Problem(
                        path,
                        entry.line,
                        f"PublishPort={entry.value} listens on {address}, reachable from the LAN or the internet; "
                        "publish on the machine's Tailscale address (or 127.0.0.1) only",
                    )
                )
            for other_address, other, _ in taken[port]:
                if address == other_address or "0.0.0.0" in (address, other_address):  # noqa: S104
                    problems.append(
                        Problem(
                            path,
                            entry.line,
                            f"port {port} is published by both {other} and {service}; give one of them another port",
                        )
                    )
            taken[port].append((address, service, path))
    return problems


# --- Open WebUI -------------------------------------------------------------------------------------------------


def _unit_environment(unit: quadlet.UnitFile | None, path: str, problems: list[Problem]) -> list[tuple[int, str, str]]:
    """(line, name, value) of every ``Environment=`` word of a unit; unreadable lines become problems."""
    entries: list[tuple[int, str, str]] = []
    if unit is None:
        return entries
    for entry in unit.entries("Container", "Environment"):
        try:
            words = quadlet.split_words(entry.value)
        except ValueError as exc:
            problems.append(Problem(path, entry.line, f"Environment= cannot be read: {exc}"))
            continue
        for word in words:
            name, _, value = word.partition("=")
            entries.append((entry.line, name, value))
    return entries


def _check_openwebui(files: Mapping[str, str], units: Mapping[str, quadlet.UnitFile]) -> list[Problem]:
    problems: list[Problem] = []
    unit = units.get(OPENWEBUI_UNIT)
    if unit is None:
        return [Problem(OPENWEBUI_UNIT, None, "the release has no openwebui.container; Open WebUI would not run")]
    seen: dict[str, int] = {}
    for line, name, _ in _unit_environment(unit, OPENWEBUI_UNIT, problems):
        if not is_openwebui_variable(name):
            problems.append(
                Problem(OPENWEBUI_UNIT, line, f"Open WebUI v0.12.4 does not read {name}; remove it or fix the name")
            )
        if name in seen:
            problems.append(
                Problem(OPENWEBUI_UNIT, line, f"{name} is set twice (first on line {seen[name]}); keep one")
            )
        seen.setdefault(name, line)
    for entry in unit.entries("Container", "Secret"):
        options = dict(p.split("=", 1) for p in entry.value.split(",")[1:] if "=" in p)
        target = options.get("target", "")
        if options.get("type") == "env" and target and not is_openwebui_variable(target):
            problems.append(
                Problem(
                    OPENWEBUI_UNIT, entry.line, f"the secret fills {target}, which Open WebUI v0.12.4 does not read"
                )
            )
    return problems


# --- YAML -------------------------------------------------------------------------------------------------------


class _Lines(dict):  # type: ignore[type-arg]
    """A mapping that remembers on which line it and each of its keys start."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Lines:
    mapping = _Lines(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(files: Mapping[str, str], path: str, problems: list[Problem]) -> Any:
    text = files.get(path)
    if text is None:
        problems.append(Problem(path, None, "the release has no such file, but its program needs it"))
        return None
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return problems.append(Problem(path, mark.line + 1 if mark else None, f"not valid YAML: {exc}"))


def _line(mapping: Any, key: str | None = None) -> int | None:
    if isinstance(mapping, _Lines):
        return mapping.key_lines.get(key, mapping.line) if key else mapping.line
    return None


def _check_litellm(config: Any, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    """LiteLLM's proxy config; returns model_name → its entry."""
    path = LITELLM_CONFIG
    if not isinstance(config, dict):
        problems.append(Problem(path, None, "must be a mapping with model_list"))
        return {}
    models: dict[str, dict[str, Any]] = {}
    entries = config.get("model_list")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(path, _line(config, "model_list"), "model_list must be a non-empty list of models"))
        return {}
    for index, entry in enumerate(entries):
        where = f"model_list[{index}]"
        if not isinstance(entry, dict):
            problems.append(Problem(path, _line(config, "model_list"), f"{where} must be a mapping"))
            continue
        name = entry.get("model_name")
        params = entry.get("litellm_params")
        if not isinstance(name, str) or not name:
            problems.append(Problem(path, _line(entry), f"{where} needs model_name, the name clients ask for"))
        if isinstance(name, str):
            if name in models:
                problems.append(Problem(path, _line(entry), f"model_name {name!r} appears twice"))
            models[name] = entry
        if not isinstance(params, dict) or not isinstance(params.get("model"), str) or not params.get("model"):
            problems.append(
                Problem(path, _line(entry), f"{where} needs litellm_params.model, e.g. anthropic/claude-3-haiku")
            )
            continue
        key = params.get("api_key")
        if (
            key is not None
            and key != "none"
            and not (isinstance(key, str) and re.fullmatch(r"os\.environ/[A-Z][A-Z0-9_]*", key))
        ):
            problems.append(
                Problem(path, _line(params, "api_key"), f"{where}: api_key must be os.environ/VAR, never a key itself")
            )
    general = config.get("general_settings")
    master = general.get("master_key") if isinstance(general, dict) else None
    if master is not None and not (isinstance(master, str) and master.startswith("os.environ/")):
        problems.append(Problem(path, _line(general, "master_key"), "master_key must be os.environ/VAR"))
    return models


LLAMA_SWAP_TOP_KEYS = _words(
    """
    healthCheckTimeout logRequests logLevel logTimeFormat logToStdout metricsMaxInMemory captureBuffer globalTTL
    startPort macros models profiles groups matrix hooks sendLoadingState includeAliasesInList apiKeys peers
    """
)
LLAMA_SWAP_MODEL_KEYS = _words(
    """
    cmd cmdStop proxy aliases env checkEndpoint ttl unlisted useModelName name description concurrencyLimit
    filters macros metadata sendLoadingState timeouts
    """
)
_MACRO = re.compile(r"\$\{([^}]*)\}")


def _check_llama_swap(config: Any, problems: list[Problem]) -> set[str]:
    """llama-swap's config as its loader checks it; returns the names it answers to (ids and aliases)."""
    path = LLAMA_SWAP_CONFIG
    if not isinstance(config, dict):
        problems.append(Problem(path, None, "must be a mapping with models"))
        return set()
    for key in config:
        if key not in LLAMA_SWAP_TOP_KEYS:
            problems.append(
                Problem(path, _line(config, key), f"{key} is not a llama-swap setting (it would be ignored)")
            )
    if config.get("logLevel", "info") not in ("debug", "info", "warn", "error"):
        problems.append(Problem(path, _line(config, "logLevel"), "logLevel must be debug, info, warn or error"))
    if config.get("logToStdout", "proxy") not in ("proxy", "upstream", "both", "none"):
        problems.append(
            Problem(path, _line(config, "logToStdout"), "logToStdout must be proxy, upstream, both or none")
        )
    for key, minimum in (("globalTTL", 0), ("startPort", 1), ("healthCheckTimeout", 0)):
        value = config.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
            problems.append(Problem(path, _line(config, key), f"{key} must be a whole number of at least {minimum}"))
    macros = config.get("macros") or {}
    if not isinstance(macros, dict):
        problems.append(Problem(path, _line(config, "macros"), "macros must map names to values"))
        macros = {}
    for name in macros:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", str(name)):
            problems.append(Problem(path, _line(macros, name), f"macro name {name!r} may use letters, digits, _ and -"))
    models = config.get("models")
    if not isinstance(models, dict):
        problems.append(Problem(path, _line(config, "models"), "models must map model ids to models"))
        return set()
    names: set[str] = set(models)
    alias_owner: dict[str, str] = {}
    for model_id, model in models.items():
        if not isinstance(model, dict):
            problems.append(Problem(path, _line(models, model_id), f"model {model_id!r} must be a mapping"))
            continue
        for key in model:
            if key not in LLAMA_SWAP_MODEL_KEYS:
                problems.append(
                    Problem(path, _line(model, key), f"model {model_id!r}: {key} is not a model setting (ignored)")
                )
        cmd = model.get("cmd")
        if not isinstance(cmd, str) or not cmd.strip():
            problems.append(Problem(path, _line(model), f"model {model_id!r} needs cmd, the command that serves it"))
            cmd = ""
        proxy = model.get("proxy", "http://localhost:${PORT}")
        if not isinstance(proxy, str):
            problems.append(Problem(path, _line(model, "proxy"), f"model {model_id!r}: proxy must be a URL"))
            proxy = ""
        if "${PORT}" in proxy and "${PORT}" not in cmd:
            problems.append(
                Problem(
                    path, _line(model, "proxy"), f"model {model_id!r}: proxy uses ${{PORT}} so cmd must pass ${{PORT}}"
                )
            )
        local_macros = model.get("macros") if isinstance(model.get("macros"), dict) else {}
        known = {"PORT", "MODEL_ID", *map(str, macros), *map(str, local_macros)}
        for key in ("cmd", "proxy", "checkEndpoint", "cmdStop"):
            value = model.get(key)
            if not isinstance(value, str):
                continue
            for macro in _MACRO.findall(value):
                if macro in known or (key == "cmdStop" and macro == "PID") or macro.startswith("env."):
                    continue
                problems.append(
                    Problem(
                        path, _line(model, key), f"model {model_id!r}: {key} uses ${{{macro}}}, which is not defined"
                    )
                )
        url = urlsplit(proxy.replace("${PORT}", "5800"))
        if proxy and (url.scheme not in ("http", "https") or not url.hostname):
            problems.append(Problem(path, _line(model, "proxy"), f"model {model_id!r}: proxy {proxy!r} is not a URL"))
        ttl = model.get("ttl", -1)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < -1:
            problems.append(Problem(path, _line(model, "ttl"), f"model {model_id!r}: ttl must be seconds (>= 0) or -1"))
        for alias in model.get("aliases") or []:
            first = alias_owner.setdefault(str(alias), model_id)
            if first != model_id:
                problems.append(
                    Problem(
                        path, _line(model, "aliases"), f"alias {alias!r} belongs to both {first!r} and {model_id!r}"
                    )
                )
            names.add(str(alias))
    groups = config.get("groups") or {}
    member_of: dict[str, str] = {}
    for group, spec in groups.items() if isinstance(groups, dict) else []:
        for member in (spec or {}).get("members", []) if isinstance(spec, dict) else []:
            first = member_of.setdefault(member, group)
            if first != group or member not in models:
                problems.append(
                    Problem(
                        path, _line(groups, group), f"group {group!r}: model {member!r} is unknown or in two groups"
                    )
                )
    return names


def _check_searxng(settings: Any) -> list[Problem]:
    formats = settings.get("search", {}).get("formats", []) if isinstance(settings, dict) else []
    if "json" not in formats:
        line = _line(settings.get("search"), "formats") if isinstance(settings, dict) else None
        return [Problem(SEARXNG_SETTINGS, line, "search.formats must include json: Open WebUI reads JSON results")]
    return []


def _check_models_agree(
    snapshot: Mapping[str, Any],
    files: Mapping[str, str],
    litellm: Any,
    litellm_models: Mapping[str, dict[str, Any]],
    llama_models: set[str],
) -> list[Problem]:
    problems: list[Problem] = []
    if litellm is None:
        return problems
    for model in snapshot["models"]:
        if model["id"] not in litellm_models:
            problems.append(
                Problem(
                    LITELLM_CONFIG,
                    _line(litellm, "model_list"),
                    f"the release's model {model['id']!r} is not in model_list; add an entry for it",
                )
            )
    llama_hosts = {"llama-swap"}
    for name, entry in litellm_models.items():
        params = entry.get("litellm_params", {})
        base = params.get("api_base") if isinstance(params, dict) else None
        if isinstance(base, str) and urlsplit(base).hostname in llama_hosts:
            upstream = str(params.get("model", "")).split("/", 1)[-1]
            if upstream not in llama_models:
                problems.append(
                    Problem(
                        LITELLM_CONFIG,
                        _line(params, "model"),
                        f"{name!r} is routed to llama-swap as {upstream!r}, which llama-swap's config does not define",
                    )
                )
    unit = quadlet.parse(files[OPENWEBUI_UNIT]) if OPENWEBUI_UNIT in files else None
    for number, variable, value in _unit_environment(unit, OPENWEBUI_UNIT, []):
        if variable not in MODEL_VARIABLES or not value:
            continue
        for model in (part.strip() for part in value.split(",")):
            if model and model not in litellm_models:
                problems.append(
                    Problem(
                        OPENWEBUI_UNIT,
                        number,
                        f"{variable} names {model!r}, which LiteLLM does not serve; choose one of the release's models",
                    )
                )
    return problems


# --- Caddy ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Upstream:
    line: int
    host: str
    port: int | None
    site: str
    path: str


def _caddy_blocks(text: str) -> tuple[list[tuple[int, str]], list[_Upstream], list[Problem]]:
    """Site addresses (line, address) and reverse_proxy upstreams of a Caddyfile we generate."""
    sites: list[tuple[int, str]] = []
    upstreams: list[_Upstream] = []
    problems: list[Problem] = []
    depth = 0
    site = ""
    path = "/"
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if depth == 0 and line != "{" and line.endswith("{"):
            site = " ".join(words[:-1])
            sites.append((number, site))
            path = "/"
        if depth == 1 and words[0] in ("handle_path", "handle"):
            path = words[1].removesuffix("/*") if len(words) > 2 else "/"
        if words[0] == "reverse_proxy" and len(words) > 1:
            target = words[1]
            parts = urlsplit(target if "://" in target else f"http://{target}")
            try:
                port = parts.port
            except ValueError:
                port = None
            upstreams.append(_Upstream(number, parts.hostname or "", port, site, path))
        depth += line.count("{") - line.count("}")
        if depth < 0:
            problems.append(Problem(CADDYFILE, number, "a closing brace without an opening one"))
            depth = 0
    if depth:
        problems.append(Problem(CADDYFILE, None, "a block is not closed; add the missing }"))
    return sites, upstreams, problems


def _check_caddy(
    files: Mapping[str, str], snapshot: Mapping[str, Any], units: Mapping[str, quadlet.UnitFile]
) -> list[Problem]:
    text = files.get(CADDYFILE)
    if text is None:
        return [Problem(CADDYFILE, None, "the release has no Caddyfile, so no service is reachable")]
    sites, upstreams, problems = _caddy_blocks(text)
    first_site: dict[str, int] = {}
    for number, address in sites:
        if address in first_site:
            problems.append(
                Problem(
                    CADDYFILE,
                    number,
                    f"{address} is defined twice (first on line {first_site[address]}); "
                    "give each service its own address",
                )
            )
        first_site.setdefault(address, number)
    containers: dict[str, int] = {}
    for path, unit in units.items():
        if path.endswith(".container"):
            name = next(iter(unit.values("Container", "ContainerName")), path.removesuffix(".container"))
            service = next((s for s in _all_services(snapshot) if s["id"] == name), None)
            containers[name] = service["port"] if service else 0
    seen_routes: dict[tuple[str, str], tuple[int, str]] = {}
    for upstream in upstreams:
        if upstream.host not in containers:
            problems.append(
                Problem(
                    CADDYFILE,
                    upstream.line,
                    f"reverse_proxy to {upstream.host!r}, which is no container of the release; "
                    "route to one of its containers",
                )
            )
        elif upstream.port != containers[upstream.host]:
            problems.append(
                Problem(
                    CADDYFILE,
                    upstream.line,
                    f"reverse_proxy to {upstream.host}:{upstream.port} but {upstream.host} listens on "
                    f"{containers[upstream.host]}",
                )
            )
        key = (upstream.site, upstream.path)
        if key in seen_routes:
            problems.append(
                Problem(
                    CADDYFILE,
                    upstream.line,
                    f"{upstream.site}{'' if upstream.path == '/' else upstream.path} routes to both "
                    f"{seen_routes[key][1]} and {upstream.host}",
                )
            )
        seen_routes.setdefault(key, (upstream.line, upstream.host))
    return problems


def _all_services(snapshot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    from leger.releases.snapshot import containers

    return list(containers(snapshot))  # type: ignore[arg-type]


def _check_route_clashes(snapshot: Mapping[str, Any]) -> list[Problem]:
    """Two exposed services on one port, path or name, named by service (what the wizard shows)."""
    mode = snapshot["tailnet"]["exposure"]
    field, what = {"port": ("port", "port"), "path": ("path", "path"), "subdomain": ("subdomain", "subdomain")}[mode]
    owner: dict[Any, str] = {}
    problems = []
    for route in snapshot["routes"]:
        if not route["exposed"]:
            continue
        first = owner.setdefault(route[field], route["service"])
        if first != route["service"]:
            problems.append(
                Problem(
                    CADDYFILE,
                    None,
                    f"{first} and {route['service']} are both exposed on {what} {route[field]}; "
                    f"give one of them another {what}",
                )
            )
    return problems
