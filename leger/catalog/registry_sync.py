"""Keep the catalog current from LiteLLM's model registry, in one transaction.

:func:`catalog_sync` reads every cloud model and offering once, works out in memory what the registry says about
each, then writes only what differs with bulk statements, all inside one ``transaction.atomic()``: a registry that
fails its checks (:mod:`leger.catalog.registry`) or a write the database refuses leaves the catalog as it was.

What it does, per run:

- every cloud offering whose model string the registry lists takes the entry's context window, longest answer,
  prices (per million tokens) and deprecation date; one it no longer lists, or lists as deprecated past its date,
  is retired (and comes back if the registry lists it again);
- every cloud model takes the facts of its default offering's entry (or, when that one is retired or unlisted, of
  its first listed offering), and the capabilities the registry decides (:data:`REGISTRY_CAPABILITIES`); a model
  whose offerings are all retired is retired; a deprecated or retired one takes the successor the registry names,
  when that model is in the catalog;
- chat and embedding models of the providers Leger knows (``Provider.litellm_provider``) that the catalog lacks
  become offerings, grouped by :func:`registry.group_key` into one catalog model across providers, with its maker.

Leger's curation wins where both speak: the sync never writes a curated model's name, maker, description,
enabled flag or chosen successor, and ``load_catalog`` never writes the facts of a model the sync has synced.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leger.catalog import registry
from leger.catalog.models import LLM, Capability, Maker, Offering, Provider, RegistrySync, Source
from leger.catalog.registry import Entry, Registry, RegistryError, RegistrySource

# Capabilities the registry decides for a synced model, from the flags of its entry (absent means no, as LiteLLM
# reads them). Capabilities it has no word for (chat, code, multimodal, long context) stay Leger's.
REGISTRY_CAPABILITIES = ("vision", "tool-calling", "reasoning", "audio", "image-generation", "embeddings")

ADDED_MODES = ("chat", "embedding")
# The provider that makes a model serves it best by default, when it serves it.
FIRST_PARTY = {
    "amazon": "aws-bedrock",
    "anthropic": "anthropic",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "google": "gemini",
    "mistral": "mistral",
    "moonshotai": "moonshot",
    "openai": "openai",
    "perplexity": "perplexity",
    "qwen": "alibabacloud",
    "voyage": "voyage",
    "xai": "xai",
    "zai": "zai",
}
# Registry providers whose entries a Leger provider with another LiteLLM name also serves (Cohere's chat models).
SIBLING_ROUTES = {"cohere": ("cohere_chat",)}

OFFERING_FACTS = ("context_window", "max_output", "input_price", "output_price", "deprecation_date")
LLM_FACTS = ("context_window", "max_output", "input_price", "output_price", "embedding_dimension", "deprecation_date")
# The advisory lock two syncs (a beat task and an admin's click) take, so that one waits for the other.
_LOCK_ID = 0x1E6E_5F1C
_SHOWN = 25  # names listed per section of the report
LLM_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def registry_capabilities(entry: Entry) -> set[str]:
    """The capabilities (of :data:`REGISTRY_CAPABILITIES`) the entry says the model has."""
    flags = entry.flags
    found = set()
    if flags.get("supports_vision"):
        found.add("vision")
    if flags.get("supports_function_calling"):
        found.add("tool-calling")
    if flags.get("supports_reasoning"):
        found.add("reasoning")
    if flags.get("supports_audio_input") or flags.get("supports_audio_output"):
        found.add("audio")
    if entry.mode == "image_generation" or "image" in entry.output_modalities:
        found.add("image-generation")
    if entry.mode == "embedding":
        found.add("embeddings")
    return found


def _entry_facts(entry: Entry) -> dict[str, Any]:
    """The offering facts an entry states; None means the registry does not say, and the old value stays."""
    return {
        "context_window": entry.max_input_tokens,
        "max_output": entry.max_output_tokens,
        "input_price": entry.input_price,
        "output_price": entry.output_price,
        "deprecation_date": entry.deprecation_date,
    }


# --- the report --------------------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    source: RegistrySource
    entries: int
    dry_run: bool
    matched: int = 0
    unmatched: int = 0
    added_models: list[LLM] = field(default_factory=list)
    added_offerings: list[Offering] = field(default_factory=list)
    changed_models: list[str] = field(default_factory=list)
    changed_offerings: list[str] = field(default_factory=list)
    retired_models: list[LLM] = field(default_factory=list)
    retired_offerings: list[str] = field(default_factory=list)
    restored_models: list[str] = field(default_factory=list)
    restored_offerings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed_anything(self) -> bool:
        return any(
            (
                self.added_models,
                self.added_offerings,
                self.changed_models,
                self.changed_offerings,
                self.retired_models,
                self.retired_offerings,
                self.restored_models,
                self.restored_offerings,
            )
        )

    @property
    def counts(self) -> dict[str, int]:
        return {
            "added_models": len(self.added_models),
            "added_offerings": len(self.added_offerings),
            "changed_models": len(self.changed_models),
            "changed_offerings": len(self.changed_offerings),
            "retired_models": len(self.retired_models),
            "retired_offerings": len(self.retired_offerings),
            "restored_models": len(self.restored_models),
            "restored_offerings": len(self.restored_offerings),
        }

    def lines(self) -> list[str]:
        counts = self.counts
        verb = "Would" if self.dry_run else ""
        lines = [
            f"Registry: {self.source.label} ({self.source.location}), {self.entries} entries, "
            f"sha256 {self.source.sha256[:12]}",
            f"Matched {self.matched} of {self.matched + self.unmatched} catalog offerings by their LiteLLM model "
            f"string; {self.unmatched} are not listed.",
        ]

        def section(title: str, names: list[str]) -> None:
            lines.append(f"{verb} {title}".strip() if verb else title)
            lines.extend(f"  {name}" for name in names[:_SHOWN])
            if len(names) > _SHOWN:
                lines.append(f"  … and {len(names) - _SHOWN} more")

        on_existing = len([o for o in self.added_offerings if o.llm not in self.added_models])
        if self.added_models or self.added_offerings:
            section(
                f"Added: {counts['added_models']} models, {counts['added_offerings']} offerings "
                f"({on_existing} to models already in the catalog)",
                [f"{llm.id} ({llm.name}, {llm.maker_id})" for llm in self.added_models],
            )
        if self.changed_models or self.changed_offerings:
            section(
                f"Changed: {counts['changed_models']} models, {counts['changed_offerings']} offerings",
                self.changed_models,
            )
        if self.retired_models or self.retired_offerings:
            section(
                f"Retired: {counts['retired_models']} models, {counts['retired_offerings']} offerings",
                [f"{llm.id}" + (f" → {llm.replacement.id}" if llm.replacement else "") for llm in self.retired_models]
                + [f"offering {name}" for name in self.retired_offerings],
            )
        if self.restored_models or self.restored_offerings:
            section(
                f"Listed again: {counts['restored_models']} models, {counts['restored_offerings']} offerings",
                self.restored_models + [f"offering {name}" for name in self.restored_offerings],
            )
        if not self.changed_anything:
            lines.append("Nothing changed: the catalog already matches the registry.")
        elif self.dry_run:
            lines.append("Dry run: nothing was written.")
        lines.append(f"Took {self.seconds:.2f} s.")
        return lines


# --- reading ---------------------------------------------------------------------------------------------------------


def registry_read(*, url: str | None = None, file: Path | None = None) -> RegistrySource:
    """The registry from ``url``, ``file``, ``LEGER_MODEL_REGISTRY_URL`` or else the installed litellm package."""
    if url:
        return registry.fetch_url(url)
    if file is not None:
        return registry.read_file(file)
    configured = getattr(settings, "LEGER_MODEL_REGISTRY_URL", "")
    if configured:
        return registry.fetch_url(configured)
    return registry.read_packaged()


# --- the plan --------------------------------------------------------------------------------------------------------


class _Plan:
    """The catalog's cloud rows as read, changed in memory; ``dirty`` records what each row needs written."""

    def __init__(self, reg: Registry, *, today: date, now: datetime) -> None:
        self.reg = reg
        self.today = today
        self.now = now
        self.providers = {p.pk: p for p in Provider.objects.filter(kind=Provider.Kind.API)}
        self.makers = set(Maker.objects.values_list("pk", flat=True))
        self.capabilities = set(Capability.objects.values_list("pk", flat=True))
        self.all_llm_ids = set(LLM.objects.values_list("pk", flat=True))
        self.existing_llm_ids = frozenset(self.all_llm_ids)
        self.llms: dict[str, LLM] = {llm.pk: llm for llm in LLM.objects.filter(kind=LLM.Kind.CLOUD).order_by("pk")}
        self.offerings: dict[str, list[Offering]] = defaultdict(list)
        for offering in Offering.objects.filter(llm__kind=LLM.Kind.CLOUD, provider__kind=Provider.Kind.API).order_by(
            "llm_id", "provider_id"
        ):
            self.offerings[offering.llm_id].append(offering)
        through = LLM.capabilities.through
        self.llm_capabilities: dict[str, set[str]] = defaultdict(set)
        for llm_id, capability_id in through.objects.filter(llm__kind=LLM.Kind.CLOUD).values_list(
            "llm_id", "capability_id"
        ):
            self.llm_capabilities[llm_id].add(capability_id)
        self.wanted_capabilities: dict[str, set[str]] = {}
        self.entry_of: dict[int, Entry] = {}  # id(offering) -> entry
        self.dirty_llms: dict[str, set[str]] = defaultdict(set)
        self.dirty_offerings: dict[int, tuple[Offering, set[str]]] = {}
        self.new_llms: list[LLM] = []
        self.new_offerings: list[Offering] = []

    def set_offering(self, offering: Offering, name: str, value: Any) -> bool:
        if getattr(offering, name) == value:
            return False
        setattr(offering, name, value)
        if offering.pk is not None:
            self.dirty_offerings.setdefault(id(offering), (offering, set()))[1].add(name)
        return True

    def set_llm(self, llm: LLM, name: str, value: Any) -> bool:
        attname = llm._meta.get_field(name).attname
        if getattr(llm, attname) == value:
            return False
        setattr(llm, attname, value)
        if llm.pk in self.existing_llm_ids:
            self.dirty_llms[llm.pk].add(attname)
        return True


