from __future__ import annotations

from django.contrib import admin

from leger.releases.models import InfrastructureService, OpenWebUIVariable


@admin.register(InfrastructureService)
class InfrastructureServiceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "role", "addon", "image", "port", "published_port", "exposable", "order"]
    list_filter = ["role", "exposable", "websocket"]
    search_fields = ["id", "name", "addon", "image", "description"]
    ordering = ["order", "id"]
    fieldsets = [
        (None, {"fields": ["id", "name", "role", "addon", "description", "order"]}),
        ("Container", {"fields": ["image", "port", "exec_args", "environment", "volumes", "health", "requires"]}),
        (
            "Exposure defaults",
            {
                "fields": [
                    "exposable",
                    "exposed_by_default",
                    "published_port",
                    "bind_address",
                    "websocket",
                    "subdomain",
                    "path",
                    "upstream_tls",
                ]
            },
        ),
        ("Secrets and wiring", {"fields": ["secrets", "config_files", "openwebui_env", "openwebui_secrets"]}),
    ]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The id names units and containers of published releases; renaming it would orphan their volumes.
        return ["id"] if obj is not None else []


@admin.register(OpenWebUIVariable)
class OpenWebUIVariableAdmin(admin.ModelAdmin):
    list_display = ["name", "label", "group", "type", "default", "order"]
    list_filter = ["group", "type"]
    search_fields = ["name", "label", "help_text"]
    ordering = ["group", "order", "name"]
