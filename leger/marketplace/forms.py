"""The configure form of a service, built from its variable definitions.

Fields only collect text: typing and validation are the JSON Schema's job
(:mod:`leger.marketplace.values`) through the services, so the page, the API
and the admin answer a bad value with the same message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leger.marketplace import rules
from leger.marketplace.models import Selection, Service, Variable
from leger.marketplace.values import coerce_form_values
from leger.providers.models import Credential

CLEAR_SUFFIX = "__clear"


class FilterForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. qdrant"})
    )
    category = forms.ChoiceField(required=False, label="Category")
    slot = forms.ChoiceField(required=False, label="Slot")

    def __init__(self, *args: Any, categories: list[tuple[str, str]], slots: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "Every category"), *categories]
        self.fields["slot"].choices = [("", "Every slot"), *slots]

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


def _field(variable: Variable, stored_mask: str | None) -> forms.Field:
    field = _typed_field(variable, stored_mask)
    # The page shows the Open WebUI variable beside the label in words, for people who know its docs.
    field.variable_name = variable.name  # type: ignore[attr-defined]
    return field


def _typed_field(variable: Variable, stored_mask: str | None) -> forms.Field:
    label = variable.display_label
    help_text = variable.help_text
    default = variable.default
    attrs: dict[str, Any] = {"autocomplete": "off", "spellcheck": "false"}
    if variable.type == Variable.Type.BOOL:
        # Ticked or not as the default says until the person changes it: an untouched box writes the default.
        return forms.BooleanField(required=False, label=label, help_text=help_text, initial=default is True)
    if variable.type == Variable.Type.ENUM:
        empty = f"Default ({default})" if default is not None else "Open WebUI's default"
        choices = [("", empty), *[(option, option) for option in variable.options]]
        return forms.ChoiceField(required=False, label=label, help_text=help_text, choices=choices)
    if variable.type == Variable.Type.SECRET:
        note = f" Stored: {stored_mask}. Leave empty to keep it." if stored_mask else ""
        return forms.CharField(
            required=False,
            label=label,
            help_text=f"{help_text}{note}",
            widget=forms.PasswordInput(render_value=False, attrs=attrs),
        )
    if variable.type == Variable.Type.INT:
        attrs["inputmode"] = "numeric"
    elif variable.type == Variable.Type.FLOAT:
        attrs["inputmode"] = "decimal"
    elif variable.type == Variable.Type.URL:
        attrs["inputmode"] = "url"
    if default is not None:
        attrs["placeholder"] = str(default)
    limits = []
    if variable.minimum is not None:
        limits.append(f"at least {variable.minimum:g}")
    if variable.maximum is not None:
        limits.append(f"at most {variable.maximum:g}")
    if limits:
        help_text = f"{help_text} ({', '.join(limits)})"
    return forms.CharField(required=False, label=label, help_text=help_text, widget=forms.TextInput(attrs=attrs))


class SelectionForm(forms.Form):
    """Credential, active flag, the service's variables and its slot's shared settings."""

    credential = forms.ModelChoiceField(queryset=Credential.objects.none(), required=False, label="Key")
    active = forms.BooleanField(required=False, label="Active")

    def __init__(
        self,
        *args: Any,
        service: Service,
        variables: list[Variable],
        credentials: Any,
        selection: Selection | None = None,
        **kwargs: Any,
    ) -> None:
        self.service = service
        self.variables = variables
        self.selection = selection
        # Set when the slot rule refused the "active" box: the page then offers switching instead.
        self.slot_taken = False
        if selection is not None and "initial" not in kwargs:
            initial: dict[str, Any] = {name: value for name, value in (selection.values or {}).items()}
            initial["credential"] = selection.credential_id
            initial["active"] = selection.active
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        credential = self.fields["credential"]
        credential.queryset = credentials
        credential.label_from_instance = lambda key: f"{key.label} ({key.masked})"
        if service.requires_api_key:
            credential.empty_label = "Choose a key"
            credential.help_text = f"One of your {service.key_provider.name} keys, from Providers."
        else:
            del self.fields["credential"]
        if service.slot_id:
            self.fields["active"].label = f"Use it as the {service.slot.name}"
            self.fields["active"].help_text = f"Open WebUI takes one {service.slot.name}; only one can be active."
        else:
            self.fields["active"].label = "Turn it on"
        masks = selection.secret_masks if selection is not None else {}
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-describedby", f"id_{name}_helptext errors-{name}")
        for variable in variables:
            self.fields[variable.name] = _field(variable, masks.get(variable.name))
            self.fields[variable.name].widget.attrs["aria-describedby"] = (
                f"id_{variable.name}_helptext errors-{variable.name}"
            )
            if variable.is_secret and variable.name in masks:
                self.fields[variable.name + CLEAR_SUFFIX] = forms.BooleanField(
                    required=False, label=f"Remove the stored {variable.display_label.lower()}"
                )

    def _variable_fields(self, *, shared: bool) -> list[dict[str, Any]]:
        return [
            {"field": self[variable.name], "clear": self._clear_field(variable.name)}
            for variable in self.variables
            if bool(variable.slot_id) == shared
        ]

    @property
    def own_fields(self) -> list[dict[str, Any]]:
        """The service's own variables, each with its "remove the stored secret" box when it has one."""
        return self._variable_fields(shared=False)

    @property
    def shared_fields(self) -> list[dict[str, Any]]:
        """The slot's shared settings."""
        return self._variable_fields(shared=True)

    def _clear_field(self, name: str) -> forms.BoundField | None:
        return self[name + CLEAR_SUFFIX] if name + CLEAR_SUFFIX in self.fields else None

    def selection_input(self) -> dict[str, Any]:
        """What the services take: typed values (secrets left empty are kept), credential and active."""
        values = coerce_form_values(self.variables, self.data)
        for variable in self.variables:
            if variable.is_secret and self.data.get(variable.name + CLEAR_SUFFIX):
                values[variable.name] = None
        credential = None
        if "credential" in self.fields:
            raw = self.data.get("credential") or None
            if raw:
                credential = self.fields["credential"].queryset.filter(pk=raw).first() if str(raw).isdigit() else None
                if credential is None:
                    self.add_error("credential", "Choose one of your keys from the list.")
        return {"values": values, "credential": credential, "active": bool(self.data.get("active"))}

    def ask_for_secrets_again(self) -> None:
        """A refused form keeps what was typed except secrets, which never go back into a page: say so beside
        each secret that was typed (and was not itself the problem)."""
        if not (self.is_bound and self.errors):
            return
        for variable in self.variables:
            if variable.is_secret and self.data.get(variable.name) and variable.name not in self.errors:
                note = "Type it again: a secret is never sent back to the page."
                # The bound field copied the help text when validation built it; change both.
                self.fields[variable.name].help_text = self[variable.name].help_text = note

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the services' errors next to the fields they are about.

        The slot rule refuses the "active" box, so its refusal goes there (with what to do next), not above
        the form where it reads as if the whole configuration were wrong.
        """
        for field, errors in error.error_dict.items():
            for item in errors:
                params = item.params or {}
                name = params.get("variable")
                if item.code == rules.SLOT_TAKEN and "active" in self.fields:
                    self.slot_taken = True
                    self.add_error("active", item.messages)
                elif field == "values" and name in self.fields:
                    self.add_error(name, params["detail"])
                elif field in self.fields:
                    self.add_error(field, item.messages)
                else:
                    self.add_error(None, item.messages)


def form_variables(service: Service) -> list[Variable]:
    return rules.selection_variables(service)
