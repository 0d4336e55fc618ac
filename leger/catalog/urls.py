from __future__ import annotations

from django.urls import path

from leger.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.model_list, name="model_list"),
    # Catalog ids hold dots (claude-3.5-haiku); <str:> takes anything but a slash.
    path("<str:id>/", views.model_detail, name="model_detail"),
]
