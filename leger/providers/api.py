"""REST endpoints: /api/v1/credentials/ (the user's keys, masked) and /api/v1/secrets/ (values, for the CLI)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leger.providers import crypto, services
from leger.providers.audit import AccessSource
from leger.providers.models import AuditEntry, Credential
from leger.providers.selectors import credential_list, secret_list
from leger.providers.serializers import (
    CredentialLabelSerializer,
    CredentialSerializer,
    CredentialValueSerializer,
    SecretSerializer,
    SecretValueSerializer,
)


def _source(request: Request) -> AccessSource:
    return AccessSource.from_request(request._request, channel=AuditEntry.Channel.API)


def _as_drf(error: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(error, "error_dict"):
        answer: dict[str, Any] = {}
        for name, messages in error.message_dict.items():
            if name.startswith(services.FIELD_ERROR_PREFIX):
                # A key field's error sits where the request sent the field: under "key_fields".
                answer.setdefault("key_fields", {})[name.removeprefix(services.FIELD_ERROR_PREFIX)] = messages
            else:
                answer[name] = messages
        return serializers.ValidationError(answer)
    return serializers.ValidationError({"detail": error.messages})


# A request that read the key just before another one deleted it.
_DELETED = "This key was deleted meanwhile (by another request); nothing was changed."


class SecretUnreadable(APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = (
        "This secret cannot be decrypted with the server's current keys; the operator must restore the old "
        "encryption key (LEGER_FERNET_KEYS). Until then, replace the key on /providers."
    )
    default_code = "secret_unreadable"


class CredentialViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's API keys. `value` is write-only; answers show the masked form."""

    serializer_class = CredentialSerializer
    queryset = Credential.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self) -> Any:
        return credential_list(owner=self.request.user)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # What sensitive_post_parameters does for Django views (it refuses DRF's Request):
        # a form-encoded key is starred out of error reports.
        request._request.sensitive_post_parameters = ["value"]
        super().initial(request, *args, **kwargs)

    @sensitive_variables()
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The serializer's repr shows the request data, key included; keep it out of error reports.
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: CredentialSerializer) -> None:
        data = serializer.validated_data
        try:
            serializer.instance = services.credential_create(
                owner=self.request.user,
                provider=data["provider"],
                label=data.get("label", ""),
                value=data["value"],
                fields=data.get("key_fields"),
                source=_source(self.request),
            )
        except DjangoValidationError as error:
            raise _as_drf(error) from None

    @extend_schema(request=CredentialLabelSerializer, responses=CredentialSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Rename a key. Its provider cannot change, and its value is replaced with `rotate`."""
        credential = self.get_object()
        if not isinstance(request.data, Mapping):
            # JSON null, a list or a bare string: there is no field to look at.
            raise serializers.ValidationError({"label": ['Send an object, e.g. {"label": "work"}.']})
        refused = {}
        if "value" in request.data:
            refused["value"] = [
                f"PATCH only renames a key; replace its value with POST /api/v1/credentials/{credential.pk}/rotate/."
            ]
        if "provider" in request.data:
            refused["provider"] = ["A key's provider cannot change; add a new key for the other provider instead."]
        if refused:
            raise serializers.ValidationError(refused)
        body = CredentialLabelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.credential_rename(
                credential=credential, label=body.validated_data["label"], actor=request.user, source=_source(request)
            )
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        except services.CredentialDeleted:
            raise NotFound(_DELETED) from None
        return Response(CredentialSerializer(credential).data)

    @extend_schema(request=CredentialValueSerializer, responses=CredentialSerializer)
    @action(detail=True, methods=["post"])
    @sensitive_variables()
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        """Replace a key's value (after rotating it at the provider); label and secret name stay."""
        credential = self.get_object()
        body = CredentialValueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.credential_rotate(
                credential=credential,
                value=body.validated_data.get("value"),
                fields=body.validated_data.get("key_fields"),
                actor=request.user,
                source=_source(request),
            )
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        except services.CredentialDeleted:
            raise NotFound(_DELETED) from None
        return Response(CredentialSerializer(credential).data)

    def perform_destroy(self, instance: Credential) -> None:
        try:
            services.credential_delete(credential=instance, actor=self.request.user, source=_source(self.request))
        except DjangoValidationError as error:
            raise _as_drf(error) from None
        except services.CredentialDeleted:
            raise NotFound(_DELETED) from None


class SecretViewSet(viewsets.GenericViewSet):
    """For the Leger CLI: the caller's secret names, and one value by name.

    Every secret a release names is here: provider keys, the secret settings of marketplace selections and
    the internal secrets Leger generated for the stack. Token authentication only, so a page open in a browser
    (which carries the session cookie) can never read a value. Every value read is audited.
    """

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = SecretSerializer
    queryset = Credential.objects.none()  # for the schema; the answers come from selectors.secret_list
    lookup_url_kwarg = "name"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9_.-]*"

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(secret_list(owner=request.user))
        return self.get_paginated_response(SecretSerializer(page, many=True).data)

    @extend_schema(responses={200: SecretValueSerializer, 404: OpenApiResponse(description="No such secret.")})
    @sensitive_variables()
    def retrieve(self, request: Request, name: str | None = None) -> Response:
        entry = next((entry for entry in secret_list(owner=request.user) if entry.name == name), None)
        if entry is None:
            raise NotFound("You have no secret of that name.")
        try:
            revealed = services.secret_reveal(
                owner=request.user, name=entry.name, actor=request.user, source=_source(request)
            )
        except services.SecretNotFound:
            raise NotFound("You have no secret of that name.") from None
        except crypto.UndecryptableError:
            raise SecretUnreadable() from None
        response = Response({**SecretSerializer(entry).data, "value": revealed.value})
        response["Cache-Control"] = "no-store"
        return response


def register(router: DefaultRouter) -> list:
    """Add this section's viewsets to the /api/v1/ router; return extra url patterns."""
    router.register("credentials", CredentialViewSet, basename="credential")
    router.register("secrets", SecretViewSet, basename="secret")
    return []
