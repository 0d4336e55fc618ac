from __future__ import annotations

from django.urls import path, re_path

from leger.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.model_list, name="model_list"),
    # Catalog ids hold dots (claude-3.5-haiku): anything but a slash, and but a NUL, which PostgreSQL refuses
    # to compare (such a path is not found rather than a server error).
    re_path(r"^(?P<id>[^/\x00]+)/$", views.model_detail, name="model_detail"),
]
