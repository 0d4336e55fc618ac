"""The marketplace: add-on services for Open WebUI, and the user's selections of them.

Open WebUI takes exactly one provider for each of several *slots* (one vector
database, one embedding engine, one web-search engine, ...). A :class:`Slot`
names the Open WebUI variable(s) that choose the provider; a :class:`Service`
fills one slot with one value of that variable (``VECTOR_DB=qdrant``), or no
slot at all (integrations such as Google Drive). Slots, services and their
:class:`Variable` definitions are catalog data loaded from ``fixtures/marketplace``.

A :class:`Selection` is one user's configuration of one service. The rule the
whole section exists for: at most one *active* selection per slot per user,
checked in :meth:`Selection.clean` (with a message naming the slot and the
service already there) and by a conditional unique constraint, so that two
concurrent requests cannot both win.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leger.catalog.models import catalog_id_field

env_var_validator = RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use an upper-case environment variable name.")

ONE_ACTIVE_PER_SLOT = "marketplace_one_active_selection_per_slot"


class Category(models.TextChoices):
    VECTOR_DATABASE = "vector-database", "Vector databases"
    EMBEDDING = "embedding", "Embedding engines"
    CONTENT_EXTRACTION = "content-extraction", "Content extraction"
    WEB_SEARCH = "web-search", "Web search"
    WEB_LOADER = "web-loader", "Web loaders"
    IMAGE_GENERATION = "image-generation", "Image generation"
    SPEECH_TO_TEXT = "speech-to-text", "Speech to text"
    TEXT_TO_SPEECH = "text-to-speech", "Text to speech"
    CODE_EXECUTION = "code-execution", "Code execution"
    STORAGE = "storage", "File storage"
    INTEGRATIONS = "integrations", "Integrations"
    OBSERVABILITY = "observability", "Observability"


class Slot(models.Model):
    """A choice Open WebUI makes once: which provider fills this role."""

    id = catalog_id_field()
    name = models.CharField(max_length=100, help_text="Named in messages, e.g. “vector database”.")
    variables = models.JSONField(
        default=list,
        help_text="The Open WebUI variables that take the chosen service's slot value (usually one).",
    )
    fixed_values = models.JSONField(
        default=dict,
        blank=True,
        help_text="Variables set whenever a provider fills this slot, e.g. ENABLE_WEB_SEARCH=true.",
    )
    description = models.TextField(blank=True)
    shared_settings_label = models.CharField(
        max_length=100, blank=True, help_text="Heading of the settings every provider of this slot shares."
    )
    reindex_on_switch = models.BooleanField(
        default=False, help_text="Switching provider means Open WebUI's knowledge must be re-indexed."
    )
    switch_cost = models.TextField(blank=True, help_text="What switching provider costs, shown before a switch.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def variable(self) -> str:
        return self.variables[0] if self.variables else ""


class Service(models.Model):
    class Runtime(models.TextChoices):
        CONTAINER = "container", "Runs as a container in the release"
        EXTERNAL = "external", "External API"
        BUILTIN = "builtin", "Built into Open WebUI"

    id = catalog_id_field()
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=30, choices=Category.choices)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="services")
    slot_value = models.CharField(
        max_length=100, blank=True, help_text="The value the slot's variable takes (may be empty: Open WebUI's own)."
    )
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)
    runtime = models.CharField(max_length=10, choices=Runtime.choices)
    # What the release runs for a container service. The release's own record of it (image pin, volumes,
    # exposure defaults, how Open WebUI reaches it) is the releases.infrastructure entry naming this service;
    # the loader checks that the two agree.
    image = models.CharField(max_length=300, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True, help_text="The port the container listens on.")
    # The key, when the service needs one: from /providers, for this catalog provider.
    key_provider = models.ForeignKey(
        "catalog.Provider", on_delete=models.PROTECT, null=True, blank=True, related_name="marketplace_services"
    )
    key_variables = models.JSONField(
        default=list, blank=True, help_text="The Open WebUI variables the key fills (usually one)."
    )
    fixed_values = models.JSONField(
        default=dict, blank=True, help_text="Variables this service always sets, e.g. the URL of its container."
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["category", "position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(runtime="container") | Q(image=""), name="marketplace_only_containers_have_images"
            ),
            models.CheckConstraint(
                condition=~Q(runtime="container") | ~Q(image=""), name="marketplace_container_has_image"
            ),
        ]
        indexes = [models.Index(fields=["category"])]

    def __str__(self) -> str:
        return self.name

    @property
    def requires_api_key(self) -> bool:
        return self.key_provider_id is not None

    @property
    def self_hosted(self) -> bool:
        return self.runtime == self.Runtime.CONTAINER

    @property
    def slot_assignment(self) -> dict[str, str]:
        """``{VECTOR_DB: "qdrant"}``: what choosing this service writes for its slot."""
        if self.slot is None:
            return {}
        return {name: self.slot_value for name in self.slot.variables}


class Variable(models.Model):
    """One Open WebUI variable a user may set: of a service, or shared by every provider of a slot."""

    class Type(models.TextChoices):
        STRING = "string", "Text"
        INT = "int", "Whole number"
        FLOAT = "float", "Number"
        BOOL = "bool", "Yes or no"
        ENUM = "enum", "One of a list"
        URL = "url", "URL"
        SECRET = "secret", "Secret"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="variables")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, null=True, blank=True, related_name="shared_variables")
    name = models.CharField(max_length=100, validators=[env_var_validator])
    label = models.CharField(max_length=100, blank=True, help_text="What the page calls it, e.g. Timeout.")
    type = models.CharField(max_length=10, choices=Type.choices)
    default = models.JSONField(
        null=True, blank=True, help_text="Written when the user leaves it empty; empty: Open WebUI's own default."
    )
    options = models.JSONField(default=list, blank=True)
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    pattern = models.CharField(max_length=200, blank=True, help_text="A regular expression text values must match.")
    required = models.BooleanField(default=False)
    help_text = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(service__isnull=False) & Q(slot__isnull=True))
                | (Q(service__isnull=True) & Q(slot__isnull=False)),
                name="marketplace_variable_of_service_or_slot",
            ),
            models.UniqueConstraint(fields=["service", "name"], name="marketplace_variable_unique_per_service"),
            models.UniqueConstraint(fields=["slot", "name"], name="marketplace_variable_unique_per_slot"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_secret(self) -> bool:
        return self.type == self.Type.SECRET

    @property
    def display_label(self) -> str:
        """The label in words; the variable name where the fixtures give none."""
        return self.label or self.name


class Selection(models.Model):
    """A user's configuration of one marketplace service."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketplace_selections")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="selections")
    # A copy of service.slot, kept in sync by save(): the conditional unique constraint needs it on this row.
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+")
    values = models.JSONField(default=dict, blank=True, help_text="Values of the service's (and slot's) variables.")
    credential = models.ForeignKey(
        "providers.Credential",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="marketplace_selections",
        help_text="The key the service uses, when it needs one: one of the owner's keys for its key provider.",
    )
    secret_values = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Secret variables, each a Fernet token."
    )
    secret_masks = models.JSONField(default=dict, blank=True, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service__category", "service__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "slot"],
                condition=Q(active=True),
                name=ONE_ACTIVE_PER_SLOT,
                violation_error_message="You already have an active provider in this slot.",
            ),
            models.UniqueConstraint(
                fields=["owner", "service"],
                name="marketplace_one_selection_per_service",
                violation_error_message="You have already configured this service.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} ({'active' if self.active else 'inactive'})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.slot_id = self.service.slot_id if self.service_id else None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "service" in update_fields:
            kwargs["update_fields"] = {*update_fields, "slot"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from leger.marketplace import rules

        rules.check_selection(self)

    def secret_name(self, variable: str) -> str:
        """The placeholder name a release uses for one of this selection's secret variables (a Podman secret
        name the CLI fetches the value by); stable for a given service and variable."""
        return re.sub(r"[^a-z0-9]+", "_", f"mp_{self.service_id}_{variable}".lower()).strip("_")

    def validate_constraints(self, exclude: Any = None) -> None:
        # clean() checks both of this model's unique rules with messages that name the slot and the
        # service already there; the constraints' generic messages would only repeat them less helpfully.
        super().validate_constraints(exclude={*(exclude or ()), "owner"})
