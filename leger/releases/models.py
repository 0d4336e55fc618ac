"""Release data loaded from the fixtures: the services every release runs, and Open WebUI's end-user variables.

Both are reference data (kinds ``releases.infrastructure`` and ``releases.openwebui_variables``, see
``leger/releases/fixtures.py``); operators edit them in the admin. A release never reads these tables after it
is cut: the cut copies what it uses into the snapshot (``leger/releases/snapshot.py``).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

service_id_validator = RegexValidator(
    r"^[a-z][a-z0-9-]*$",
    "Use lowercase letters, digits and dashes, starting with a letter: it becomes a unit and container name.",
)
env_name_validator = RegexValidator(r"^[A-Z][A-Z0-9_]*$", "Use an upper-case environment variable name.")


class InfrastructureService(models.Model):
    """One container a release can run, with the defaults the wizard starts from.

    ``core`` services are in every release; ``addon`` services run only when the user selected the
    marketplace service named in ``addon`` (a self-hosted add-on such as SearXNG).
    """

    class Role(models.TextChoices):
        CORE = "core", "Always present"
        ADDON = "addon", "Self-hosted add-on"

    id = models.CharField(primary_key=True, max_length=63, validators=[service_id_validator])
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=10, choices=Role.choices)
    addon = models.CharField(
        max_length=100, blank=True, help_text="The marketplace service whose selection brings this container in."
    )
    description = models.TextField(blank=True)
    image = models.CharField(max_length=300, help_text="Fully qualified image with a pinned tag or digest.")
    port = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(65535)], help_text="The port the container listens on."
    )
    exposable = models.BooleanField(default=False, help_text="Whether Caddy can route to it from the tailnet.")
    exposed_by_default = models.BooleanField(default=False)
    published_port = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text="Default HTTPS port on the machine's name when exposure is by port.",
    )
    bind_address = models.GenericIPAddressField(
        protocol="IPv4", null=True, blank=True, help_text="Host address the published port binds to."
    )
    websocket = models.BooleanField(default=False)
    subdomain = models.CharField(max_length=63, blank=True, help_text="Default subdomain in custom-domain mode.")
    path = models.CharField(max_length=100, blank=True, help_text="Default path prefix in path mode.")
    upstream_tls = models.BooleanField(
        default=False, help_text="The container itself speaks HTTPS (with its own certificate)."
    )
    volumes = models.JSONField(default=list, blank=True, help_text='[{"name": "...", "mount": "/path"}]')
    health = models.JSONField(
        null=True, blank=True, help_text='{"cmd": "...", "interval": "30s", "timeout": "5s", "retries": 3, ...}'
    )
    secrets = models.JSONField(default=list, blank=True, help_text='[{"name": "...", "env_var": "...", ...}]')
    environment = models.JSONField(default=dict, blank=True)
    exec_args = models.JSONField(default=list, blank=True, help_text="Arguments after the image (Exec=).")
    requires = models.JSONField(default=list, blank=True, help_text="Services that must run first.")
    config_files = models.JSONField(default=list, blank=True, help_text='[{"path": "...", "mount": "/path"}]')
    openwebui_env = models.JSONField(
        default=dict, blank=True, help_text="What Open WebUI needs to reach this add-on (variable: value)."
    )
    openwebui_secrets = models.JSONField(
        default=list, blank=True, help_text="Secrets Open WebUI needs to reach this add-on."
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role="core", addon="") | (Q(role="addon") & ~Q(addon="")),
                name="releases_addon_service_names_its_marketplace_service",
            ),
            models.CheckConstraint(
                condition=Q(exposable=False) | Q(published_port__isnull=False),
                name="releases_exposable_service_has_published_port",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpenWebUIVariable(models.Model):
    """An Open WebUI setting the user chooses in the wizard's third step."""

    class Group(models.TextChoices):
        GENERAL = "general", "General"
        FEATURES = "features", "Features"
        RAG = "rag", "Documents (RAG)"
        WEB_SEARCH = "web_search", "Web search"
        AUDIO = "audio", "Audio"
        IMAGES = "images", "Images"
        CODE_EXECUTION = "code_execution", "Code execution"
        TASK_MODELS = "task_models", "Task models"

    class Type(models.TextChoices):
        STRING = "string", "Text"
        INT = "int", "Whole number"
        FLOAT = "float", "Number"
        BOOL = "bool", "Yes / no"
        ENUM = "enum", "Choice"
        URL = "url", "URL"

    name = models.CharField(primary_key=True, max_length=100, validators=[env_name_validator])
    label = models.CharField(max_length=200)
    group = models.CharField(max_length=20, choices=Group.choices)
    type = models.CharField(max_length=10, choices=Type.choices)
    default = models.JSONField(null=True, blank=True)
    options = models.JSONField(default=list, blank=True)
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    pattern = models.CharField(max_length=200, blank=True)
    help_text = models.TextField()
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["group", "order", "name"]
        verbose_name = "Open WebUI variable"
        constraints = [
            models.CheckConstraint(
                condition=~Q(type="enum") | ~Q(options=[]), name="releases_enum_variable_has_options"
            ),
        ]

    def __str__(self) -> str:
        return self.name
