"""Admin for the catalog: where operators correct and extend what load_catalog put there."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from leger.catalog.models import LLM, Capability, Maker, Offering, Provider, RegistrySync
from leger.catalog.registry import RegistryError
from leger.catalog.registry_sync import catalog_sync, registry_read
from leger.catalog.templatetags.catalog_format import tokens, usd


class RetiredFilter(admin.SimpleListFilter):
    title = "retired"
    parameter_name = "retired"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Retired by the registry"), ("no", "Not retired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(retired_at__isnull=self.value() == "no")
        return queryset


class OfferingInline(admin.TabularInline):
    model = Offering
    extra = 0
    autocomplete_fields = ["provider"]
    fields = ["provider", "litellm_model", "is_default", "enabled", "source", "retired_at", "deprecation_date"]
    readonly_fields = ["source", "retired_at", "deprecation_date"]


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
    list_display = ["name", "id", "kind", "env_var", "key_prefix", "litellm_provider", "model_count"]
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
        "status",
    ]
    list_select_related = ["maker"]
    list_filter = ["kind", "maker", "capabilities", "price_tier", "enabled", RetiredFilter, "source"]
    search_fields = ["id", "name", "maker__name", "offerings__litellm_model"]
    autocomplete_fields = ["maker", "successor"]
    filter_horizontal = ["capabilities"]
    inlines = [OfferingInline]
    readonly_fields = ["source", "registry_key", "deprecation_date", "retired_at", "registry_successor"]
    fieldsets = [
        (None, {"fields": ["id", "name", "maker", "kind", "enabled", "description", "capabilities", "use_cases"]}),
        ("Size and price", {"fields": ["context_window", "max_output", "input_price", "output_price", "price_tier"]}),
        (
            "LiteLLM's model registry",
            {
                "fields": [
                    "source",
                    "registry_key",
                    "deprecation_date",
                    "retired_at",
                    "successor",
                    "registry_successor",
                ],
                "description": "Kept current by the registry sync (Registry syncs → Sync now). Once a model is "
                "synced, the sync owns its context, prices and registry capabilities; the successor is yours.",
            },
        ),
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

    @admin.display(description="status", ordering="retired_at")
    def status(self, llm: LLM) -> str:
        if llm.retired_at:
            return f"retired {llm.retired_at:%Y-%m-%d}"
        if llm.deprecation_date:
            return f"deprecated from {llm.deprecation_date:%Y-%m-%d}"
        return "current"


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = ["llm", "provider", "litellm_model", "is_default", "enabled", "retired_at", "source"]
    list_select_related = ["llm", "provider"]
    list_filter = ["provider", "is_default", "enabled", RetiredFilter, "source"]
    readonly_fields = [
        "source",
        "registry_key",
        "context_window",
        "max_output",
        "input_price",
        "output_price",
        "deprecation_date",
        "retired_at",
    ]
    search_fields = ["llm__id", "llm__name", "provider__id", "provider__name", "litellm_model"]
    autocomplete_fields = ["llm", "provider"]


@admin.register(RegistrySync)
class RegistrySyncAdmin(admin.ModelAdmin):
    """The record of every sync with LiteLLM's model registry, and the button that runs one."""

    change_list_template = "admin/catalog/registrysync/change_list.html"
    list_display = ["finished_at", "source_label", "entries", "summary"]
    readonly_fields = ["finished_at", "location", "litellm_version", "sha256", "entries", "counts", "report"]
    search_fields = ["litellm_version", "location", "sha256"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a record is written by a sync, never by hand

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    @admin.display(description="source")
    def source_label(self, sync: RegistrySync) -> str:
        return sync.source_label

    @admin.display(description="what changed")
    def summary(self, sync: RegistrySync) -> str:
        counts = sync.counts or {}
        return (
            f"{counts.get('added_models', 0)} models added, {counts.get('changed_models', 0)} changed, "
            f"{counts.get('retired_models', 0)} retired"
        )

    def get_urls(self) -> list[URLPattern]:
        run = path("run/", self.admin_site.admin_view(self.run_sync), name="catalog_registrysync_run")
        return [run, *super().get_urls()]

    def run_sync(self, request: HttpRequest) -> HttpResponse:
        # Syncing writes models and offerings: it takes the right to change them, and a POST (the button's form).
        if request.method != "POST" or not request.user.has_perms(["catalog.change_llm", "catalog.change_offering"]):
            raise PermissionDenied
        try:
            report = catalog_sync(source=registry_read(), dry_run=bool(request.POST.get("dry_run")))
        except RegistryError as error:
            self.message_user(
                request, f"The registry was not synced; the catalog is unchanged. {error}", level=messages.ERROR
            )
        else:
            level = messages.SUCCESS if not report.dry_run else messages.INFO
            self.message_user(
                request, " ".join(line.strip() for line in report.lines() if not line.startswith("  ")), level=level
            )
        return HttpResponseRedirect(reverse("admin:catalog_registrysync_changelist"))
