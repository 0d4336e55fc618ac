"""The /releases pages: the list, the four-step wizard with its summary, and a cut release's page.

Views parse input, call the release services and selectors, and answer: the rules (what a step accepts,
what blocks a cut, what a clash is) live in ``leger.releases.services``. Inside the wizard requests come from
htmx: a step's form saves itself on every change and gets back only out-of-band pieces (save status, the
errors next to each field, the step indicator), so nothing the person is typing is ever replaced; moving
between steps swaps the wizard's fragment and pushes the step's URL. Without JavaScript the same URLs work as
plain forms and redirects.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url, reswap, retarget, trigger_client_event
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import DiffLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.util import ClassNotFound

from leger.catalog.models import LLM, Maker, Provider
from leger.catalog.selectors import llm_list, retired_among
from leger.lib import hardware
from leger.lib.htmx import template_for
from leger.releases import selectors, services
from leger.releases.forms import (
    ROUTE_PARTS,
    ModelOption,
    ModelsForm,
    OpenWebUIForm,
    ReleaseNameForm,
    RouteOption,
    RoutesForm,
    ServicesForm,
    VariableOption,
    error_messages,
)
from leger.releases.models import Release
from leger.releases.snapshot import containers as snapshot_containers
from leger.tailnet.exposure import service_url
from leger.tailnet.selectors import tailnet_settings_get

WIZARD_PAGE = "releases/wizard.html"
DETAIL_PAGE = "releases/detail.html"

STEPS = services.STEPS
SUMMARY = "summary"
TITLES = {
    "models": "Models",
    "services": "Add-on services",
    "openwebui": "Open WebUI settings",
    "routes": "Routes",
    SUMMARY: "Summary and cut",
}
LOCKED_MESSAGE = "This release has been cut and never changes; clone it into a new draft to change it."
# How many models the first step lists at once besides the chosen ones; a search narrows the rest.
MODEL_ROWS = 60
NEEDS_KEY_ROWS = 8
EXPOSURE_LABELS = {"port": "a port per service", "path": "a path per service", "subdomain": "a subdomain per service"}
# String settings that name a model: the wizard suggests the models chosen in step 1.
MODEL_VARIABLES = {"DEFAULT_MODELS", "TASK_MODEL", "TASK_MODEL_EXTERNAL"}


def _release(request: HttpRequest, pk: int) -> Release:
    # 404 for anyone else's release, as if it did not exist.
    return selectors.release_get(owner=request.user, id=pk)


def _vary(response: HttpResponse) -> HttpResponse:
    # The same URL answers a fragment to htmx and a whole page otherwise; caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the list ---------------------------------------------------------------------------------------------------


def _index(request: HttpRequest, *, form: ReleaseNameForm | None = None) -> HttpResponse:
    releases = list(selectors.release_list(owner=request.user))
    latest = selectors.latest_release(owner=request.user)
    if form is None:
        form = ReleaseNameForm(initial={"name": f"Release {len(releases) + 1}" if releases else "My stack"})
    context = {
        "drafts": [release for release in releases if release.is_draft],
        "cut": [release for release in releases if not release.is_draft],
        "latest_id": latest.pk if latest else None,
        "promotions": list(selectors.promotion_list(owner=request.user)[:10]),
        "tailnet": tailnet_settings_get(owner=request.user),
        "form": form,
    }
    return _vary(render(request, template_for(request, "releases/index.html", "new"), context))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _index(request)


def _name_errors(form: ReleaseNameForm, error: ValidationError) -> None:
    for field, texts in error_messages(error).items():
        for text in texts:
            form.add_error("name" if field in ("name", "__all__") else None, text)


@require_POST
def release_new(request: HttpRequest) -> HttpResponse:
    form = ReleaseNameForm(request.POST)
    if form.is_valid():
        try:
            release = services.release_create(owner=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            _name_errors(form, error)
        else:
            url = reverse("releases:step", args=[release.pk, STEPS[0]])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _index(request, form=form)


# --- the wizard: where a step is, and what its page shows ---------------------------------------------------------


def _step_index(step: str) -> int:
    return [*STEPS, SUMMARY].index(step)


def _reachable(release: Release) -> str:
    """The furthest step a draft may open: the first not yet checked, or the summary once all four are."""
    return STEPS[release.step] if release.step < len(STEPS) else SUMMARY


def _wizard_url(release: Release, step: str) -> str:
    if step == SUMMARY:
        return reverse("releases:summary", args=[release.pk])
    return reverse("releases:step", args=[release.pk, step])


@dataclass
class StepItem:
    name: str
    title: str
    url: str
    done: bool
    current: bool
    reachable: bool


def _frame(release: Release, step: str) -> dict[str, Any]:
    """What every wizard page shows around its step: the indicator, the name form, back and next."""
    order = [*STEPS, SUMMARY]
    index = order.index(step)
    cut = not release.is_draft
    items = [
        StepItem(
            name=name,
            title=TITLES[name],
            url=_wizard_url(release, name),
            done=cut or position < release.step,
            current=name == step,
            reachable=cut or position <= release.step,
        )
        for position, name in enumerate(order)
    ]
    context: dict[str, Any] = {
        "release": release,
        "step": step,
        "step_title": TITLES[step],
        "step_items": items,
        "step_url": _wizard_url(release, step),
        "step_template": f"releases/steps/{step}.html",
        "readonly": cut,
        "name_form": ReleaseNameForm(initial={"name": release.name}),
    }
    if index > 0:
        context.update(previous_url=_wizard_url(release, order[index - 1]), previous_title=TITLES[order[index - 1]])
    if index < len(order) - 1:
        context.update(next_url=_wizard_url(release, order[index + 1]), next_title=TITLES[order[index + 1]])
    return context


def _step_context(
    request: HttpRequest, release: Release, step: str, *, data: QueryDict | None = None
) -> dict[str, Any]:
    """The step's form (bound to ``data`` when given) and what its template lists."""
    readonly = not release.is_draft
    choices = selectors.release_choices(owner=release.owner, release=release)
    inputs = services.inputs_of(release)
    build = {"models": _models_step, "services": _services_step, "openwebui": _openwebui_step, "routes": _routes_step}
    context = build[step](request, release, choices, inputs, data)
    if readonly:
        for field in context["form"].fields.values():
            field.disabled = True
    return context