def _match_offerings(plan: _Plan, report: SyncReport) -> None:
    for llm_id, offerings in plan.offerings.items():
        for offering in offerings:
            if not offering.litellm_model:
                continue
            entry = plan.reg.lookup(offering.litellm_model)
            label = f"{offering.litellm_model} ({llm_id} via {offering.provider_id})"
            changed = False
            if entry is None:
                report.unmatched += 1
                retire = True
            else:
                report.matched += 1
                plan.entry_of[id(offering)] = entry
                changed |= plan.set_offering(offering, "registry_key", entry.key)
                for name, value in _entry_facts(entry).items():
                    if value is not None or name == "deprecation_date":
                        changed |= plan.set_offering(offering, name, value)
                retire = entry.is_deprecated(plan.today)
            if retire and offering.retired_at is None:
                plan.set_offering(offering, "retired_at", plan.now)
                report.retired_offerings.append(label)
            elif not retire and offering.retired_at is not None:
                plan.set_offering(offering, "retired_at", None)
                report.restored_offerings.append(label)
            elif changed:
                report.changed_offerings.append(label)


def _group_index(plan: _Plan) -> dict[str, str]:
    """Group key → the catalog model already holding that model, from its offerings first, then its id."""
    index: dict[str, str] = {}
    ordered = sorted(plan.llms.values(), key=lambda llm: (llm.source != Source.FIXTURES, llm.pk))
    for llm in ordered:
        for offering in plan.offerings.get(llm.pk, []):
            entry = plan.entry_of.get(id(offering))
            if entry is not None:
                index.setdefault(registry.group_key(entry.key, entry.provider), llm.pk)
            elif offering.litellm_model:
                prefix = offering.litellm_model.partition("/")[0]
                index.setdefault(registry.group_key(offering.litellm_model, prefix), llm.pk)
    for llm in ordered:
        index.setdefault(llm.pk, llm.pk)
        index.setdefault(llm.pk.replace(".", "-"), llm.pk)
    return index


