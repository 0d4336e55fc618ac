"""LiteLLM's model registry, read and checked without importing LiteLLM, and held up against catalog names.

LiteLLM ships its registry as ``litellm/model_prices_and_context_window_backup.json`` in every package (and
publishes the same file at a fixed URL): one object per model key, e.g.::

    "claude-haiku-4-5": {"litellm_provider": "anthropic", "mode": "chat", "max_input_tokens": 200000,
                          "max_output_tokens": 64000, "input_cost_per_token": 1e-06, "supports_vision": true, ...}

Importing LiteLLM to read it would load hundreds of modules (and open network connections at import time), so
this module finds the file through the package's metadata and parses it with ``json`` alone. Nothing here touches
the database: :func:`parse_registry` turns bytes into a :class:`Registry` or raises :class:`RegistryError` naming
what is wrong; the sync (``registry_sync``) decides what that means for the catalog.

Matching a catalog model string (``anthropic/claude-haiku-4-5``) to a registry entry follows LiteLLM's own exact
lookups: the whole string, then the string without its provider prefix, each also case-insensitively, accepting an
entry whose ``litellm_provider`` is of the same family as the prefix (``vertex_ai`` and ``vertex_ai-language-models``,
``bedrock`` and ``bedrock_converse``). LiteLLM's rule-derived guesses for unlisted models are not a listing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import re
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

REGISTRY_FILE = "model_prices_and_context_window_backup.json"
# The key LiteLLM keeps as documentation of the format, not a model.
SAMPLE_KEY = "sample_spec"
MAX_PROBLEMS = 20
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
# A registry smaller than this is a truncated download or the wrong file: syncing it would retire most models.
DEFAULT_MIN_ENTRIES = 1000

MILLION = Decimal(1_000_000)
PRICE_QUANTUM = Decimal("0.0001")  # the catalog's price columns: 4 decimal places, per million tokens
MAX_TOKENS = 2**31 - 1  # the catalog's token columns are PostgreSQL integers
# A dollar a token is no model's price (and would overflow the price columns): such a value is a broken registry.
MAX_COST_PER_TOKEN = Decimal(1)

# The registry fields the catalog reads, and the JSON type each must have when present.
INT_FIELDS = ("max_input_tokens", "max_output_tokens", "output_vector_size")
COST_FIELDS = ("input_cost_per_token", "output_cost_per_token")
FLAG_FIELDS = (
    "supports_vision",
    "supports_function_calling",
    "supports_reasoning",
    "supports_audio_input",
    "supports_audio_output",
)
TEXT_FIELDS = ("litellm_provider", "mode", "successor_model", "alias_of")

# LiteLLM treats these registry providers as one for lookups (utils._check_provider_match).
_FAMILY_PREFIXES = ("vertex_ai", "bedrock", "fireworks_ai")
_FAMILY_ALIASES = {"cohere_chat": "cohere"}


class RegistryError(Exception):
    """The registry could not be read or is not one LiteLLM would load; ``problems`` says why, one per line."""

    def __init__(self, problems: list[str], *, truncated: bool = False) -> None:
        self.problems = problems
        self.truncated = truncated
        lines = list(problems)
        if truncated:
            lines.append(f"(stopped after {len(problems)} problems)")
        super().__init__("\n".join(lines))


# --- where the registry comes from ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrySource:
    """The registry's bytes and where they came from."""

    location: str
    data: bytes
    litellm_version: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def label(self) -> str:
        return f"LiteLLM {self.litellm_version}" if self.litellm_version else self.location


def packaged_registry_path() -> tuple[Path, str]:
    """The registry file of the installed ``litellm`` package and that package's version, without importing it."""
    try:
        distribution = importlib.metadata.distribution("litellm")
    except importlib.metadata.PackageNotFoundError:
        raise RegistryError(
            ["the litellm package is not installed: install it (pip install litellm) or give --url or --file"]
        ) from None
    for file in distribution.files or ():
        if file.name == REGISTRY_FILE and file.parent.name == "litellm":
            path = Path(str(distribution.locate_file(file)))
            if path.is_file():
                return path, distribution.version
    # An install without a RECORD (some system packages): the file sits beside the package's __init__.py.
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / REGISTRY_FILE
        if path.is_file():
            return path, distribution.version
    raise RegistryError([f"the installed litellm {distribution.version} has no {REGISTRY_FILE}"])


def read_packaged() -> RegistrySource:
    path, version = packaged_registry_path()
    return RegistrySource(location=str(path), data=path.read_bytes(), litellm_version=version)


