from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def model_list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Models", "blurb": "Every LLM Leger knows."})