def _add_models(plan: _Plan, report: SyncReport) -> dict[str, str]:
    used = {entry.key for entry in plan.entry_of.values()}
    routes: dict[str, Provider] = {}
    for provider in sorted(plan.providers.values(), key=lambda p: p.pk):
        for route in (provider.litellm_provider, *SIBLING_ROUTES.get(provider.litellm_provider, ())):
            if route:
                routes.setdefault(route, provider)

    # (group, provider id) → the best entry: the plain name (claude-opus-4-5) before a dated snapshot of it.
    candidates: dict[tuple[str, str], Entry] = {}
    for entry in sorted(plan.reg, key=lambda e: (len(e.key), e.key)):
        provider = routes.get(registry.route_prefix(entry.provider)) if entry.provider else None
        if (
            provider is None
            or entry.mode not in ADDED_MODES
            or entry.key in used
            or entry.alias_of
            or entry.is_deprecated(plan.today)
            or "ft:" in entry.key
            or registry.is_regional(entry.key)
            or len(registry.model_string(entry)) > Offering._meta.get_field("litellm_model").max_length
        ):
            continue
        if plan.reg.lookup(registry.model_string(entry)) is not entry:
            continue  # LiteLLM prices this model string by another entry: deepseek/deepseek-flash, not the bare key
        group = registry.group_key(entry.key, entry.provider)
        maker = registry.maker_of(entry.key, entry.provider)
        if not group or maker not in plan.makers or not LLM_ID.fullmatch(group) or len(group) > 90:
            continue
        candidates.setdefault((group, provider.pk), entry)

    index = _group_index(plan)
    by_group: dict[str, list[tuple[str, Entry]]] = defaultdict(list)
    for (group, provider_id), entry in sorted(candidates.items()):
        by_group[group].append((provider_id, entry))

    for group, served in by_group.items():
        llm_id = index.get(group)
        if llm_id is None:
            llm_id = group if group not in plan.all_llm_ids else f"{group}-cloud"
            if llm_id in plan.all_llm_ids:
                continue
            maker = registry.maker_of(served[0][1].key, served[0][1].provider)
            first_party = FIRST_PARTY.get(maker)
            default = next((p for p, _ in served if p == first_party), served[0][0])
            entry = dict(served)[default]
            llm = LLM(
                id=llm_id,
                name=registry.display_name(entry.key, entry.provider)[:200],
                maker_id=maker,
                kind=LLM.Kind.CLOUD,
                source=Source.REGISTRY,
                description=_description(entry, maker, [p for p, _ in served], plan.providers),
            )
            plan.new_llms.append(llm)
            plan.llms[llm_id] = llm
            plan.all_llm_ids.add(llm_id)
            index[group] = llm_id
            report.added_models.append(llm)
        else:
            llm = plan.llms[llm_id]
            default = None
        have = {o.provider_id for o in plan.offerings.get(llm_id, [])}
        for provider_id, entry in served:
            if provider_id in have:
                continue
            offering = Offering(
                llm=llm,
                provider_id=provider_id,
                litellm_model=registry.model_string(entry),
                is_default=provider_id == default,
                source=Source.REGISTRY,
                registry_key=entry.key,
                **{name: value for name, value in _entry_facts(entry).items()},
            )
            plan.entry_of[id(offering)] = entry
            plan.offerings[llm_id].append(offering)
            plan.new_offerings.append(offering)
            report.added_offerings.append(offering)
    return index


