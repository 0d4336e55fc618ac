from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Add the catalog's endpoints to the /api/v1/ router."""
