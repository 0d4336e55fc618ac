"""Reads of the model catalog.

Every list here fetches a model's maker, capabilities and offerings (with
their providers) in a fixed number of queries, so a page or API answer costs
the same whether the catalog holds ten models or ten thousand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from leger.catalog.filters import LLMFilterSet
from leger.catalog.models import LLM, Offering, Provider


def _llms() -> QuerySet[LLM]:
    return LLM.objects.select_related("maker").prefetch_related(
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
