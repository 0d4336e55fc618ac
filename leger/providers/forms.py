"""Forms of the /providers pages. They parse input; the rules live in services and validators."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from leger.catalog.models import Provider
from leger.providers import validators

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


class CredentialAddForm(forms.Form):
    provider = forms.ChoiceField(label="Provider", error_messages={"required": "Choose the provider this key is for."})
    label = label_field()
    value = key_field()

    def __init__(self, *args: Any, providers: Iterable[Provider], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.providers = {provider.pk: provider for provider in providers}
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


class CredentialReplaceForm(forms.Form):
    value = key_field("New key")
