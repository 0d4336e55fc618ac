"""Every REST endpoint under /api/v1/, gathered from the section apps."""

from __future__ import annotations

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from leger.catalog import api as catalog_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
catalog_api.register(router)

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    *router.urls,
]
