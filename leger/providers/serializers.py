"""API shapes of credentials and secrets. A key's value goes in once and never comes back out,
except from the token-only secrets endpoint, which builds its answer itself."""

from __future__ import annotations

from rest_framework import serializers

from leger.providers.models import Credential
from leger.providers.selectors import key_providers


class CredentialSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(
        slug_field="id",
        queryset=key_providers(),
        help_text="Catalog id of the provider (GET /api/v1/providers/), e.g. `anthropic`.",
        error_messages={
            "does_not_exist": "There is no provider “{value}” that takes a key; use an id from GET /api/v1/providers/.",
            "invalid": "Give the provider's catalog id as a string, e.g. “anthropic”.",
        },
    )
    label = serializers.CharField(
        required=False, allow_blank=True, help_text="Tells several keys for one provider apart; “default” if empty."
    )
    # trim_whitespace=False: a key with spaces around it is refused with a message, not changed.
    value = serializers.CharField(
        write_only=True,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="The key. Write-only: answers only ever show `masked`.",
    )

    class Meta:
        model = Credential
        fields = ["id", "provider", "label", "value", "masked", "secret_name", "env_var", "created_at", "rotated_at"]
        read_only_fields = ["id", "masked", "secret_name", "env_var", "created_at", "rotated_at"]


class CredentialLabelSerializer(serializers.Serializer):
    label = serializers.CharField(allow_blank=True, help_text="The key's new label.")


class CredentialValueSerializer(serializers.Serializer):
    value = serializers.CharField(
        write_only=True,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="The new key.",
    )


class SecretSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="secret_name", help_text="Podman secret name releases refer to.")
    provider = serializers.CharField(source="provider_id", help_text="Catalog id of the provider.")

    class Meta:
        model = Credential
        fields = ["name", "env_var", "provider", "label"]
        read_only_fields = fields


class SecretValueSerializer(SecretSerializer):
    value = serializers.CharField(help_text="The plaintext key. Every read is written to the owner's audit log.")

    class Meta(SecretSerializer.Meta):
        fields = [*SecretSerializer.Meta.fields, "value"]
        read_only_fields = fields
