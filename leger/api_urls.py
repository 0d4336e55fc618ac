"""Every REST endpoint under /api/v1/, gathered from the section apps.

Each app's ``api.register(router)`` adds its viewsets to the shared router and
returns any extra url patterns (plain APIViews).
"""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from leger import api_tokens
from leger.catalog import api as catalog_api
from leger.marketplace import api as marketplace_api
from leger.providers import api as providers_api
from leger.releases import api as releases_api
from leger.tailnet import api as tailnet_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# No `.json` twins of every URL: the API speaks JSON only, and the twins handed a `format`
# argument to actions that do not take one (a 500 on /releases/1/diff.json and the like).
router.include_format_suffixes = False

extra = []
for section in (catalog_api, providers_api, marketplace_api, tailnet_api, releases_api):
    extra += section.register(router)

urlpatterns = [
    path("auth/token/", api_tokens.TokenView.as_view(), name="api-token"),
    *extra,
    *router.urls,
]
