from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.routers import DefaultRouter

from leger.catalog.filters import ORDERINGS, LLMFilterSet
from leger.catalog.models import LLM, Provider
from leger.catalog.selectors import llm_list, provider_list
from leger.catalog.serializers import LLMSerializer, ProviderSerializer
from leger.providers.selectors import configured_provider_ids

# Catalog ids hold dots (claude-3.5-haiku), which the router's default lookup refuses. A NUL cannot be in an
# id and PostgreSQL refuses to compare text holding one, so such a path is simply not found.
CATALOG_ID = r"[^/\x00]+"


class CallerKeysMixin:
    """Tells the serializer, once per request, which providers the caller holds keys for."""

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if not hasattr(self, "_configured_provider_ids"):
            self._configured_provider_ids = configured_provider_ids(user=self.request.user)  # type: ignore[attr-defined]
        context["configured_provider_ids"] = self._configured_provider_ids
        return context


def _query(name: str, description: str, type: Any = str, **kwargs: Any) -> OpenApiParameter:
    return OpenApiParameter(name, type, OpenApiParameter.QUERY, description=description, **kwargs)


@extend_schema_view(
    # The FilterSet's help texts are written for the page; an API caller needs to know which values to send.
    list=extend_schema(
        parameters=[
            _query("search", "Part of a model's name or id, its maker's name or a LiteLLM model string; any case."),
            _query(
                "capability",
                "A capability id, e.g. vision. Repeat it to require several: all must match.",
                {"type": "array", "items": {"type": "string"}},
                style="form",
                explode=True,
            ),
            _query("maker", "A maker id, e.g. anthropic."),
            _query("provider", "A provider id, e.g. openrouter: the models it serves."),
            _query("kind", "cloud or local.", enum=LLM.Kind.values),
            _query("min_context", "A context window of at least this many tokens.", int),
            _query(
                "ordering",
                "name (the default), context or price (input, per 1M tokens); a leading - reverses it.",
                enum=list(ORDERINGS),
            ),
        ]
    ),
    retrieve=extend_schema(
        parameters=[
            OpenApiParameter("id", str, OpenApiParameter.PATH, description="A catalog id, e.g. claude-3.5-haiku.")
        ]
    ),
)
class LLMViewSet(CallerKeysMixin, viewsets.ReadOnlyModelViewSet):
    """The model catalog: every cloud and local LLM, with its providers and prices."""

    serializer_class = LLMSerializer
    filterset_class = LLMFilterSet
    lookup_value_regex = CATALOG_ID

    def get_queryset(self) -> QuerySet[LLM]:
        # The filter backend runs LLMFilterSet over this, the same FilterSet the /models/ page runs.
        return llm_list()


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="A provider id, e.g. anthropic.")]
    )
)
class ProviderViewSet(CallerKeysMixin, viewsets.ReadOnlyModelViewSet):
    """Catalog providers (LLM APIs, local llama-cpp, add-on services), and whether the caller holds a key for each."""

    serializer_class = ProviderSerializer
    lookup_value_regex = CATALOG_ID
    filterset_fields = ["kind"]

    def get_queryset(self) -> QuerySet[Provider]:
        return provider_list()


def register(router: DefaultRouter) -> list:
    """Add this section's viewsets to the /api/v1/ router; return extra url patterns."""
    router.register("models", LLMViewSet, basename="model")
    router.register("providers", ProviderViewSet, basename="provider")
    return []
