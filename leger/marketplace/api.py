"""REST endpoints: /api/v1/marketplace/services/ (the catalog) and /api/v1/marketplace/selections/ (yours)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leger.marketplace import selectors, services
from leger.marketplace.models import Category, Selection, Service
from leger.marketplace.serializers import (
    SelectionSerializer,
    SelectionUpdateSerializer,
    ServiceSerializer,
    SwitchResultSerializer,
)

SLOT_RULE = (
    "Open WebUI takes one provider per slot: a second active selection in a slot is refused with 400, and the "
    "message names the slot and the service already there. Use `switch` to change providers in one step."
)


def as_drf(error: DjangoValidationError) -> serializers.ValidationError:
    """Django's errors as DRF's body; problems with values are keyed by variable name under ``values``."""
    if not hasattr(error, "error_dict"):
        return serializers.ValidationError({"detail": error.messages})
    body: dict[str, Any] = {}
    for field, errors in error.error_dict.items():
        if field == "values":
            by_variable: dict[str, list[str]] = {}
            for item in errors:
                params = item.params or {}
                if params.get("variable"):
                    by_variable.setdefault(params["variable"], []).append(params["detail"])
                else:
                    by_variable.setdefault("non_field_errors", []).extend(item.messages)
            body["values"] = by_variable
        else:
            body[field] = [message for item in errors for message in item.messages]
    return serializers.ValidationError(body)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("category", str, description="Only this category.", enum=Category.values),
            OpenApiParameter("slot", str, description="Only services filling this slot, e.g. vector-database."),
            OpenApiParameter("search", str, description="Part of a service's name, id or description."),
        ]
    ),
    retrieve=extend_schema(parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="e.g. qdrant")]),
)
class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    """Marketplace services: what fills each Open WebUI slot, with the variables a selection may set."""

    serializer_class = ServiceSerializer
    queryset = Service.objects.none()
    filter_backends: list[Any] = []
    lookup_value_regex = r"[^/\x00]+"  # a NUL cannot be in an id, and PostgreSQL refuses to compare it

    def get_queryset(self) -> QuerySet[Service]:
        params = self.request.query_params
        refused = {name: ["Remove the NUL character (%00)."] for name, value in params.items() if "\x00" in value}
        if refused:
            raise serializers.ValidationError(refused)
        return selectors.service_list(
            category=params.get("category") or None, slot=params.get("slot") or None, search=params.get("search")
        )


@extend_schema_view(
    list=extend_schema(description="Your configured marketplace services, active or not."),
    create=extend_schema(description=f"Configure a service. {SLOT_RULE}"),
    partial_update=extend_schema(
        description=(
            "Change values, key or `active`. `values` replaces the plain values as a whole; a secret not sent is "
            f"kept. {SLOT_RULE}"
        ),
        request=SelectionUpdateSerializer,
    ),
    destroy=extend_schema(description="Forget a configuration (an active one leaves its slot empty)."),
)
class SelectionViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SelectionSerializer
    queryset = Selection.objects.none()  # for the schema; get_queryset scopes to the caller
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Selection]:
        return selectors.selection_list(owner=self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "partial_update":
            return SelectionUpdateSerializer
        return SelectionSerializer

    def perform_create(self, serializer: SelectionSerializer) -> None:
        data = serializer.validated_data
        try:
            selection = services.selection_create(
                owner=self.request.user,
                service=data["service"],
                values=data.get("values", {}),
                credential=data.get("credential"),
                active=data.get("active", True),
            )
        except DjangoValidationError as error:
            raise as_drf(error) from None
        serializer.instance = selectors.selection_get(owner=self.request.user, id=selection.pk)

    def perform_update(self, serializer: SelectionSerializer) -> None:
        data = serializer.validated_data
        try:
            selection = services.selection_update(
                selection=serializer.instance,
                values=data.get("values"),
                credential=data.get("credential", services.UNSET),
                active=data.get("active"),
            )
        except DjangoValidationError as error:
            raise as_drf(error) from None
        serializer.instance = selectors.selection_get(owner=self.request.user, id=selection.pk)

    def perform_destroy(self, instance: Selection) -> None:
        services.selection_delete(selection=instance)

    @extend_schema(
        request=None,
        responses={200: SwitchResultSerializer, 400: OpenApiResponse(description="It cannot fill its slot.")},
        description=(
            "Make this selection the active provider of its slot, deactivating the one there, in one step. The "
            "answer's `message` says what the switch costs (a new vector database or embedding engine means "
            "Open WebUI's knowledge must be re-indexed)."
        ),
    )
    @action(detail=True, methods=["post"])
    def switch(self, request: Request, pk: str | None = None) -> Response:
        selection = self.get_object()
        if selection.slot is None:
            raise serializers.ValidationError(
                {"detail": [f"{selection.service.name} fills no slot; set active instead."]}
            )
        try:
            result = services.slot_switch(owner=request.user, slot=selection.slot, to_selection=selection)
        except DjangoValidationError as error:
            raise as_drf(error) from None
        current = selectors.selection_get(owner=request.user, id=result.current.pk)
        body = {
            "message": result.message,
            "changed": result.changed,
            "previous": result.previous.pk if result.previous else None,
            "selection": SelectionSerializer(current, context=self.get_serializer_context()).data,
        }
        return Response(body, status=status.HTTP_200_OK)


def register(router: DefaultRouter) -> list:
    """Add this section's viewsets to the /api/v1/ router; return extra url patterns."""
    router.register("marketplace/services", ServiceViewSet, basename="marketplace-service")
    router.register("marketplace/selections", SelectionViewSet, basename="marketplace-selection")
    return []
