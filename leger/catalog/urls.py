from __future__ import annotations

from django.urls import path

from leger.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.model_list, name="model_list"),
]
