"""Forms of the /providers pages. They parse input; the rules live in services and validators."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leger.catalog.models import Provider
from leger.providers import validators
from leger.providers.services import FIELD_ERROR_PREFIX

# A secret is never rendered back into a page: not after an error, not ever.
_KEY_WIDGET_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off", "class": "key-input"}

_GROUP_TITLES = {Provider.Kind.API: "LLM providers", Provider.Kind.SERVICE: "Add-on services"}


def key_field(label: str = "Key") -> forms.CharField:
    # strip=False: a key with spaces around it is refused by the service with a message,
    # rather than quietly changed into something else.
    return forms.CharField(
        label=label,
        strip=False,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs=_KEY_WIDGET_ATTRS),
        help_text="Shown only masked once saved.",
    )


def label_field() -> forms.CharField:
    return forms.CharField(
        label="Label",
        required=False,
        help_text=f"Optional; tells several keys for one provider apart, e.g. “work”. "
        f"At most {validators.MAX_LABEL_LENGTH} characters.",
        # No max_length here: the service's rule says what is wrong with a long label,
        # where a browser limit would cut it silently.
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def key_field_name(provider: Provider, name: str) -> str:
    """The form field of one of a provider's key fields (kf-azure-api_base)."""
    return f"kf-{provider.pk}-{name}"


def _key_fields(form: forms.Form, provider: Provider, *, current: Mapping[str, str] | None = None) -> list[str]:
    """Add the provider's key fields to ``form``; returns their form names."""
    names = []
    for spec in provider.key_fields or []:
        name = key_field_name(provider, spec["name"])
        attrs: dict[str, Any] = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
        if spec.get("placeholder") or spec.get("default"):
            attrs["placeholder"] = spec.get("placeholder") or spec["default"]
        help_text = spec["help"]
        if spec.get("secret"):
            widget: forms.Widget = forms.PasswordInput(render_value=False, attrs=attrs)
            if current and spec["name"] in current:
                help_text = f"{help_text} Stored: {current[spec['name']]}. Leave empty to keep it."
        else:
            widget = forms.TextInput(attrs=attrs)
        optional = "" if spec.get("required") else " (optional)"
        form.fields[name] = forms.CharField(
            label=f"{spec['label']}{optional}",
            required=False,
            strip=not spec.get("secret"),
            help_text=help_text,
            widget=widget,
            initial=None if spec.get("secret") else (current or {}).get(spec["name"], spec.get("default", "")),
        )
        names.append(name)
    return names


class KeyFieldsMixin:
    """Forms that carry a provider's key fields: what the service gets, and its errors put back on them."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def key_fields_of(self, provider: Provider) -> dict[str, str]:
        return {
            spec["name"]: self.cleaned_data.get(key_field_name(provider, spec["name"])) or ""
            for spec in provider.key_fields or []
        }

    def add_service_errors(self, error: ValidationError, provider: Provider | None) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)  # type: ignore[attr-defined]
            return
        for name, messages in error.message_dict.items():
            field = name
            if provider is not None and name.startswith(FIELD_ERROR_PREFIX):
                field = key_field_name(provider, name.removeprefix(FIELD_ERROR_PREFIX))
            self.add_error(field if field in self.fields else None, messages)  # type: ignore[attr-defined]


class CredentialAddForm(KeyFieldsMixin, forms.Form):
    provider = forms.ChoiceField(label="Provider", error_messages={"required": "Choose the provider this key is for."})
    label = label_field()
    value = key_field()

    def __init__(self, *args: Any, providers: Iterable[Provider], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.providers = {provider.pk: provider for provider in providers}
        # Every provider's key fields, each group shown only while its provider is chosen (providers.js).
        self.key_field_groups = [
            (provider, [self[name] for name in _key_fields(self, provider)])
            for provider in self.providers.values()
            if provider.key_fields
        ]
        grouped: dict[str, list[tuple[str, str]]] = {}
        for provider in self.providers.values():
            title = _GROUP_TITLES.get(provider.kind, provider.get_kind_display())
            grouped.setdefault(title, []).append((provider.pk, provider.name))
        self.fields["provider"].choices = [("", "Choose a provider…"), *grouped.items()]

    def clean_provider(self) -> Provider:
        return self.providers[self.cleaned_data["provider"]]

    def ask_for_the_key_again(self) -> None:
        """A refused form keeps what was typed, except the key, which never goes back into a page: say so.

        Only when the key itself was not the problem; its own error already asks for another one.
        """
        if self.is_bound and self.errors and self.data.get("value") and "value" not in self.errors:
            note = "Paste the key again: a key is never sent back to the page."
            # The bound field copied the help text when validation built it; change both.
            self.fields["value"].help_text = self["value"].help_text = note


class CredentialRenameForm(forms.Form):
    label = label_field()


class CredentialReplaceForm(KeyFieldsMixin, forms.Form):
    value = key_field("New key")

    def __init__(self, *args: Any, credential: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider = credential.provider
        current = {**(credential.key_settings or {}), **(credential.key_secrets_masked or {})}
        self.key_field_names = _key_fields(self, provider, current=current)
        if self.key_field_names:
            self.fields["value"].help_text = "Leave empty to keep the key and change only the fields below."

    @property
    def key_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.key_field_names]
