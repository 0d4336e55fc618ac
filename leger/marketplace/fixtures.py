"""The marketplace's fixture kinds, loaded by ``manage.py load_catalog`` with the rest of the catalog.

- ``marketplace.slots`` (``fixtures/marketplace/slots.json``): the roles Open WebUI takes one provider for,
  with the settings their providers share;
- ``marketplace.key_providers`` (``fixtures/marketplace/key-providers.json``): catalog providers of kind
  ``service``, whose keys the services need (the user adds them on /providers);
- ``marketplace.services`` (``fixtures/marketplace/services/*.json``): the services and their variables.

JSON Schema checks each entry's shape. The ``check`` functions catch what a schema cannot: references to
slots and key providers, variable names used twice for one service, defaults outside their own limits, and
disagreements with the release's record of a container (``releases.infrastructure``).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from leger.catalog.loading import (
    CheckContext,
    FixtureError,
    FixtureKind,
    Item,
    LoadContext,
    register_kind,
    registered_kinds,
)
from leger.catalog.models import Provider
from leger.marketplace import values
from leger.marketplace.models import Selection, Service, Slot, Variable

SLOTS = "marketplace.slots"
KEY_PROVIDERS = "marketplace.key_providers"
SERVICES = "marketplace.services"
CATALOG_PROVIDERS = "catalog.providers"
INFRASTRUCTURE = "releases.infrastructure"

# Categories of services that fill no slot: any number of them may be on at once.
UNSLOTTED_CATEGORIES = ("integrations", "observability")


# --- variables --------------------------------------------------------------------------------------------------


def variable_fields(data: dict[str, Any], position: int) -> dict[str, Any]:
    return {
        "label": data.get("label", ""),
        "type": data["type"],
        "default": data.get("default"),
        "options": data.get("options", []),
        "minimum": data.get("min"),
        "maximum": data.get("max"),
        "pattern": data.get("pattern", ""),
        "required": data.get("required", False),
        "help_text": data["help"],
        "position": position,
    }


def _check_variable(context: CheckContext, item: Item, field: str, data: dict[str, Any]) -> None:
    """A variable's own definition must be coherent: limits in order, a default its own schema accepts."""
    minimum, maximum = data.get("min"), data.get("max")
    if minimum is not None and maximum is not None and minimum > maximum:
        context.problem(item, f"{field}.min", f"{minimum} is above the maximum {maximum}")
    pattern = data.get("pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as error:
            context.problem(item, f"{field}.pattern", f"is not a valid regular expression: {error}")
            return
    if data.get("required") and "default" in data:
        context.problem(item, f"{field}.required", "a variable with a default is never missing; drop one of the two")
    if "default" not in data:
        return
    variable = Variable(name=data["name"], **variable_fields(data, 0))
    for messages in values.values_errors([variable], {data["name"]: data["default"]}).values():
        for message in messages:
            context.problem(item, f"{field}.default", f"{data['default']!r} does not suit the variable: {message}")


class _Claims:
    """Which place sets each Open WebUI variable, so that a second place setting it is reported."""

    def __init__(self, context: CheckContext) -> None:
        self.context = context
        self.owners: dict[str, str] = {}

    def claim(self, item: Item, field: str, name: str, owner: str) -> None:
        first = self.owners.setdefault(name, owner)
        if first != owner:
            self.context.problem(item, field, f"{name} is already set by {first}; set it in one place only")


def _check_variables(claims: _Claims, item: Item, field: str, variables: list[dict[str, Any]], owner: str) -> None:
    for index, data in enumerate(variables):
        where = f"{field}[{index}]"
        claims.claim(item, f"{where}.name", data["name"], f"{where} of {owner}")
        _check_variable(claims.context, item, where, data)


# --- marketplace.slots ------------------------------------------------------------------------------------------


def check_slots(items: list[Item], context: CheckContext) -> None:
    claims = _Claims(context)  # shared settings of every slot end up in one env file: one name, one place
    for item in items:
        data = item.data
        owner = f"slot {data['id']!r}"
        for index, name in enumerate(data["variables"]):
            claims.claim(item, f"variables[{index}]", name, f"the slot variable of {owner}")
        for name in data.get("fixed", {}):
            claims.claim(item, f"fixed.{name}", name, f"the fixed values of {owner}")
        shared = data.get("shared_settings", {}).get("variables", [])
        _check_variables(claims, item, "shared_settings.variables", shared, owner)


def load_slots(items: list[Item], context: LoadContext) -> None:
    keep_variables = []
    for item in items:
        data = item.data
        shared = data.get("shared_settings", {})
        fields = {
            "name": data["name"],
            "variables": data["variables"],
            "fixed_values": data.get("fixed", {}),
            "description": data["description"],
            "shared_settings_label": shared.get("label", ""),
            "reindex_on_switch": data.get("reindex_on_switch", False),
            "switch_cost": data.get("switch_cost", ""),
            "position": data["position"],
        }
        context.upsert(Slot, data["id"], fields, item=item)
        for position, variable in enumerate(shared.get("variables", [])):
            key = {"slot": data["id"], "name": variable["name"]}
            context.upsert(Variable, key, {"service": None, **variable_fields(variable, position)}, item=item)
            keep_variables.append(key)
    context.remove_missing(Variable, keep_variables, among=Q(slot__isnull=False))
    context.remove_missing(Slot, [item.data["id"] for item in items])


# --- marketplace.key_providers ----------------------------------------------------------------------------------


def _llm_provider_kinds(context: CheckContext) -> dict[str, str]:
    """Catalog (LLM) providers by id with their kind: from the files when the catalog kind is loaded with them."""
    if CATALOG_PROVIDERS in registered_kinds():
        return {provider_id: item.data["kind"] for provider_id, item in context.by_id(CATALOG_PROVIDERS).items()}
    return dict(Provider.objects.exclude(kind="service").values_list("id", "kind"))


def check_key_providers(items: list[Item], context: CheckContext) -> None:
    llm_providers = _llm_provider_kinds(context)
    for item in items:
        if item.data["id"] in llm_providers:
            context.problem(
                item,
                "id",
                f"{item.data['id']!r} is an LLM provider of the catalog; a service that uses its key names it "
                "directly, so leave it out of this file",
            )


def load_key_providers(items: list[Item], context: LoadContext) -> None:
    for item in items:
        data = item.data
        fields = {
            "name": data["name"],
            "kind": "service",
            "env_var": data["env_var"],
            "key_prefix": data.get("key_prefix", ""),
            "website": data["website"],
            "key_url": data.get("key_url", ""),
            "description": data["description"],
        }
        context.upsert(Provider, data["id"], fields, item=item)
    context.remove_missing(Provider, [item.data["id"] for item in items], among=Q(kind="service"))


# --- marketplace.services ---------------------------------------------------------------------------------------


def _addons(context: CheckContext) -> dict[str, Item]:
    """Each add-on's main container, the one named after it (its companions are the releases fixtures' concern)."""
    return {
        item.data["addon"]: item
        for item in context.items(INFRASTRUCTURE)
        if item.data.get("addon") and item.data["id"] == item.data["addon"]
    }


def check_services(items: list[Item], context: CheckContext) -> None:
    slots = context.by_id(SLOTS)
    key_providers = context.ids(KEY_PROVIDERS)
    llm_providers = {pid for pid, kind in _llm_provider_kinds(context).items() if kind == "api"}
    addons = _addons(context)
    service_ids = {item.data["id"] for item in items}

    for item in items:
        data = item.data
        claims = _Claims(context)
        slot_item = slots.get(data.get("slot", ""))
        if "slot" in data:
            if slot_item is None:
                context.problem(item, "slot", f"unknown slot {data['slot']!r}; known: {', '.join(sorted(slots))}")
            elif data["category"] != data["slot"]:
                context.problem(item, "category", f"a service filling the {data['slot']!r} slot is in that category")
        elif data["category"] not in UNSLOTTED_CATEGORIES:
            context.problem(item, "slot", f"a service in category {data['category']!r} fills that slot; name it")
        if slot_item is not None:
            slot_owner = f"slot {slot_item.data['id']!r}"
            for name in slot_item.data["variables"]:
                claims.owners[name] = f"{slot_owner} (its value comes from slot_value)"
            for name in slot_item.data.get("fixed", {}):
                claims.owners[name] = f"the fixed values of {slot_owner}"
            for variable in slot_item.data.get("shared_settings", {}).get("variables", []):
                claims.owners[variable["name"]] = f"the shared settings of {slot_owner}"

        addon = addons.get(data["id"])
        if addon is not None:
            where = f"the releases.infrastructure entry {addon.label!r}"
            if data["runtime"] != "container":
                context.problem(item, "runtime", f"the release runs a container for it ({where}); make it 'container'")
            else:
                for field in ("image", "port"):
                    if data["container"][field] != addon.data.get(field):
                        context.problem(
                            item,
                            f"container.{field}",
                            f"{data['container'][field]!r} disagrees with {addon.data.get(field)!r} in {where} "
                            "(the container the release runs); make them the same",
                        )
            for name in addon.data.get("openwebui_env", {}):
                claims.owners[name] = f"{where} (how Open WebUI reaches the container)"
            for secret in addon.data.get("openwebui_secrets", []):
                claims.owners[secret["env_var"]] = f"{where} (a secret the release generates)"

        key = data.get("key")
        if key:
            provider = key["provider"]
            if provider not in key_providers and provider not in llm_providers:
                context.problem(
                    item,
                    "key.provider",
                    f"unknown key provider {provider!r}: add it to marketplace/key-providers.json, or name a "
                    "catalog LLM provider of kind api (e.g. openai)",
                )
            for index, name in enumerate(key["variables"]):
                claims.claim(item, f"key.variables[{index}]", name, "the service's key")
        for name in data.get("fixed", {}):
            claims.claim(item, f"fixed.{name}", name, "the service's fixed values")
        _check_variables(claims, item, "variables", data["variables"], "this service")

    for addon_name, addon in addons.items():
        if addon_name not in service_ids:
            context.problem(
                addon,
                "addon",
                f"names the marketplace service {addon_name!r}, which fixtures/marketplace/services does not have",
            )


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    container = data.get("container", {})
    key = data.get("key", {})
    return {
        "name": data["name"],
        "category": data["category"],
        "slot": data.get("slot"),
        "slot_value": data.get("slot_value", ""),
        "description": data["description"],
        "website": data.get("website", ""),
        "runtime": data["runtime"],
        "image": container.get("image", ""),
        "port": container.get("port"),
        "key_provider": key.get("provider"),
        "key_variables": key.get("variables", []),
        "fixed_values": data.get("fixed", {}),
        "position": data["position"],
    }


def _sync_selection_slots(items: list[Item]) -> None:
    """Selections copy their service's slot; move them along when a service changed slot."""
    stale = Selection.objects.filter(
        ~Q(slot=F("service__slot"))
        | Q(slot__isnull=True, service__slot__isnull=False)
        | Q(slot__isnull=False, service__slot__isnull=True)
    ).select_related("service")
    by_id = {item.data["id"]: item for item in items}
    for selection in stale:
        try:
            with transaction.atomic():
                selection.save(update_fields=["slot"])
        except IntegrityError:
            item = by_id.get(selection.service_id)
            raise FixtureError(
                path=item.path if item else None,
                entry=selection.service_id,
                field="slot",
                message=(
                    f"moving {selection.service.name} to slot {selection.service.slot_id!r} would give a user two "
                    "active providers in that slot; deactivate one of their selections first"
                ),
            ) from None


def load_services(items: list[Item], context: LoadContext) -> None:
    keep_variables = []
    for item in items:
        data = item.data
        context.upsert(Service, data["id"], _service_fields(data), item=item)
        for position, variable in enumerate(data["variables"]):
            key = {"service": data["id"], "name": variable["name"]}
            context.upsert(Variable, key, {"slot": None, **variable_fields(variable, position)}, item=item)
            keep_variables.append(key)
    context.remove_missing(Variable, keep_variables, among=Q(service__isnull=False))
    context.remove_missing(Service, [item.data["id"] for item in items])
    _sync_selection_slots(items)


def register() -> None:
    catalog = (CATALOG_PROVIDERS,) if CATALOG_PROVIDERS in registered_kinds() else ()
    register_kind(FixtureKind(SLOTS, "marketplace-slots.schema.json", load_slots, check=check_slots))
    register_kind(
        FixtureKind(
            KEY_PROVIDERS,
            "marketplace-key-providers.schema.json",
            load_key_providers,
            after=catalog,
            check=check_key_providers,
        )
    )
    register_kind(
        FixtureKind(
            SERVICES,
            "marketplace-services.schema.json",
            load_services,
            after=(SLOTS, KEY_PROVIDERS, *catalog),
            check=check_services,
        )
    )
