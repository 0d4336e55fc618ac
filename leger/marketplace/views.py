from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Marketplace", "blurb": "Add-on services for Open WebUI, one provider per slot."})
