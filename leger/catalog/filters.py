"""The one definition of how the catalog is filtered.

The /models/ page and GET /api/v1/models/ both run this FilterSet, so a filter
means the same thing (and refuses the same bad values) everywhere.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from leger.catalog.models import LLM, Capability, Maker, Offering, Provider
from leger.catalog.templatetags.catalog_format import tokens

# The minimum-context choices the page offers; the API takes any whole number.
CONTEXT_CHOICES = [
    (8_000, "8K or more"),
    (32_000, "32K or more"),
    (128_000, "128K or more"),
    (200_000, "200K or more"),
    (1_000_000, "1M or more"),
]

# Missing figures (an unpriced model, an unknown context) sort last in both directions.
ORDERINGS: dict[str, tuple[str, list[Any]]] = {
    "name": ("Name", [F("name").asc()]),
    "-context": ("Largest context first", [F("context_window").desc(nulls_last=True)]),
    "context": ("Smallest context first", [F("context_window").asc(nulls_last=True)]),
    "price": ("Cheapest input first", [F("input_price").asc(nulls_last=True)]),
    "-price": ("Dearest input first", [F("input_price").desc(nulls_last=True)]),
}


DEFAULT_ORDERING = "name"


class IntegerFilter(django_filters.NumberFilter):
    # Tokens are whole numbers: "8.5" is a mistake worth naming, which NumberFilter's DecimalField would accept.
    field_class = forms.IntegerField


class LLMFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        help_text="Part of a model's name or id, its maker or a LiteLLM model string.",
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "e.g. haiku or anthropic/", "autocomplete": "off"}),
    )
    capability = django_filters.ModelMultipleChoiceFilter(
        field_name="capabilities",
        queryset=Capability.objects.all(),
        conjoined=True,
        # Each capability is its own join that matches at most one row per model: no duplicates to remove.
        distinct=False,
        label="Capabilities",
        help_text="A model must have every one you tick.",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "There is no capability “%(value)s”. Use a capability id such as chat or vision.",
            "invalid_pk_value": "“%(pk)s” is not a capability id. Use one such as chat or vision.",
        },
    )
    maker = django_filters.ModelChoiceFilter(
        queryset=Maker.objects.all(),
        label="Maker",
        empty_label="Any maker",
        error_messages={
            "invalid_choice": "There is no maker “%(value)s”. Use a maker id such as anthropic.",
        },
    )
    provider = django_filters.ModelChoiceFilter(
        field_name="offerings__provider",
        # Keys for add-on services (kind "service") serve no model; listing them would only mislead.
        queryset=Provider.objects.exclude(kind=Provider.Kind.SERVICE),
        label="Provider",
        help_text="Models this provider serves.",
        empty_label="Any provider",
        # One offering per model and provider, so this join cannot repeat a model.
        distinct=False,
        error_messages={
            "invalid_choice": "There is no provider “%(value)s”. Use a provider id such as openrouter.",
        },
    )
    kind = django_filters.ChoiceFilter(
        choices=LLM.Kind.choices,
        label="Runs",
        empty_label="Cloud and local",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Use kind=cloud or kind=local, not “%(value)s”."},
    )
    min_context = IntegerFilter(
        field_name="context_window",
        lookup_expr="gte",
        label="Minimum context",
        help_text="How many tokens a model takes in at once.",
        min_value=0,
        max_value=2**31 - 1,
        widget=forms.Select(choices=[("", "Any context"), *CONTEXT_CHOICES]),
        error_messages={"invalid": "Give the minimum context as a whole number of tokens, e.g. 128000."},
    )
    max_memory = IntegerFilter(
        method="filter_max_memory",
        label="Fits in (GB)",
        help_text="Local models that run in this much memory (a GPU's, on a GPU machine); cloud models need none.",
        min_value=1,
        max_value=4096,
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 24", "inputmode": "numeric"}),
        error_messages={
            "invalid": "Give the memory as a whole number of GB, e.g. 24.",
            "min_value": "Give at least 1 GB.",
            "max_value": "Give at most 4096 GB.",
        },
    )
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering",
        choices=[(key, label) for key, (label, _) in ORDERINGS.items()],
        label="Sort by",
        empty_label=None,
        # The page's script leaves the default out of the URL it pushes (see catalog.js).
        widget=forms.Select(attrs={"data-default": DEFAULT_ORDERING}),
        error_messages={
            "invalid_choice": "Sort by one of: " + ", ".join(ORDERINGS) + " (not “%(value)s”).",
        },
    )

    class Meta:
        model = LLM
        fields: list[str] = []

    def filter_max_memory(self, queryset: QuerySet[LLM], name: str, value: int | None) -> QuerySet[LLM]:
        if value is None:
            return queryset
        # A local model whose need is unknown is left out: nothing says it fits.
        return queryset.filter(Q(kind=LLM.Kind.CLOUD) | Q(kind=LLM.Kind.LOCAL, ram_required_gb__lte=value))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A shared URL may carry any minimum (the API takes any number): offer it, so the select shows what applies.
        raw = (self.data or {}).get("min_context", "")
        if isinstance(raw, str) and raw.isdigit() and int(raw) not in dict(CONTEXT_CHOICES):
            widget = self.form.fields["min_context"].widget
            widget.choices = sorted(
                [*CONTEXT_CHOICES, (int(raw), f"{tokens(int(raw))} or more")], key=lambda choice: choice[0]
            )
            widget.choices.insert(0, ("", "Any context"))

    def filter_search(self, queryset: QuerySet[LLM], name: str, value: str) -> QuerySet[LLM]:
        value = value.strip()
        if not value:
            return queryset
        # Exists keeps one row per model, where a join on offerings would repeat it once per provider.
        served_as = Offering.objects.filter(llm=OuterRef("pk"), litellm_model__icontains=value)
        return queryset.filter(
            Q(name__icontains=value) | Q(id__icontains=value) | Q(maker__name__icontains=value) | Exists(served_as)
        )

    def filter_ordering(self, queryset: QuerySet[LLM], name: str, value: str) -> QuerySet[LLM]:
        _, order_by = ORDERINGS.get(value or DEFAULT_ORDERING, ORDERINGS[DEFAULT_ORDERING])
        # Name and id break ties, so pages never overlap or skip a model.
        return queryset.order_by(*order_by, "name", "id")
