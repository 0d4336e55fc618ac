"""The model catalog: makers, providers, LLMs and the offerings that join them.

Catalog rows are keyed by their stable catalog id (e.g. ``claude-3-haiku``),
the same id the fixtures, the API and releases use.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

catalog_id_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]*$",
    "Use lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit.",
)


def catalog_id_field() -> models.CharField:
    return models.CharField(primary_key=True, max_length=100, validators=[catalog_id_validator])


class Capability(models.Model):
    id = catalog_id_field()
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "capabilities"

    def __str__(self) -> str:
        return self.name


class Maker(models.Model):
    id = catalog_id_field()
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Provider(models.Model):
    class Kind(models.TextChoices):
        API = "api", "API"
        LOCAL = "local", "Local"
        # A key for an add-on service (Tavily, ElevenLabs, ...): declared by the marketplace fixtures.
        SERVICE = "service", "Service"

    id = catalog_id_field()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.API)
    env_var = models.CharField(
        max_length=100,
        blank=True,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use an upper-case environment variable name.")],
        help_text="The environment variable LiteLLM reads this provider's key from.",
    )
    key_prefix = models.CharField(
        max_length=40, blank=True, help_text="The documented prefix of this provider's keys, when it has one."
    )
    key_param = models.CharField(
        max_length=60,
        default="api_key",
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Use a LiteLLM parameter name, e.g. api_key.")],
        help_text="The LiteLLM parameter the key fills (api_key; aws_secret_access_key; vertex_credentials).",
    )
    key_format = models.CharField(
        max_length=30,
        default="token",
        choices=[("token", "A token on one line"), ("service-account-json", "A Google service-account JSON file")],
    )
    key_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="What a key of this provider needs besides the key itself (an endpoint, a region, ...), each "
        "with the LiteLLM parameter it fills; see fixtures/schema/providers.schema.json.",
    )
    website = models.URLField(blank=True)
    key_url = models.URLField(blank=True, help_text="Where a user creates a key.")
    description = models.TextField(blank=True)
    litellm_provider = models.CharField(
        max_length=60,
        blank=True,
        validators=[RegexValidator(r"^[a-z0-9_]+$", "Use LiteLLM's provider name, e.g. bedrock or vertex_ai.")],
        help_text=(
            "LiteLLM's name for this provider, the prefix of its model strings (e.g. bedrock). The registry sync "
            "adds the chat and embedding models LiteLLM lists under it; empty: it adds none."
        ),
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind="local") | ~Q(env_var=""), name="catalog_api_provider_has_env_var"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_key(self) -> bool:
        return self.kind != self.Kind.LOCAL


class Source(models.TextChoices):
    """Where a catalog row comes from: Leger's curated fixtures, or LiteLLM's model registry (the sync)."""

    FIXTURES = "fixtures", "Leger's fixtures"
    REGISTRY = "registry", "LiteLLM's registry"


class LLM(models.Model):
    class Kind(models.TextChoices):
        CLOUD = "cloud", "Cloud"
        LOCAL = "local", "Local"

    class Tier(models.TextChoices):
        FREE = "free", "Free"
        BUDGET = "budget", "Budget"
        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"

    id = catalog_id_field()
    name = models.CharField(max_length=200)
    maker = models.ForeignKey(Maker, on_delete=models.PROTECT, related_name="llms")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.TextField(blank=True)
    capabilities = models.ManyToManyField(Capability, related_name="llms", blank=True)
    providers = models.ManyToManyField(Provider, through="Offering", related_name="llms")
    context_window = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens.")
    max_output = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens.")
    input_price = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="USD per million input tokens."
    )
    output_price = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="USD per million output tokens."
    )
    price_tier = models.CharField(max_length=10, choices=Tier.choices, blank=True)
    embedding_dimension = models.PositiveIntegerField(null=True, blank=True)
    use_cases = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)

    # What llama-swap needs to run a local model.
    family = models.CharField(max_length=100, blank=True)
    hf_repo = models.CharField(max_length=200, blank=True, help_text="Hugging Face repository of the GGUF file.")
    hf_file = models.CharField(max_length=200, blank=True, help_text="GGUF file name in that repository.")
    quantization = models.CharField(max_length=40, blank=True)
    ctx_size = models.PositiveIntegerField(null=True, blank=True, help_text="Context size llama-server starts with.")
    ttl = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds idle before llama-swap unloads it.")
    ram_required_gb = models.PositiveIntegerField(null=True, blank=True)
    flash_attn = models.BooleanField(default=False)
    aliases = models.JSONField(default=list, blank=True)

    # Kept current by the registry sync (registry_sync.py); load_catalog leaves the facts of a synced model alone.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FIXTURES)
    registry_key = models.CharField(
        max_length=300,
        blank=True,
        help_text="The LiteLLM registry entry this model's context, prices and capabilities come from.",
    )
    deprecation_date = models.DateField(null=True, blank=True, help_text="When its provider stops serving it.")
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set by the registry sync when LiteLLM no longer lists any of its offerings, or lists them "
        "as deprecated past their date. A retired model is refused in new releases.",
    )
    successor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The model to use instead once this one is retired (Leger's choice; wins over the registry's).",
    )
    registry_successor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The successor LiteLLM's registry names, when it is in the catalog.",
    )

    # The fields above that llama-swap reads: the admin groups them, the API nests them, the model list skips them.
    LOCAL_RUNTIME_FIELDS = (
        "family",
        "hf_repo",
        "hf_file",
        "quantization",
        "ctx_size",
        "ttl",
        "ram_required_gb",
        "flash_attn",
        "aliases",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "LLM"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="cloud") | (~Q(hf_repo="") & ~Q(hf_file="") & Q(ctx_size__isnull=False)),
                name="catalog_local_llm_has_runtime",
            ),
        ]
        indexes = [models.Index(fields=["kind"]), models.Index(fields=["context_window"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:model_detail", args=[self.pk])

    @property
    def is_local(self) -> bool:
        return self.kind == self.Kind.LOCAL

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def replacement(self) -> LLM | None:
        """The model to use instead of this one: Leger's chosen successor, else the registry's."""
        return self.successor or self.registry_successor


class Offering(models.Model):
    """A provider serving an LLM, under the model string LiteLLM routes by."""

    llm = models.ForeignKey(LLM, on_delete=models.CASCADE, related_name="offerings")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="offerings")
    litellm_model = models.CharField(
        max_length=300,
        blank=True,
        help_text="LiteLLM's model string, e.g. anthropic/claude-3-haiku. Empty for local models.",
    )
    is_default = models.BooleanField(default=False)
    enabled = models.BooleanField(
        default=True, help_text="Off keeps the offering listed but out of new releases (Leger's choice)."
    )

    # What LiteLLM's registry says about this model string at this provider (registry_sync.py keeps it current).
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FIXTURES)
    registry_key = models.CharField(max_length=300, blank=True, help_text="The registry entry it matched.")
    context_window = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens.")
    max_output = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens.")
    input_price = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="USD per million input tokens."
    )
    output_price = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="USD per million output tokens."
    )
    deprecation_date = models.DateField(null=True, blank=True)
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when LiteLLM's registry no longer lists this model string, or its deprecation date passed.",
    )

    class Meta:
        ordering = ["-is_default", "provider__name"]
        constraints = [
            models.UniqueConstraint(fields=["llm", "provider"], name="catalog_one_offering_per_provider"),
            models.UniqueConstraint(
                fields=["llm"], condition=Q(is_default=True), name="catalog_one_default_offering_per_llm"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.llm_id} via {self.provider_id}"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_offered(self) -> bool:
        """Whether a new release may use it: enabled by Leger and not retired by the registry."""
        return self.enabled and self.retired_at is None


class RegistrySync(models.Model):
    """One run of the registry sync that wrote the catalog: when, from which registry, and what it changed."""

    finished_at = models.DateTimeField()
    location = models.CharField(max_length=500, help_text="The registry file or URL read.")
    litellm_version = models.CharField(max_length=40, blank=True, help_text="Empty when read from a URL or file.")
    sha256 = models.CharField(max_length=64)
    entries = models.PositiveIntegerField(help_text="Model entries in the registry.")
    counts = models.JSONField(default=dict, help_text="What it added, changed, retired and restored.")
    report = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at", "-id"]
        get_latest_by = ["finished_at", "id"]
        verbose_name = "registry sync"

    def __str__(self) -> str:
        return f"{self.source_label} at {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def source_label(self) -> str:
        return f"LiteLLM {self.litellm_version}" if self.litellm_version else self.location
