from __future__ import annotations

from django.urls import path

from leger.marketplace import views

app_name = "marketplace"
urlpatterns = [
    path("", views.index, name="index"),
]