def read_file(path: Path) -> RegistrySource:
    try:
        return RegistrySource(location=str(path), data=Path(path).read_bytes())
    except OSError as exc:
        raise RegistryError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None


def fetch_url(url: str, *, timeout: float = 30) -> RegistrySource:
    if not url.startswith(("https://", "http://", "file://")):
        raise RegistryError([f"{url}: not an http(s) or file URL"])
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise RegistryError([f"{url}: cannot be fetched ({exc})"]) from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise RegistryError([f"{url}: larger than {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB; not a model registry"])
    return RegistrySource(location=url, data=data)


# --- one entry ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What the catalog reads from one registry entry, already checked."""

    key: str
    provider: str
    mode: str
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_cost_per_token: Decimal | None = None
    output_cost_per_token: Decimal | None = None
    output_vector_size: int | None = None
    flags: Mapping[str, bool] = field(default_factory=dict)
    output_modalities: tuple[str, ...] = ()
    deprecation_date: date | None = None
    successor_model: str = ""
    alias_of: str = ""

    @property
    def input_price(self) -> Decimal | None:
        return per_million(self.input_cost_per_token)

    @property
    def output_price(self) -> Decimal | None:
        return per_million(self.output_cost_per_token)

    def is_deprecated(self, today: date) -> bool:
        return self.deprecation_date is not None and self.deprecation_date <= today


def per_million(cost_per_token: Decimal | None) -> Decimal | None:
    if cost_per_token is None:
        return None
    return (cost_per_token * MILLION).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entry(key: str, raw: Any, problems: list[str]) -> Entry | None:
    """Check one entry's fields the catalog reads; record each problem and return None when there is one."""
    where = f"entry {key!r}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object, not {type(raw).__name__}")
        return None
    before = len(problems)
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{where}: {name} must be a string, not {value!r}")
    for name in INT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        if not _is_int(value) or not 0 <= value <= MAX_TOKENS:
            problems.append(f"{where}: {name} must be a whole number from 0 to {MAX_TOKENS}, not {value!r}")
    for name in COST_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not (_is_int(value) or isinstance(value, Decimal)) or not 0 <= value < MAX_COST_PER_TOKEN:
            problems.append(
                f"{where}: {name} must be a number of dollars per token, at least 0 and below 1, not {value!r}"
            )
    for name in FLAG_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, bool):
            problems.append(f"{where}: {name} must be true or false, not {value!r}")
    modalities = raw.get("supported_output_modalities")
    if modalities is not None and not (
        isinstance(modalities, list) and all(isinstance(item, str) for item in modalities)
    ):
        problems.append(f"{where}: supported_output_modalities must be a list of strings")
    deprecation = raw.get("deprecation_date")
    deprecation_date = None
    if deprecation is not None:
        try:
            if not isinstance(deprecation, str):
                raise ValueError
            deprecation_date = date.fromisoformat(deprecation)
        except ValueError:
            problems.append(f"{where}: deprecation_date must be a date YYYY-MM-DD, not {deprecation!r}")
    if len(problems) > before:
        return None

    def whole(name: str) -> int | None:
        value = raw.get(name)
        return None if value is None else int(value)

    def cost(name: str) -> Decimal | None:
        value = raw.get(name)
        return None if value is None else Decimal(value)

    return Entry(
        key=key,
        provider=raw.get("litellm_provider") or "",
        mode=raw.get("mode") or "",
        max_input_tokens=whole("max_input_tokens"),
        max_output_tokens=whole("max_output_tokens"),
        input_cost_per_token=cost("input_cost_per_token"),
        output_cost_per_token=cost("output_cost_per_token"),
        output_vector_size=whole("output_vector_size"),
        flags={name: raw[name] for name in FLAG_FIELDS if raw.get(name) is not None},
        output_modalities=tuple(modalities or ()),
        deprecation_date=deprecation_date,
        successor_model=raw.get("successor_model") or "",
        alias_of=raw.get("alias_of") or "",
    )


# --- the whole registry ------------------------------------------------------------------------------------------


def provider_family(name: str) -> str:
    name = _FAMILY_ALIASES.get(name, name)
    for prefix in _FAMILY_PREFIXES:
        if name.startswith(prefix):
            return prefix
    return name


