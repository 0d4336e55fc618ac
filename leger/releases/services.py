"""Writes of the releases section: drafts, the wizard's steps, cutting, publishing, promoting.

The rules of a release are written here once; pages, the API, the admin, ``cut_release`` and the Celery task
call these functions and only translate their answers. Every function takes keyword arguments and owns its
transaction.

A draft keeps the wizard's answers in ``Release.inputs``. Cutting freezes them, together with every catalog
fact, secret *name*, marketplace selection, tailnet setting and infrastructure default they use, into a
snapshot (``snapshot.py``), then allocates the owner's next version. Publishing renders that snapshot only
(never live tables), validates the files, uploads them with the manifest last, checks the bucket, and only
then moves ``latest`` and marks the release published.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leger.catalog.selectors import llm_refusal
from leger.lib.storage import ArtifactStore, StoreError, get_store, sha256_hex
from leger.lib.typed_values import FALSE_WORDS, TRUE_WORDS, check_value
from leger.releases.models import (
    InfrastructureService,
    OpenWebUIVariable,
    Owner,
    Promotion,
    Release,
    ReleaseFile,
)
from leger.releases.publishing import MANIFEST, point_latest, upload_release, verify_release, version_prefix

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.catalog.models import LLM
    from leger.marketplace.models import Selection
    from leger.providers.models import Credential
    from leger.releases.snapshot import Addon, AddonSecret, CloudModel, LocalModel, Route, Snapshot
    from leger.tailnet.models import TailnetSettings

logger = logging.getLogger(__name__)

STEPS = ("models", "services", "openwebui", "routes")
STEP_LABELS = {
    "models": "Models",
    "services": "Services",
    "openwebui": "Open WebUI settings",
    "routes": "Caddy routes",
}
INPUT_FIELDS = STEPS
NAME_MAX_LENGTH = 200
# The stack's own Podman network. A release never shares it with anything else on the machine.
# No fixed subnet: Podman gives the network one no other network of the machine uses.
NETWORK = {"name": "llm", "subnet": ""}

# Progress of publishing, in percent: rendering and validating are quick, uploading is most of the work.
PROGRESS_RENDERING = 5
PROGRESS_UPLOADING = 20
PROGRESS_UPLOADED = 90
PROGRESS_VERIFIED = 95


class ReleaseLocked(Exception):
    """The release is no longer a draft: it cannot change. Clone it into a new draft instead."""

    def __init__(self, release: Release) -> None:
        self.release = release
        super().__init__(
            f"Release {release} is {release.get_status_display().lower()} and can no longer change; "
            "clone it into a new draft to make changes."
        )


def empty_inputs() -> dict[str, Any]:
    return {"models": [], "services": [], "openwebui": {}, "routes": {}}


def inputs_of(release: Release) -> dict[str, Any]:
    """The release's inputs with every key present (older or partial drafts may lack some)."""
    return {**empty_inputs(), **copy.deepcopy(release.inputs or {})}


# --- what the rules read, loaded once per check --------------------------------------------------------------


class World:
    """The live data a draft's inputs refer to, for one owner, each loaded on first use (one query each)."""

    def __init__(self, owner: AbstractBaseUser) -> None:
        self.owner = owner

    @cached_property
    def credentials(self) -> list[Credential]:
        from leger.providers.selectors import credential_list

        return sorted(credential_list(owner=self.owner), key=lambda c: (c.created_at, c.pk))

    @cached_property
    def configured_provider_ids(self) -> set[str]:
        return {credential.provider_id for credential in self.credentials}

    def llms(self, ids: Iterable[str]) -> dict[str, LLM]:
        from leger.catalog.models import LLM

        wanted = {i for i in ids if isinstance(i, str)}
        cache = self.__dict__.setdefault("_llms", {})
        missing = wanted - set(cache)
        if missing:
            for llm in LLM.objects.filter(pk__in=missing).prefetch_related("offerings__provider", "capabilities"):
                cache[llm.pk] = llm
        return {i: cache[i] for i in wanted if i in cache}

    @cached_property
    def selections(self) -> dict[int, Selection]:
        from leger.marketplace.selectors import selection_list

        return {selection.pk: selection for selection in selection_list(owner=self.owner)}

    @cached_property
    def infrastructure(self) -> list[InfrastructureService]:
        return list(InfrastructureService.objects.order_by("order", "id"))

    @cached_property
    def core_services(self) -> list[InfrastructureService]:
        return [row for row in self.infrastructure if row.role == InfrastructureService.Role.CORE]

    @cached_property
    def addon_containers(self) -> dict[str, InfrastructureService]:
        """Add-on containers by the marketplace service that brings them in: the one named after it, which
        Open WebUI talks to."""
        return {row.addon: row for row in self.infrastructure if row.is_addon_main}

    @cached_property
    def addon_companions(self) -> dict[str, list[InfrastructureService]]:
        """The other containers of each add-on (its database, its cache), by marketplace service."""
        companions: dict[str, list[InfrastructureService]] = {}
        for row in self.infrastructure:
            if row.role == InfrastructureService.Role.ADDON and not row.is_addon_main:
                companions.setdefault(row.addon, []).append(row)
        return companions

    @cached_property
    def exposable(self) -> dict[str, InfrastructureService]:
        return {row.id: row for row in self.infrastructure if row.exposable}

    @cached_property
    def openwebui_variables(self) -> dict[str, OpenWebUIVariable]:
        return {variable.name: variable for variable in OpenWebUIVariable.objects.all()}

    @cached_property
    def step3_names(self) -> frozenset[str]:
        return frozenset(self.openwebui_variables)

    @cached_property
    def tailnet(self) -> TailnetSettings | None:
        from leger.tailnet.selectors import tailnet_settings_get

        return tailnet_settings_get(owner=self.owner)


# --- step 1: models ----------------------------------------------------------------------------------------------


@dataclass
class ResolvedModel:
    llm: LLM
    provider_id: str | None = None
    litellm_model: str = ""
    credential: Credential | None = None


def _offerings(llm: LLM) -> list[Any]:
    """The offerings a new release may use (enabled, not retired by the registry), the default first."""
    offered = [o for o in llm.offerings.all() if o.is_offered]
    return sorted(offered, key=lambda o: (not o.is_default, o.provider.name.lower(), o.provider_id))


