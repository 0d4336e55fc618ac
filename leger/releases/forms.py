"""Forms of the /releases pages.

They turn what a browser posts into the shapes ``release_update`` takes (the same shapes the API takes) and
keep what the person typed when that is refused. They parse, they do not judge: whether a model, a service,
a value or a route is acceptable is decided once, in ``leger.releases.services``, and its messages are put
back next to the fields they are about (``add_service_errors``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError


def error_messages(error: ValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as key → messages; a bare list of messages lands on ``__all__``."""
    if hasattr(error, "error_dict"):
        return {key: list(ValidationError(value).messages) for key, value in error.error_dict.items()}
    return {"__all__": list(error.messages)}


def _names_in(message: str, names: Mapping[str, str]) -> list[str]:
    """The keys of ``names`` whose value (a service's or model's name) the message mentions, in order of mention."""
    found = []
    for key, name in names.items():
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message)
        if match:
            found.append((match.start(), key))
    return [key for _, key in sorted(found)]


class ServiceErrorsMixin:
    """Puts the messages of ``release_update``/``release_validate_step`` next to the fields they are about.

    The services answer ``{"models": [...], "openwebui": [...], ...}`` with sentences that name what is wrong;
    each form knows which of its fields a sentence is about (``targets_for``).
    """

    section: str = ""

    def targets_for(self, message: str) -> list[str]:
        """The fields a message of this step is about; none: it is about the step as a whole."""
        return []

    def add_service_errors(self, errors: Mapping[str, Iterable[str]] | ValidationError) -> None:
        if isinstance(errors, ValidationError):
            errors = error_messages(errors)
        form: forms.Form = self  # type: ignore[assignment]
        for key, texts in errors.items():
            for text in texts:
                if key in (self.section, "__all__"):
                    targets = self.targets_for(text)
                else:
                    targets = [key] if key in form.fields else []
                for target in targets or [None]:  # type: ignore[list-item]
                    form.add_error(target, text)


