"""Admin for the marketplace: services with their variables, slots, and users' selections.

Selections are written through the services, so the one-active-provider-per-slot rule and the value checks
are the same as on the page and in the API. Secret values never appear: only their masked form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from leger.marketplace import services
from leger.marketplace.models import Selection, Service, Slot, Variable


class VariableInline(admin.TabularInline):
    model = Variable
    extra = 0
    fields = [
        "position",
        "name",
        "type",
        "default",
        "options",
        "minimum",
        "maximum",
        "pattern",
        "required",
        "help_text",
    ]
    ordering = ["position", "id"]


class ServiceVariableInline(VariableInline):
    fk_name = "service"
    exclude = ["slot"]


class SlotVariableInline(VariableInline):
    fk_name = "slot"
    exclude = ["service"]
    verbose_name = "shared setting"
    verbose_name_plural = "shared settings (offered with every provider of the slot)"


class CatalogIdAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: object | None = None) -> list[str]:
        # Selections and releases refer to the row by its id; editing it would save a copy under a new key.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "id"] if obj else readonly


@admin.register(Slot)
class SlotAdmin(CatalogIdAdmin):
    list_display = ["name", "id", "variable_names", "reindex_on_switch", "service_count", "position"]
    search_fields = ["id", "name"]
    inlines = [SlotVariableInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Slot]:
        return super().get_queryset(request).annotate(service_count=Count("services", distinct=True))

    @admin.display(description="variables")
    def variable_names(self, slot: Slot) -> str:
        return ", ".join(slot.variables)

    @admin.display(description="services", ordering="service_count")
    def service_count(self, slot: Slot) -> int:
        return slot.service_count  # type: ignore[attr-defined]


@admin.register(Service)
class ServiceAdmin(CatalogIdAdmin):
    list_display = [
        "name",
        "id",
        "category",
        "slot",
        "slot_value",
        "runtime",
        "key_provider",
        "enabled",
        "selection_count",
    ]
    list_select_related = ["slot", "key_provider"]
    list_filter = ["category", "slot", "runtime", "enabled"]
    search_fields = ["id", "name", "description", "slot_value"]
    autocomplete_fields = ["key_provider"]
    inlines = [ServiceVariableInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return super().get_queryset(request).annotate(selection_count=Count("selections", distinct=True))

    @admin.display(description="selections", ordering="selection_count")
    def selection_count(self, service: Service) -> int:
        return service.selection_count  # type: ignore[attr-defined]


class SelectionAdminForm(forms.ModelForm):
    class Meta:
        model = Selection
        fields = ["owner", "service", "values", "credential", "active"]
        help_texts = {"values": "Plain values by variable name. Secret variables are set by their owner only."}


@admin.register(Selection)
class SelectionAdmin(admin.ModelAdmin):
    form = SelectionAdminForm
    list_display = ["service", "owner", "slot", "active", "key", "secrets", "updated_at"]
    list_select_related = ["service", "owner", "slot", "credential"]
    list_filter = ["active", "service__category", "slot"]
    search_fields = ["owner__username", "owner__email", "service__name", "service__id"]
    autocomplete_fields = ["owner", "service", "credential"]
    readonly_fields = ["slot", "secrets", "created_at", "updated_at"]
    actions = ["deactivate"]

    def get_readonly_fields(self, request: HttpRequest, obj: Selection | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # A selection is of one service for one user; another service is another selection.
        return [*readonly, "owner", "service"] if obj else readonly

    @admin.display(description="key")
    def key(self, selection: Selection) -> str:
        return selection.credential.masked if selection.credential_id else "—"

    @admin.display(description="secrets")
    def secrets(self, selection: Selection) -> str:
        return ", ".join(f"{name} {mask}" for name, mask in (selection.secret_masks or {}).items()) or "—"

    def save_model(self, request: HttpRequest, obj: Selection, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                saved = services.selection_update(
                    selection=obj, values=data["values"], credential=data.get("credential"), active=data["active"]
                )
            else:
                saved = services.selection_create(
                    owner=data["owner"],
                    service=data["service"],
                    values=data["values"],
                    credential=data.get("credential"),
                    active=data["active"],
                )
        except ValidationError as error:
            # The form already ran the same rules through clean(); this is a lost race at save time.
            self.message_user(request, " ".join(error.messages), level=messages.ERROR)
            raise
        obj.pk = saved.pk

    @admin.action(description="Deactivate the selected selections")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Selection]) -> None:
        count = 0
        for selection in queryset:
            if selection.active:
                services.selection_deactivate(selection=selection)
                count += 1
        self.message_user(request, f"{count} selection(s) deactivated.")