def _names(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def clean_models(value: Any, world: World) -> tuple[list[dict[str, Any]], list[str], list[ResolvedModel]]:
    """The models input cleaned, the problems with it, and each valid entry resolved to provider and key."""
    if not isinstance(value, list):
        return [], ['Send a list of models, e.g. [{"model": "claude-haiku-4.5", "provider": "anthropic"}].'], []
    problems: list[str] = []
    cleaned: list[dict[str, Any]] = []
    resolved: list[ResolvedModel] = []
    for position, entry in enumerate(value, start=1):
        if isinstance(entry, str):
            entry = {"model": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str) or not entry["model"]:
            problems.append(f'Model {position}: give the model\'s id, e.g. {{"model": "claude-haiku-4.5"}}.')
            continue
        unknown = sorted(set(entry) - {"model", "provider", "credential"})
        if unknown:
            problems.append(
                f"Model {entry['model']}: unknown field {_names(unknown)}; use model, provider, credential."
            )
            continue
        provider = entry.get("provider") or None
        credential = entry.get("credential")
        if provider is not None and not isinstance(provider, str):
            problems.append(f'Model {entry["model"]}: the provider is a provider id such as "anthropic".')
            continue
        if credential is not None and (isinstance(credential, bool) or not isinstance(credential, int)):
            problems.append(f"Model {entry['model']}: the credential is the id of one of your keys.")
            continue
        item: dict[str, Any] = {"model": entry["model"], "provider": provider}
        if credential is not None:
            item["credential"] = credential
        cleaned.append(item)

    seen: set[str] = set()
    for item in cleaned:
        if item["model"] in seen:
            problems.append(f"{item['model']} is chosen twice; keep it once.")
        seen.add(item["model"])
    llms = world.llms(item["model"] for item in cleaned)
    secret_for_var: dict[str, tuple[str, Credential]] = {}
    for item in cleaned:
        llm = llms.get(item["model"])
        if llm is None:
            problems.append(f"There is no model {item['model']!r} in the catalog; choose one listed on /models.")
            continue
        if not llm.enabled:
            problems.append(f"{llm.name} is no longer offered; choose another model.")
            continue
        if (refusal := llm_refusal(llm=llm)) is not None:
            # Retired by LiteLLM's registry: its provider would refuse the call. The message names a successor.
            problems.append(refusal)
            continue
        answer = _resolve_model(llm, item, world, problems)
        if answer is None:
            continue
        resolved.append(answer)
        if answer.credential is not None:
            env_var = answer.credential.env_var
            first = secret_for_var.setdefault(env_var, (llm.name, answer.credential))
            if first[1].pk != answer.credential.pk:
                problems.append(
                    f"{first[0]} and {llm.name} would fill {env_var} with two different keys "
                    f"({first[1].label} and {answer.credential.label}); LiteLLM reads one, so use the same key."
                )
    return cleaned, problems, resolved


def _resolve_model(llm: LLM, item: Mapping[str, Any], world: World, problems: list[str]) -> ResolvedModel | None:
    offerings = _offerings(llm)
    if llm.is_local:
        local = [o for o in offerings if o.provider.kind == "local"]
        if item["provider"] and item["provider"] not in {o.provider_id for o in local}:
            problems.append(f"{llm.name} runs on this machine through llama-swap; leave its provider empty.")
            return None
        if item.get("credential") is not None:
            problems.append(f"{llm.name} runs locally and needs no key; remove the credential.")
            return None
        return ResolvedModel(llm=llm)

    served_by = {o.provider_id: o for o in offerings}
    if item["provider"]:
        offering = served_by.get(item["provider"])
        if offering is None:
            names = _names([o.provider.name for o in offerings]) or "no provider"
            problems.append(f"{llm.name} is not served by {item['provider']!r}; it is served by {names}.")
            return None
        if offering.provider_id not in world.configured_provider_ids:
            problems.append(
                f"{llm.name} through {offering.provider.name} needs a key for {offering.provider.name}; "
                "add one on /providers."
            )
            return None
    else:
        keyed = [o for o in offerings if o.provider_id in world.configured_provider_ids]
        if not keyed:
            names = _names([o.provider.name for o in offerings]) or "no provider"
            problems.append(f"{llm.name} needs a key for one of its providers ({names}); add one on /providers.")
            return None
        defaults = [o for o in keyed if o.is_default]
        if len(keyed) > 1 and not defaults:
            problems.append(
                f"{llm.name} is served by {_names([o.provider.name for o in keyed])}, and you have keys for each; "
                "choose the provider."
            )
            return None
        offering = (defaults or keyed)[0]
    if not offering.litellm_model:
        problems.append(
            f"{llm.name} through {offering.provider.name} has no LiteLLM model name; an operator must add it."
        )
        return None
    keys = [c for c in world.credentials if c.provider_id == offering.provider_id]
    if item.get("credential") is not None:
        chosen = next((c for c in keys if c.pk == item["credential"]), None)
        if chosen is None:
            problems.append(f"{llm.name}: key {item['credential']} is not one of your {offering.provider.name} keys.")
            return None
    else:
        chosen = keys[0]  # the oldest: adding a second key later does not change what a draft uses
    missing = missing_key_fields(chosen)
    if missing:
        problems.append(
            f"{llm.name}: your {offering.provider.name} key “{chosen.label}” lacks its {_names(missing)}, which "
            "LiteLLM needs to call it; add them on /providers (Replace the key)."
        )
        return None
    return ResolvedModel(
        llm=llm, provider_id=offering.provider_id, litellm_model=offering.litellm_model, credential=chosen
    )


def missing_key_fields(credential: Credential) -> list[str]:
    """The required key fields of the credential's provider that it does not hold (a key saved before its provider
    needed them), by label."""
    held = {*(credential.key_settings or {}), *(credential.key_secrets_masked or {})}
    return [
        spec["label"].lower()
        for spec in credential.provider.key_fields or []
        if spec.get("required") and spec["name"] not in held
    ]


# --- step 2: marketplace selections -------------------------------------------------------------------------------


def step3_variable_names() -> frozenset[str]:
    """The Open WebUI variables step 3 offers (and writes, with its own defaults)."""
    return frozenset(OpenWebUIVariable.objects.values_list("name", flat=True))


def addon_variables(selection: Selection, *, step3: Collection[str] | None = None) -> dict[str, Any]:
    """The Open WebUI variables a selection sets besides its slot's engine: fixed values and the user's values.

    The slot's own fixed values that the release owns (ENABLE_WEB_SEARCH, ...) are left to the renderer, which
    turns them on for the add-on that fills the slot.
    """
    from leger.marketplace.rules import selection_variables
    from leger.releases.rendering import RELEASE_OWNED_VARIABLES

    service = selection.service
    values: dict[str, Any] = {}
    if service.slot is not None:
        values.update({k: v for k, v in (service.slot.fixed_values or {}).items() if k not in RELEASE_OWNED_VARIABLES})
    values.update(service.fixed_values or {})
    # The default the marketplace shows is what runs: written, rather than trusting that the program's own default
    # is the same (Open WebUI derives OpenAI speech, images and embeddings' address from OPENAI_API_BASE_URL, which
    # a release points at LiteLLM). A variable without a default is left to the program, as the page says.
    # Step 3's variables are left out: it writes those itself, and the person's choice there stands.
    step3 = step3_variable_names() if step3 is None else step3
    values.update(
        {
            variable.name: variable.default
            for variable in selection_variables(service)
            if variable.default is not None and not variable.is_secret and variable.name not in step3
        }
    )
    values.update({k: v for k, v in (selection.values or {}).items() if v is not None and v != ""})
    return values


def clean_services(value: Any, world: World) -> tuple[list[int], list[str], list[Selection]]:
    """The chosen selection ids, the problems with them, and the selections themselves in a stable order."""
    if not isinstance(value, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in value):
        return [], ["Send a list of marketplace selection ids, e.g. [3, 7]."], []
    problems: list[str] = []
    cleaned: list[int] = []
    chosen: list[Selection] = []
    for pk in value:
        if pk in cleaned:
            problems.append(f"Selection {pk} is chosen twice; keep it once.")
            continue
        cleaned.append(pk)
        selection = world.selections.get(pk)
        if selection is None:
            problems.append(f"There is no marketplace selection {pk} of yours; choose one you configured.")
            continue
        service = selection.service
        if not selection.active:
            problems.append(f"{service.name} is not active in the marketplace; activate it there or leave it out.")
            continue
        if not service.enabled:
            problems.append(f"{service.name} is no longer offered; leave it out.")
            continue
        if service.requires_api_key and selection.credential_id is None:
            problems.append(f"{service.name} needs a key; choose one for it in the marketplace.")
            continue
        if service.self_hosted and service.pk not in world.addon_containers:
            problems.append(
                f"{service.name} runs as a container, but this Leger has no container for it; an operator must add it."
            )
            continue
        chosen.append(selection)
    chosen.sort(key=lambda s: (s.service.slot_id or "", s.service_id))

    by_slot: dict[str, Selection] = {}
    for selection in chosen:
        if selection.service.slot_id is None:
            continue
        first = by_slot.setdefault(selection.service.slot_id, selection)
        if first is not selection:
            problems.append(
                f"The {selection.service.slot.name} slot takes one provider, and both {first.service.name} and "
                f"{selection.service.name} are chosen; keep one."
            )
    setter: dict[str, tuple[Selection, Any]] = {}
    for selection in chosen:
        for name, value in sorted(addon_variables(selection, step3=world.step3_names).items()):
            first, first_value = setter.setdefault(name, (selection, value))
            # Two add-ons may agree on a value (Firecrawl's address, for search and for loading pages).
            if first is not selection and first_value != value:
                problems.append(
                    f"{first.service.name} and {selection.service.name} both set {name}; change it in the "
                    "marketplace so only one of them does, or leave one out."
                )
    return cleaned, problems, chosen


# --- step 3: Open WebUI settings --------------------------------------------------------------------------------

# The words a yes-or-no answer accepts as text (the routes' "exposed" reads them too).
_TRUE, _FALSE = TRUE_WORDS, FALSE_WORDS


def clean_openwebui_value(variable: OpenWebUIVariable, value: Any) -> tuple[Any, str | None]:
    """(the value in its type, or a message naming the setting and saying what to change).

    The one checker of typed settings decides (the marketplace's variables use it too): text from forms is
    read into the type first (``"42"``, ``"yes"``), and text must stay on one line, since each setting is one
    line of Open WebUI's environment file.
    """
    typed, problems = check_value(variable, value, one_line=True)
    if problems:
        return value, f"{variable.name} ({variable.label}): {' '.join(problems)}"
    return typed, None


def clean_openwebui(value: Any, world: World) -> tuple[dict[str, Any], list[str]]:
    """The chosen Open WebUI values (empty ones dropped: the default applies) and the problems with them."""
    if not isinstance(value, dict):
        return {}, ['Send the settings as an object, e.g. {"WEBUI_NAME": "Home AI"}.']
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for name in sorted(value):
        raw = value[name]
        variable = world.openwebui_variables.get(name)
        if variable is None:
            problems.append(f"{name} is not one of the Open WebUI settings a release offers; remove it.")
            continue
        if raw is None or raw == "":
            continue
        typed, problem = clean_openwebui_value(variable, raw)
        if problem:
            problems.append(problem)
        else:
            cleaned[name] = typed
    return cleaned, problems


def openwebui_conflicts(chosen: Mapping[str, Any], selections: Sequence[Selection]) -> list[str]:
    """Settings chosen in step 3 that a selected add-on already sets: one place per setting."""
    problems = []
    for selection in selections:
        # Defaults of step 3's own variables are step 3's to write, so only the add-on's real values clash.
        names = set(addon_variables(selection, step3=frozenset(chosen))) | set(selection.service.slot_assignment)
        for name in sorted(names & set(chosen)):
            problems.append(
                f"{name} is set by your {selection.service.name} selection in the marketplace; clear it here "
                "or change it there."
            )
    return problems


def effective_openwebui(chosen: Mapping[str, Any], world: World, selections: Sequence[Selection]) -> dict[str, Any]:
    """What Open WebUI gets from step 3: the defaults, overridden by the user's choices, minus what add-ons set."""
    by_addons: set[str] = set()
    for selection in selections:
        by_addons |= set(addon_variables(selection, step3=world.step3_names)) | set(selection.service.slot_assignment)
    values: dict[str, Any] = {}
    for name, variable in world.openwebui_variables.items():
        if variable.default is not None and variable.default != "":
            values[name] = variable.default
    values.update(chosen)
    return {name: values[name] for name in sorted(values) if name not in by_addons}


# --- step 4: Caddy routes ---------------------------------------------------------------------------------------

ROUTE_FIELDS = ("exposed", "port", "path", "subdomain")
_ROUTE_PATH = re.compile(r"^(/|(/[a-z0-9][a-z0-9._-]*)+)$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def clean_routes(value: Any, world: World) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per exposable container: the fields the user changed from its defaults, checked one by one."""
    if not isinstance(value, dict):
        return {}, ['Send the routes as an object by service, e.g. {"openwebui": {"exposed": true, "port": 443}}.']
    problems: list[str] = []
    cleaned: dict[str, dict[str, Any]] = {}
    for service_id in sorted(value):
        route = value[service_id]
        row = world.exposable.get(service_id)
        if row is None:
            problems.append(f"{service_id!r} is not a service Caddy can expose; remove its route.")
            continue
        if not isinstance(route, dict):
            problems.append(f"{row.name}: send its route as an object with {', '.join(ROUTE_FIELDS)}.")
            continue
        unknown = sorted(set(route) - set(ROUTE_FIELDS))
        if unknown:
            problems.append(f"{row.name}: unknown route field {_names(unknown)}; use {', '.join(ROUTE_FIELDS)}.")
            continue
        item: dict[str, Any] = {}
        if "exposed" in route:
            exposed = route["exposed"]
            if isinstance(exposed, str) and exposed.lower() in _TRUE | _FALSE:
                exposed = exposed.lower() in _TRUE
            if not isinstance(exposed, bool):
                problems.append(f"{row.name}: exposed is true or false.")
            else:
                item["exposed"] = exposed
        if "port" in route:
            port = route["port"]
            if isinstance(port, str) and port.strip().isdigit():
                port = int(port.strip())
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                problems.append(f"{row.name}: the port is a whole number from 1 to 65535.")
            else:
                item["port"] = port
        if "path" in route:
            path = route["path"]
            if isinstance(path, str) and path and not path.startswith("/"):
                path = "/" + path
            if isinstance(path, str) and len(path) > 1:
                path = path.rstrip("/")
            if not isinstance(path, str) or not _ROUTE_PATH.match(path):
                problems.append(
                    f"{row.name}: the path starts with / and uses lowercase letters, digits, dots, dashes and "
                    "underscores, e.g. /chat."
                )
            else:
                item["path"] = path
        if "subdomain" in route:
            subdomain = route["subdomain"]
            if not isinstance(subdomain, str) or not _LABEL.match(subdomain):
                problems.append(
                    f"{row.name}: the subdomain is one DNS label of lowercase letters, digits and dashes, e.g. chat."
                )
            else:
                item["subdomain"] = subdomain
        cleaned[service_id] = item
    return cleaned, problems


def release_containers(world: World, selections: Sequence[Selection]) -> list[InfrastructureService]:
    """The containers a release with these selections runs: the core ones, then the add-ons, in order."""
    addons = [
        row
        for s in selections
        if s.service.self_hosted and s.service_id in world.addon_containers
        for row in [world.addon_containers[s.service_id], *world.addon_companions.get(s.service_id, [])]
    ]
    return [*world.core_services, *sorted(addons, key=lambda row: (row.order, row.id))]


def effective_routes(
    chosen: Mapping[str, Mapping[str, Any]], containers: Sequence[InfrastructureService]
) -> list[Route]:
    """One route per exposable container: its defaults with the user's changes on top."""
    from leger.releases.snapshot import default_route, service_spec_from_row

    routes: list[Route] = []
    for row in containers:
        if not row.exposable:
            continue
        route = default_route(service_spec_from_row(row), exposed=row.exposed_by_default)
        route.update(chosen.get(row.id, {}))  # type: ignore[typeddict-item]
        routes.append(route)
    return routes


def route_clashes(routes: Sequence[Route], containers: Sequence[InfrastructureService], mode: str) -> list[str]:
    """Two exposed services on one port, path or subdomain (whichever the exposure mode uses), named by both."""
    names = {row.id: row.name for row in containers}
    field_name = {"port": "port", "path": "path", "subdomain": "subdomain"}[mode]
    owner: dict[Any, str] = {}
    problems = []
    for route in routes:
        if not route["exposed"]:
            continue
        first = owner.setdefault(route[field_name], route["service"])  # type: ignore[literal-required]
        if first != route["service"]:
            problems.append(
                f"{names[first]} and {names[route['service']]} are both exposed on {field_name} "
                f"{route[field_name]}; give one of them another {field_name}."  # type: ignore[literal-required]
            )
    return problems


def exposure_mode(world: World) -> str:
    return world.tailnet.exposure if world.tailnet is not None else "port"


# --- checking a draft ---------------------------------------------------------------------------------------------


@dataclass
class Checked:
    """A draft's inputs after cleaning, the problems per step, and what they resolve to."""

    inputs: dict[str, Any]
    problems: dict[str, list[str]] = field(default_factory=dict)
    models: list[ResolvedModel] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)


def check_inputs(inputs: Mapping[str, Any], world: World, *, complete: bool) -> Checked:
    """Every rule of the wizard over ``inputs``. ``complete`` adds what only a finished draft must satisfy."""
    from leger.releases.snapshot import below_path_refusals, service_spec_from_row

    models, model_problems, resolved = clean_models(inputs.get("models", []), world)
    services, service_problems, selections = clean_services(inputs.get("services", []), world)
    openwebui, openwebui_problems = clean_openwebui(inputs.get("openwebui", {}), world)
    routes, route_problems = clean_routes(inputs.get("routes", {}), world)
    if complete and not models:
        model_problems.insert(0, "Choose at least one model for the stack to serve.")
    openwebui_problems += openwebui_conflicts(openwebui, selections)
    containers = release_containers(world, selections)
    effective = effective_routes(routes, containers)
    route_problems += route_clashes(effective, containers, exposure_mode(world))
    route_problems += below_path_refusals(
        effective, {row.id: service_spec_from_row(row) for row in containers}, exposure_mode(world)
    )
    checked = Checked(
        inputs={"models": models, "services": services, "openwebui": openwebui, "routes": routes},
        models=resolved,
        selections=selections,
    )
    for step, problems in zip(
        STEPS, (model_problems, service_problems, openwebui_problems, route_problems), strict=True
    ):
        if problems:
            checked.problems[step] = problems
    return checked


def _tailnet_problem(world: World) -> str | None:
    if world.tailnet is None:
        return "Add your tailnet settings on /settings first: a release needs the machine's name and exposure."
    return None


# --- the snapshot -------------------------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_mode(llm: LLM) -> Literal["chat", "embedding", "rerank"]:
    """What llama-server is started to serve for a local model: an embedding model needs --embeddings (without
    it /v1/embeddings answers 501), a reranker --reranking."""
    capabilities = {capability.pk for capability in llm.capabilities.all()}
    if "rerank" in capabilities:
        return "rerank"
    if "embeddings" in capabilities and "chat" not in capabilities:
        return "embedding"
    return "chat"


def _snapshot_model(model: ResolvedModel) -> CloudModel | LocalModel:
    llm = model.llm
    if llm.is_local:
        return {
            "id": llm.pk,
            "name": llm.name,
            "kind": "local",
            "hf_repo": llm.hf_repo,
            "hf_file": llm.hf_file,
            "ctx_size": llm.ctx_size or 0,
            "ttl": llm.ttl if llm.ttl is not None else 0,
            "aliases": list(llm.aliases or []),
            "flash_attn": llm.flash_attn,
            "mode": local_mode(llm),
        }
    assert model.credential is not None and model.provider_id is not None
    credential = model.credential
    specs = {spec["name"]: spec for spec in credential.provider.key_fields or []}
    return {
        "id": llm.pk,
        "name": llm.name,
        "kind": "cloud",
        "provider": model.provider_id,
        "litellm_model": model.litellm_model,
        "credential": {"secret": credential.secret_name, "env_var": credential.env_var},
        # The rest of what LiteLLM needs to call this provider: plain values as they are, secret ones by name.
        "key_param": credential.provider.key_param,
        "params": {
            specs[name]["litellm_param"]: value
            for name, value in sorted((credential.key_settings or {}).items())
            if name in specs
        },
        "param_secrets": [
            {
                "secret": credential.field_secret_name(name),
                "env_var": specs[name]["env_var"],
                "param": specs[name]["litellm_param"],
            }
            for name in sorted(credential.key_secrets_masked or {})
            if name in specs
        ],
    }


def _snapshot_addon(selection: Selection, world: World) -> Addon:
    from leger.releases.snapshot import service_spec_from_row

    service = selection.service
    credential = None
    if selection.credential is not None:
        # The key fills the variable Open WebUI reads for this service (RAG_OPENAI_API_KEY, ...), which is
        # not always the provider's own variable.
        key_variables = list(service.key_variables or [])
        credential = {
            "secret": selection.credential.secret_name,
            "env_var": key_variables[0] if key_variables else selection.credential.env_var,
        }
    secrets: list[AddonSecret] = []
    if credential is not None:
        # A key that fills several variables (image generation and edits) reaches each under the same name.
        secrets += [
            {"secret": credential["secret"], "env_var": variable, "source": "credential"}
            for variable in list(service.key_variables or [])[1:]
        ]
    # Secret settings of the selection: placeholders only, the CLI fetches each value by its name.
    secrets += [
        {"secret": selection.secret_name(variable), "env_var": variable, "source": "selection"}
        for variable in sorted(selection.secret_values or {})
    ]
    container, companions = None, []
    if service.self_hosted:
        container = service_spec_from_row(world.addon_containers[service.pk])
        companions = [service_spec_from_row(row) for row in world.addon_companions.get(service.pk, [])]
    return {
        "id": service.pk,
        "name": service.name,
        # A service outside any slot (an integration) is its own slot: nothing else competes with it.
        "slot": service.slot_id or service.pk,
        "slot_variables": {name: str(value) for name, value in service.slot_assignment.items()},
        "variables": addon_variables(selection, step3=world.step3_names),
        "credential": credential,  # type: ignore[typeddict-item]
        "secrets": secrets,
        "container": container,
        "companions": companions,
    }


def _agreeing_once(addons: list[Addon]) -> list[Addon]:
    """A value two add-ons agree on (Firecrawl's address, for search and for loading pages) is written once, by
    the first; the selections already refused two different values."""
    seen: dict[str, Any] = {}
    for addon in addons:
        for name, value in list(addon["variables"].items()):
            if name in seen and seen[name] == value:
                del addon["variables"][name]
            seen.setdefault(name, value)
    return addons


def build_snapshot(
    release: Release, *, version: int, cut_at: dt.datetime, world: World | None = None
) -> tuple[Snapshot | None, list[str]]:
    """The snapshot a cut at ``cut_at`` as ``version`` would freeze, or None and every problem in the way."""
    from leger.releases.snapshot import (
        LOOPBACK,
        SNAPSHOT_FORMAT,
        SnapshotError,
        listen_on,
        service_spec_from_row,
        validate_snapshot,
    )

    world = world or World(release.owner)
    problems: list[str] = []
    tailnet_problem = _tailnet_problem(world)
    if tailnet_problem:
        problems.append(tailnet_problem)
    checked = check_inputs(inputs_of(release), world, complete=True)
    for step in STEPS:
        problems += [f"{STEP_LABELS[step]}: {message}" for message in checked.problems.get(step, [])]
    if not world.core_services:
        problems.append("The infrastructure catalog is empty; an operator must run `manage.py load_catalog`.")
    if problems:
        return None, problems
    assert world.tailnet is not None
    owner = owner_for(user=release.owner)
    tailnet = world.tailnet
    selections = checked.selections
    containers = release_containers(world, selections)
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "release": {
            "name": release.name,
            "version": version,
            "owner_uuid": str(owner.uuid),
            "cut_at": _iso(cut_at),
        },
        "tailnet": {
            "domain": tailnet.tailnet,
            "machine": tailnet.hostname,
            "exposure": tailnet.exposure,
            "custom_domain": tailnet.custom_domain if tailnet.exposure == "subdomain" else "",
        },
        "network": dict(NETWORK),
        "machine": {
            "accelerator": tailnet.accelerator,
            "memory_gb": tailnet.memory_gb,
            "gpu_memory_gb": tailnet.gpu_memory_gb,
        },
        "infrastructure": [service_spec_from_row(row) for row in world.core_services],
        "models": [_snapshot_model(model) for model in checked.models],
        "addons": _agreeing_once([_snapshot_addon(selection, world) for selection in selections]),
        "openwebui": effective_openwebui(checked.inputs["openwebui"], world, selections),
        "routes": effective_routes(checked.inputs["routes"], containers),
    }
    # Published ports listen on the machine's Tailscale address only (reachable from the tailnet, not the LAN);
    # on loopback until the user tells Leger that address on /settings.
    listen_on(snapshot, tailnet.address or LOOPBACK)  # type: ignore[arg-type]
    try:
        return validate_snapshot(snapshot), []
    except SnapshotError as error:
        return None, list(error.problems)