def _description(entry: Entry, maker: str, provider_ids: list[str], providers: dict[str, Provider]) -> str:
    kind = "Embedding model" if entry.mode == "embedding" else "Chat model"
    names = sorted(providers[p].name for p in provider_ids)
    return f"{kind} listed in LiteLLM's model registry, served by {', '.join(names)}."


def _fact_offering(plan: _Plan, llm: LLM) -> Offering | None:
    """The offering whose entry speaks for the model: its default while offered, else its first offered one."""
    offerings = plan.offerings.get(llm.pk, [])
    listed = [o for o in offerings if id(o) in plan.entry_of]
    live = [o for o in listed if o.retired_at is None]
    offered = [o for o in live if o.enabled]
    for pool in (offered, live, listed):
        for offering in sorted(pool, key=lambda o: (not o.is_default, o.provider_id)):
            return offering
    return None


def _sync_models(plan: _Plan, report: SyncReport, index: dict[str, str]) -> None:
    owned = set(REGISTRY_CAPABILITIES) & plan.capabilities
    key_owner = {
        entry.key: llm_id
        for llm_id, offerings in plan.offerings.items()
        for offering in offerings
        if (entry := plan.entry_of.get(id(offering))) is not None
    }
    new_ids = {llm.pk for llm in plan.new_llms}
    for llm in plan.llms.values():
        offerings = [o for o in plan.offerings.get(llm.pk, []) if o.litellm_model]
        if not offerings:
            continue
        changed = False
        fact = _fact_offering(plan, llm)
        entry = plan.entry_of.get(id(fact)) if fact is not None else None
        if entry is not None:
            changed |= plan.set_llm(llm, "registry_key", entry.key)
            for name in LLM_FACTS:
                value = entry.output_vector_size if name == "embedding_dimension" else getattr(fact, name)
                if value is not None or name == "deprecation_date":
                    changed |= plan.set_llm(llm, name, value)
            current = plan.llm_capabilities.get(llm.pk, set())
            wanted = (current - owned) | (registry_capabilities(entry) & plan.capabilities)
            if llm.pk in new_ids and entry.mode == "chat" and "chat" in plan.capabilities:
                wanted.add("chat")
            if (
                llm.source == Source.REGISTRY
                and "long-context" in plan.capabilities
                and (entry.max_input_tokens or 0) >= 1_000_000
            ):
                wanted.add("long-context")
            if wanted != current:
                plan.wanted_capabilities[llm.pk] = wanted
                changed = True

        retire = all(o.retired_at is not None for o in offerings)
        successor = None
        # The registry names successors of models it deprecates: shown from the day it does, used once retired.
        if entry is not None and entry.successor_model and (retire or entry.deprecation_date is not None):
            successor_entry = plan.reg.entries.get(entry.successor_model)
            if successor_entry is not None:
                successor = key_owner.get(successor_entry.key) or index.get(
                    registry.group_key(successor_entry.key, successor_entry.provider)
                )
            if successor == llm.pk or (successor is not None and successor not in plan.all_llm_ids):
                successor = None
        changed |= plan.set_llm(llm, "registry_successor", successor)
        if retire and llm.retired_at is None:
            plan.set_llm(llm, "retired_at", plan.now)
            report.retired_models.append(llm)
        elif not retire and llm.retired_at is not None:
            plan.set_llm(llm, "retired_at", None)
            report.restored_models.append(llm.pk)
        elif changed and llm.pk not in new_ids:
            report.changed_models.append(llm.pk)


