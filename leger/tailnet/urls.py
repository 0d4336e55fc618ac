from __future__ import annotations

from django.urls import path

from leger.tailnet import views

app_name = "tailnet"
urlpatterns = [
    path("", views.settings, name="settings"),
    path("preview/", views.preview, name="preview"),
    path("tailscale/test/", views.tailscale_test, name="tailscale_test"),
]