@dataclass
class Rendered:
    files: dict[str, str]
    manifest: dict[str, Any]
    manifest_text: str


def render_snapshot(snapshot: Snapshot) -> tuple[Rendered | None, list[str]]:
    """Render and validate; (the files and manifest, []) or (None, problems naming file and line)."""
    from leger.releases.manifest import build_manifest, manifest_json
    from leger.releases.rendering import RenderError, render
    from leger.releases.snapshot import SnapshotError
    from leger.releases.validation import validate

    try:
        files = render(snapshot)
    except SnapshotError as error:
        return None, list(error.problems)
    except RenderError as error:
        return None, [str(error)]
    problems = validate(files, snapshot)
    if problems:
        return None, [str(problem) for problem in problems]
    manifest = build_manifest(snapshot, files)
    return Rendered(files=files, manifest=manifest, manifest_text=manifest_json(manifest)), []


# --- drafts ---------------------------------------------------------------------------------------------------------


def owner_for(*, user: AbstractBaseUser) -> Owner:
    """The user's release bookkeeping row, created on first use."""
    owner, _ = Owner.objects.get_or_create(user_id=user.pk)
    return owner


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": ["Give the release a name, e.g. “home”."]})
    name = " ".join(name.split())
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"Keep the name under {NAME_MAX_LENGTH} characters."]})
    return name


