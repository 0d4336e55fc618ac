"""Admin for credentials and their audit log.

No admin page or form shows a key: the value column stays out of every form
(the add form takes a key through the service and never renders it back),
lists show the masked form, and deleting goes through the service so each
revocation is audited. Staff who are not superusers see only their own keys.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from leger.providers import services
from leger.providers.audit import AccessSource
from leger.providers.forms import key_field
from leger.providers.models import AuditEntry, Credential, InternalSecret, NamedSecret
from leger.providers.selectors import key_providers


def _source(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, channel=AuditEntry.Channel.ADMIN)


class CredentialAddForm(forms.ModelForm):
    """Takes a key for the service to encrypt; the key field never renders a value.

    The field is called ``key``: a form field named like the model's non-editable
    ``value`` column is refused by the ModelForm machinery.
    """

    key = key_field()
    key_fields = forms.JSONField(
        required=False,
        label="Key fields",
        help_text='What the provider needs besides the key, by name, e.g. {"api_base": "https://x.openai.azure.com", '
        '"api_version": "2024-10-21"} for Azure OpenAI (see the provider\'s key fields).',
    )
    acting_user: Any = None  # set per request by CredentialAdmin.get_form

    class Meta:
        model = Credential
        fields = ["owner", "provider", "label"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = key_providers()
        self.fields["label"].required = False

    @method_decorator(sensitive_variables())
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["owner"] = cleaned.get("owner") or self.acting_user
        if cleaned.get("provider") is not None and cleaned["owner"] is not None:
            try:
                cleaned["label"] = services.credential_check_new(
                    owner=cleaned["owner"],
                    provider=cleaned["provider"],
                    label=cleaned.get("label", ""),
                    value=cleaned.get("key", ""),
                    fields=cleaned.get("key_fields") if isinstance(cleaned.get("key_fields"), dict) else None,
                )
            except ValidationError as error:
                by_field: dict[str, list[str]] = {}
                for name, messages in error:
                    field = "key" if name == "value" else name
                    if field.startswith(services.FIELD_ERROR_PREFIX):
                        field, messages = (
                            "key_fields",
                            [f"{name.removeprefix(services.FIELD_ERROR_PREFIX)}: {m}" for m in messages],
                        )
                    by_field.setdefault(field, []).extend(messages)
                self.add_error(None, ValidationError(by_field))
        return cleaned

    def _post_clean(self) -> None:
        # The model instance is built by the service in save_model; the service's own
        # check above already ran every rule, so the ModelForm's instance validation is skipped.
        pass


class CredentialChangeForm(forms.ModelForm):
    class Meta:
        model = Credential
        fields = ["label"]

    def clean_label(self) -> str:
        try:
            return services.credential_check_label(credential=self.instance, label=self.cleaned_data["label"])
        except ValidationError as error:
            raise ValidationError(error.message_dict.get("label", error.messages)) from None

    def _post_clean(self) -> None:
        # Keep the stored label until the service saves it in save_model (with its audit entry).
        pass


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["secret_name", "owner", "provider", "label", "masked", "created_at", "rotated_at"]
    list_select_related = ["owner", "provider"]
    list_filter = ["provider"]
    search_fields = ["secret_name", "label", "owner__username", "owner__email", "provider__name"]
    ordering = ["owner__username", "provider__name", "label"]
    change_fields = [
        *("owner", "provider", "label", "masked", "key_settings", "key_secrets_masked"),
        *("secret_name", "env_var", "created_at", "rotated_at"),
    ]
    change_readonly_fields = [
        *("owner", "provider", "masked", "key_settings", "key_secrets_masked"),
        *("secret_name", "env_var", "created_at", "rotated_at"),
    ]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Credential]:
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(owner=request.user)
        return queryset

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Bulk delete would bypass the service and its audit entries; "revoke" replaces it.
        actions.pop("delete_selected", None)
        return actions

    def get_fields(self, request: HttpRequest, obj: Credential | None = None) -> list[str]:
        if obj is not None:
            return list(self.change_fields)
        # Staff who are not superusers add keys for themselves only.
        own = ["provider", "label", "key", "key_fields"]
        return ["owner", *own] if request.user.is_superuser else own

    def get_readonly_fields(self, request: HttpRequest, obj: Credential | None = None) -> list[str]:
        return list(self.change_readonly_fields) if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Credential | None = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = CredentialChangeForm if obj is not None else CredentialAddForm
        form_class = super().get_form(request, obj, change=change, **kwargs)
        form_class.acting_user = request.user  # a fresh class per request (modelform_factory)
        return form_class

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk}

    @method_decorator(sensitive_post_parameters("key"))
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        return super().add_view(request, form_url, extra_context)

    @method_decorator(sensitive_variables())
    def save_model(self, request: HttpRequest, obj: Credential, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            if "label" in form.changed_data:
                services.credential_rename(
                    credential=obj, label=data["label"], actor=request.user, source=_source(request)
                )
            return
        created = services.credential_create(
            owner=data["owner"],
            provider=data["provider"],
            label=data["label"],
            value=data["key"],
            fields=data.get("key_fields") or None,
            source=_source(request),
        )
        # The admin goes on with `obj` (history entry, redirect), so make it the saved row.
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Credential) -> None:
        services.credential_delete(credential=obj, actor=request.user, source=_source(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        for credential in queryset.select_related("provider", "owner"):
            services.credential_delete(credential=credential, actor=request.user, source=_source(request))

    @admin.action(description="Revoke (delete) the selected keys", permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        revoked, refused = 0, []
        for credential in queryset.select_related("provider", "owner"):
            try:
                services.credential_delete(credential=credential, actor=request.user, source=_source(request))
            except ValidationError as error:
                refused.append(f"{credential.secret_name}: {' '.join(error.messages)}")
            else:
                revoked += 1
        if revoked:
            self.message_user(request, f"Revoked {revoked} key{'s' if revoked != 1 else ''}.", messages.SUCCESS)
        for refusal in refused:
            self.message_user(request, refusal, messages.ERROR)


class ReadOnlyOwnedAdmin(admin.ModelAdmin):
    """Rows nobody adds, changes or deletes from the admin; staff who are not superusers see only their own."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.filter(owner=request.user)
        return queryset

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InternalSecret)
class InternalSecretAdmin(ReadOnlyOwnedAdmin):
    """Names only: the values are generated, never typed, and only the CLI endpoint hands them out.

    Read-only, since changing or deleting one would lock an installed stack out of its own databases.
    """

    list_display = ["name", "owner", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username"]
    fields = ["name", "owner", "created_at"]
    readonly_fields = fields


@admin.register(NamedSecret)
class NamedSecretAdmin(ReadOnlyOwnedAdmin):
    """Masked only: set and removed by their owner with the CLI (``leger secrets set`` / ``delete``)."""

    list_display = ["name", "owner", "masked", "version", "updated_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username"]
    fields = ["name", "owner", "masked", "version", "created_at", "updated_at"]
    readonly_fields = fields


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyOwnedAdmin):
    """Read-only: an audit log nobody can edit or delete from the admin."""

    list_display = ["at", "action", "secret_name", "kind", "owner", "actor_name", "channel", "ip"]
    list_select_related = ["owner"]
    list_filter = ["action", "kind", "channel"]
    search_fields = ["secret_name", "owner__username", "actor_name", "ip"]
    date_hierarchy = "at"
