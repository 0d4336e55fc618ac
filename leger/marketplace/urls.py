from __future__ import annotations

from django.urls import path, re_path

from leger.marketplace import views

app_name = "marketplace"
urlpatterns = [
    path("", views.index, name="index"),
    # A service id is anything but a slash or a NUL (PostgreSQL refuses to compare text holding one).
    re_path(r"^services/(?P<service_id>[^/\x00]+)/$", views.configure, name="configure"),
    re_path(r"^services/(?P<service_id>[^/\x00]+)/validate/$", views.validate, name="validate"),
    path("selections/<int:pk>/switch/", views.switch, name="switch"),
    path("selections/<int:pk>/deactivate/", views.deactivate, name="deactivate"),
    path("selections/<int:pk>/delete/", views.delete, name="delete"),
]