def _models_step(
    request: HttpRequest, release: Release, choices: Any, inputs: dict[str, Any], data: QueryDict | None
) -> dict[str, Any]:
    saved = {entry["model"]: entry for entry in inputs["models"] if isinstance(entry, dict) and entry.get("model")}
    makers = dict(Maker.objects.values_list("pk", "name"))
    options: list[ModelOption] = []
    for choice in sorted([*choices.cloud_models, *choices.local_models], key=lambda c: (c.llm.name.lower(), c.llm.pk)):
        llm = choice.llm
        providers = [(option.provider.pk, _provider_label(option)) for option in choice.providers]
        default = next((option.provider.pk for option in choice.providers if option.is_default), None)
        if choice.needs_provider_choice:
            providers.insert(0, ("", "Choose a provider…"))
        options.append(
            ModelOption(
                id=llm.pk,
                name=llm.name,
                kind=llm.kind,
                maker=makers.get(llm.maker_id, ""),
                context_window=llm.context_window,
                providers=providers,
                default_provider=default,
                memory_gb=llm.ram_required_gb if llm.is_local else None,
            )
        )
    offered = {option.id for option in options}
    missing = [model_id for model_id in saved if model_id not in offered]
    if missing:
        # Chosen earlier, no longer possible (a key was deleted, a model withdrawn): shown, so it can be unticked.
        names = dict(LLM.objects.filter(pk__in=missing).values_list("pk", "name"))
        for model_id in missing:
            options.append(
                ModelOption(
                    id=model_id,
                    name=names.get(model_id, model_id),
                    kind="cloud",
                    available=False,
                    unavailable_reason="you hold no key for any of its providers, or it is no longer offered",
                )
            )
    initial: dict[str, Any] = {"models": list(saved)}
    for option in options:
        entry = saved.get(option.id)
        if entry and entry.get("provider"):
            initial[option.provider_field] = entry["provider"]
        elif option.default_provider:
            initial[option.provider_field] = option.default_provider
    form = ModelsForm(data, initial=initial, options=options)

    search = request.GET.get("search", "").strip()[:200] if data is None else ""
    kind = request.GET.get("kind", "") if data is None else ""
    kind = kind if kind in (LLM.Kind.CLOUD, LLM.Kind.LOCAL) else ""
    filters = {key: value for key, value in (("search", search), ("kind", kind)) if value}
    matching: set[str] | None = None
    needs_key: list[LLM] = []
    needs_key_more = 0
    if filters:
        matching = set(llm_list(filters=filters).values_list("pk", flat=True))
    if kind != LLM.Kind.LOCAL:
        # Cloud models the person cannot choose yet, so they can see why and where to add a key.
        unkeyed = (
            llm_list(filters={**filters, "kind": LLM.Kind.CLOUD})
            .filter(enabled=True, retired_at__isnull=True)
            .exclude(pk__in=offered)
        )
        if filters:
            needs_key = list(unkeyed[: NEEDS_KEY_ROWS + 1])
            if len(needs_key) > NEEDS_KEY_ROWS:
                needs_key = needs_key[:NEEDS_KEY_ROWS]
                needs_key_more = unkeyed.count() - NEEDS_KEY_ROWS
    checked = {str(value) for value in (form["models"].value() or [])}
    rows = [
        SimpleNamespace(
            option=option,
            checked=option.id in checked,
            provider_field=form[option.provider_field] if option.provider_field in form.fields else None,
        )
        for option in options
    ]
    others = [row for row in rows if not row.checked and _matches(row.option, matching)]
    chosen_rows = [row for row in rows if row.checked]
    local_chosen = [(row.option.name, row.option.memory_gb) for row in chosen_rows if row.option.kind == "local"]
    machine = memory_fit_context(release.owner, local_chosen)
    budget = machine["fit"].budget_gb
    for row in rows:
        row.too_big = bool(row.option.kind == "local" and budget and (row.option.memory_gb or 0) > budget)
    return {
        **(machine if local_chosen else {}),
        "form": form,
        # The autosave refills these error areas: the list's, and the provider pickers of the ticked models (the
        # only ones a message can be about, and always on the page).
        "error_fields": [form["models"], *(row.provider_field for row in chosen_rows if row.provider_field)],
        "chosen_rows": chosen_rows,
        "other_rows": others[:MODEL_ROWS],
        "match_count": len(others),
        "needs_key": needs_key,
        "needs_key_more": needs_key_more,
        "search": search,
        "kind": kind,
        "kind_choices": [("", "Cloud and local"), *LLM.Kind.choices],
    }


