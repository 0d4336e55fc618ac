"""Writes of the marketplace: a user's selections, and switching the provider of a slot.

Every function validates through the model's ``full_clean()`` (the rules live
in :mod:`leger.marketplace.rules`), owns its transaction, and turns the
database's refusal of a second active selection in a slot (the conditional
unique constraint, which is what decides between two concurrent requests)
into the same message ``clean()`` gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from leger.marketplace import rules
from leger.marketplace.models import ONE_ACTIVE_PER_SLOT, Selection, Service, Slot
from leger.providers import crypto
from leger.providers.rotation import ReencryptResult

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

ONE_PER_SERVICE = "marketplace_one_selection_per_service"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class SwitchResult:
    slot: Slot
    current: Selection
    previous: Selection | None
    message: str
    changed: bool


def _violated_constraint(error: IntegrityError) -> str:
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    text = str(error)
    # SQLite names the columns, not the constraint.
    if "marketplace_selection.slot_id" in text:
        return ONE_ACTIVE_PER_SLOT
    if "marketplace_selection.service_id" in text:
        return ONE_PER_SERVICE
    return ""


def _save(selection: Selection, **kwargs: Any) -> None:
    """Save in a savepoint; a lost race on one of the unique rules becomes the rule's own message."""
    try:
        with transaction.atomic():
            selection.save(**kwargs)
    except IntegrityError as error:
        constraint = _violated_constraint(error)
        if constraint == ONE_ACTIVE_PER_SLOT:
            current = rules.incumbent(selection)
            if current is not None:
                raise ValidationError(
                    {"service": [rules.slot_taken_error(current.slot, current, selection.service)]}
                ) from None
            taken = f"The {selection.service.slot.name} slot already has an active provider."
            raise ValidationError({"service": [ValidationError(taken, code=rules.SLOT_TAKEN)]}) from None
        if constraint == ONE_PER_SERVICE:
            raise ValidationError({"service": [rules.duplicate_service_message(selection.service)]}) from None
        raise


def _secret_errors(secrets: Mapping[str, Any], *, allow_clear: bool) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name, value in secrets.items():
        if value is None and allow_clear:
            continue
        if not isinstance(value, str) or not value.strip():
            problems[name] = ["Enter the secret as text; it cannot be empty."]
    return problems


def _apply_secrets(selection: Selection, secrets: Mapping[str, Any]) -> None:
    stored = dict(selection.secret_values or {})
    masks = dict(selection.secret_masks or {})
    for name, value in secrets.items():
        if value is None:
            stored.pop(name, None)
            masks.pop(name, None)
            continue
        value = value.strip()
        stored[name] = crypto.encrypt(value)
        masks[name] = crypto.mask(value)
    selection.secret_values = stored
    selection.secret_masks = masks


def _validate(selection: Selection, secret_problems: dict[str, list[str]]) -> None:
    """full_clean(), with the problems of secret values (checked before encryption) folded into ``values``."""
    try:
        selection.full_clean()
    except ValidationError as error:
        errors = error.update_error_dict({})
        if secret_problems:
            errors.setdefault("values", []).extend(rules.values_error_list(secret_problems))
        raise ValidationError(errors) from None
    if secret_problems:
        raise ValidationError({"values": rules.values_error_list(secret_problems)})


