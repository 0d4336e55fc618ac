from __future__ import annotations

from django.urls import path, register_converter

from leger.releases import views


class StepConverter:
    """One of the wizard's four steps, so /releases/<id>/<step>/ never swallows another page's URL."""

    regex = "models|services|openwebui|routes"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(StepConverter, "step")

app_name = "releases"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.release_new, name="new"),
    path("<int:pk>/", views.release_detail, name="detail"),
    path("<int:pk>/progress/", views.release_progress, name="progress"),
    path("<int:pk>/name/", views.release_rename, name="rename"),
    path("<int:pk>/summary/", views.release_summary, name="summary"),
    path("<int:pk>/cut/", views.release_cut, name="cut"),
    path("<int:pk>/retry/", views.release_retry, name="retry"),
    path("<int:pk>/clone/", views.release_clone, name="clone"),
    path("<int:pk>/promote/", views.release_promote, name="promote"),
    path("<int:pk>/delete/", views.release_delete, name="delete"),
    path("<int:pk>/archive/", views.release_archive, name="archive"),
    path("<int:pk>/diff/", views.release_diff, name="diff"),
    path("<int:pk>/files/<path:path>", views.release_file, name="file"),
    path("<int:pk>/<step:step>/", views.wizard_step, name="step"),
]