# --- writing ---------------------------------------------------------------------------------------------------------


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])


def _write(plan: _Plan) -> None:
    LLM.objects.bulk_create(plan.new_llms, batch_size=500)
    offerings_by_fields: dict[frozenset[str], list[Offering]] = defaultdict(list)
    for offering, names in plan.dirty_offerings.values():
        offerings_by_fields[frozenset(names)].append(offering)
    for names, rows in offerings_by_fields.items():
        Offering.objects.bulk_update(rows, sorted(names), batch_size=500)
    llms_by_fields: dict[frozenset[str], list[LLM]] = defaultdict(list)
    for llm_id, names in plan.dirty_llms.items():
        llms_by_fields[frozenset(names)].append(plan.llms[llm_id])
    for names, rows in llms_by_fields.items():
        LLM.objects.bulk_update(rows, sorted(names), batch_size=500)
    # New defaults after the updates: a model whose old default was retired keeps it (one default per model).
    Offering.objects.bulk_create(plan.new_offerings, batch_size=500)

    through = LLM.capabilities.through
    removed = [
        (llm_id, capability)
        for llm_id, wanted in plan.wanted_capabilities.items()
        for capability in plan.llm_capabilities.get(llm_id, set()) - wanted
    ]
    by_capability: dict[str, list[str]] = defaultdict(list)
    for llm_id, capability in removed:
        by_capability[capability].append(llm_id)
    for capability, llm_ids in by_capability.items():
        through.objects.filter(capability_id=capability, llm_id__in=llm_ids).delete()
    through.objects.bulk_create(
        [
            through(llm_id=llm_id, capability_id=capability)
            for llm_id, wanted in plan.wanted_capabilities.items()
            for capability in sorted(wanted - plan.llm_capabilities.get(llm_id, set()))
        ],
        batch_size=1000,
    )


def catalog_sync(
    *,
    source: RegistrySource,
    dry_run: bool = False,
    min_entries: int = registry.DEFAULT_MIN_ENTRIES,
    today: date | None = None,
) -> SyncReport:
    """Sync the catalog with the registry ``source`` in one transaction, and record the run.

    Raises :class:`RegistryError` when the registry fails its checks or the database refuses the result; in that
    case nothing was written.
    """
    started = time.perf_counter()
    reg = registry.parse_registry(source.data, min_entries=min_entries)
    now = timezone.now()
    today = today or timezone.localdate(now)
    report = SyncReport(source=source, entries=len(reg), dry_run=dry_run)
    try:
        with transaction.atomic():
            _lock()
            plan = _Plan(reg, today=today, now=now)
            _match_offerings(plan, report)
            index = _add_models(plan, report)
            _sync_models(plan, report, index)
            report.seconds = time.perf_counter() - started
            if not dry_run:
                _write(plan)
                RegistrySync.objects.create(
                    finished_at=timezone.now(),
                    location=source.location[:500],
                    litellm_version=source.litellm_version[:40],
                    sha256=source.sha256,
                    entries=len(reg),
                    counts=report.counts,
                    report="\n".join(report.lines()),
                )
    except IntegrityError as exc:
        raise RegistryError([f"the database refused the sync, so nothing was written: {exc}".strip()]) from exc
    report.seconds = time.perf_counter() - started
    return report