def _split(service: Service, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(values, Mapping):
        raise ValidationError({"values": ["Send the values as an object of variable names and values."]})
    secret_names = {variable.name for variable in rules.selection_variables(service) if variable.is_secret}
    plain = {name: value for name, value in values.items() if name not in secret_names}
    secret = {name: value for name, value in values.items() if name in secret_names}
    return plain, secret


def _prepare_new(
    *, owner: AbstractBaseUser, service: Service, values: Mapping[str, Any], credential: Any, active: bool
) -> Selection:
    plain, secrets = _split(service, values)
    selection = Selection(owner=owner, service=service, values=plain, active=active, credential=credential)
    secrets = {name: value for name, value in secrets.items() if value is not None}
    secret_problems = _secret_errors(secrets, allow_clear=False)
    if not secret_problems:
        _apply_secrets(selection, secrets)
    _validate(selection, secret_problems)
    return selection


def _prepare_update(
    *, selection: Selection, values: Mapping[str, Any] | None, credential: Any, active: bool | None
) -> Selection:
    selection = Selection.objects.select_related("service__slot", "service__key_provider").get(pk=selection.pk)
    secret_problems: dict[str, list[str]] = {}
    if values is not None:
        plain, secrets = _split(selection.service, values)
        secret_problems = _secret_errors(secrets, allow_clear=True)
        selection.values = plain
        if not secret_problems:
            _apply_secrets(selection, secrets)
    if credential is not UNSET:
        selection.credential = credential
    if active is not None:
        selection.active = active
    _validate(selection, secret_problems)
    return selection


def _lock_slot(owner_id: int, slot_id: str) -> None:
    list(
        Selection.objects.select_for_update(no_key=True)
        .filter(owner_id=owner_id, slot_id=slot_id)
        .order_by("pk")
        .values_list("pk")
    )


def _shared_names(service: Service) -> set[str]:
    """The slot's shared settings a selection of ``service`` holds (plain ones; a secret is each provider's)."""
    if service.slot_id is None:
        return set()
    return {variable.name for variable in service.slot.shared_variables.all() if not variable.is_secret}


def _slot_siblings(selection: Selection) -> Any:
    return Selection.objects.filter(owner_id=selection.owner_id, slot_id=selection.service.slot_id).exclude(
        pk=selection.pk
    )


def _inherit_shared(owner: AbstractBaseUser, service: Service, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new provider of a slot starts from the slot's shared settings the owner already set (the active
    provider's first), under the values given."""
    shared = _shared_names(service)
    if not shared:
        return dict(values)
    sibling = Selection.objects.filter(owner=owner, slot_id=service.slot_id).order_by("-active", "-updated_at").first()
    inherited = {name: value for name, value in ((sibling.values or {}) if sibling else {}).items() if name in shared}
    return {**inherited, **values}


def _share(selection: Selection) -> None:
    """The slot's shared settings of ``selection`` become every other provider's of that slot (one place per
    setting, as the page says), so a switch keeps them."""
    shared = _shared_names(selection.service)
    if not shared:
        return
    mine = {name: value for name, value in (selection.values or {}).items() if name in shared}
    # The caller holds the locks of the slot's rows (taken in one order, as a switch takes them).
    for sibling in _slot_siblings(selection).order_by("pk"):
        values = {**{k: v for k, v in (sibling.values or {}).items() if k not in shared}, **mine}
        if values != (sibling.values or {}):
            Selection.objects.filter(pk=sibling.pk).update(values=values)


def selection_create(
    *,
    owner: AbstractBaseUser,
    service: Service,
    values: Mapping[str, Any] | None = None,
    credential: Any = None,
    active: bool = True,
) -> Selection:
    """Configure ``service`` for ``owner``. Secret values are stored encrypted; the rest as given. The slot's
    shared settings start from the ones the owner set for another provider of the slot."""
    values = _inherit_shared(owner, service, values or {})
    selection = _prepare_new(owner=owner, service=service, values=values, credential=credential, active=active)
    with transaction.atomic():
        if service.slot_id is not None:
            _lock_slot(owner.pk, service.slot_id)
        _save(selection, force_insert=True)
        _share(selection)
    return selection


def selection_update(
    *,
    selection: Selection,
    values: Mapping[str, Any] | None = None,
    credential: Any = UNSET,
    active: bool | None = None,
) -> Selection:
    """Change a selection. ``values`` replaces the plain values; a secret sent as text replaces that secret,
    one sent as ``None`` removes it, one not sent is kept.
    """
    with transaction.atomic():
        # Lock the row before reading it: a slot switch (or another save) committed between the read and the
        # write would otherwise be undone by the stale copy, e.g. a switch to it left with no active provider.
        # A selection in a slot locks the slot's rows in one order (a switch does too), since its shared settings
        # are written to the others.
        if selection.slot_id is not None:
            _lock_slot(selection.owner_id, selection.slot_id)
        else:
            list(Selection.objects.select_for_update(no_key=True).filter(pk=selection.pk).order_by().values_list("pk"))
        selection = _prepare_update(selection=selection, values=values, credential=credential, active=active)
        _save(selection)
        if values is not None:
            _share(selection)
    return selection


def selection_validate(
    *,
    owner: AbstractBaseUser,
    service: Service,
    values: Mapping[str, Any] | None = None,
    credential: Any = None,
    active: bool = True,
    selection: Selection | None = None,
) -> None:
    """Check a configuration exactly as saving it would, without saving (the form's inline validation)."""
    if selection is None:
        _prepare_new(owner=owner, service=service, values=values or {}, credential=credential, active=active)
    else:
        _prepare_update(selection=selection, values=values, credential=credential, active=active)


def selection_deactivate(*, selection: Selection) -> Selection:
    """Keep the configuration but take the service out of its slot (and out of the next release)."""
    if selection.active:
        selection.active = False
        _save(selection, update_fields=["active", "updated_at"])
    return selection


def selection_delete(*, selection: Selection) -> None:
    selection.delete()


def switch_cost(*, slot: Slot, previous: Selection | None, to_service: Service) -> str:
    """What switching ``slot`` to ``to_service`` costs, said before and after the switch."""
    if previous is None or previous.service_id == to_service.pk:
        return f"{to_service.name} becomes the {slot.name}; nothing else changes."
    parts = [f"{previous.service.name} is deactivated and {to_service.name} becomes the {slot.name}."]
    if slot.reindex_on_switch:
        parts.append(
            slot.switch_cost
            or f"Open WebUI's knowledge must be re-indexed: what {previous.service.name} holds is not moved."
        )
    elif slot.switch_cost:
        parts.append(slot.switch_cost)
    parts.append(f"Your {previous.service.name} settings are kept, so you can switch back.")
    return " ".join(parts)


def slot_switch(*, owner: AbstractBaseUser, slot: Slot, to_selection: Selection) -> SwitchResult:
    """Make ``to_selection`` the active provider of ``slot``, deactivating the one there, in one transaction."""
    with transaction.atomic():
        # Lock every selection of this slot of this owner, in one order, so concurrent switches queue up.
        rows = list(
            Selection.objects.select_for_update(of=("self",))
            .filter(owner=owner, slot=slot)
            .select_related("service__slot", "service__key_provider", "slot")
            .order_by("pk")
        )
        target = next((row for row in rows if row.pk == to_selection.pk), None)
        if target is None:
            raise ValidationError(
                {"to_selection": [f"Choose one of your configured {slot.name} services to switch to."]}
            )
        previous = next((row for row in rows if row.active and row.pk != target.pk), None)
        if target.active and previous is None:
            return SwitchResult(
                slot=slot,
                current=target,
                previous=None,
                message=f"{target.service.name} is already the {slot.name}.",
                changed=False,
            )
        message = switch_cost(slot=slot, previous=previous, to_service=target.service)
        for row in rows:
            if row.active and row.pk != target.pk:
                row.active = False
                _save(row, update_fields=["active", "updated_at"])
        target.active = True
        if previous is not None:
            # The slot's shared settings (retrieval's chunk size, web search's result count, ...) are the slot's,
            # as the page says: they go along to the provider switched to.
            shared = {variable.name for variable in slot.shared_variables.all() if not variable.is_secret}
            carried = {name: value for name, value in (previous.values or {}).items() if name in shared}
            target.values = {**{k: v for k, v in (target.values or {}).items() if k not in shared}, **carried}
        _validate(target, {})
        _save(target, update_fields=["active", "values", "updated_at"])
    return SwitchResult(slot=slot, current=target, previous=previous, message=message, changed=True)


def selection_secrets_reencrypt() -> ReencryptResult:
    """Re-encrypt every stored secret value under the newest Fernet key (run by ``rotate_credentials``).

    A row is rewritten only if its secrets are still the ones read, so a value changed meanwhile (already
    under the newest key) is never overwritten.
    """
    result = ReencryptResult()
    rows = Selection.objects.exclude(secret_values={}).order_by("pk").values("pk", "service_id", "secret_values")
    for row in rows.iterator(chunk_size=500):
        old = row["secret_values"]
        new = {}
        unreadable = False
        for name, token in old.items():
            result.total += 1
            try:
                new[name] = crypto.reencrypt(token)
            except crypto.UndecryptableError:
                # Named by selection and variable, never by value.
                result.unreadable.append(f"marketplace selection {row['pk']} ({row['service_id']}) {name}")
                unreadable = True
                new[name] = token
        if unreadable and new == old:
            continue
        if Selection.objects.filter(pk=row["pk"], secret_values=old).update(secret_values=new):
            result.reencrypted += sum(1 for name in new if new[name] != old[name])
        else:
            result.changed_meanwhile += len(old)
    return result
