from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> list:
    """Add this section's viewsets to the /api/v1/ router; return extra url patterns."""
    return []