def memory_fit_context(owner: Any, local_models: list[tuple[str, int | None]]) -> dict[str, Any]:
    """What the wizard says about the chosen local models and the machine's memory."""
    machine = tailnet_settings_get(owner=owner)
    key = machine.accelerator if machine else hardware.CPU
    fit = hardware.memory_fit(
        local_models,
        key=key,
        memory_gb=machine.memory_gb if machine else None,
        gpu_memory_gb=machine.gpu_memory_gb if machine else None,
    )
    return {"fit": fit, "accelerator": hardware.accelerator(key)}


def _matches(option: ModelOption, matching: set[str] | None) -> bool:
    return matching is None or option.id in matching


def _provider_label(option: Any) -> str:
    keys = option.credentials
    if len(keys) == 1:
        return f"{option.provider.name} (your key “{keys[0].label}”)"
    return f"{option.provider.name} ({len(keys)} keys; the oldest is used)"


def _services_step(
    request: HttpRequest, release: Release, choices: Any, inputs: dict[str, Any], data: QueryDict | None
) -> dict[str, Any]:
    saved = [pk for pk in inputs["services"] if isinstance(pk, int)]
    groups = []
    offered: dict[int, Any] = {}
    for slot in choices.slots:
        rows = []
        for selection in slot.selections:
            offered[selection.pk] = selection
            rows.append(_service_row(selection))
        groups.append(
            SimpleNamespace(
                id=slot.slot.pk if slot.slot else "other",
                title=slot.name,
                description=slot.slot.description if slot.slot else "",
                rows=rows,
            )
        )
    missing = [pk for pk in saved if pk not in offered]
    if missing:
        from leger.marketplace.selectors import selection_list

        gone = {selection.pk: selection for selection in selection_list(owner=release.owner).filter(pk__in=missing)}
        rows = []
        for pk in missing:
            selection = gone.get(pk)
            row = (
                _service_row(selection)
                if selection
                else SimpleNamespace(
                    id=pk,
                    name=f"Selection {pk}",
                    self_hosted=False,
                    facts="",
                    configure_url=reverse("marketplace:index"),
                )
            )
            row.available = False
            row.unavailable_reason = "Not active in the marketplace any more: untick it, or activate it there."
            rows.append(row)
        groups.append(SimpleNamespace(id="unavailable", title="No longer available", description="", rows=rows))
    labels = [(row.id, row.name) for group in groups for row in group.rows]
    form = ServicesForm(data, initial={"services": [str(pk) for pk in saved]}, selections=labels)
    checked = {str(value) for value in (form["services"].value() or [])}
    for group in groups:
        for row in group.rows:
            row.checked = str(row.id) in checked
    return {"form": form, "service_groups": groups}


def _service_row(selection: Any) -> SimpleNamespace:
    service = selection.service
    facts = []
    if service.slot is not None and service.slot_value:
        facts.append(f"sets {', '.join(f'{k}={v}' for k, v in service.slot_assignment.items())}")
    if selection.credential_id:
        facts.append(f"uses your {selection.credential.provider.name} key “{selection.credential.label}”")
    elif service.requires_api_key:
        facts.append("needs a key: choose one for it on the marketplace")
    text = "; ".join(facts)
    return SimpleNamespace(
        id=selection.pk,
        name=service.name,
        self_hosted=service.self_hosted,
        facts=f"{text[:1].upper()}{text[1:]}." if text else "",
        configure_url=reverse("marketplace:configure", args=[service.pk]),
        available=True,
        unavailable_reason="",
    )


