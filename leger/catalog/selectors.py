"""Reads of the model catalog.

Every list here fetches a model's maker, capabilities and offerings (with
their providers) in a fixed number of queries, so a page or API answer costs
the same whether the catalog holds ten models or ten thousand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet

from leger.catalog.filters import LLMFilterSet
from leger.catalog.models import LLM, Offering, Provider, RegistrySync


def _llms() -> QuerySet[LLM]:
    return LLM.objects.select_related("maker", "successor", "registry_successor").prefetch_related(
        "capabilities",
        Prefetch("offerings", queryset=Offering.objects.select_related("provider")),
    )


def llm_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[LLM]:
    """The catalog's models, narrowed by ``filters`` (the query parameters of ``LLMFilterSet``).

    Raises ``ValidationError`` (a dict of field → messages) for a filter value
    that names nothing or is malformed.
    """
    if not filters:
        return _llms()
    filterset = LLMFilterSet(data=filters, queryset=_llms())
    if not filterset.is_valid():
        raise ValidationError({field: list(messages) for field, messages in filterset.errors.items()})
    return filterset.qs


def llm_get(*, id: str) -> LLM:
    """One model with its maker, capabilities and offerings; raises ``LLM.DoesNotExist``."""
    return _llms().get(pk=id)


def provider_list() -> QuerySet[Provider]:
    return Provider.objects.order_by("name", "id")


def retired_offerings() -> QuerySet[Offering]:
    """Offerings LiteLLM's registry no longer lists, or lists as deprecated past their date (the sync retires them)."""
    return Offering.objects.filter(retired_at__isnull=False)


def unoffered_offerings() -> QuerySet[Offering]:
    """Offerings a new release may not use: retired by the registry, or disabled by Leger."""
    return Offering.objects.filter(Q(retired_at__isnull=False) | Q(enabled=False))


def llm_refusal(*, llm: LLM) -> str | None:
    """Why a new release may not use ``llm``, naming the model to use instead; None when it may."""
    if not llm.is_retired:
        return None
    replacement = llm.replacement
    instead = f"; choose {replacement.name} ({replacement.pk}) instead" if replacement else "; choose another model"
    return f"{llm.name} is retired: LiteLLM's model registry no longer lists it{instead}."


@dataclass(frozen=True)
class RetiredModel:
    id: str
    name: str
    replacement: LLM | None


def retired_among(model_ids: Iterable[str]) -> list[RetiredModel]:
    """The models of ``model_ids`` that are retired, each with the model to use instead; one query."""
    wanted = sorted({model for model in model_ids if isinstance(model, str)})
    if not wanted:
        return []
    rows = LLM.objects.filter(pk__in=wanted, retired_at__isnull=False).select_related("successor", "registry_successor")
    return [RetiredModel(llm.pk, llm.name, llm.replacement) for llm in sorted(rows, key=lambda llm: llm.name)]


def registry_sync_latest() -> RegistrySync | None:
    """The last sync with LiteLLM's model registry that wrote the catalog, or None before the first."""
    return RegistrySync.objects.order_by("-finished_at", "-id").first()
