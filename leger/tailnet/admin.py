"""Admin for tailnet settings. The auth key and API access token are never shown or edited here: only their masked
forms."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from leger.tailnet import services
from leger.tailnet.models import TailnetSettings


@admin.register(TailnetSettings)
class TailnetSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "owner",
        "machine_name",
        "exposure",
        "custom_domain",
        "address",
        "accelerator",
        "memory_gb",
        "gpu_memory_gb",
        "auth_key_masked",
        "login_name",
        "api_key_masked",
        "updated_at",
    ]
    list_select_related = ["owner"]
    list_filter = ["exposure", "accelerator"]
    search_fields = ["owner__username", "owner__email", "tailnet", "hostname", "custom_domain", "login_name"]
    fields = [
        "owner",
        "tailnet",
        "hostname",
        "exposure",
        "custom_domain",
        "address",
        "accelerator",
        "memory_gb",
        "gpu_memory_gb",
        "auth_key_masked",
        "login_name",
        "api_key_masked",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["auth_key_masked", "api_key_masked", "created_at", "updated_at"]
    autocomplete_fields = ["owner"]

    def get_readonly_fields(self, request: HttpRequest, obj: TailnetSettings | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "owner"] if obj else readonly

    def save_model(self, request: HttpRequest, obj: TailnetSettings, form: Any, change: bool) -> None:
        saved = services.tailnet_settings_put(
            owner=obj.owner,
            tailnet=obj.tailnet,
            hostname=obj.hostname,
            exposure=obj.exposure,
            custom_domain=obj.custom_domain,
            login_name=obj.login_name,
        )
        obj.pk = saved.pk