def release_create(*, owner: AbstractBaseUser, name: str) -> Release:
    """A new, empty draft."""
    name = _clean_name(name)
    with transaction.atomic():
        owner_for(user=owner)
        release = Release.objects.create(owner=owner, name=name, inputs=empty_inputs())
    logger.info("release %s (draft) created for user %s", release.pk, owner.pk)
    return release


def _lock_draft(release: Release) -> Release:
    locked = Release.objects.select_for_update().get(pk=release.pk)
    if locked.status != Release.Status.DRAFT:
        raise ReleaseLocked(locked)
    return locked


def _refresh(release: Release, source: Release) -> Release:
    for name in (
        "name",
        "status",
        "version",
        "inputs",
        "step",
        "snapshot",
        "error",
        "progress",
        "manifest_key",
        "cut_at",
        "cut_by_id",
        "published_at",
        "updated_at",
    ):
        setattr(release, name, getattr(source, name))
    return release


def _unstorable_text(value: Any) -> str:
    """What in a nested input no database or release file can hold (NUL, an unpaired surrogate), or ""."""
    if isinstance(value, str):
        if "\x00" in value:
            return "NUL character"
        if any("\ud800" <= char <= "\udfff" for char in value):
            return "unpaired surrogate character"
        return ""
    if isinstance(value, dict):
        return next((found for item in value.items() if (found := _unstorable_text(list(item)))), "")
    if isinstance(value, (list, tuple)):
        return next((found for item in value if (found := _unstorable_text(item))), "")
    return ""


