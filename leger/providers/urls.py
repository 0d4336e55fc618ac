from __future__ import annotations

from django.urls import path

from leger.providers import views

app_name = "providers"
urlpatterns = [
    path("", views.index, name="index"),
    path("add/", views.credential_add, name="credential_add"),
    path("activity/", views.activity, name="activity"),
    path("keys/<int:pk>/", views.credential_detail, name="credential_detail"),
    path("keys/<int:pk>/rename/", views.credential_rename, name="credential_rename"),
    path("keys/<int:pk>/replace/", views.credential_replace, name="credential_replace"),
    path("keys/<int:pk>/delete/", views.credential_delete, name="credential_delete"),
]