def _openwebui_step(
    request: HttpRequest, release: Release, choices: Any, inputs: dict[str, Any], data: QueryDict | None
) -> dict[str, Any]:
    # What the chosen add-ons set is theirs: offered here it could only clash, so it is listed instead.
    chosen = set(inputs["services"])
    addon_set: dict[str, str] = {}
    step3 = frozenset(variable.name for group in choices.openwebui for variable in group.variables)
    for slot in choices.slots:
        for selection in slot.selections:
            if selection.pk in chosen:
                names = set(services.addon_variables(selection, step3=step3)) | set(selection.service.slot_assignment)
                for name in names:
                    addon_set.setdefault(name, selection.service.name)
    variables = []
    labels = {}
    for group in choices.openwebui:
        labels[group.value] = group.label
        for variable in group.variables:
            if variable.name in addon_set:
                continue
            default = variable.default
            help_text = variable.help_text
            if default not in (None, ""):
                shown = {True: "on", False: "off"}.get(default, default) if isinstance(default, bool) else default
                help_text = f"{help_text} Default: {shown}."
            variables.append(
                VariableOption(
                    name=variable.name,
                    label=variable.label,
                    group=variable.group,
                    type=variable.type,
                    default=default,
                    help_text=help_text,
                    options=list(variable.options or []),
                    minimum=variable.minimum,
                    maximum=variable.maximum,
                    pattern=variable.pattern,
                )
            )
    saved = inputs["openwebui"] if isinstance(inputs["openwebui"], dict) else {}
    initial = {v.name: saved.get(v.name, v.default) for v in variables}
    form = OpenWebUIForm(data, initial=initial, variables=variables)
    model_ids = [entry["model"] for entry in inputs["models"] if isinstance(entry, dict) and entry.get("model")]
    for name in MODEL_VARIABLES & set(form.fields):
        if model_ids:
            form.fields[name].widget.attrs["list"] = "chosen-models"
    return {
        "form": form,
        "form_groups": form.groups(labels),
        "addon_set": sorted(addon_set.items()),
        "model_ids": model_ids,
    }


def _routes_step(
    request: HttpRequest, release: Release, choices: Any, inputs: dict[str, Any], data: QueryDict | None
) -> dict[str, Any]:
    saved = inputs["routes"] if isinstance(inputs["routes"], dict) else {}
    routes = []
    initial: dict[str, Any] = {}
    for choice in choices.routes:
        default = choice.default
        route = RouteOption(
            service=choice.service.pk,
            name=choice.service.name,
            port=default["port"],
            path=default["path"],
            subdomain=default["subdomain"],
            exposed=default["exposed"],
            websocket=default["websocket"],
        )
        routes.append(route)
        chosen = saved.get(route.service) if isinstance(saved.get(route.service), dict) else {}
        for part in ROUTE_PARTS:
            initial[route.field(part)] = chosen.get(part, getattr(route, part))
    mode = choices.exposure
    form = RoutesForm(data, initial=initial, routes=routes, mode=mode)
    tailnet = tailnet_settings_get(owner=release.owner)
    rows = []
    for route, fields in form.rows():
        exposed = fields["exposed"].value()
        exposed = exposed if isinstance(exposed, bool) else str(exposed).lower() in ("on", "true", "1")
        port = fields["port"].value()
        place = SimpleNamespace(
            id=route.service,
            name=route.name,
            published_port=int(port) if str(port).isdigit() else None,
            path=str(fields["path"].value() or ""),
            subdomain=str(fields["subdomain"].value() or ""),
        )
        rows.append(
            SimpleNamespace(
                route=route,
                fields=fields,
                parts=[(part, fields[part]) for part in ROUTE_PARTS if part != "exposed"],
                exposed=exposed,
                url=service_url(tailnet, place) if tailnet else None,  # type: ignore[arg-type]
            )
        )
    return {
        "form": form,
        "error_fields": [field for row in rows for part, field in row.fields.items() if part in ("exposed", mode)],
        "route_rows": rows,
        "tailnet": tailnet,
        "exposure": mode,
        "exposure_part": mode,
        "exposure_label": EXPOSURE_LABELS.get(mode, mode),
    }


