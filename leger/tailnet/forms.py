from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leger.lib import hardware
from leger.tailnet import validation
from leger.tailnet.models import Exposure

EXPOSURE_HELP = {
    Exposure.PORT: (
        "Recommended. Each service gets its own HTTPS port on the machine's MagicDNS name "
        "(https://box.tail1234.ts.net:3000). Tailscale only gives the machine itself a name: names below it, "
        "like ai.box.tail1234.ts.net, do not resolve on a tailnet."
    ),
    Exposure.PATH: (
        "Every service under the machine's name on port 443, each at its own path "
        "(https://box.tail1234.ts.net/litellm/). Some web apps do not work below a path."
    ),
    Exposure.SUBDOMAIN: (
        "Each service at a subdomain of a domain you control (https://ai.home.example.com). You set up that "
        "domain's DNS to point at the machine's tailnet address, and certificates for it."
    ),
}


API_KEY_HELP = (
    "Create it in the Tailscale admin console → Settings → Keys → “Generate access token”, with read access to "
    "devices. Leger asks Tailscale with it which devices your tailnet has, to verify the CLI's “leger auth login”. "
    "Stored encrypted and never shown again."
)


class TailnetSettingsForm(forms.Form):
    tailnet = forms.CharField(
        label="Tailnet domain",
        max_length=253,
        help_text="Find it in the Tailscale admin console under DNS, e.g. tail1234.ts.net.",
        widget=forms.TextInput(attrs={"placeholder": "tail1234.ts.net", "autocomplete": "off", "spellcheck": "false"}),
    )
    hostname = forms.CharField(
        label="Machine name",
        max_length=63,
        help_text="The machine's name on the tailnet: letters, digits and dashes, e.g. box.",
        widget=forms.TextInput(attrs={"placeholder": "box", "autocomplete": "off", "spellcheck": "false"}),
    )
    address = forms.CharField(
        label="Machine's Tailscale address",
        max_length=15,
        required=False,
        help_text=(
            "What “tailscale ip -4” prints on the machine, e.g. 100.101.102.103. Every port the stack publishes "
            "listens there only, so it is reachable from your tailnet and not from the LAN or the internet; left "
            "empty, ports listen on 127.0.0.1 only. Filled in for you when the machine first runs leger auth login."
        ),
        widget=forms.TextInput(
            attrs={
                "placeholder": "100.101.102.103",
                "autocomplete": "off",
                "spellcheck": "false",
                "inputmode": "decimal",
            }
        ),
    )
    accelerator = forms.ChoiceField(
        label="What runs the local models",
        choices=hardware.CHOICES,
        initial=hardware.CPU,
        required=False,
        widget=forms.RadioSelect,
    )
    memory_gb = forms.IntegerField(
        label="Memory (RAM), GB",
        required=False,
        min_value=1,
        max_value=hardware.MAX_MEMORY_GB,
        help_text="What “free -g” calls total. The wizard warns when a local model you choose needs more.",
        widget=forms.NumberInput(attrs={"placeholder": "32", "inputmode": "numeric"}),
    )
    gpu_memory_gb = forms.IntegerField(
        label="GPU memory (VRAM), GB",
        required=False,
        min_value=1,
        max_value=hardware.MAX_MEMORY_GB,
        help_text=(
            "With a GPU: its memory, e.g. 24 for an RTX 4090 (nvidia-smi) or what the BIOS gives an integrated GPU. "
            "A model that fits there runs fast; a larger one spills to the CPU."
        ),
        widget=forms.NumberInput(attrs={"placeholder": "24", "inputmode": "numeric"}),
    )
    exposure = forms.ChoiceField(
        label="How services are reached", choices=Exposure.choices, initial=Exposure.PORT, widget=forms.RadioSelect
    )
    custom_domain = forms.CharField(
        label="Custom domain",
        max_length=253,
        required=False,
        help_text="Only for subdomain exposure: a domain you control, e.g. home.example.com.",
        widget=forms.TextInput(attrs={"placeholder": "home.example.com", "autocomplete": "off", "spellcheck": "false"}),
    )
    auth_key = forms.CharField(
        label="Tailscale auth key (optional)",
        required=False,
        help_text="Lets the machine join the tailnet unattended. Stored encrypted and never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "placeholder": "tskey-auth-…"}),
    )
    remove_auth_key = forms.BooleanField(label="Remove the stored auth key", required=False)
    login_name = forms.CharField(
        label="Tailscale login name",
        max_length=validation.LOGIN_NAME_MAX,
        required=False,
        help_text=(
            "The Tailscale login of the machine's owner, e.g. alice@github or alice@example.com. “leger auth login” "
            "on a machine owned by it signs the CLI in to this Leger account, and only this one."
        ),
        widget=forms.TextInput(
            attrs={"placeholder": "alice@github", "autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )
    api_key = forms.CharField(
        label="Tailscale API access token",
        required=False,
        help_text=API_KEY_HELP,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "placeholder": "tskey-api-…"}),
    )
    remove_api_key = forms.BooleanField(label="Remove the stored API access token", required=False)

    # The secret fields, and what the page calls each.
    SECRETS = {"auth_key": "auth key", "api_key": "API access token"}

    def __init__(self, *args: Any, auth_key_masked: str = "", api_key_masked: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if auth_key_masked:
            self.fields[
                "auth_key"
            ].help_text = f"Stored: {auth_key_masked}. Leave empty to keep it; type a new one to replace it."
        else:
            del self.fields["remove_auth_key"]
        if api_key_masked:
            stored = f"Stored: {api_key_masked}. Leave empty to keep it; type a new one to replace it."
            self.fields["api_key"].help_text = f"{stored} {API_KEY_HELP}"
        else:
            del self.fields["remove_api_key"]
        for name, field in self.fields.items():
            if name not in ("exposure", "accelerator"):  # each choice of the radio group has its own explanation
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_helptext errors-{name}")

    def clean_address(self) -> str:
        return validation.clean_tailscale_address(self.cleaned_data.get("address", "")) or ""

    def clean_login_name(self) -> str:
        return validation.clean_login_name(self.cleaned_data.get("login_name", ""))

    def clean_api_key(self) -> str:
        key = self.cleaned_data.get("api_key", "")
        return validation.clean_api_key(key) if key else ""

    def ask_for_the_secrets_again(self) -> None:
        """A refused form keeps what was typed except the secrets, which never go back into a page: say so."""
        if not (self.is_bound and self.errors):
            return
        for name, what in self.SECRETS.items():
            if self.data.get(name) and name not in self.errors:
                note = f"Paste the {what} again: it is never sent back to the page."
                # The bound field copied the help text when validation built it; change both.
                self.fields[name].help_text = self[name].help_text = note

    def accelerator_help(self) -> dict[str, str]:
        return {key: accelerator.help for key, accelerator in hardware.ACCELERATORS.items()}

    def exposure_help(self) -> dict[str, str]:
        return {str(key): value for key, value in EXPOSURE_HELP.items()}

    def service_input(self) -> dict[str, Any]:
        data = self.cleaned_data
        result = {
            "tailnet": data["tailnet"],
            "hostname": data["hostname"],
            "exposure": data["exposure"],
            "custom_domain": data.get("custom_domain", ""),
            "login_name": data.get("login_name", ""),
            "address": data.get("address", ""),
            "accelerator": data.get("accelerator") or hardware.CPU,
            "memory_gb": data.get("memory_gb"),
            "gpu_memory_gb": data.get("gpu_memory_gb"),
        }
        for name in self.SECRETS:
            if data.get(f"remove_{name}"):
                result[name] = None
            elif data.get(name):
                result[name] = data[name]
        return result

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