def release_update(
    *,
    release: Release,
    name: str | None = None,
    models: Any = None,
    services: Any = None,
    openwebui: Any = None,
    routes: Any = None,
) -> Release:
    """Save the parts given (``None``: unchanged), each checked; nothing is saved if any part has a problem.

    Changing a step sends the wizard back to it: the later steps are validated again before the cut.
    Raises ReleaseLocked once the release is cut.
    """
    given = {"models": models, "services": services, "openwebui": openwebui, "routes": routes}
    given = {key: value for key, value in given.items() if value is not None}
    errors: dict[str, list[str]] = {
        key: [f"Remove the {what} from these settings: it cannot be stored nor written into a file."]
        for key, value in given.items()
        if (what := _unstorable_text(value))
    }
    if errors:
        raise ValidationError(errors)
    if name is not None:
        try:
            name = _clean_name(name)
        except ValidationError as error:
            errors.update(error.message_dict)
    with transaction.atomic():
        locked = _lock_draft(release)
        inputs = {**inputs_of(locked), **given}
        checked = check_inputs(inputs, World(locked.owner), complete=False)
        for key in given:
            if checked.problems.get(key):
                errors[key] = checked.problems[key]
        if errors:
            raise ValidationError(errors)
        if name is not None:
            locked.name = name
        if given:
            # Keep the other steps' inputs as they were stored; only the given ones are replaced, cleaned.
            locked.inputs = {**inputs_of(locked), **{key: checked.inputs[key] for key in given}}
            locked.step = min(locked.step, min(STEPS.index(key) for key in given))
        locked.save(update_fields=["name", "inputs", "step", "updated_at"])
    return _refresh(release, locked)


