from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count

from leger.releases.models import InfrastructureService, OpenWebUIVariable, Owner, Promotion, Release, ReleaseFile
from leger.releases.services import release_delete, release_retry


@admin.register(InfrastructureService)
class InfrastructureServiceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "role", "addon", "image", "port", "published_port", "exposable", "order"]
    list_filter = ["role", "exposable", "websocket"]
    search_fields = ["id", "name", "addon", "image", "description"]
    ordering = ["order", "id"]
    fieldsets = [
        (None, {"fields": ["id", "name", "role", "addon", "description", "order"]}),
        (
            "Container",
            {"fields": ["image", "accelerated", "port", "exec_args", "environment", "volumes", "health", "requires"]},
        ),
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
        (
            "Secrets and wiring",
            {"fields": ["secrets", "config_files", "openwebui_env", "openwebui_secrets", "preload", "base_path"]},
        ),
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


# --- releases (operators look; changes go through the services) --------------------------------------------------


class ReleaseFileInline(admin.TabularInline):
    model = ReleaseFile
    fields = ["path", "size", "sha256"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class PromotionInline(admin.TabularInline):
    model = Promotion
    fk_name = "release"
    fields = ["promoted_at", "promoted_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "version", "status", "progress", "file_count", "created_at", "published_at"]
    list_filter = ["status", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username", "owner__email", "error"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    actions = ["requeue_failed"]
    inlines = [ReleaseFileInline, PromotionInline]
    fieldsets = [
        (None, {"fields": ["name", "owner", "status", "version", "progress", "error"]}),
        ("History", {"fields": ["created_at", "updated_at", "cut_at", "cut_by", "published_at", "cloned_from"]}),
        ("Contents", {"fields": ["step", "manifest_key", "inputs", "snapshot"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "name",
        "owner",
        "status",
        "version",
        "progress",
        "error",
        "created_at",
        "updated_at",
        "cut_at",
        "cut_by",
        "published_at",
        "cloned_from",
        "step",
        "manifest_key",
        "inputs",
        "snapshot",
    ]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).annotate(_file_count=Count("files"))

    @admin.display(description="files", ordering="_file_count")
    def file_count(self, obj: Release) -> int:
        return obj._file_count  # type: ignore[attr-defined]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        # Releases are made in the wizard or with cut_release; a hand-made row would skip every rule.
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return obj is None or obj.status == Release.Status.DRAFT

    def delete_model(self, request, obj: Release) -> None:  # type: ignore[no-untyped-def]
        release_delete(release=obj)

    def delete_queryset(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        for release in queryset:
            release_delete(release=release)

    @admin.action(description="Queue the publishing of the selected failed releases again")
    def requeue_failed(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        queued, skipped = [], []
        for release in queryset.order_by("id"):
            if release.status != Release.Status.FAILED:
                skipped.append(str(release))
                continue
            release_retry(release=release)
            queued.append(str(release))
        if queued:
            self.message_user(request, f"Queued again: {', '.join(queued)}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped (only failed releases are queued again): {', '.join(skipped)}.", messages.WARNING
            )


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["release", "owner", "promoted_by", "promoted_at"]
    list_select_related = ["release", "owner", "promoted_by"]
    list_filter = ["promoted_at"]
    search_fields = ["owner__username", "release__name"]
    readonly_fields = ["owner", "release", "promoted_by", "promoted_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Owner)
class OwnerAdmin(admin.ModelAdmin):
    list_display = ["user", "uuid", "last_version"]
    list_select_related = ["user"]
    search_fields = ["user__username", "uuid"]
    readonly_fields = ["user", "uuid", "last_version"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