class Registry:
    """Checked entries by key, with LiteLLM's exact lookups for a catalog model string."""

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self.entries = dict(entries)
        self._lower: dict[str, str] = {}
        for key in sorted(self.entries):
            self._lower.setdefault(key.lower(), key)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def _get(self, candidate: str) -> Entry | None:
        entry = self.entries.get(candidate)
        if entry is None and candidate.lower() in self._lower:
            entry = self.entries[self._lower[candidate.lower()]]
        return entry

    def lookup(self, model: str) -> Entry | None:
        """The entry LiteLLM prices ``model`` (``provider/name``) by, or None when the registry does not list it."""
        prefix, _, rest = model.partition("/")
        family = provider_family(prefix) if rest else ""
        for candidate in (model, rest) if rest else (model,):
            entry = self._get(candidate)
            if entry is not None and (not family or not entry.provider or provider_family(entry.provider) == family):
                return entry
        return None


def parse_registry(data: bytes, *, min_entries: int = DEFAULT_MIN_ENTRIES) -> Registry:
    """Parse and check the registry's bytes; raise :class:`RegistryError` listing up to 20 problems."""
    try:
        document = json.loads(data, parse_float=Decimal, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise RegistryError([f"not UTF-8 text: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise RegistryError([f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    except ValueError as exc:  # NaN or Infinity, refused by _reject_constant
        raise RegistryError([f"invalid JSON: {exc}"]) from None
    if not isinstance(document, dict):
        raise RegistryError([f"must be a JSON object of model entries, not {type(document).__name__}"])

    problems: list[str] = []
    entries: dict[str, Entry] = {}
    for key, raw in document.items():
        if key == SAMPLE_KEY:
            continue
        entry = _entry(key, raw, problems)
        if len(problems) >= MAX_PROBLEMS:
            raise RegistryError(problems[:MAX_PROBLEMS], truncated=True)
        if entry is not None:
            entries[key] = entry
    if problems:
        raise RegistryError(problems)
    if len(entries) < min_entries:
        raise RegistryError(
            [f"holds {len(entries)} model entries, fewer than the {min_entries} a whole registry has; not syncing"]
        )
    return Registry(entries)


# --- catalog names for registry entries ----------------------------------------------------------------------------

# Bedrock keys of one model in one region group (us.anthropic..., global.anthropic...), Azure's regional
# deployments and per-region Bedrock paths: the catalog offers the plain model, the region is the user's setting.
_REGIONAL = re.compile(r"^(?:(?:us|eu|apac|au|jp|global|us-gov|ca|sa)\.|[a-z_]+/(?:[a-z]{2}-[a-z-]+-\d|us|eu|global)/)")
_DATED = re.compile(r"(?:[-@](?:20\d\d-?[01]\d-?[0-3]\d))$")
_VERSIONED = re.compile(r"(?:-v?\d+:\d+|:\d+|@[a-z0-9._-]+)$")  # …-v1:0, …-1:0, Vertex's @001 and @default
_BEDROCK_VERSIONED = re.compile(r"-v\d+$")
_INVALID = re.compile(r"[^a-z0-9._-]+")

# Model-string prefixes LiteLLM routes by, for registry providers whose entries name another (bedrock_converse
# entries are called as bedrock/..., vertex_ai-language-models as vertex_ai/...).
_ROUTE_PREFIX = {"bedrock_converse": "bedrock"}

# A model's maker, from the namespace before its name (anthropic.claude-..., Qwen/Qwen3-...).
MAKER_NAMESPACES = {
    "amazon": "amazon",
    "anthropic": "anthropic",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "deepseek-ai": "deepseek",
    "google": "google",
    "ibm": "ibm",
    "ibm-granite": "ibm",
    "meta": "meta",
    "meta-llama": "meta",
    "mistral": "mistral",
    "mistralai": "mistral",
    "moonshotai": "moonshotai",
    "nomic-ai": "nomic",
    "openai": "openai",
    "qwen": "qwen",
    "x-ai": "xai",
    "xai": "xai",
    "zai-org": "zai",
}
# ... or from how its name starts, first match wins.
MAKER_NAME_PREFIXES = (
    ("claude", "anthropic"),
    ("gpt", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-3", "openai"),
    ("text-embedding-ada", "openai"),
    ("gemini", "google"),
    ("gemma", "google"),
    ("text-embedding-0", "google"),
    ("text-multilingual-embedding", "google"),
    ("grok", "xai"),
    ("deepseek", "deepseek"),
    ("magistral", "mistral"),
    ("mistral", "mistral"),
    ("ministral", "mistral"),
    ("codestral", "mistral"),
    ("devstral", "mistral"),
    ("pixtral", "mistral"),
    ("mixtral", "mistral"),
    ("open-mistral", "mistral"),
    ("voxtral", "mistral"),
    ("llama", "meta"),
    ("qwen", "qwen"),
    ("qwq", "qwen"),
    ("kimi", "moonshotai"),
    ("glm", "zai"),
    ("command", "cohere"),
    ("embed-english", "cohere"),
    ("embed-multilingual", "cohere"),
    ("embed-v", "cohere"),
    ("c4ai-aya", "cohere"),
    ("voyage", "voyage"),
    ("nova", "amazon"),
    ("titan", "amazon"),
    ("sonar", "perplexity"),
    ("granite", "ibm"),
    ("nomic", "nomic"),
)


def route_prefix(registry_provider: str) -> str:
    """The prefix a model string for an entry of ``registry_provider`` starts with."""
    return _ROUTE_PREFIX.get(registry_provider, registry_provider.split("-")[0])


def model_string(entry: Entry) -> str:
    """The model string a catalog offering of ``entry`` routes by: ``<prefix>/<key>``, the key's own prefix kept."""
    prefix = route_prefix(entry.provider)
    return entry.key if entry.key.startswith(f"{prefix}/") else f"{prefix}/{entry.key}"


def is_regional(key: str) -> bool:
    return bool(_REGIONAL.match(key))


def _bare_name(key: str, registry_provider: str) -> tuple[str, str]:
    """(namespace, name) of a registry key: ``deepinfra/anthropic/claude-opus-4-8`` → (anthropic, claude-opus-4-8)."""
    name = key
    for prefix in {registry_provider, route_prefix(registry_provider)}:
        if prefix and name.startswith(f"{prefix}/"):
            name = name[len(prefix) + 1 :]
    name = name.removeprefix("accounts/fireworks/models/")
    namespace = ""
    if "/" in name:
        namespace, _, name = name.rpartition("/")
        namespace = namespace.split("/")[-1]
    elif provider_family(registry_provider) == "bedrock" and "." in name:
        head, _, tail = name.partition(".")
        if head.isalpha() or head in MAKER_NAMESPACES:
            namespace, name = head, tail
    return namespace.lower(), name


def group_key(key: str, registry_provider: str) -> str:
    """One model's name across providers and snapshots: ``anthropic.claude-opus-4-1-20250805-v1:0`` and
    ``vertex_ai/claude-opus-4-1@20250805`` are both ``claude-opus-4-1``."""
    namespace, name = _bare_name(key, registry_provider)
    name = name.lower()
    for _ in range(2):  # a date, then a version after it (…-20250514-v1:0)
        name = _VERSIONED.sub("", name)
        if provider_family(registry_provider) == "bedrock":
            name = _BEDROCK_VERSIONED.sub("", name)
        name = _DATED.sub("", name)
    if namespace in MAKER_NAMESPACES and not _maker_by_name(name):
        # deepseek.r1-v1:0 is DeepSeek's R1: the bare "r1" would name nothing.
        name = f"{MAKER_NAMESPACES[namespace]}-{name}"
    name = _INVALID.sub("-", name).strip("-._")
    return re.sub(r"-{2,}", "-", name)


def maker_of(key: str, registry_provider: str) -> str:
    """The maker id of the model ``key`` names, or "" when neither its namespace nor its name tells."""
    namespace, name = _bare_name(key, registry_provider)
    if namespace in MAKER_NAMESPACES:
        return MAKER_NAMESPACES[namespace]
    return _maker_by_name(name)


def _maker_by_name(name: str) -> str:
    name = name.lower()
    for prefix, maker in MAKER_NAME_PREFIXES:
        if name.startswith(prefix):
            return maker
    return ""


_UPPER_WORDS = {"gpt", "glm", "oss", "vl", "r1", "ai", "xl", "tts"}


def display_name(key: str, registry_provider: str) -> str:
    """A readable name for a model known only from the registry: ``claude-opus-4-8`` → ``Claude Opus 4.8``."""
    name = group_key(key, registry_provider)
    words: list[str] = []
    for word in name.split("-"):
        if words and word.isdigit() and len(word) <= 2 and words[-1].replace(".", "").isdigit():
            words[-1] = f"{words[-1]}.{word}"  # claude-opus-4-8: the version 4.8, not "4 8"
        elif word in _UPPER_WORDS or re.fullmatch(r"\d+(?:\.\d+)?[bmk]|a\d+b", word):
            words.append(word.upper())
        elif word[:1].isalpha():
            words.append(word[:1].upper() + word[1:])
        else:
            words.append(word)
    text = " ".join(words)
    return re.sub(r"^GPT (\S)", r"GPT-\1", text)
