from __future__ import annotations

from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "leger.cli"
    label = "cli"
    verbose_name = "leger CLI"
    default_auto_field = "django.db.models.BigAutoField"
