from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leger.marketplace.models import Selection, Service, Slot, Variable
from leger.providers.models import Credential


class VariableSerializer(serializers.ModelSerializer):
    min = serializers.FloatField(source="minimum", allow_null=True)
    max = serializers.FloatField(source="maximum", allow_null=True)
    label = serializers.CharField(source="display_label", help_text="The setting in words, e.g. Timeout.")
    help = serializers.CharField(source="help_text")
    default = serializers.JSONField(allow_null=True, help_text="Used when the value is left out; null: none.")
    options = serializers.ListField(child=serializers.CharField(), help_text="The allowed values of an enum.")

    class Meta:
        model = Variable
        fields = ["name", "label", "type", "default", "options", "min", "max", "pattern", "required", "help"]


class SlotSerializer(serializers.ModelSerializer):
    variables = serializers.ListField(child=serializers.CharField(), help_text="Open WebUI variables it sets.")
    shared_variables = VariableSerializer(many=True, read_only=True)

    class Meta:
        model = Slot
        fields = ["id", "name", "variables", "reindex_on_switch", "shared_variables"]


class ServiceSerializer(serializers.ModelSerializer):
    slot = serializers.CharField(source="slot_id", allow_null=True, help_text="The slot it fills; null: none.")
    self_hosted = serializers.BooleanField(help_text="Runs as a container in the release.")
    requires_api_key = serializers.BooleanField(help_text="Needs a key from /providers (see key_provider).")
    key_provider = serializers.CharField(source="key_provider_id", allow_null=True)
    variables = VariableSerializer(many=True, read_only=True)
    key_variables = serializers.ListField(child=serializers.CharField(), help_text="Variables the key fills.")
    fixed_values = serializers.DictField(help_text="Variables it always sets.")

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "category",
            "slot",
            "slot_value",
            "runtime",
            "self_hosted",
            "requires_api_key",
            "key_provider",
            "key_variables",
            "fixed_values",
            "image",
            "port",
            "description",
            "website",
            "variables",
        ]


class CredentialField(serializers.PrimaryKeyRelatedField):
    """One of the caller's own keys: another user's id is answered like one that does not exist."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return Credential.objects.none()
        return Credential.objects.filter(owner=request.user).select_related("provider")


class ServiceIdField(serializers.SlugRelatedField):
    """A service by id; an id PostgreSQL cannot even compare (a NUL character) is simply not one."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00"))
        return super().to_internal_value(data)


class SelectionSerializer(serializers.ModelSerializer):
    service = ServiceIdField(
        slug_field="id",
        queryset=Service.objects.filter(enabled=True).select_related("slot", "key_provider"),
        help_text="A marketplace service id, e.g. searxng.",
    )
    slot = serializers.CharField(source="slot_id", read_only=True, allow_null=True)
    values = serializers.DictField(
        required=False,
        help_text=(
            "Values of the service's variables (and its slot's shared settings), by name. Secret variables are "
            "write-only: send one to set it, null to remove it; answers list them under `secrets`, masked."
        ),
    )
    secrets = serializers.SerializerMethodField(help_text="The secret variables that are set, masked.")
    credential = CredentialField(
        allow_null=True, required=False, help_text="Id of one of your keys (/api/v1/credentials/) for the service."
    )
    active = serializers.BooleanField(
        required=False, default=True, help_text="Whether it fills its slot; one active service per slot."
    )

    class Meta:
        model = Selection
        fields = ["id", "service", "slot", "active", "values", "secrets", "credential", "created_at", "updated_at"]
        read_only_fields = ["id", "slot", "created_at", "updated_at"]

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_secrets(self, selection: Selection) -> dict[str, str]:
        return dict(selection.secret_masks or {})


class SelectionUpdateSerializer(SelectionSerializer):
    class Meta(SelectionSerializer.Meta):
        read_only_fields = [*SelectionSerializer.Meta.read_only_fields, "service"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["active"].default = serializers.empty


class SwitchResultSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What the switch did and what it costs.")
    changed = serializers.BooleanField()
    previous = serializers.IntegerField(allow_null=True, help_text="The selection that was deactivated.")
    selection = SelectionSerializer()
