"""Small helpers creating catalog rows for tests, with sensible defaults."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from leger.catalog.models import LLM, Capability, Maker, Offering, Provider

_serial = itertools.count(1)


def make_capability(id: str = "", **fields: Any) -> Capability:
    id = id or f"capability-{next(_serial)}"
    return Capability.objects.get_or_create(id=id, defaults={"name": id.replace("-", " ").title(), **fields})[0]


def make_maker(id: str = "", **fields: Any) -> Maker:
    id = id or f"maker-{next(_serial)}"
    return Maker.objects.get_or_create(id=id, defaults={"name": id.title(), **fields})[0]


def make_provider(id: str = "", *, kind: str = "api", **fields: Any) -> Provider:
    id = id or f"provider-{next(_serial)}"
    defaults = {"name": id.title(), "kind": kind}
    if kind == "api":
        defaults["env_var"] = id.upper().replace("-", "_").replace(".", "_") + "_API_KEY"
    return Provider.objects.get_or_create(id=id, defaults={**defaults, **fields})[0]


def make_llm(
    id: str = "",
    *,
    maker: Maker | str | None = None,
    kind: str = "cloud",
    capabilities: Sequence[str] = (),
    providers: dict[str, str] | None = None,
    **fields: Any,
) -> LLM:
    """An LLM; ``providers`` maps provider id → LiteLLM model string, the first one the default."""
    id = id or f"llm-{next(_serial)}"
    if not isinstance(maker, Maker):
        maker = make_maker(maker or "acme")
    defaults: dict[str, Any] = {
        "name": id.replace("-", " ").title(),
        "context_window": 128_000,
        "input_price": Decimal("1.00"),
        "output_price": Decimal("2.00"),
    }
    if kind == "local":
        defaults.update(
            input_price=None,
            output_price=None,
            hf_repo=f"example/{id}-GGUF",
            hf_file=f"{id}-Q4_K_M.gguf",
            quantization="Q4_K_M",
            ctx_size=8192,
            ttl=300,
            ram_required_gb=8,
        )
    llm = LLM.objects.create(id=id, maker=maker, kind=kind, **{**defaults, **fields})
    llm.capabilities.set([make_capability(capability) for capability in capabilities])
    if providers is None:
        providers = {"llama-cpp": ""} if kind == "local" else {"openrouter": f"openrouter/{id}"}
    for position, (provider_id, litellm_model) in enumerate(providers.items()):
        provider = make_provider(provider_id, kind="local" if provider_id == "llama-cpp" else "api")
        Offering.objects.create(llm=llm, provider=provider, litellm_model=litellm_model, is_default=position == 0)
    return llm


def make_catalog(size: int) -> list[LLM]:
    """``size`` models spread over makers, providers and capabilities, for query-count tests."""
    made = []
    for n in range(size):
        id = f"bulk-{next(_serial)}"
        made.append(
            make_llm(
                id,
                maker=f"maker-{n % 4}",
                kind="local" if n % 5 == 0 else "cloud",
                capabilities=["chat", "vision"] if n % 2 else ["chat"],
                providers=None if n % 5 == 0 else {"openrouter": f"openrouter/{id}", f"provider-{n % 3}": f"p/{id}"},
            )
        )
    return made