class ReleaseNameForm(forms.Form):
    # Whether a name is acceptable (present, not too long) is the service's rule; a browser limit would cut a
    # long name silently where the service says what to change.
    name = forms.CharField(
        label="Name",
        required=False,
        help_text="Tells your releases apart, e.g. “home box” or “with web search”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class SubmittedChoicesField(forms.TypedMultipleChoiceField):
    """Takes every value posted: whether a model or a selection may go into a release is the service's rule, and
    its message (a key is missing, the selection is inactive) says more than “not one of the choices”."""

    def valid_value(self, value: Any) -> bool:
        return True


# --- step 1: models ---------------------------------------------------------------------------------------------


@dataclass
class ModelOption:
    """A model the person can put in a release, with the providers they hold a key for."""

    id: str
    name: str
    kind: str  # "cloud" | "local"
    maker: str = ""
    context_window: int | None = None
    providers: list[tuple[str, str]] = field(default_factory=list)  # (provider id, label); "" asks to choose
    default_provider: str | None = None
    available: bool = True  # False for an earlier choice that can no longer be served
    unavailable_reason: str = ""
    memory_gb: int | None = None  # a local model's memory need, from the catalog

    @property
    def provider_field(self) -> str:
        return f"provider-{self.id}"


class ModelsForm(ServiceErrorsMixin, forms.Form):
    section = "models"

    models = SubmittedChoicesField(label="Models", required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, options: Sequence[ModelOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = {option.id: option for option in options}
        self.fields["models"].choices = [(option.id, option.name) for option in options]
        for option in options:
            if len([p for p in option.providers if p[0]]) > 1:
                self.fields[option.provider_field] = forms.ChoiceField(
                    label=f"Provider for {option.name}", choices=option.providers, required=False
                )

    def targets_for(self, message: str) -> list[str]:
        # A message about one model's provider goes next to that model's provider picker.
        named = _names_in(message, {o.id: o.name for o in self.options.values()})
        pickers = [self.options[i].provider_field for i in named if self.options[i].provider_field in self.fields]
        return pickers[:1] or ["models"]

    def to_inputs(self) -> list[dict[str, str | None]]:
        """``[{"model": id, "provider": id|None}]`` in the order of the list; None lets the service choose."""
        chosen = list(dict.fromkeys(self.cleaned_data["models"]))
        order = {option_id: position for position, option_id in enumerate(self.options)}
        chosen.sort(key=lambda model_id: order.get(model_id, len(order)))
        return [
            {"model": model_id, "provider": self.cleaned_data.get(f"provider-{model_id}") or None}
            for model_id in chosen
        ]


# --- step 2: services -------------------------------------------------------------------------------------------


class ServicesForm(ServiceErrorsMixin, forms.Form):
    section = "services"

    services = SubmittedChoicesField(
        label="Add-on services",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "“%(value)s” is not a selection; pick services from the list."},
    )

    def __init__(self, *args: Any, selections: Iterable[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].choices = [(str(pk), label) for pk, label in selections]

    def targets_for(self, message: str) -> list[str]:
        return ["services"]

    def to_inputs(self) -> list[int]:
        return list(self.cleaned_data["services"])


# --- step 3: Open WebUI settings --------------------------------------------------------------------------------


@dataclass
class VariableOption:
    """One Open WebUI setting as the wizard offers it (from ``OpenWebUIVariable``)."""

    name: str
    label: str
    group: str
    type: str  # string | int | float | bool | enum | url
    default: Any
    help_text: str = ""
    options: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    pattern: str = ""


def _number_attrs(variable: VariableOption, whole: bool) -> dict[str, Any]:
    # Hints for browsers and phone keyboards; the service's rule decides (the forms are novalidate).
    attrs: dict[str, Any] = {"step": "1" if whole else "any", "inputmode": "numeric" if whole else "decimal"}
    for attr, value in (("min", variable.minimum), ("max", variable.maximum)):
        if value is not None:
            attrs[attr] = int(value) if whole or float(value).is_integer() else value
    return attrs


def variable_field(variable: VariableOption) -> forms.Field:
    """The input that fits the setting's type, labelled and with its help text."""
    common: dict[str, Any] = {"label": variable.label, "help_text": variable.help_text, "required": False}
    if variable.type == "bool":
        return forms.BooleanField(**common)
    if variable.type == "int":
        return forms.IntegerField(
            **common,
            widget=forms.NumberInput(attrs=_number_attrs(variable, whole=True)),
            error_messages={"invalid": f"{variable.name}: enter a whole number, e.g. 5."},
        )
    if variable.type == "float":
        return forms.FloatField(
            **common,
            widget=forms.NumberInput(attrs=_number_attrs(variable, whole=False)),
            error_messages={"invalid": f"{variable.name}: enter a number, e.g. 0.5."},
        )
    if variable.type == "enum":
        return forms.ChoiceField(
            **common,
            choices=[(option, option or "Open WebUI's default") for option in variable.options],
            error_messages={
                "invalid_choice": f"{variable.name}: choose one of "
                + ", ".join(option or "(empty)" for option in variable.options)
                + "."
            },
        )
    attrs = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
    widget = forms.URLInput(attrs=attrs) if variable.type == "url" else forms.TextInput(attrs=attrs)
    return forms.CharField(**common, widget=widget)


class OpenWebUIForm(ServiceErrorsMixin, forms.Form):
    section = "openwebui"

    def __init__(self, *args: Any, variables: Sequence[VariableOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.variables = {variable.name: variable for variable in variables}
        for variable in variables:
            self.fields[variable.name] = variable_field(variable)

    def targets_for(self, message: str) -> list[str]:
        # The service's messages start with the setting's name: "RAG_TOP_K (Top results): Enter a value of at most 100…"
        name = re.split(r"[\s:(]", message, maxsplit=1)[0]
        return [name] if name in self.fields else []

    def to_inputs(self) -> dict[str, Any]:
        """The settings that differ from their defaults; the rest follow the defaults, even when those change."""
        values: dict[str, Any] = {}
        for name, variable in self.variables.items():
            value = self.cleaned_data.get(name)
            if value is None or value == "":
                continue  # empty: the default
            if value == variable.default and type(value) is type(variable.default):
                continue
            if variable.type == "float" and isinstance(variable.default, int | float) and value == variable.default:
                continue
            values[name] = value
        return values

    def groups(self, labels: Mapping[str, str]) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(group, label, bound fields), groups in the order of ``labels``."""
        by_group: dict[str, list[forms.BoundField]] = {}
        for name, variable in self.variables.items():
            by_group.setdefault(variable.group, []).append(self[name])
        order = list(labels)
        ordered = sorted(by_group, key=lambda group: order.index(group) if group in order else len(order))
        return [(group, labels.get(group, group), by_group[group]) for group in ordered]


# --- step 4: routes ---------------------------------------------------------------------------------------------

ROUTE_PARTS = ("exposed", "port", "path", "subdomain")


@dataclass
class RouteOption:
    """An exposable container and its default route (what the wizard starts from)."""

    service: str
    name: str
    port: int
    path: str
    subdomain: str
    exposed: bool = False
    websocket: bool = False

    def field(self, part: str) -> str:
        return f"{self.service}-{part}"


class RoutesForm(ServiceErrorsMixin, forms.Form):
    section = "routes"

    def __init__(self, *args: Any, routes: Sequence[RouteOption], mode: str = "port", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes = {route.service: route for route in routes}
        self.mode = mode
        for route in routes:
            self.fields[route.field("exposed")] = forms.BooleanField(
                label=f"Reach {route.name} from the tailnet", required=False
            )
            self.fields[route.field("port")] = forms.IntegerField(
                label=f"HTTPS port of {route.name}",
                required=False,
                widget=forms.NumberInput(attrs={"min": 1, "max": 65535, "step": 1, "inputmode": "numeric"}),
                error_messages={"invalid": f"{route.name}: the port is a whole number from 1 to 65535, e.g. 8443."},
            )
            self.fields[route.field("path")] = forms.CharField(
                label=f"Path of {route.name}", required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
            )
            self.fields[route.field("subdomain")] = forms.CharField(
                label=f"Subdomain of {route.name}",
                required=False,
                widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off"}),
            )

    def targets_for(self, message: str) -> list[str]:
        # "Open WebUI: the port is …" or a clash naming both services: next to each service it names, on the
        # field of the exposure mode in use (the one the person sees).
        named = _names_in(message, {service: route.name for service, route in self.routes.items()})
        return [self.routes[service].field(self.mode) for service in named]

    def to_inputs(self) -> dict[str, dict[str, Any]]:
        """Per service, only what differs from its default route: defaults stay the operator's to change."""
        routes: dict[str, dict[str, Any]] = {}
        for service, route in self.routes.items():
            item: dict[str, Any] = {}
            exposed = bool(self.cleaned_data.get(route.field("exposed")))
            if exposed != route.exposed:
                item["exposed"] = exposed
            port = self.cleaned_data.get(route.field("port"))
            if port is not None and port != route.port:
                item["port"] = port
            for part in ("path", "subdomain"):
                value = (self.cleaned_data.get(route.field(part)) or "").strip()
                if value and value != getattr(route, part):
                    item[part] = value
            if item:
                routes[service] = item
        return routes

    def rows(self) -> list[tuple[RouteOption, dict[str, forms.BoundField]]]:
        return [(route, {part: self[route.field(part)] for part in ROUTE_PARTS}) for route in self.routes.values()]
