from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from leger import api_tokens, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("models/", include("leger.catalog.urls")),
    path("providers/", include("leger.providers.urls")),
    path("marketplace/", include("leger.marketplace.urls")),
    path("settings/", include("leger.tailnet.urls")),
    path("releases/", include("leger.releases.urls")),
    path("account/", include(api_tokens)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("leger.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The leger CLI's API (auth/cli, secrets/…, v1/users/…/versions, auth?token=) and the releases it clones.
    path("", include("leger.cli.urls")),
    path("", include("leger.releases.git_http")),
]

# An unreachable database answers 503 with a plain message; anything else gets Django's 500 page.
handler500 = "leger.views.server_error"
