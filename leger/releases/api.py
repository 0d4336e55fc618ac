"""REST endpoints: /api/v1/releases/ (drafts and cut releases) and their actions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leger.releases import selectors, services
from leger.releases.models import Release
from leger.releases.serializers import (
    DiffSerializer,
    PromotionSerializer,
    ReleaseFileSerializer,
    ReleaseInputSerializer,
    ReleaseSerializer,
)


class ReleaseConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This release is no longer a draft and cannot change; clone it into a new draft."
    default_code = "release_locked"


class QueueUnavailable(APIException):
    """The task queue (Redis) did not answer: nothing changed, and the same request can be sent again later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The task queue is unreachable; nothing changed. Try again in a minute."
    default_code = "queue_unreachable"


def _as_drf(error: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


def _inputs(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("models", "services", "openwebui", "routes") if key in data}


class ReleaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's releases: drafts (changed with PATCH) and cut ones (which never change)."""

    serializer_class = ReleaseSerializer
    queryset = Release.objects.none()  # for the schema; get_queryset scopes to the caller
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.release_list(owner=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        cache: dict[str, int | None] = {}

        def latest_id() -> int | None:
            # One query per request, and only when a release is answered.
            if "id" not in cache:
                latest = selectors.latest_release(owner=self.request.user)
                cache["id"] = latest.pk if latest else None
            return cache["id"]

        context["latest_id"] = latest_id
        return context

    def _answer(self, release: Release, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(release).data, status=code)

    @extend_schema(request=ReleaseInputSerializer, responses={201: ReleaseSerializer})
    def create(self, request: Request) -> Response:
        """Create a draft, with any answers given; nothing is created if one of them has a problem."""
        body = ReleaseInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            with transaction.atomic():
                release = services.release_create(owner=request.user, name=data.get("name", ""))
                if _inputs(data):
                    release = services.release_update(release=release, **_inputs(data))
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return self._answer(release, status.HTTP_201_CREATED)

    @extend_schema(
        request=ReleaseInputSerializer,
        responses={200: ReleaseSerializer, 409: OpenApiResponse(description="The release is no longer a draft.")},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change a draft; what is sent replaces what was there. A cut release answers 409."""
        release = self.get_object()
        body = ReleaseInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            release = services.release_update(release=release, name=data.get("name"), **_inputs(data))
        except services.ReleaseLocked as error:
            raise ReleaseConflict(str(error)) from None
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return self._answer(release)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="Only drafts can be deleted.")})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        release = self.get_object()
        try:
            services.release_delete(release=release)
        except services.ReleaseLocked:
            raise ReleaseConflict(
                "Only drafts can be deleted: a cut release is history, and its version is never reused."
            ) from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            202: ReleaseSerializer,
            503: OpenApiResponse(description="The task queue is unreachable; the draft is kept as it was."),
        },
    )
    @action(detail=True, methods=["post"])
    def cut(self, request: Request, pk: str | None = None) -> Response:
        """Freeze the draft and queue its publishing (a Celery task); answers at once with status queued."""
        release = self.get_object()
        try:
            release = services.release_cut(release=release, actor=request.user)
        except services.QueueUnavailable as error:
            raise QueueUnavailable(error.messages[0]) from None
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return self._answer(release, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={201: ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request: Request, pk: str | None = None) -> Response:
        """A new draft with this release's answers."""
        clone = services.release_clone(release=self.get_object(), actor=request.user)
        return self._answer(clone, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: PromotionSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request: Request, pk: str | None = None) -> Response:
        """Point latest at this published release (a rollback when it is an older one); recorded."""
        try:
            promotion = services.release_promote(release=self.get_object(), actor=request.user)
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return Response(PromotionSerializer(promotion).data)

    @extend_schema(
        request=None,
        responses={
            202: ReleaseSerializer,
            503: OpenApiResponse(description="The task queue is unreachable; the release is as it was."),
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Queue a failed release's publishing again (or one stuck queued or publishing with no progress)."""
        try:
            release = services.release_retry(release=self.get_object())
        except services.QueueUnavailable as error:
            raise QueueUnavailable(error.messages[0]) from None
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return self._answer(release, status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: ReleaseFileSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def files(self, request: Request, pk: str | None = None) -> Response:
        """Every file of the published release with its checksum and content; empty before it is published."""
        files = selectors.release_files(release=self.get_object())
        return Response(ReleaseFileSerializer(files, many=True).data)

    @extend_schema(
        responses={
            (200, "application/gzip"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The release is not published yet."),
        }
    )
    @action(detail=True, methods=["get"])
    def archive(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The published release as a .tar.gz (the same bytes every time)."""
        release = self.get_object()
        try:
            data = selectors.release_archive(release=release)
        except DjangoValidationError as error:
            raise ReleaseConflict(" ".join(error.messages)) from None
        response = HttpResponse(data, content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="{selectors.archive_name(release)}.tar.gz"'
        return response

    @extend_schema(
        parameters=[OpenApiParameter("against", int, required=True, description="The id of the other release.")],
        responses={200: DiffSerializer},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str | None = None) -> Response:
        """Per-file unified diff from the release `against` to this one, plus added and removed paths."""
        release = self.get_object()
        against_id = request.query_params.get("against", "")
        if not against_id.isdigit():
            raise serializers.ValidationError({"against": ["Give the id of the release to compare with: ?against=3."]})
        against = selectors.release_get(owner=request.user, id=int(against_id))
        try:
            diff = selectors.release_diff(release=release, against=against)
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        return Response(DiffSerializer(diff).data)


def register(router: DefaultRouter) -> list:
    """Add this section's viewsets to the /api/v1/ router; return extra url patterns."""
    router.register("releases", ReleaseViewSet, basename="release")
    return []
