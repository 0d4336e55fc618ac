"""The CLI's tokens and sign-in attempts: read-only, owner-scoped, and tokens revocable in bulk."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from leger.cli.models import CliToken, SignInAttempt
from leger.providers.admin import ReadOnlyOwnedAdmin


@admin.register(CliToken)
class CliTokenAdmin(ReadOnlyOwnedAdmin):
    list_display = ["device_hostname", "device_ip", "login_name", "owner", "created_at", "expires_at", "revoked_at"]
    list_select_related = ["owner"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["device_hostname", "device_ip", "login_name", "owner__username"]
    fields = [
        "owner",
        "login_name",
        "device_hostname",
        "device_ip",
        "device_id",
        "cli_version",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[CliToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked; those machines must run leger auth login again.")


@admin.register(SignInAttempt)
class SignInAttemptAdmin(ReadOnlyOwnedAdmin):
    list_display = ["at", "outcome", "login_name", "device_hostname", "device_ip", "client_ip", "owner"]
    list_select_related = ["owner"]
    list_filter = ["outcome"]
    search_fields = ["login_name", "device_hostname", "device_ip", "client_ip"]
    date_hierarchy = "at"
    fields = ["at", "outcome", "reason", "owner", "login_name", "device_hostname", "device_ip", "client_ip"]
    readonly_fields = fields
