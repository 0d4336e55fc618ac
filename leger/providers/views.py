"""The /providers pages: a user's API keys per catalog provider.

Each action is a page of its own that also answers htmx with just its
fragment, so the forms swap in place with htmx and still work without it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from leger.catalog.models import Provider
from leger.lib.htmx import template_for
from leger.providers import services
from leger.providers.audit import AccessSource
from leger.providers.forms import CredentialAddForm, CredentialRenameForm, CredentialReplaceForm
from leger.providers.models import AuditEntry, Credential
from leger.providers.selectors import (
    ProviderGroup,
    audit_list,
    credential_get,
    credential_usages,
    key_overview,
    named_secret_list,
)

INDEX_PAGE = "providers/index.html"
ACTIVITY_PAGE_SIZE = 50


def _source(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, channel=AuditEntry.Channel.WEB)


def _providers_of(groups: list[ProviderGroup]) -> list[Provider]:
    providers = [entry.provider for group in groups for entry in group.entries]
    return sorted(providers, key=lambda provider: provider.name.lower())


def _index_url(credential: Credential | None = None) -> str:
    url = reverse("providers:index")
    return f"{url}#credential-{credential.pk}" if credential is not None else url


def _render_keys(
    request: HttpRequest, *, groups: list[ProviderGroup], form: CredentialAddForm, notice: str = ""
) -> HttpResponse:
    has_keys = any(entry.credentials for group in groups for entry in group.entries)
    context = {
        "groups": groups,
        "form": form,
        "notice": notice,
        "has_keys": has_keys,
        "named_secrets": list(named_secret_list(owner=request.user)),
    }
    return render(request, template_for(request, INDEX_PAGE, "keys"), context)


def _ids_for(credential: Credential) -> str:
    # Rename and replace forms open inside /providers/, beside the add form: their fields need ids of their own
    # so each label names its own field.
    return f"id_credential{credential.pk}_%s"


def _row_saved(request: HttpRequest, credential: Credential, notice: str) -> HttpResponse:
    if request.htmx:
        return render(request, f"{INDEX_PAGE}#credential", {"credential": credential, "row_notice": notice})
    messages.success(request, notice)
    return redirect(_index_url(credential))


def _key_deleted(request: HttpRequest) -> HttpResponse:
    """Back to the keys, saying why: another request (another tab, the CLI) deleted the key after this page
    read it, so the change was not made."""
    messages.error(request, "This key was deleted (in another tab or by another request); nothing was changed.")
    return HttpResponseClientRedirect(_index_url()) if request.htmx else redirect(_index_url())


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    groups = key_overview(owner=request.user)
    providers = _providers_of(groups)
    # The model pages link here as ?provider=<id> to add a key for one of its providers.
    wanted = request.GET.get("provider", "")
    initial = {"provider": wanted} if any(provider.pk == wanted for provider in providers) else {}
    form = CredentialAddForm(initial=initial, providers=providers)
    return _render_keys(request, groups=groups, form=form)


@sensitive_post_parameters("value")
@require_POST
def credential_add(request: HttpRequest) -> HttpResponse:
    groups = key_overview(owner=request.user)
    form = CredentialAddForm(request.POST, providers=_providers_of(groups))
    if form.is_valid():
        provider = form.cleaned_data["provider"]
        try:
            credential = services.credential_create(
                owner=request.user,
                provider=provider,
                label=form.cleaned_data["label"],
                value=form.cleaned_data["value"],
                fields=form.key_fields_of(provider),
                source=_source(request),
            )
        except ValidationError as error:
            form.add_service_errors(error, provider)
        else:
            notice = (
                f"Saved your {credential.provider.name} key “{credential.label}” as secret "
                f"{credential.secret_name}; releases fill {credential.env_var} from it."
            )
            if not request.htmx:
                messages.success(request, notice)
                return redirect(_index_url(credential))
            groups = key_overview(owner=request.user)
            return _render_keys(
                request, groups=groups, form=CredentialAddForm(providers=_providers_of(groups)), notice=notice
            )
    form.ask_for_the_key_again()
    return _render_keys(request, groups=groups, form=form)


@require_GET
def credential_detail(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_get(owner=request.user, id=pk)
    if not request.htmx:
        return redirect(_index_url(credential))
    return render(request, f"{INDEX_PAGE}#credential", {"credential": credential})


@require_http_methods(["GET", "POST"])
def credential_rename(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_get(owner=request.user, id=pk)
    if request.method == "POST":
        form = CredentialRenameForm(request.POST, auto_id=_ids_for(credential))
        if form.is_valid():
            try:
                services.credential_rename(
                    credential=credential, label=form.cleaned_data["label"], actor=request.user, source=_source(request)
                )
            except ValidationError as error:
                form.add_error(None, error)
            except services.CredentialDeleted:
                return _key_deleted(request)
            else:
                return _row_saved(request, credential, f"Renamed to “{credential.label}”.")
    else:
        form = CredentialRenameForm(initial={"label": credential.label}, auto_id=_ids_for(credential))
    context = {"credential": credential, "form": form}
    return render(request, template_for(request, "providers/credential_rename.html", "form"), context)


@sensitive_post_parameters("value")
@require_http_methods(["GET", "POST"])
def credential_replace(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_get(owner=request.user, id=pk)
    if request.method == "POST":
        form = CredentialReplaceForm(request.POST, auto_id=_ids_for(credential), credential=credential)
        if form.is_valid():
            # An empty field keeps what is stored: the key itself, or a field.
            fields = {name: value for name, value in form.key_fields_of(credential.provider).items() if value}
            try:
                services.credential_rotate(
                    credential=credential,
                    value=form.cleaned_data["value"] or (None if fields else ""),
                    fields=fields,
                    actor=request.user,
                    source=_source(request),
                )
            except ValidationError as error:
                form.add_service_errors(error, credential.provider)
            except services.CredentialDeleted:
                return _key_deleted(request)
            else:
                return _row_saved(request, credential, "Key replaced; the next release uses the new one.")
    else:
        form = CredentialReplaceForm(auto_id=_ids_for(credential), credential=credential)
    context = {"credential": credential, "form": form}
    return render(request, template_for(request, "providers/credential_replace.html", "form"), context)


@require_http_methods(["GET", "POST"])
def credential_delete(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_get(owner=request.user, id=pk)
    error = ""
    if request.method == "POST":
        provider_name, label = credential.provider.name, credential.label
        try:
            services.credential_delete(credential=credential, actor=request.user, source=_source(request))
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        except services.CredentialDeleted:
            return _key_deleted(request)
        else:
            notice = f"Deleted your {provider_name} key “{label}”."
            if not request.htmx:
                messages.success(request, notice)
                return redirect(_index_url())
            groups = key_overview(owner=request.user)
            return _render_keys(
                request, groups=groups, form=CredentialAddForm(providers=_providers_of(groups)), notice=notice
            )
    context: dict[str, Any] = {"credential": credential, "usages": credential_usages(credential=credential)}
    context["error"] = error
    return render(request, template_for(request, "providers/credential_delete.html", "form"), context)


@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    page = Paginator(audit_list(owner=request.user), ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, template_for(request, "providers/activity.html", "entries"), {"page": page})
