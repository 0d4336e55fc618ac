from __future__ import annotations

from django.apps import AppConfig


class TailnetConfig(AppConfig):
    name = "leger.tailnet"
    verbose_name = "Tailnet settings"
