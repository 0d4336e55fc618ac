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
# The overview at "/" comes first; every path starts with "/", so it is current on that path only.
OVERVIEW = ("home", "Overview", "/")


def _is_current(path: str, prefix: str) -> bool:
    if prefix == "/":
        return path == "/"
    return path == prefix or path.startswith(prefix + "/")


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {
        "nav_sections": [
            {"url_name": url_name, "label": label, "active": _is_current(request.path, prefix)}
            for url_name, label, prefix in [OVERVIEW, *SECTIONS]
        ]
    }