def release_validate_step(*, release: Release, step: str) -> dict[str, list[str]]:
    """The problems of one wizard step (empty: it passes). Records how far the wizard validly got."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; the steps are {', '.join(STEPS)}")
    with transaction.atomic():
        locked = _lock_draft(release)
        checked = check_inputs(inputs_of(locked), World(locked.owner), complete=True)
        problems = {step: checked.problems[step]} if checked.problems.get(step) else {}
        index = STEPS.index(step)
        if problems:
            locked.step = min(locked.step, index)
        elif locked.step >= index:
            locked.step = max(locked.step, index + 1)
        locked.save(update_fields=["step", "updated_at"])
    release.step = locked.step
    return problems


def release_ready(*, release: Release, world: World | None = None) -> list[str]:
    """What stands between this draft and a cut, one sentence each; empty when it can be cut.

    It builds the snapshot, renders it and validates the files, so a cut never queues a release that would
    only fail later.
    """
    owner = owner_for(user=release.owner)
    snapshot, problems = build_snapshot(release, version=owner.last_version + 1, cut_at=timezone.now(), world=world)
    if snapshot is None:
        return problems
    _, problems = render_snapshot(snapshot)
    return problems


def release_delete(*, release: Release) -> None:
    """Delete a draft. Anything cut stays: it is history, and a version number is never reused."""
    with transaction.atomic():
        locked = _lock_draft(release)
        locked.delete()
    logger.info("release %s (draft) deleted", release.pk)


def release_clone(*, release: Release, actor: AbstractBaseUser) -> Release:
    """A new draft with the same answers, to change what a cut release cannot."""
    with transaction.atomic():
        clone = Release.objects.create(
            owner_id=release.owner_id,
            name=release.name,
            inputs=inputs_of(release),
            cloned_from=release,
        )
    logger.info("release %s cloned into draft %s by user %s", release.pk, clone.pk, actor.pk)
    return clone


# --- cutting ---------------------------------------------------------------------------------------------------------


QUEUE_DOWN_CUT = (
    "The task queue is unreachable, so nothing was cut: your draft is kept as it was and no version was used. "
    "Try again in a minute."
)
QUEUE_DOWN_RETRY = (
    "The task queue is unreachable, so publishing was not queued again: the release is as it was. "
    "Try again in a minute."
)
QUEUE_LOST_AT_COMMIT = (
    "The task queue became unreachable just as this release was queued, so its publishing never started. "
    "Nothing was uploaded and latest did not move: retry once the queue answers."
)


class QueueUnavailable(ValidationError):
    """The task queue (Redis) did not answer, so nothing changed. Pages show it like any refusal; the API
    answers 503, since trying the same thing again later is the fix."""


def _enqueue(release_id: int) -> None:
    """Queue the publish once the transaction commits; raise ``QueueUnreachable`` now if the queue is down.

    The broker is checked inside the caller's transaction, so a dead or hung Redis (found within seconds) rolls
    the cut or retry back: the draft stays a draft and no version is used. If Redis dies between the check and
    the commit, sending fails after the commit; the release is then marked failed saying so, which offers
    Retry, rather than staying queued with nothing in the queue. Only one message is ever sent.
    """
    from leger.releases import tasks

    if tasks.runs_in_process():
        transaction.on_commit(lambda: tasks.publish_release.delay(release_id))
        return
    tasks.check_queue()

    def send() -> None:
        try:
            tasks.queue_publish(release_id)
        except tasks.QueueUnreachable:
            fields = {"status": Release.Status.FAILED, "error": QUEUE_LOST_AT_COMMIT, "updated_at": timezone.now()}
            Release.objects.filter(pk=release_id, status=Release.Status.QUEUED).update(**fields)

    transaction.on_commit(send)


def _queue_publish(release: Release, *, refused: str) -> None:
    """``_enqueue`` for the cut and retry: an unreachable queue becomes the plain refusal the user reads."""
    from leger.releases.tasks import QueueUnreachable

    try:
        _enqueue(release.pk)
    except QueueUnreachable:
        raise QueueUnavailable(refused, code="queue_unreachable") from None


def _after_queueing(release: Release) -> None:
    """Read back what sending the message did: a send that failed after the commit marked the release failed."""
    from leger.releases.tasks import runs_in_process

    if runs_in_process() or transaction.get_connection().in_atomic_block:
        return  # nothing was sent yet (in-process publishing, or the caller's transaction is still open)
    lost = Release.objects.filter(pk=release.pk, status=Release.Status.FAILED, error=QUEUE_LOST_AT_COMMIT)
    if lost.exists():
        release.status, release.error = Release.Status.FAILED, QUEUE_LOST_AT_COMMIT


def _ensure_internal_secrets(*, owner: AbstractBaseUser, manifest: Mapping[str, Any], snapshot: Snapshot) -> None:
    """Give the owner a value for every internal secret the release names, so the CLI can fetch each one; the
    values of earlier cuts stay, since an installed stack was set up with them."""
    from leger.providers.services import internal_secrets_ensure
    from leger.releases.snapshot import containers, derived_secret_specs

    internal = {entry["name"]: entry["targets"] for entry in manifest["secrets"] if entry["source"] == "internal"}
    derived = derived_secret_specs(containers(snapshot))
    internal_secrets_ensure(owner=owner, secrets_wanted=internal, derived=derived)


def release_cut(*, release: Release, actor: AbstractBaseUser) -> Release:
    """Freeze the draft into a snapshot, give it the owner's next version, and queue its publishing.

    A release that is not a draft comes back unchanged, so two concurrent cuts of one draft give one version.
    Refused (ValidationError listing every problem) while anything blocks it.
    """
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.status != Release.Status.DRAFT:
            return _refresh(release, locked)
        world = World(locked.owner)
        owner_for(user=locked.owner)
        # The owner row serialises version numbers: concurrent cuts of other drafts wait here.
        owner = Owner.objects.select_for_update().get(user_id=locked.owner_id)
        version = owner.last_version + 1
        cut_at = timezone.now().replace(microsecond=0)
        snapshot, problems = build_snapshot(locked, version=version, cut_at=cut_at, world=world)
        rendered = None
        if snapshot is not None:
            rendered, problems = render_snapshot(snapshot)
        if problems or rendered is None:
            raise ValidationError(problems)
        _ensure_internal_secrets(owner=locked.owner, manifest=rendered.manifest, snapshot=snapshot)
        owner.last_version = version
        owner.save(update_fields=["last_version"])
        locked.status = Release.Status.QUEUED
        locked.version = version
        locked.snapshot = snapshot
        locked.cut_at = cut_at
        locked.cut_by = actor
        locked.progress = 0
        locked.error = ""
        locked.step = len(STEPS)
        locked.save()
        _queue_publish(locked, refused=QUEUE_DOWN_CUT)
    _after_queueing(locked)
    logger.info("release %s cut as v%s for user %s", locked.pk, version, locked.owner_id)
    return _refresh(release, locked)


def release_stuck(release: Release) -> bool:
    """A queued or publishing release that has shown no progress for ``LEGER_PUBLISH_STALE_SECONDS``.

    Its message was lost, or its worker died and the broker's visibility timeout (an hour) has not yet handed
    the message to another worker. Every step of a publish writes progress, so a live publish is never stuck.
    """
    if not release.is_in_progress:
        return False
    stale = dt.timedelta(seconds=settings.LEGER_PUBLISH_STALE_SECONDS)
    return release.updated_at is not None and timezone.now() - release.updated_at > stale


def release_retry(*, release: Release) -> Release:
    """Queue a failed (or stuck) release's publishing again. Safe: uploads rewrite the same keys with the same
    bytes, and should a stuck release's first message still arrive, whichever run finishes second finds the
    release published and leaves it as it is."""
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.is_in_progress and not release_stuck(locked):
            return _refresh(release, locked)
        if locked.status != Release.Status.FAILED and not locked.is_in_progress:
            raise ValidationError(
                f"Only a failed release can be retried; this one is {locked.get_status_display().lower()}."
            )
        locked.status = Release.Status.QUEUED
        locked.error = ""
        locked.progress = 0
        locked.publish_attempts = 0  # a fresh start: the runs interrupted before count no more
        locked.save(update_fields=["status", "error", "progress", "publish_attempts", "updated_at"])
        _queue_publish(locked, refused=QUEUE_DOWN_RETRY)
    _after_queueing(locked)
    logger.info("release %s queued again", locked.pk)
    return _refresh(release, locked)


# --- publishing ----------------------------------------------------------------------------------------------------


def _set(release: Release, **fields: Any) -> None:
    """Write progress outside any transaction, so pages polling the row see it as it happens.

    A published row is never touched: a second worker that lost the race must not mark it failed.
    """
    fields["updated_at"] = timezone.now()
    Release.objects.filter(pk=release.pk).exclude(status=Release.Status.PUBLISHED).update(**fields)
    for key, value in fields.items():
        setattr(release, key, value)


def _fail(release: Release, reason: str) -> Release:
    _set(release, status=Release.Status.FAILED, error=reason)
    logger.warning("release %s v%s failed: %s", release.pk, release.version, reason.splitlines()[0])
    return release


def release_publish(*, release_id: int, store: ArtifactStore | None = None, final: bool = True) -> Release:
    """Render the frozen snapshot, validate, upload, verify, then move ``latest`` and mark the release published.

    Runs for a queued release, or one a stopped worker left rendering or uploading; anything else comes back
    unchanged, so running it twice is harmless. Store errors are transient: with ``final`` false they are
    raised for the task to retry, otherwise the release fails with the reason. ``latest`` only moves after
    every object is verified in the bucket, and never back to an older version than it holds.

    A run that kills its worker (out of memory, say) comes back with its message, as often as it dies; so each
    run counts itself in ``publish_attempts`` when it starts and clears the count however it ends, and a run
    that finds LEGER_PUBLISH_MAX_ATTEMPTS runs already interrupted marks the release failed instead. A store
    error handed back for the task to retry ends its run too, so those retries keep their own limit.
    """
    release = Release.objects.get(pk=release_id)
    if not release.is_in_progress:
        return release
    interrupted = release.publish_attempts
    if interrupted >= settings.LEGER_PUBLISH_MAX_ATTEMPTS:
        Release.objects.filter(pk=release.pk).update(publish_attempts=0)
        release.publish_attempts = 0
        logger.error("release %s: its publish was interrupted %s times; giving up", release.pk, interrupted)
        return _fail(
            release,
            f"Publishing was interrupted {interrupted} times: its worker stopped each time (out of memory?). "
            "See the worker's log, then Retry.",
        )
    Release.objects.filter(pk=release.pk).update(publish_attempts=F("publish_attempts") + 1)
    try:
        return _publish(release, store=store, final=final)
    finally:
        # Reached however the run ends, short of its process dying: only those runs stay counted.
        Release.objects.filter(pk=release.pk).update(publish_attempts=0)


def _publish(release: Release, *, store: ArtifactStore | None, final: bool) -> Release:
    from leger.releases.snapshot import SnapshotError, validate_snapshot

    _set(release, status=Release.Status.RENDERING, progress=PROGRESS_RENDERING, error="")
    try:
        snapshot = validate_snapshot(release.snapshot)
    except SnapshotError as error:
        return _fail(release, str(error))
    try:
        rendered, problems = render_snapshot(snapshot)
    except Exception:
        logger.exception("release %s: rendering stopped on an unexpected error", release.pk)
        return _fail(release, "Rendering stopped on an unexpected error (logged for the operator); retry it.")
    if rendered is None:
        return _fail(release, "The rendered files are not valid:\n" + "\n".join(f"- {p}" for p in problems))
    # The cut made them; a release cut before Leger generated internal secrets gets them here, before the
    # machine can read a manifest naming them.
    _ensure_internal_secrets(owner=release.owner, manifest=rendered.manifest, snapshot=snapshot)

    store = store or get_store()
    owner_uuid = snapshot["release"]["owner_uuid"]
    version = snapshot["release"]["version"]
    payload = {path: text.encode("utf-8") for path, text in rendered.files.items()}
    manifest = rendered.manifest_text.encode("utf-8")
    _set(release, status=Release.Status.UPLOADING, progress=PROGRESS_UPLOADING)

    def uploaded(done: int, total: int) -> None:
        _set(release, progress=PROGRESS_UPLOADING + (PROGRESS_UPLOADED - PROGRESS_UPLOADING) * done // total)

    try:
        upload_release(
            store=store, owner_uuid=owner_uuid, version=version, files=payload, manifest=manifest, progress=uploaded
        )
        verify_release(store=store, owner_uuid=owner_uuid, version=version, files=payload)
        _set(release, progress=PROGRESS_VERIFIED)
        return _finish(release, rendered=rendered, store=store)
    except (StoreError, OSError) as error:
        # A local folder that cannot be written fails like a bucket that does not answer.
        reason = str(error) if isinstance(error, StoreError) else f"{error.__class__.__name__}: {error}"
        reason = reason.rstrip()
        if reason and reason[-1] not in ".!?":
            reason += "."  # each sentence after it must read as one
        if not final:
            _set(release, error=f"{reason} Trying again shortly.")
            raise StoreError(reason) from error
        return _fail(
            release,
            f"Uploading to {store.describe()} failed: {reason} Nothing moved: latest still points where it did. "
            "Retry once the store answers.",
        )
    except Exception:
        logger.exception("release %s: publishing stopped on an unexpected error", release.pk)
        return _fail(release, "Publishing stopped on an unexpected error (logged for the operator); retry it.")


def _finish(release: Release, *, rendered: Rendered, store: ArtifactStore) -> Release:
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.status == Release.Status.PUBLISHED:
            return _refresh(release, locked)
        owner = Owner.objects.select_for_update().get(user_id=locked.owner_id)
        # Read under the owner's lock, so promotions are timed in the order they move latest.
        now = timezone.now()
        owner_uuid = str(owner.uuid)
        current = Promotion.objects.filter(owner_id=locked.owner_id).select_related("release").first()
        # A retried older release must not take latest from a newer one; promoting it does that on purpose.
        if current is None or (current.release.version or 0) < (locked.version or 0):
            point_latest(
                store=store,
                owner_uuid=owner_uuid,
                files={path: text.encode("utf-8") for path, text in rendered.files.items()},
                manifest=rendered.manifest_text.encode("utf-8"),
            )
            Promotion.objects.create(
                owner_id=locked.owner_id, release=locked, promoted_by_id=locked.cut_by_id, promoted_at=now
            )
        ReleaseFile.objects.filter(release=locked).delete()
        file_secrets = {s["file"]: s["name"] for s in rendered.manifest["secrets"] if s.get("file")}
        ReleaseFile.objects.bulk_create(
            ReleaseFile(
                release=locked,
                path=path,
                sha256=sha256_hex(data),
                size=len(data),
                content=text,
                secret_name=file_secrets.get(path, ""),
            )
            for path, text, data in (
                (path, text, text.encode("utf-8"))
                for path, text in [*rendered.files.items(), (MANIFEST, rendered.manifest_text)]
            )
        )
        locked.status = Release.Status.PUBLISHED
        locked.progress = 100
        locked.error = ""
        locked.published_at = now
        locked.manifest_key = version_prefix(owner_uuid, locked.version or 0) + MANIFEST
        locked.save(update_fields=["status", "progress", "error", "published_at", "manifest_key", "updated_at"])
    logger.info("release %s published as v%s", locked.pk, locked.version)
    return _refresh(release, locked)


def release_promote(*, release: Release, actor: AbstractBaseUser, store: ArtifactStore | None = None) -> Promotion:
    """Point ``latest`` at an earlier (or the newest) published release: a rollback of the whole stack.

    The release must still be complete in the bucket; the manifest written is the one it was published with.
    """
    if release.status != Release.Status.PUBLISHED:
        raise ValidationError(
            f"Only a published release can become latest; this one is {release.get_status_display().lower()}."
        )
    store = store or get_store()
    stored = {f.path: f.content.encode("utf-8") for f in ReleaseFile.objects.filter(release=release)}
    manifest = stored.pop(MANIFEST, None)
    files = stored
    if manifest is None:
        raise ValidationError("This release has no stored manifest; it cannot become latest.")
    with transaction.atomic():
        owner = Owner.objects.select_for_update().get(user_id=release.owner_id)
        try:
            verify_release(store=store, owner_uuid=str(owner.uuid), version=release.version or 0, files=files)
            point_latest(store=store, owner_uuid=str(owner.uuid), files=files, manifest=manifest)
        except StoreError as error:
            raise ValidationError(f"Latest was not moved: {error}") from None
        promotion = Promotion.objects.create(owner_id=release.owner_id, release=release, promoted_by=actor)
    logger.info("release %s (v%s) promoted to latest by user %s", release.pk, release.version, actor.pk)
    return promotion
