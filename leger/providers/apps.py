from __future__ import annotations

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "leger.providers"
    verbose_name = "Providers and keys"
