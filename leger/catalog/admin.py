"""Admin for the catalog: where operators correct and extend what load_catalog put there."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from leger.catalog.models import LLM, Capability, Maker, Offering, Provider
from leger.catalog.templatetags.catalog_format import tokens, usd


class OfferingInline(admin.TabularInline):
    model = Offering
    extra = 0
    autocomplete_fields = ["provider"]
    fields = ["provider", "litellm_model", "is_default"]


class CatalogAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def counted(self, queryset: QuerySet, name: str, relation: str) -> QuerySet:
        # A COUNT groups rows, and Django drops Meta.ordering from grouped queries: restore it
        # so autocomplete and the changelist page through a stable order.
        return queryset.annotate(**{name: Count(relation, distinct=True)}).order_by(
            *queryset.model._meta.ordering, "pk"
        )

    def get_readonly_fields(self, request: HttpRequest, obj: object | None = None) -> list[str]:
        # Fixtures, releases and the API refer to a row by its id; editing it would save a copy under a new key.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "id"] if obj else readonly


class WithModelCount(CatalogAdmin):
    """Adds a sortable count of the models that use the row."""

    count_of = "llms"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.counted(super().get_queryset(request), "model_count", self.count_of)

    @admin.display(description="models", ordering="model_count")
    def model_count(self, obj: Capability | Maker | Provider) -> int:
        return obj.model_count  # type: ignore[union-attr]


@admin.register(Capability)
class CapabilityAdmin(WithModelCount):
    list_display = ["name", "id", "model_count"]
    search_fields = ["id", "name", "description"]


@admin.register(Maker)
class MakerAdmin(WithModelCount):
    list_display = ["name", "id", "website", "model_count"]
    search_fields = ["id", "name", "description"]


@admin.register(Provider)
class ProviderAdmin(WithModelCount):
    count_of = "offerings"
    list_display = ["name", "id", "kind", "env_var", "key_prefix", "model_count"]
    list_filter = ["kind"]
    search_fields = ["id", "name", "env_var", "description"]


@admin.register(LLM)
class LLMAdmin(CatalogAdmin):
    list_display = [
        "name",
        "id",
        "maker",
        "kind",
        "context",
        "input",
        "output",
        "price_tier",
        "provider_count",
        "enabled",
    ]
    list_select_related = ["maker"]
    list_filter = ["kind", "maker", "capabilities", "price_tier", "enabled"]
    search_fields = ["id", "name", "maker__name", "offerings__litellm_model"]
    autocomplete_fields = ["maker"]
    filter_horizontal = ["capabilities"]
    inlines = [OfferingInline]
    fieldsets = [
        (None, {"fields": ["id", "name", "maker", "kind", "enabled", "description", "capabilities", "use_cases"]}),
        ("Size and price", {"fields": ["context_window", "max_output", "input_price", "output_price", "price_tier"]}),
        ("Embeddings", {"fields": ["embedding_dimension"], "classes": ["collapse"]}),
        (
            "Running locally (llama-swap)",
            {
                "fields": LLM.LOCAL_RUNTIME_FIELDS,
                "description": "Needed for local models only.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LLM]:
        return self.counted(super().get_queryset(request), "provider_count", "offerings")

    @admin.display(description="context", ordering="context_window")
    def context(self, llm: LLM) -> str:
        return tokens(llm.context_window)

    @admin.display(description="input / 1M", ordering="input_price")
    def input(self, llm: LLM) -> str:
        return usd(llm.input_price)

    @admin.display(description="output / 1M", ordering="output_price")
    def output(self, llm: LLM) -> str:
        return usd(llm.output_price)

    @admin.display(description="providers", ordering="provider_count")
    def provider_count(self, llm: LLM) -> int:
        return llm.provider_count  # type: ignore[attr-defined]


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = ["llm", "provider", "litellm_model", "is_default"]
    list_select_related = ["llm", "provider"]
    list_filter = ["provider", "is_default"]
    search_fields = ["llm__id", "llm__name", "provider__id", "provider__name", "litellm_model"]
    autocomplete_fields = ["llm", "provider"]
