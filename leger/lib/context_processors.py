from __future__ import annotations

from typing import Any

from django.http import HttpRequest

# (url name, label, path prefix) of the five sections, in the order a user works through them.
SECTIONS = [
    ("catalog:model_list", "Models", "/models"),
    ("providers:index", "Providers", "/providers"),
    ("marketplace:index", "Marketplace", "/marketplace"),
    ("tailnet:settings", "Settings", "/settings"),
    ("releases:index", "Releases", "/releases"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {
        "nav_sections": [
            {"url_name": url_name, "label": label, "active": request.path.startswith(prefix)}
            for url_name, label, prefix in SECTIONS
        ]
    }
