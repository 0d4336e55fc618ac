from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leger.lib import hardware
from leger.tailnet.models import Exposure, TailnetSettings


class ServiceURLSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="In the chosen exposure mode; null: not reachable in it.")
    urls = serializers.DictField(
        child=serializers.CharField(allow_null=True), help_text="The URL in each exposure mode (port, path, subdomain)."
    )


class TailnetSettingsSerializer(serializers.ModelSerializer):
    tailnet = serializers.CharField(
        max_length=253,
        help_text="The tailnet's DNS domain, e.g. tail1234.ts.net (a custom domain's tailnet may differ).",
    )
    hostname = serializers.CharField(max_length=63, help_text="The machine's name on the tailnet, e.g. box.")
    exposure = serializers.ChoiceField(
        choices=Exposure.choices,
        default=Exposure.PORT,
        help_text=(
            "port (default): one HTTPS port per service on the machine's MagicDNS name, because names below a "
            "machine name do not resolve on a tailnet; path: one path per service on that name; subdomain: one "
            "subdomain per service of custom_domain."
        ),
    )
    custom_domain = serializers.CharField(
        max_length=253, required=False, allow_blank=True, default="", help_text="Required for subdomain exposure."
    )
    auth_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=(
            "Tailscale auth key (tskey-…), stored encrypted and never returned. Leave it out to keep the stored "
            "one; send null or an empty string to remove it."
        ),
    )
    auth_key_set = serializers.BooleanField(source="has_auth_key", read_only=True)
    auth_key_masked = serializers.CharField(read_only=True, help_text="The stored key's masked form, e.g. tskey-…9f2c.")
    address = serializers.IPAddressField(
        protocol="IPv4",
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=(
            "The machine's Tailscale IPv4 address (`tailscale ip -4`, 100.64.0.0/10): every port the stack "
            "publishes listens there only; 127.0.0.1 while it is empty. Kept when left out; null or '' clears it."
        ),
    )
    accelerator = serializers.ChoiceField(
        choices=hardware.CHOICES,
        required=False,
        help_text=(
            "What runs the local models and other GPU-capable services: cpu, nvidia (CDI), amd-rocm, amd-vulkan, "
            "intel-vulkan or intel-sycl. It picks each such service's image and the devices Podman passes it. "
            "Kept when left out."
        ),
    )
    memory_gb = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=hardware.MAX_MEMORY_GB,
        help_text="The machine's RAM in GB, which local models are checked against. Kept when left out; null clears.",
    )
    gpu_memory_gb = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=hardware.MAX_MEMORY_GB,
        help_text="The GPU's memory in GB (only with a GPU accelerator). Kept when left out; null clears it.",
    )
    login_name = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text=(
            "The Tailscale login name (e.g. alice@github) whose machines `leger auth login` signs in to this "
            "account; linked to one account at most. Kept when left out; an empty string unlinks it."
        ),
    )
    api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=(
            "Tailscale API access token (tskey-api-…, read access to devices), with which Leger verifies "
            "`leger auth login`; stored encrypted and never returned. Leave it out to keep the stored one; send "
            "null or an empty string to remove it."
        ),
    )
    has_api_key = serializers.BooleanField(read_only=True)
    api_key_masked = serializers.CharField(
        read_only=True, help_text="The stored token's masked form, e.g. tskey-api-…9f2c."
    )
    machine_name = serializers.CharField(read_only=True, help_text="The machine's MagicDNS name.")
    urls = serializers.SerializerMethodField(help_text="Where each exposed service answers.")

    class Meta:
        model = TailnetSettings
        fields = [
            "tailnet",
            "hostname",
            "exposure",
            "custom_domain",
            "address",
            "accelerator",
            "memory_gb",
            "gpu_memory_gb",
            "auth_key",
            "auth_key_set",
            "auth_key_masked",
            "login_name",
            "api_key",
            "has_api_key",
            "api_key_masked",
            "machine_name",
            "urls",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    @extend_schema_field(ServiceURLSerializer(many=True))
    def get_urls(self, settings: TailnetSettings) -> list[dict[str, Any]]:
        from leger.tailnet.exposure import service_urls

        services = self.context.get("exposed_services", [])
        return [
            {"id": url.id, "name": url.name, "url": url.url, "urls": url.urls}
            for url in service_urls(settings, services)
        ]
