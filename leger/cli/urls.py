"""The leger CLI's paths, at the site root (its LEGER_API_URL is Leger's address)."""

from __future__ import annotations

from django.urls import path

from leger.cli import views

urlpatterns = [
    path("auth/cli", views.auth_cli, name="cli_auth"),
    path("auth", views.auth_web, name="cli_auth_web"),
    path("secrets/list", views.secrets_list, name="cli_secrets_list"),
    path("secrets/get/<str:name>", views.secrets_get, name="cli_secrets_get"),
    path("secrets/set", views.secrets_set, name="cli_secrets_set"),
    path("secrets/<str:name>", views.secrets_delete, name="cli_secrets_delete"),
    path("v1/users/<uuid:owner_uuid>/versions", views.versions, name="cli_versions"),
]
