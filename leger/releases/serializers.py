"""JSON shapes of /api/v1/releases/. Input is only shaped here; its rules live in ``leger.releases.services``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leger.releases import selectors
from leger.releases.models import Promotion, Release, ReleaseFile
from leger.releases.services import inputs_of


class ModelEntrySerializer(serializers.Serializer):
    model = serializers.CharField(help_text="A catalog model id, e.g. claude-haiku-4.5.")
    provider = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="The provider to reach a cloud model through; empty: its default among those you have keys for.",
    )
    credential = serializers.IntegerField(
        required=False, allow_null=True, help_text="Which of your keys for that provider; empty: the oldest."
    )


class RouteEntrySerializer(serializers.Serializer):
    exposed = serializers.BooleanField(required=False)
    port = serializers.IntegerField(required=False, min_value=1, max_value=65535)
    path = serializers.CharField(required=False, help_text="Path prefix in path exposure, e.g. /chat.")
    subdomain = serializers.CharField(required=False, help_text="Subdomain in custom-domain exposure, e.g. chat.")


@extend_schema_field(ModelEntrySerializer(many=True))
class ModelsField(serializers.JSONField):
    pass


@extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
class ServicesField(serializers.JSONField):
    pass


@extend_schema_field(serializers.DictField(child=serializers.JSONField()))
class OpenWebUIField(serializers.JSONField):
    pass


@extend_schema_field(serializers.DictField(child=RouteEntrySerializer()))
class RoutesField(serializers.JSONField):
    pass


class ReleaseInputSerializer(serializers.Serializer):
    """A draft's answers; every field optional on PATCH (what is sent replaces what was there)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    models = ModelsField(required=False, help_text='[{"model": "claude-haiku-4.5", "provider": "anthropic"}]')
    services = ServicesField(required=False, help_text="Ids of your marketplace selections, e.g. [3, 7].")
    openwebui = OpenWebUIField(required=False, help_text='Open WebUI settings, e.g. {"WEBUI_NAME": "Home AI"}.')
    routes = RoutesField(
        required=False, help_text='Per exposable service, changes to its route: {"openwebui": {"port": 443}}.'
    )


class ReleaseSerializer(serializers.ModelSerializer):
    manifest_url = serializers.SerializerMethodField(help_text="Presigned for private buckets; null until published.")
    models = serializers.SerializerMethodField()
    services = serializers.SerializerMethodField()
    openwebui = serializers.SerializerMethodField()
    routes = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField(help_text="Whether latest/manifest.json is this release's.")

    class Meta:
        model = Release
        fields = [
            "id",
            "name",
            "version",
            "status",
            "error",
            "progress",
            "step",
            "manifest_url",
            "latest",
            "models",
            "services",
            "openwebui",
            "routes",
            "cloned_from",
            "created_at",
            "updated_at",
            "cut_at",
            "published_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_manifest_url(self, release: Release) -> str | None:
        return selectors.release_manifest_url(release=release) or None

    @extend_schema_field(ModelEntrySerializer(many=True))
    def get_models(self, release: Release) -> Any:
        return inputs_of(release)["models"]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_services(self, release: Release) -> Any:
        return inputs_of(release)["services"]

    @extend_schema_field(serializers.DictField(child=serializers.JSONField()))
    def get_openwebui(self, release: Release) -> Any:
        return inputs_of(release)["openwebui"]

    @extend_schema_field(serializers.DictField(child=RouteEntrySerializer()))
    def get_routes(self, release: Release) -> Any:
        return inputs_of(release)["routes"]

    def get_latest(self, release: Release) -> bool:
        latest_id = self.context.get("latest_id")
        if callable(latest_id):
            latest_id = latest_id()
        return latest_id is not None and latest_id == release.pk


class ReleaseFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReleaseFile
        fields = ["path", "sha256", "size", "content"]
        read_only_fields = fields


class FileDiffSerializer(serializers.Serializer):
    path = serializers.CharField()
    diff = serializers.CharField(help_text="Unified diff from the other release to this one.")


class DiffSerializer(serializers.Serializer):
    release = serializers.IntegerField(source="release.pk")
    against = serializers.IntegerField(source="against.pk")
    changed = FileDiffSerializer(many=True)
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())


class PromotionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="release.version")
    promoted_by = serializers.CharField(source="promoted_by.get_username", default=None)

    class Meta:
        model = Promotion
        fields = ["release", "version", "promoted_by", "promoted_at"]
        read_only_fields = fields
