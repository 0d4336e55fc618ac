"""REST endpoint: GET, PUT /api/v1/tailnet/ (the caller's tailnet settings, one per user)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from leger.tailnet import selectors, services
from leger.tailnet.serializers import TailnetSettingsSerializer

NOT_YET = "No tailnet settings yet: PUT /api/v1/tailnet/ with tailnet, hostname and exposure to create them."


class TailnetSettingsView(APIView):
    """The caller's tailnet: its domain, the machine's name and how services are exposed on it."""

    serializer_class = TailnetSettingsSerializer

    def _answer(self, request: Request, settings: object, status_code: int = status.HTTP_200_OK) -> Response:
        context = {"request": request, "exposed_services": selectors.exposed_services(owner=request.user)}
        return Response(TailnetSettingsSerializer(settings, context=context).data, status=status_code)

    @extend_schema(
        responses={
            200: TailnetSettingsSerializer,
            404: OpenApiResponse(
                description=(
                    "The caller has no tailnet settings yet (answered with 404 and a `detail` saying to PUT "
                    "them, not an empty object). A release cannot be cut until they exist."
                )
            ),
        }
    )
    def get(self, request: Request) -> Response:
        settings = selectors.tailnet_settings_get(owner=request.user)
        if settings is None:
            return Response({"detail": NOT_YET}, status=status.HTTP_404_NOT_FOUND)
        return self._answer(request, settings)

    @extend_schema(
        request=TailnetSettingsSerializer,
        responses={200: TailnetSettingsSerializer, 201: TailnetSettingsSerializer, 400: OpenApiResponse()},
        description=(
            "Create the settings (201) or replace them (200). Every field is replaced except `auth_key` and "
            "`api_key`, which are kept when left out (they are never returned, so a client cannot send them back), "
            "and `login_name`, kept when left out so that an older client does not unlink the CLI's sign-in."
        ),
    )
    def put(self, request: Request) -> Response:
        body = TailnetSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        existed = selectors.tailnet_settings_get(owner=request.user) is not None
        try:
            settings = services.tailnet_settings_put(
                owner=request.user,
                tailnet=data["tailnet"],
                hostname=data["hostname"],
                exposure=data["exposure"],
                custom_domain=data.get("custom_domain", ""),
                auth_key=data.get("auth_key", services.KEEP),
                login_name=data.get("login_name", services.KEEP),
                address=data.get("address", services.KEEP),
                accelerator=data.get("accelerator", services.KEEP),
                memory_gb=data.get("memory_gb", services.KEEP),
                gpu_memory_gb=data.get("gpu_memory_gb", services.KEEP),
                api_key=data.get("api_key", services.KEEP),
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return self._answer(request, settings, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


def register(router: DefaultRouter) -> list:
    """Add this section's viewsets to the /api/v1/ router; return extra url patterns."""
    return [path("tailnet/", TailnetSettingsView.as_view(), name="tailnet-settings")]
