"""The catalog's fixture kinds: capabilities, makers, providers and models (``fixtures/catalog/``).

Each kind has a ``load`` that upserts its items through the loader's context (so an unchanged catalog costs no
write) and removes rows that left the files, and the models kind has a ``check`` for what JSON Schema cannot see:
references to makers, providers, capabilities and successors in the files being loaded, one default offering per
model, providers of the right kind, and llama-swap aliases that do not collide.

The registry sync (``registry_sync.py``) shares the models with this loader. The files own a model's name, maker,
description, enabled flag and successor; once the sync has synced a model (``registry_key`` set) the registry owns
its context, longest answer, prices, embedding dimension and the capabilities of ``REGISTRY_CAPABILITIES``, and
loading the files leaves those alone. Rows the sync added (``source`` "registry") are not the files' to remove.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from leger.catalog.loading import CheckContext, FixtureKind, Item, LoadContext, register_kind
from leger.catalog.models import LLM, Capability, Maker, Offering, Provider, Source
from leger.catalog.registry_sync import LLM_FACTS, REGISTRY_CAPABILITIES

CAPABILITIES = "catalog.capabilities"
MAKERS = "catalog.makers"
PROVIDERS = "catalog.providers"
MODELS = "catalog.models"

# The provider kinds the catalog's own file declares; marketplace fixtures own the "service" ones.
CATALOG_PROVIDER_KINDS = (Provider.Kind.API, Provider.Kind.LOCAL)


def load_capabilities(items: list[Item], ctx: LoadContext) -> None:
    for item in items:
        data = item.data
        ctx.upsert(Capability, data["id"], {"name": data["name"], "description": data["description"]}, item=item)
    ctx.remove_missing(Capability, [item.data["id"] for item in items])


def load_makers(items: list[Item], ctx: LoadContext) -> None:
    for item in items:
        data = item.data
        fields = {"name": data["name"], "website": data["website"], "description": data["description"]}
        ctx.upsert(Maker, data["id"], fields, item=item)
    ctx.remove_missing(Maker, [item.data["id"] for item in items])


def load_providers(items: list[Item], ctx: LoadContext) -> None:
    for item in items:
        data = item.data
        fields = {
            "name": data["name"],
            "kind": data["kind"],
            "env_var": data.get("env_var", ""),
            "key_prefix": data.get("key_prefix", ""),
            "key_param": data.get("key_param", "api_key"),
            "key_format": data.get("key_format", "token"),
            "key_fields": data.get("key_fields", []),
            "website": data["website"],
            "key_url": data.get("key_url", ""),
            "description": data["description"],
            "litellm_provider": data.get("litellm_provider", ""),
        }
        ctx.upsert(Provider, data["id"], fields, item=item)
    ctx.remove_missing(
        Provider, [item.data["id"] for item in items], among=Q(kind__in=[str(kind) for kind in CATALOG_PROVIDER_KINDS])
    )


def _llm_fields(data: dict[str, Any]) -> dict[str, Any]:
    runtime = data.get("runtime") or {}
    return {
        "name": data["name"],
        "maker": data["maker"],
        "kind": data["kind"],
        "description": data["description"],
        "context_window": data.get("context_window"),
        "max_output": data.get("max_output"),
        "input_price": data.get("input_price"),
        "output_price": data.get("output_price"),
        "price_tier": data.get("price_tier", ""),
        "embedding_dimension": data.get("embedding_dimension"),
        "use_cases": [],
        "enabled": data.get("enabled", True),
        "family": runtime.get("family", ""),
        "hf_repo": runtime.get("hf_repo", ""),
        "hf_file": runtime.get("hf_file", ""),
        "quantization": runtime.get("quantization", ""),
        "ctx_size": runtime.get("ctx_size"),
        "ttl": runtime.get("ttl"),
        "ram_required_gb": runtime.get("ram_required_gb"),
        "flash_attn": runtime.get("flash_attn", False),
        "aliases": list(runtime.get("aliases", [])),
        "successor": data.get("successor"),
        "source": Source.FIXTURES,
    }


def load_models(items: list[Item], ctx: LoadContext) -> None:
    ids = [item.data["id"] for item in items]
    # The facts the registry sync owns, as it left them, for the models it has synced.
    synced = set(LLM.objects.filter(pk__in=ids).exclude(registry_key="").values_list("pk", flat=True))
    synced_capabilities: dict[str, set[str]] = {llm_id: set() for llm_id in synced}
    for llm_id, capability in LLM.capabilities.through.objects.filter(
        llm_id__in=synced, capability_id__in=REGISTRY_CAPABILITIES
    ).values_list("llm_id", "capability_id"):
        synced_capabilities[llm_id].add(capability)

    for item in items:
        fields = _llm_fields(item.data)
        capabilities = set(item.data["capabilities"])
        if item.data["id"] in synced:
            for name in LLM_FACTS:
                fields.pop(name, None)
            capabilities = (capabilities - set(REGISTRY_CAPABILITIES)) | synced_capabilities[item.data["id"]]
        ctx.upsert(LLM, item.data["id"], fields, {"capabilities": sorted(capabilities)}, item=item)

    # A model the sync added and the files now describe: the files choose its default offering.
    demoted = Offering.objects.filter(llm_id__in=ids, source=Source.REGISTRY, is_default=True)
    if demoted.exists():  # rarely: an unchanged catalog must cost no write
        demoted.update(is_default=False)
    offerings = [(item, offering) for item in items for offering in item.data["offerings"]]
    keys = [{"llm": item.data["id"], "provider": offering["provider"]} for item, offering in offerings]
    # Now rather than at the end: a dropped offering may hold the model's single default slot the new one needs.
    ctx.remove_missing(Offering, keys, defer=False, among=Q(source=Source.FIXTURES))
    # Non-defaults first for the same reason: a model whose default moves frees the old slot before taking the new.
    for (item, offering), key in sorted(zip(offerings, keys, strict=True), key=lambda pair: pair[0][1]["is_default"]):
        fields = {
            "litellm_model": offering.get("litellm_model", ""),
            "is_default": offering["is_default"],
            "enabled": offering.get("enabled", True),
            "source": Source.FIXTURES,
        }
        ctx.upsert(Offering, key, fields, item=item)
    ctx.remove_missing(LLM, ids, among=Q(source=Source.FIXTURES))


def check_models(items: list[Item], ctx: CheckContext) -> None:
    makers = ctx.ids(MAKERS)
    capabilities = ctx.ids(CAPABILITIES)
    provider_kinds = {provider_id: item.data["kind"] for provider_id, item in ctx.by_id(PROVIDERS).items()}
    # llama-swap knows local models by id and alias; cloud ids live in LiteLLM's namespace and may repeat there.
    local_ids = {str(item.data["id"]) for item in items if item.data["kind"] == LLM.Kind.LOCAL}
    alias_owner: dict[str, Item] = {}

    model_ids = {str(item.data["id"]) for item in items}
    for item in items:
        data = item.data
        successor = data.get("successor")
        if successor is not None and (successor not in model_ids or successor == data["id"]):
            ctx.problem(item, "successor", f"{successor!r} is not another model in the fixtures; fix the id")
        if data["maker"] not in makers:
            ctx.problem(item, "maker", f"unknown maker {data['maker']!r}; add it to the makers fixture or fix the id")
        for index, capability in enumerate(data["capabilities"]):
            if capability not in capabilities:
                ctx.problem(
                    item, f"capabilities[{index}]", f"unknown capability {capability!r}; known: {sorted(capabilities)}"
                )

        wanted_kind = Provider.Kind.LOCAL if data["kind"] == LLM.Kind.LOCAL else Provider.Kind.API
        seen: set[str] = set()
        for index, offering in enumerate(data["offerings"]):
            provider = offering["provider"]
            field = f"offerings[{index}].provider"
            if provider not in provider_kinds:
                ctx.problem(
                    item, field, f"unknown provider {provider!r}; add it to the providers fixture or fix the id"
                )
            elif provider_kinds[provider] != wanted_kind:
                ctx.problem(
                    item,
                    field,
                    f"a {data['kind']} model must be offered by {wanted_kind} providers, "
                    f"but {provider!r} is {provider_kinds[provider]}",
                )
            if provider in seen:
                ctx.problem(item, field, f"provider {provider!r} is listed twice; keep one offering per provider")
            seen.add(provider)
        defaults = [offering["provider"] for offering in data["offerings"] if offering["is_default"]]
        if len(defaults) != 1:
            found = f"{len(defaults)} ({', '.join(defaults)})" if defaults else "none"
            ctx.problem(item, "offerings", f"exactly one offering must have is_default true; found {found}")
        elif data.get("enabled", True) and not all(
            offering.get("enabled", True) for offering in data["offerings"] if offering["is_default"]
        ):
            ctx.problem(
                item, "offerings", f"the default offering ({defaults[0]}) is disabled; make an enabled one the default"
            )

        context_window, max_output = data.get("context_window"), data.get("max_output")
        if context_window and max_output and max_output > context_window:
            ctx.problem(item, "max_output", f"{max_output} is larger than the context window ({context_window})")
        runtime = data.get("runtime")
        if runtime:
            if context_window and runtime["ctx_size"] > context_window:
                ctx.problem(
                    item,
                    "runtime.ctx_size",
                    f"{runtime['ctx_size']} is larger than the model's context window ({context_window})",
                )
            for index, alias in enumerate(runtime.get("aliases", [])):
                # llama-swap refuses a config where one name points at two models.
                field = f"runtime.aliases[{index}]"
                if alias in local_ids:
                    ctx.problem(item, field, f"{alias!r} is already the id of a local model; pick another alias")
                elif alias in alias_owner:
                    ctx.problem(item, field, f"{alias!r} is already an alias of {alias_owner[alias].label!r}")
                else:
                    alias_owner[alias] = item


def register() -> None:
    register_kind(FixtureKind(CAPABILITIES, "capabilities.schema.json", load_capabilities))
    register_kind(FixtureKind(MAKERS, "makers.schema.json", load_makers))
    register_kind(FixtureKind(PROVIDERS, "providers.schema.json", load_providers))
    register_kind(
        FixtureKind(
            MODELS,
            "models.schema.json",
            load_models,
            after=(CAPABILITIES, MAKERS, PROVIDERS),
            check=check_models,
        )
    )
