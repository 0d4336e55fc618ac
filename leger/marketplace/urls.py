from __future__ import annotations

from django.urls import path

from leger.marketplace import views

app_name = "marketplace"
urlpatterns = [
    path("", views.index, name="index"),
    path("services/<str:service_id>/", views.configure, name="configure"),
    path("services/<str:service_id>/validate/", views.validate, name="validate"),
    path("selections/<int:pk>/switch/", views.switch, name="switch"),
    path("selections/<int:pk>/deactivate/", views.deactivate, name="deactivate"),
    path("selections/<int:pk>/delete/", views.delete, name="delete"),
]