def _summary_context(release: Release) -> dict[str, Any]:
    preview = selectors.release_preview(release=release)
    snapshot = preview.snapshot
    context: dict[str, Any] = {
        "preview": preview,
        "tailnet": tailnet_settings_get(owner=release.owner),
        "next_version": snapshot["release"]["version"] if snapshot is not None and release.is_draft else None,
    }
    if snapshot is not None:
        from leger.releases.rendering import route_url

        variables = selectors.release_choices(owner=release.owner, release=release).openwebui
        labels = {v.name: v.label for group in variables for v in group.variables}
        containers = snapshot_containers(snapshot)
        container_names = {container["id"]: container["name"] for container in containers}
        provider_ids = {model["provider"] for model in snapshot["models"] if model.get("provider")}
        provider_names = dict(Provider.objects.filter(pk__in=provider_ids).values_list("pk", "name"))
        local = [model for model in snapshot["models"] if model["kind"] == "local"]
        if local:
            memory = dict(LLM.objects.filter(pk__in=[m["id"] for m in local]).values_list("pk", "ram_required_gb"))
            context.update(memory_fit_context(release.owner, [(m["name"], memory.get(m["id"])) for m in local]))
        context["machine_label"] = hardware.accelerator(
            snapshot.get("machine", {}).get("accelerator", hardware.CPU)
        ).label
        context.update(
            # A person knows "OpenAI", not the catalog id `openai`; the id stays beside it.
            models=[
                SimpleNamespace(**model, provider_name=provider_names.get(model.get("provider", ""), ""))
                for model in snapshot["models"]
            ],
            secrets=selectors.secret_rows(snapshot=snapshot, secrets=preview.secrets),
            addons=snapshot["addons"],
            settings=[(name, labels.get(name, ""), value) for name, value in sorted(snapshot["openwebui"].items())],
            routes=[
                SimpleNamespace(
                    **route,  # type: ignore[arg-type]
                    name=container_names.get(route["service"], route["service"]),
                    url=route_url(snapshot, route),
                )
                for route in snapshot["routes"]
            ],
        )
    return context


# --- the wizard: views ------------------------------------------------------------------------------------------


def _render_step(
    request: HttpRequest, release: Release, step: str, context: dict[str, Any], *, template: str | None = None
) -> HttpResponse:
    context = {**_frame(release, step), **context}
    if template is None:
        # Step links and Back/Next target #wizard; anything else (a history restore, a plain visit) is a page.
        wanted = request.htmx and request.htmx.target == "wizard" and not request.htmx.history_restore_request
        template = f"{WIZARD_PAGE}#wizard" if wanted else WIZARD_PAGE
    return _vary(render(request, template, context))


def _show(request: HttpRequest, release: Release, step: str) -> HttpResponse:
    context = _summary_context(release) if step == SUMMARY else _step_context(request, release, step)
    return _render_step(request, release, step, context)


def _go_to(request: HttpRequest, release: Release, step: str) -> HttpResponse:
    """Move to another step: htmx swaps the wizard fragment in and pushes its URL; a browser is redirected."""
    if not request.htmx:
        return redirect(_wizard_url(release, step))
    context = _summary_context(release) if step == SUMMARY else _step_context(request, release, step)
    response = _render_step(request, release, step, context, template=f"{WIZARD_PAGE}#wizard")
    retarget(response, "#wizard")
    reswap(response, "innerHTML show:#wizard:top")
    push_url(response, _wizard_url(release, step))
    return response


@require_http_methods(["GET", "POST"])
def wizard_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    release = _release(request, pk)
    if not release.is_draft:
        if request.method == "POST":
            messages.warning(request, LOCKED_MESSAGE)
            return _go_to(request, release, step)
        return _show(request, release, step)
    reachable = _reachable(release)
    if _step_index(step) > _step_index(reachable):
        messages.info(request, f"Finish “{TITLES[reachable]}” first: each step is checked before the next.")
        return _go_to(request, release, reachable)
    if request.method == "GET":
        if step == "models" and request.htmx and request.htmx.target == "model-choices":
            # The search box only wants the list back.
            context = _step_context(request, release, step)
            return _render_step(request, release, step, context, template="releases/steps/models.html#choices")
        return _show(request, release, step)

    context = _step_context(request, release, step, data=request.POST)
    form = context["form"]
    going_on = request.POST.get("action") == "next"
    saved = False
    if form.is_valid():
        try:
            release = services.release_update(release=release, **{step: form.to_inputs()})
        except services.ReleaseLocked:
            messages.warning(request, LOCKED_MESSAGE)
            return _go_to(request, release, step)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            saved = True
    if saved and going_on:
        problems = services.release_validate_step(release=release, step=step)
        if not problems:
            return _go_to(request, release, STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else SUMMARY)
        form.add_service_errors(problems)
        saved = False
    if saved and not request.htmx:
        messages.success(request, "Saved.")
        return redirect(_wizard_url(release, step))
    context["saved_at"] = timezone.localtime() if saved else None
    if request.htmx and not going_on:
        # An autosave: only the status, the errors and the indicator change; the inputs stay as typed.
        context.setdefault("error_fields", list(form))
        response = _render_step(request, release, step, context, template="releases/_autosave.html")
        if saved and step == "models":
            # The model list is drawn from what is saved: once this save has settled, the search form fetches it
            # again, so a tick moves its model into "In this release". Any later save aborts that fetch (hx-sync),
            # so a list drawn before a newer tick was saved never replaces it.
            trigger_client_event(response, "models-saved", after="settle")
        return response
    response = _render_step(
        request, release, step, context, template=f"releases/steps/{step}.html#form" if request.htmx else None
    )
    if request.htmx:
        retarget(response, "#step-form")
        reswap(response, "outerHTML")
    return response


