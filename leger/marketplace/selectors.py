"""Reads of the marketplace. Every read of selections is scoped to one owner."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from leger.marketplace.models import Selection, Service, Slot, Variable
from leger.providers import crypto

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.providers.models import Credential


def _variables() -> Prefetch:
    return Prefetch("variables", queryset=Variable.objects.order_by("position", "id"))


def service_list(
    *,
    category: str | None = None,
    slot: str | None = None,
    search: str | None = None,
    with_variables: bool = True,
) -> QuerySet[Service]:
    """Offered services with their slot and key provider (and variables: two queries however many)."""
    services = (
        Service.objects.filter(enabled=True)
        .select_related("slot", "key_provider")
        .order_by("category", "position", "name")
    )
    if with_variables:
        services = services.prefetch_related(_variables())
    if category:
        services = services.filter(category=category)
    if slot:
        services = services.filter(slot_id=slot)
    if search:
        services = services.filter(
            Q(name__icontains=search) | Q(description__icontains=search) | Q(id__icontains=search)
        )
    return services


def selection_list(*, owner: AbstractBaseUser) -> QuerySet[Selection]:
    """The owner's selections, with everything a list shows or an API answers, in a constant number of queries."""
    return (
        Selection.objects.filter(owner=owner)
        .select_related("service__slot", "service__key_provider", "slot", "credential__provider")
        .prefetch_related(
            Prefetch("service__variables", queryset=Variable.objects.order_by("position", "id")),
            Prefetch("service__slot__shared_variables", queryset=Variable.objects.order_by("position", "id")),
        )
        .order_by("service__category", "service__position", "service__name", "id")
    )


def selection_list_active(*, owner: AbstractBaseUser) -> QuerySet[Selection]:
    """The owner's active selections: what the next release renders (service, values, credential)."""
    return selection_list(owner=owner).filter(active=True)


def active_service_names(*, owner: AbstractBaseUser) -> list[str]:
    """Names of the services the owner has an active selection of (what a release can run), by name; one query."""
    selections = Selection.objects.filter(owner=owner, active=True).order_by("service__name", "id")
    return list(selections.values_list("service__name", flat=True))


def selection_get(*, owner: AbstractBaseUser, id: int) -> Selection:
    """One of the owner's selections; 404 for anyone else's, as if it did not exist."""
    return get_object_or_404(selection_list(owner=owner), pk=id)


def selection_values(selection: Selection) -> dict[str, Any]:
    """The plain Open WebUI values a selection sets: every non-secret variable of its service and slot that has
    a value, the user's own or else the fixture's default (a default is there because Leger needs it written,
    e.g. RAG_OPENAI_API_BASE_URL, which Open WebUI would otherwise take from OPENAI_API_BASE_URL: LiteLLM).

    Not included: the slot's variable (``service.slot_assignment``), fixed values (``slot.fixed_values``,
    ``service.fixed_values``), the key (``service.key_variables``) and secret variables (``secret_values``).
    Uses the prefetched variables of :func:`selection_list`, so it costs no query.
    """
    service = selection.service
    variables = list(service.variables.all())
    if service.slot is not None:
        variables += list(service.slot.shared_variables.all())
    values: dict[str, Any] = {}
    for variable in variables:
        if variable.is_secret:
            continue
        value = (selection.values or {}).get(variable.name, variable.default)
        if value is not None and value != "":
            values[variable.name] = value
    return values


@dataclass
class SlotState:
    slot: Slot
    active: Selection | None = None
    inactive: list[Selection] = field(default_factory=list)


def slot_overview(*, owner: AbstractBaseUser, selections: list[Selection] | None = None) -> list[SlotState]:
    """Every slot with the owner's active provider (if any) and the other services configured for it."""
    if selections is None:
        selections = list(selection_list(owner=owner))
    states = {slot.pk: SlotState(slot) for slot in Slot.objects.order_by("position", "id")}
    for selection in selections:
        state = states.get(selection.slot_id) if selection.slot_id else None
        if state is None:
            continue
        if selection.active:
            state.active = selection
        else:
            state.inactive.append(selection)
    return list(states.values())


def credential_usage(credential: Credential) -> list[str]:
    """Who in the marketplace uses ``credential``, for the key's delete confirmation on /providers."""
    selections = Selection.objects.filter(credential=credential).select_related("service__slot")
    return [
        f"marketplace: {selection.service.name} "
        f"({selection.service.slot.name + ', ' if selection.service.slot_id else ''}"
        f"{'active' if selection.active else 'inactive'})"
        for selection in selections.order_by("service__name")
    ]


@dataclass(frozen=True)
class SelectionSecret:
    name: str  # the placeholder the release uses, e.g. mp_pgvector_pgvector_db_url
    env_var: str  # the Open WebUI variable it fills
    value: str
    service: str = ""  # the marketplace service's name


@dataclass(frozen=True)
class SelectionSecretName:
    name: str  # the placeholder the release uses
    env_var: str  # the Open WebUI variable it fills
    service: str  # the marketplace service's name, to say whose setting it is
    selection_id: int
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


def selection_secret_names(*, owner: AbstractBaseUser) -> list[SelectionSecretName]:
    """The secret settings of every one of the owner's selections, by placeholder name; nothing decrypted.

    Inactive selections count too: an earlier release that is promoted back still names their secrets.
    """
    names = []
    for selection in Selection.objects.filter(owner=owner).exclude(secret_values={}).select_related("service"):
        for variable in sorted(selection.secret_values):
            names.append(
                SelectionSecretName(
                    selection.secret_name(variable),
                    variable,
                    selection.service.name,
                    selection.pk,
                    selection.created_at,
                    selection.updated_at,
                )
            )
    return sorted(names, key=lambda entry: entry.name)


def selection_secret_get(*, owner: AbstractBaseUser, name: str) -> SelectionSecret | None:
    """The plaintext of one of the owner's secret settings by placeholder name, or None. Audit the read!"""
    for entry in selection_secret_names(owner=owner):
        if entry.name == name:
            selection = Selection.objects.get(pk=entry.selection_id)
            value = crypto.decrypt(selection.secret_values[entry.env_var])
            return SelectionSecret(entry.name, entry.env_var, value, entry.service)
    return None


def selection_secrets(*, owner: AbstractBaseUser) -> list[SelectionSecret]:
    """The plaintext secret values of the owner's active selections, for the authenticated CLI endpoint only.

    Keys from /providers are not here (they are credentials); these are the secret variables a service asks
    for besides its key (a database password, a token for a self-run server).
    """
    secrets = []
    for selection in selection_list_active(owner=owner).exclude(secret_values={}).prefetch_related(None):
        for name, token in sorted(selection.secret_values.items()):
            secrets.append(SelectionSecret(selection.secret_name(name), name, crypto.decrypt(token)))
    return secrets
