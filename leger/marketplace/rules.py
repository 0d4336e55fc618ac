"""The rules of a selection, written once: model validation, services, forms and the API all come here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from leger.marketplace import values as values_module
from leger.marketplace.models import Selection, Slot, Variable

if TYPE_CHECKING:
    from leger.marketplace.models import Service


def selection_variables(service: Service) -> list[Variable]:
    """The variables a selection of ``service`` may set: its own, then its slot's shared settings."""
    own = list(service.variables.all())
    shared = list(service.slot.shared_variables.all()) if service.slot_id else []
    return own + shared


def incumbent(selection: Selection) -> Selection | None:
    """The owner's other active selection in the same slot, if there is one."""
    slot_id = selection.service.slot_id
    if slot_id is None or not selection.owner_id:
        return None
    return (
        Selection.objects.filter(owner_id=selection.owner_id, slot_id=slot_id, active=True)
        .exclude(pk=selection.pk)
        .select_related("service", "slot")
        .first()
    )


def slot_taken_message(slot: Slot, current: Selection, wanted: Service | None = None) -> str:
    wanted_name = wanted.name if wanted is not None else "another service"
    return (
        f"The {slot.name} slot already has an active provider: {current.service.name}. Open WebUI takes one "
        f"{slot.name} at a time; switch the slot to {wanted_name} (which deactivates {current.service.name}), "
        f"or deactivate {current.service.name} first."
    )


SLOT_TAKEN = "slot_taken"


def slot_taken_error(slot: Slot, current: Selection, wanted: Service | None = None) -> ValidationError:
    """The refusal of a second active provider; its code lets a form put it next to the "active" box."""
    return ValidationError(
        slot_taken_message(slot, current, wanted).replace("%", "%%"),
        code=SLOT_TAKEN,
        params={"incumbent": current.service.name},
    )


def duplicate_service_message(service: Service) -> str:
    return f"You have already configured {service.name}; change that configuration instead of adding another."


def check_slot(selection: Selection) -> None:
    """At most one active selection per slot per user."""
    if not selection.active:
        return
    current = incumbent(selection)
    if current is not None:
        slot = current.slot or current.service.slot
        raise ValidationError({"service": [slot_taken_error(slot, current, selection.service)]})


def check_selection(selection: Selection) -> None:
    """Every rule of one selection; raises ValidationError naming the field at fault."""
    if not selection.service_id:
        raise ValidationError({"service": ["Choose a service."]})
    service = selection.service
    errors: dict[str, list[str]] = {}

    if selection.owner_id and (
        Selection.objects.filter(owner_id=selection.owner_id, service_id=service.pk).exclude(pk=selection.pk).exists()
    ):
        errors.setdefault("service", []).append(duplicate_service_message(service))
    if not service.enabled and selection.active:
        errors.setdefault("service", []).append(f"{service.name} is no longer offered; choose another service.")

    errors_credential = credential_errors(selection)
    if errors_credential:
        errors["credential"] = errors_credential

    variables = selection_variables(service)
    problems = values_module.values_errors(
        variables,
        selection.values,
        present_secrets=set(selection.secret_values or {}),
        owner_name=service.name,
    )
    if problems:
        errors["values"] = values_error_list(problems)

    if errors:
        raise ValidationError(errors)
    check_slot(selection)


def values_error_list(problems: values_module.Errors) -> list[ValidationError]:
    """Per-variable problems as one field's errors; each keeps its variable name in ``params``."""
    return [
        ValidationError(
            f"{name}: {message}".replace("%", "%%") if name else message.replace("%", "%%"),
            code="invalid_value",
            params={"variable": name, "detail": message},
        )
        for name, messages in problems.items()
        for message in messages
    ]


def credential_errors(selection: Selection) -> list[str]:
    service = selection.service
    credential_id = selection.credential_id
    if not service.requires_api_key:
        if credential_id is not None:
            return [f"{service.name} needs no key; leave the key empty."]
        return []
    provider_name = service.key_provider.name if service.key_provider else "its provider"
    if credential_id is None:
        return [f"{service.name} needs a {provider_name} key: add one under Providers, then choose it here."]
    credential = selection.credential
    if credential.owner_id != selection.owner_id:
        # Another user's key is treated exactly like one that does not exist.
        return ["Choose one of your own keys."]
    if credential.provider_id != service.key_provider_id:
        return [f"{service.name} needs a {provider_name} key; the key chosen is for {credential.provider.name}."]
    return []