@require_POST
def release_rename(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    form = ReleaseNameForm(request.POST)
    renamed = False
    if not release.is_draft:
        form.is_valid()
        form.add_error(None, LOCKED_MESSAGE)
    elif form.is_valid():
        try:
            release = services.release_update(release=release, name=form.cleaned_data["name"])
        except services.ReleaseLocked:
            form.add_error(None, LOCKED_MESSAGE)
        except ValidationError as error:
            _name_errors(form, error)
        else:
            renamed = True
    if not request.htmx:
        if renamed:
            messages.success(request, f"Renamed to “{release.name}”.")
        else:
            for text in [*form.errors.get("name", []), *form.non_field_errors()]:
                messages.error(request, text)
        return redirect(_wizard_url(release, _reachable(release)) if release.is_draft else release_url(release))
    if renamed:
        form = ReleaseNameForm(initial={"name": release.name})
    context = {"release": release, "name_form": form, "renamed": renamed}
    return _vary(render(request, f"{WIZARD_PAGE}#name", context))


def release_url(release: Release) -> str:
    return reverse("releases:detail", args=[release.pk])


@require_GET
def release_summary(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    if release.is_draft and _reachable(release) != SUMMARY:
        reachable = _reachable(release)
        messages.info(request, f"Finish “{TITLES[reachable]}” first: the summary comes after the four steps.")
        return _go_to(request, release, reachable)
    return _show(request, release, SUMMARY)


@require_POST
def release_cut(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    if release.is_draft:
        try:
            release = services.release_cut(release=release, actor=request.user)
        except ValidationError as error:
            context = _summary_context(release)
            context["cut_errors"] = [text for texts in error_messages(error).values() for text in texts]
            return _render_step(request, release, SUMMARY, context)
        # No flash message: "publishing it now" would stay on the page after it is done. The page's progress
        # card says it while it is true, and the published or failed state replaces it.
    url = release_url(release)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- a cut release ----------------------------------------------------------------------------------------------


def _manifest_secrets(files: list[Any]) -> list[dict[str, Any]]:
    """The secrets the machine needs, as the published manifest lists them."""
    manifest = next((file for file in files if file.path == "manifest.json"), None)
    if manifest is None:
        return []
    try:
        return list(json.loads(manifest.content).get("secrets", []))
    except (ValueError, AttributeError):
        return []


@dataclass
class InstallStep:
    id: str
    name: str  # tells its copy button from the others: "Copy the dry-run command"
    what: str
    command: str


# The host the leger CLI fetches releases from when no --source is given; it is fixed in its code.
CLI_STATIC_HOST = "https://static.leger.run"
_TOKEN = "$(jq -r .token ~/.local/share/leger/auth.json)"


def install_steps(request: HttpRequest, release: Release, owner_uuid: str) -> list[InstallStep]:
    """The leger CLI commands that install this release, as the CLI really takes them, each with what it does."""
    api = request.build_absolute_uri("/").rstrip("/")
    version = f"v{release.version}"
    steps = [
        InstallStep(
            "install-api",
            "address",
            "Point the CLI at this Leger (add it to your shell's profile):",
            f"export LEGER_API_URL={api}",
        ),
        InstallStep(
            "install-login",
            "sign-in",
            "Once per machine, sign in with its Tailscale identity (your login must be linked on Settings):",
            "leger auth login",
        ),
        InstallStep(
            "install-sync",
            "sync",
            "Fetch your keys and the release's config files into the CLI's store:",
            "leger secrets sync",
        ),
    ]
    if settings.LEGER_RELEASES_PUBLIC_URL == CLI_STATIC_HOST:
        steps.append(
            InstallStep(
                "install-run",
                "install",
                f"Install version {release.version} and start it:",
                f"leger deploy install {version}",
            )
        )
    else:
        # This Leger's releases are not on the CLI's fixed host: it serves them as Git repositories instead.
        source = f"{urlsplit(api).scheme}://leger:{_TOKEN}@{urlsplit(api).netloc}/git/{owner_uuid}/{version}.git"
        steps.append(
            InstallStep(
                "install-run",
                "install",
                f"Install version {release.version} and start it (the CLI clones it from this Leger, signed in "
                "with its token; needs jq):",
                f'leger deploy install {version} --source "{source}"',
            )
        )
    return steps


def _stuck_context(release: Release) -> dict[str, Any]:
    """Whether a publish shows no sign of life, so the page offers to queue it again instead of waiting forever."""
    return {"stuck": services.release_stuck(release), "stale_minutes": settings.LEGER_PUBLISH_STALE_SECONDS // 60}


def _detail_context(request: HttpRequest, release: Release) -> dict[str, Any]:
    context: dict[str, Any] = {"release": release, **_stuck_context(release)}
    promotion = selectors.promotion_list(owner=request.user).first()
    context["latest_promotion"] = promotion if promotion and promotion.release_id == release.pk else None
    context["is_latest"] = context["latest_promotion"] is not None
    if release.status == Release.Status.PUBLISHED:
        context["retired"] = retired_among(model["id"] for model in (release.snapshot or {}).get("models", []))
        files = list(selectors.release_files(release=release).defer("content"))
        manifest = selectors.release_files(release=release).filter(path="manifest.json").first()
        manifest_url = selectors.release_manifest_url(release=release)
        others = [
            other
            for other in selectors.release_list(owner=request.user)
            if other.pk != release.pk and other.status == Release.Status.PUBLISHED
        ]
        earlier = [other for other in others if (other.version or 0) < (release.version or 0)]
        previous = max(earlier, key=lambda other: other.version or 0) if earlier else None
        if previous is not None:
            # What a person is about to install, against what they have: the release just before this one.
            diff = selectors.release_diff(release=release, against=previous)
            context.update(
                previous=previous, diff=diff, changes=[_change(change.path, change.diff) for change in diff.changed]
            )
        context.update(
            files=files,
            total_size=sum(file.size for file in files),
            others=others,
            # Compared by default with the release just before it: what changed in this one.
            previous_id=previous.pk if previous else None,
            manifest_url=manifest_url,
            secrets=selectors.secret_rows(
                snapshot=release.snapshot, secrets=_manifest_secrets([manifest] if manifest else [])
            ),
            install=install_steps(request, release, str(release.snapshot["release"]["owner_uuid"])),
            archive_name=f"{selectors.archive_name(release)}.tar.gz",
        )
    return context


@require_GET
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    if release.is_draft:
        return redirect(_wizard_url(release, _reachable(release)))
    return render(request, DETAIL_PAGE, _detail_context(request, release))


@require_GET
def release_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """What the progress bar polls every second while a cut is under way."""
    release = _release(request, pk)
    if release.is_draft:
        raise Http404("A draft has not been cut, so it has no progress.")
    if request.htmx and not release.is_in_progress:
        # Done: the whole body changes (status, then the files or the failure), and it holds no poller any more.
        context = {**_detail_context(request, release), "announce": True}
        response = render(request, f"{DETAIL_PAGE}#body", context)
        retarget(response, "#release-body")
        reswap(response, "innerHTML")
        return _vary(response)
    if not request.htmx:
        return redirect(release_url(release))
    return _vary(render(request, f"{DETAIL_PAGE}#progress", {"release": release, **_stuck_context(release)}))


@require_POST
def release_retry(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    try:
        services.release_retry(release=release)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    # Like the cut: the progress card says it is publishing again, for as long as it is.
    return redirect(release_url(release))


@require_POST
def release_clone(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    clone = services.release_clone(release=release, actor=request.user)
    messages.success(request, f"A new draft with the choices of {release}: change what you need, then cut it.")
    return redirect("releases:step", pk=clone.pk, step=STEPS[0])


@require_http_methods(["GET", "POST"])
def release_promote(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    if request.method == "POST":
        try:
            services.release_promote(release=release, actor=request.user)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
        else:
            messages.success(
                request, f"Version {release.version} is now latest: machines that follow latest install it next."
            )
        return redirect(release_url(release))
    latest = selectors.latest_release(owner=request.user)
    return render(request, "releases/promote.html", {"release": release, "latest": latest})


@require_http_methods(["GET", "POST"])
def release_delete(request: HttpRequest, pk: int) -> HttpResponse:
    release = _release(request, pk)
    if not release.is_draft:
        messages.error(request, "Only drafts can be deleted: a cut release stays, so you can always go back to it.")
        return redirect(release_url(release))
    if request.method == "POST":
        name = release.name
        try:
            services.release_delete(release=release)
        except services.ReleaseLocked:
            messages.error(request, "It was cut meanwhile, so it stays.")
            return redirect(release_url(release))
        messages.success(request, f"Deleted the draft “{name}”.")
        return redirect("releases:index")
    return render(request, "releases/delete.html", {"release": release})


def _published(request: HttpRequest, pk: int) -> Release:
    release = _release(request, pk)
    if release.status != Release.Status.PUBLISHED:
        raise Http404("This release has no files: it is not published.")
    return release


# --- reading files and diffs -------------------------------------------------------------------------------------

_FORMATTER_OPTIONS = {"cssclass": "highlight", "wrapcode": True}


def _lexer_for(path: str) -> Lexer:
    name = path.rsplit("/", 1)[-1]
    if name.endswith((".container", ".volume", ".network", ".pod", ".kube")):
        return get_lexer_by_name("systemd")
    if name.endswith(".env"):
        return get_lexer_by_name("bash")
    try:
        return get_lexer_for_filename(name)
    except ClassNotFound:
        return get_lexer_by_name("text")


def file_html(path: str, content: str) -> SafeString:
    """A file's text, highlighted by Pygments, with numbered lines that can be linked to (#L-12)."""
    formatter = HtmlFormatter(linenos="table", lineanchors="L", anchorlinenos=True, **_FORMATTER_OPTIONS)
    # Pygments escapes the text it is given; the result is safe to put into the page.
    return mark_safe(pygments_highlight(content, _lexer_for(path), formatter))  # noqa: S308


def diff_html(text: str) -> SafeString:
    if not text:
        return mark_safe("")
    return mark_safe(pygments_highlight(text, DiffLexer(), HtmlFormatter(**_FORMATTER_OPTIONS)))  # noqa: S308


# How a file names its release (a comment, a Description=, a version= label, the manifest's "version"), to tell apart
# files where nothing but that changed.
_VERSION_MENTION = re.compile(r'\bv\d+\b|(?<="version": )\d+|(?<=version=)\d+')


def _change(path: str, text: str) -> SimpleNamespace:
    return SimpleNamespace(**_highlighted_change(path, text))


# A diff's text (headers included) decides its highlighting and counts, and the release page shows the same diff
# against the previous release on every view: Pygments runs once per diff per process, not once per request.
@functools.lru_cache(maxsize=256)
def _highlighted_change(path: str, text: str) -> dict[str, Any]:
    added = [line[1:] for line in text.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:] for line in text.splitlines() if line.startswith("-") and not line.startswith("---")]
    only_version = sorted(_VERSION_MENTION.sub("#", line) for line in added) == sorted(
        _VERSION_MENTION.sub("#", line) for line in removed
    )
    return {
        "path": path,
        "html": diff_html(text),
        "added": len(added),
        "removed": len(removed),
        "only_version": only_version,
    }


@require_GET
def release_file(request: HttpRequest, pk: int, path: str) -> HttpResponse:
    release = _published(request, pk)
    file = selectors.release_file(release=release, path=path)
    if request.GET.get("raw"):
        response = HttpResponse(file.content, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{escape(path.rsplit("/", 1)[-1])}"'
        return response
    context = {"release": release, "file": file, "code": file_html(file.path, file.content)}
    return render(request, "releases/file.html", context)


@require_GET
def release_archive(request: HttpRequest, pk: int) -> HttpResponse:
    release = _published(request, pk)
    response = HttpResponse(selectors.release_archive(release=release), content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{selectors.archive_name(release)}.tar.gz"'
    return response


@require_GET
def release_diff(request: HttpRequest, pk: int) -> HttpResponse:
    release = _published(request, pk)
    others = [
        other
        for other in selectors.release_list(owner=request.user)
        if other.pk != release.pk and other.status == Release.Status.PUBLISHED
    ]
    context: dict[str, Any] = {"release": release, "others": others, "against": None, "diff": None, "error": ""}
    raw = request.GET.get("against", "").strip()
    status = 200
    if not raw:
        context["error"] = (
            "Choose the release to compare with."
            if others
            else "There is no other published release to compare with yet."
        )
    elif not raw.isdigit():
        context["error"] = f"“{raw}” is not a release; choose one from the list."
        status = 400
    else:
        against = _release(request, int(raw))
        context["against"] = against
        if against.pk == release.pk:
            context["error"] = "Choose another release: a release has no differences with itself."
            status = 400
        else:
            try:
                diff = selectors.release_diff(release=release, against=against)
            except ValidationError as error:
                context["error"] = " ".join(error.messages)
                status = 400
            else:
                context["diff"] = diff
                # Files where only the version number changed are folded, so the real changes stand out.
                context["changes"] = [_change(change.path, change.diff) for change in diff.changed]
    return render(request, "releases/diff.html", context, status=status)
