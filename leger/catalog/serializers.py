from __future__ import annotations

from typing import Any

from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leger.catalog.models import LLM, Offering, Provider


# Both LLM and Provider have a `kind` with different choices; named components keep the schema's enums apart.
@extend_schema_field({"type": "string", "enum": LLM.Kind.values}, component_name="LLMKind")
class LLMKindField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": Provider.Kind.values}, component_name="ProviderKind")
class ProviderKindField(serializers.CharField):
    pass


def _configured(serializer: serializers.Serializer, provider_id: str) -> bool:
    # The view computes the caller's configured providers once per request and passes them in.
    return provider_id in serializer.context.get("configured_provider_ids", frozenset())


class OfferingSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="provider_id", help_text="The provider's catalog id.")
    name = serializers.CharField(source="provider.name")
    kind = ProviderKindField(source="provider.kind")
    configured = serializers.SerializerMethodField(help_text="Whether the caller holds a key for this provider.")

    class Meta:
        model = Offering
        fields = ["id", "name", "kind", "litellm_model", "is_default", "enabled", "retired_at", "configured"]

    def get_configured(self, offering: Offering) -> bool:
        return _configured(self, offering.provider_id)


class PricingSerializer(serializers.Serializer):
    currency = serializers.CharField(default="USD")
    input_per_1m = serializers.DecimalField(
        source="input_price",
        max_digits=10,
        decimal_places=4,
        allow_null=True,
        help_text="USD per million input tokens.",
    )
    output_per_1m = serializers.DecimalField(
        source="output_price",
        max_digits=10,
        decimal_places=4,
        allow_null=True,
        help_text="USD per million output tokens.",
    )
    tier = serializers.CharField(source="price_tier", help_text="free, budget, standard, premium, or empty.")


class LocalRuntimeSerializer(serializers.ModelSerializer):
    aliases = serializers.ListField(child=serializers.CharField(), help_text="Other names llama-swap answers to.")

    class Meta:
        model = LLM
        fields = LLM.LOCAL_RUNTIME_FIELDS


class LLMSerializer(serializers.ModelSerializer):
    maker = serializers.CharField(source="maker_id", help_text="The maker's catalog id, e.g. anthropic.")
    maker_name = serializers.CharField(source="maker.name")
    kind = LLMKindField(help_text="cloud (served by a provider) or local (run by llama-swap).")
    capabilities = serializers.SerializerMethodField(help_text="Capability ids, e.g. chat, vision.")
    pricing = serializers.SerializerMethodField()
    providers = OfferingSerializer(source="offerings", many=True, read_only=True)
    use_cases = serializers.ListField(child=serializers.CharField())
    local = serializers.SerializerMethodField(help_text="What llama-swap needs to run a local model; null for cloud.")
    retired_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When LiteLLM's model registry stopped listing it; null while it is current.",
    )
    successor = serializers.SerializerMethodField(help_text="The id of the model to use instead, when one is known.")

    class Meta:
        model = LLM
        fields = [
            "id",
            "name",
            "maker",
            "maker_name",
            "kind",
            "description",
            "capabilities",
            "context_window",
            "max_output",
            "embedding_dimension",
            "pricing",
            "providers",
            "use_cases",
            "enabled",
            "deprecation_date",
            "retired_at",
            "successor",
            "local",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_capabilities(self, llm: LLM) -> list[str]:
        # From the prefetched rows: .values_list() here would cost a query per model.
        return [capability.id for capability in llm.capabilities.all()]

    # One nested serializer each for the whole list: a new one per model copied every field again, which was
    # about half the time of GET /api/v1/models/.
    @cached_property
    def _pricing(self) -> PricingSerializer:
        return PricingSerializer()

    @cached_property
    def _local(self) -> LocalRuntimeSerializer:
        return LocalRuntimeSerializer()

    @extend_schema_field(PricingSerializer)
    def get_pricing(self, llm: LLM) -> dict[str, Any]:
        return self._pricing.to_representation(llm)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_successor(self, llm: LLM) -> str | None:
        return llm.successor_id or llm.registry_successor_id

    @extend_schema_field(LocalRuntimeSerializer(allow_null=True))
    def get_local(self, llm: LLM) -> dict[str, Any] | None:
        return self._local.to_representation(llm) if llm.is_local else None


class ProviderSerializer(serializers.ModelSerializer):
    kind = ProviderKindField(
        help_text="api (an LLM API; needs a key), local (llama-cpp on your machine) or service (an add-on's key)."
    )
    configured = serializers.SerializerMethodField(help_text="Whether the caller holds a key for this provider.")
    key_fields = serializers.JSONField(
        read_only=True,
        help_text="What a key of this provider needs besides the key itself (send them as a credential's "
        "`key_fields`): each with name, label, help, required, secret, default, pattern and the LiteLLM "
        "parameter it fills.",
    )

    class Meta:
        model = Provider
        fields = [
            "id",
            "name",
            "kind",
            "env_var",
            "needs_key",
            "key_prefix",
            "key_param",
            "key_format",
            "key_fields",
            "website",
            "key_url",
            "configured",
        ]

    def get_configured(self, provider: Provider) -> bool:
        return _configured(self, provider.id)
