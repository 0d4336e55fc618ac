from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def settings(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Settings", "blurb": "Your Tailscale tailnet and how services are exposed on it."})
