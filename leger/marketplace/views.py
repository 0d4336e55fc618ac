"""The /marketplace pages: browse services, configure one, switch a slot's provider."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from leger.lib.htmx import template_for
from leger.marketplace import selectors, services
from leger.marketplace.forms import FilterForm, SelectionForm, form_variables
from leger.marketplace.models import Category, Selection, Service, Slot
from leger.providers.models import Credential
from leger.providers.selectors import configured_provider_ids


def index(request: HttpRequest) -> HttpResponse:
    slots = list(Slot.objects.order_by("position", "id"))
    form = FilterForm(
        request.GET,
        categories=list(Category.choices),
        slots=[(slot.pk, slot.name.capitalize()) for slot in slots],
    )
    filters = form.filters()
    services_qs = selectors.service_list(
        category=filters.get("category"), slot=filters.get("slot"), search=filters.get("q"), with_variables=False
    )
    selections = list(selectors.selection_list(owner=request.user).prefetch_related(None))
    by_service = {selection.service_id: selection for selection in selections}
    states = selectors.slot_overview(owner=request.user, selections=selections)
    active_by_slot = {state.slot.pk: state.active for state in states}
    keys = configured_provider_ids(user=request.user)
    entries = []
    for service in services_qs:
        selection = by_service.get(service.pk)
        incumbent = active_by_slot.get(service.slot_id) if service.slot_id else None
        entries.append(
            {
                "service": service,
                "selection": selection,
                "incumbent": incumbent if incumbent is not None and incumbent.service_id != service.pk else None,
                "has_key": service.key_provider_id in keys if service.key_provider_id else None,
            }
        )
    groups: dict[str, dict] = {}
    labels = dict(Category.choices)
    for entry in entries:
        category = entry["service"].category
        groups.setdefault(category, {"value": category, "label": labels[category], "entries": []})
        groups[category]["entries"].append(entry)
    context = {
        "form": form,
        "groups": list(groups.values()),
        "count": len(entries),
        "states": states,
        "filtered": bool(filters),
        "configured": bool(selections),
    }
    return render(request, template_for(request, "marketplace/index.html", "results"), context)


def _service(service_id: str) -> Service:
    return get_object_or_404(Service.objects.filter(enabled=True).select_related("slot", "key_provider"), pk=service_id)


def _credentials(request: HttpRequest, service: Service) -> QuerySet[Credential]:
    if not service.key_provider_id:
        return Credential.objects.none()
    return Credential.objects.filter(owner=request.user, provider_id=service.key_provider_id).order_by("label", "id")


def _incumbent(request: HttpRequest, service: Service) -> Selection | None:
    if not service.slot_id:
        return None
    return (
        Selection.objects.filter(owner=request.user, slot_id=service.slot_id, active=True)
        .exclude(service=service)
        .select_related("service")
        .first()
    )


def _build_form(request: HttpRequest, service: Service, selection: Selection | None) -> SelectionForm:
    variables = form_variables(service)
    credentials = _credentials(request, service)
    data = request.POST if request.method == "POST" else None
    initial = None
    if selection is None and data is None:
        only_one = list(credentials[:2])
        initial = {
            "active": _incumbent(request, service) is None,
            "credential": only_one[0].pk if len(only_one) == 1 else None,
        }
    kwargs = {"initial": initial} if initial is not None else {}
    return SelectionForm(
        data, service=service, variables=variables, credentials=credentials, selection=selection, **kwargs
    )


def _submit(request: HttpRequest, form: SelectionForm, *, save: bool, switch: bool = False) -> Selection | None:
    """Validate the form through the services (and save when asked); errors land on the form's fields.

    ``switch``: save, then make this service its slot's provider in place of the one there (the answer
    the page offers when the slot rule refuses a second active provider), all or nothing.
    """
    if not form.is_valid():
        return None
    data = form.selection_input()
    if form.errors:
        return None
    try:
        if not save:
            services.selection_validate(owner=request.user, service=form.service, selection=form.selection, **data)
            return None
        with transaction.atomic():
            if switch:
                data["active"] = False
            if form.selection is None:
                saved = services.selection_create(owner=request.user, service=form.service, **data)
            else:
                saved = services.selection_update(selection=form.selection, **data)
            if switch:
                result = services.slot_switch(owner=request.user, slot=form.service.slot, to_selection=saved)
                messages.success(request, result.message)
        return saved
    except ValidationError as error:
        form.add_service_errors(error)
        return None


def _context(request: HttpRequest, service: Service, selection: Selection | None, form: SelectionForm) -> dict:
    incumbent = _incumbent(request, service)
    return {
        "service": service,
        "selection": selection,
        "form": form,
        "incumbent": incumbent,
        "switch_cost": services.switch_cost(slot=service.slot, previous=incumbent, to_service=service)
        if incumbent is not None
        else "",
        "key_url": reverse("providers:index"),
    }


def configure(request: HttpRequest, service_id: str) -> HttpResponse:
    service = _service(service_id)
    selection = Selection.objects.filter(owner=request.user, service=service).select_related("credential").first()
    form = _build_form(request, service, selection)
    if request.method == "POST":
        switch = bool(request.POST.get("switch")) and service.slot_id is not None
        saved = _submit(request, form, save=True, switch=switch)
        if saved is not None:
            if not switch:
                state = "active" if saved.active else "saved, not active"
                messages.success(request, f"{service.name}: configuration {state}.")
            return redirect(reverse("marketplace:index") + f"#service-{service.pk}")
        form.ask_for_secrets_again()
    status = 400 if request.method == "POST" else 200
    return render(request, "marketplace/configure.html", _context(request, service, selection, form), status=status)


@require_POST
def validate(request: HttpRequest, service_id: str) -> HttpResponse:
    """Inline validation while the user types: the same checks as saving, nothing saved."""
    service = _service(service_id)
    selection = Selection.objects.filter(owner=request.user, service=service).select_related("credential").first()
    form = _build_form(request, service, selection)
    _submit(request, form, save=False)
    return render(request, "marketplace/configure.html#errors", _context(request, service, selection, form))


def _own_selection(request: HttpRequest, pk: int) -> Selection:
    return selectors.selection_get(owner=request.user, id=pk)


def switch(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what switching costs, to confirm. POST: switch."""
    selection = _own_selection(request, pk)
    if selection.slot is None:
        messages.error(request, f"{selection.service.name} fills no slot; there is nothing to switch.")
        return redirect("marketplace:index")
    if request.method == "POST":
        try:
            result = services.slot_switch(owner=request.user, slot=selection.slot, to_selection=selection)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("marketplace:configure", service_id=selection.service_id)
        messages.success(request, result.message)
        return redirect(reverse("marketplace:index") + f"#service-{selection.service_id}")
    incumbent = (
        Selection.objects.filter(owner=request.user, slot=selection.slot, active=True)
        .exclude(pk=selection.pk)
        .select_related("service")
        .first()
    )
    context = {
        "selection": selection,
        "slot": selection.slot,
        "incumbent": incumbent,
        "cost": services.switch_cost(slot=selection.slot, previous=incumbent, to_service=selection.service),
    }
    return render(request, template_for(request, "marketplace/switch.html", "confirm"), context)


@require_POST
def deactivate(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    selection = _own_selection(request, pk)
    services.selection_deactivate(selection=selection)
    where = f"the {selection.slot.name} slot is empty" if selection.slot else "it is off"
    messages.success(request, f"{selection.service.name} is no longer active; {where}.")
    return redirect(reverse("marketplace:index") + f"#service-{selection.service_id}")


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what deleting loses, to confirm. POST: delete."""
    selection = _own_selection(request, pk)
    if request.method == "POST":
        services.selection_delete(selection=selection)
        messages.success(request, f"Your {selection.service.name} configuration is deleted.")
        return redirect("marketplace:index")
    context = {"selection": selection, "service": selection.service}
    return render(request, template_for(request, "marketplace/delete.html", "confirm"), context)
