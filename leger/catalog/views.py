from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from leger.catalog.filters import LLMFilterSet
from leger.catalog.models import LLM
from leger.catalog.selectors import llm_get, llm_list, registry_sync_latest
from leger.lib import hardware
from leger.lib.htmx import template_for
from leger.providers.selectors import configured_provider_ids
from leger.tailnet.selectors import tailnet_settings_get

PAGE_SIZE = 24

# What a card does not show: the description and llama-swap's settings (two of them JSON) stay in the database.
CARD_DEFERRED = (
    "description",
    "max_output",
    "embedding_dimension",
    "use_cases",
    # A card shows the memory a local model needs, against this machine's.
    *(field for field in LLM.LOCAL_RUNTIME_FIELDS if field != "ram_required_gb"),
)


def model_list(request: HttpRequest) -> HttpResponse:
    filterset = LLMFilterSet(request.GET, queryset=llm_list().defer(*CARD_DEFERRED))
    # A filter that names nothing shows why, rather than a silently unfiltered list.
    llms = filterset.qs if filterset.is_valid() else LLM.objects.none()
    page = Paginator(llms, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page_obj": page,
        "hints": _hints(filterset) if filterset.is_valid() and not page.paginator.count else [],
        "configured_provider_ids": configured_provider_ids(user=request.user),
        "machine": _machine_budget(request),
    }
    template = template_for(request, "catalog/model_list.html", "results")
    if "#" not in template:  # the line above the results, which a fragment leaves out
        context["registry_sync"] = registry_sync_latest()
    response = render(request, template, context)
    # The same URL answers a fragment to htmx and a whole page otherwise; caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _machine_budget(request: HttpRequest) -> dict[str, Any] | None:
    """The memory one local model must fit in on the user's machine (/settings), when they gave it."""
    if not request.user.is_authenticated:
        return None
    settings = tailnet_settings_get(owner=request.user)
    if settings is None:
        return None
    gb, name = hardware.memory_budget(
        key=settings.accelerator, memory_gb=settings.memory_gb, gpu_memory_gb=settings.gpu_memory_gb
    )
    return {"gb": gb, "name": name} if gb else None


def _hints(filterset: LLMFilterSet) -> list[str]:
    """What to loosen when no model matches, one line per filter in use."""
    data = filterset.form.cleaned_data
    hints = []
    if data.get("search"):
        hints.append(f"Search for a shorter or different word than “{data['search'].strip()}”.")
    if len(data.get("capability") or []) > 1:
        hints.append("Tick fewer capabilities: a model must have every capability you tick.")
    elif data.get("capability"):
        hints.append(f"Untick “{data['capability'][0]}”.")
    if data.get("maker"):
        hints.append(f"Choose any maker instead of {data['maker']}.")
    if data.get("provider"):
        hints.append(f"Choose any provider instead of {data['provider']}.")
    if data.get("kind"):
        hints.append("Show cloud and local models.")
    if data.get("min_context"):
        hints.append("Choose a smaller minimum context.")
    if data.get("max_memory"):
        hints.append(f"Allow more than {data['max_memory']} GB of memory.")
    return hints


def model_detail(request: HttpRequest, id: str) -> HttpResponse:
    try:
        llm = llm_get(id=id)
    except LLM.DoesNotExist:
        raise Http404("There is no model with this id in the catalog.") from None
    context = {"llm": llm, "configured_provider_ids": configured_provider_ids(user=request.user)}
    return render(request, "catalog/model_detail.html", context)
