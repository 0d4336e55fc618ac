from __future__ import annotations

import logging
import sys

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.http import require_safe

from leger.overview import setup_overview

logger = logging.getLogger(__name__)

DATABASE_DOWN = "Leger's database is not answering right now. Try again in a minute."


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The overview: the setup checklist while anything is left to do, the latest release once it is all done."""
    return render(request, "overview.html", {"overview": setup_overview(request.user)})


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 naming it when it does not, so a load balancer or Podman sees why."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("health check: the database does not answer (%s)", error.__class__.__name__)
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler (``handler500``): a database that cannot be reached (stopped, restarting) is a 503
    saying so, in JSON under /api/, and plain HTML elsewhere, rendered without touching the database."""
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return defaults.server_error(request)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": DATABASE_DOWN}, status=503)
    else:
        response = HttpResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Leger is unavailable</title>'
            f"</head><body><h1>Leger is unavailable</h1><p>{DATABASE_DOWN}</p></body></html>",
            status=503,
        )
    response["Retry-After"] = "30"
    return response
