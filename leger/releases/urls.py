from __future__ import annotations

from django.urls import path

from leger.releases import views

app_name = "releases"
urlpatterns = [
    path("", views.index, name="index"),
]
