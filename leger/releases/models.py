"""Release data loaded from the fixtures: the services every release runs, and Open WebUI's end-user variables.

Both are reference data (kinds ``releases.infrastructure`` and ``releases.openwebui_variables``, see
``leger/releases/fixtures.py``); operators edit them in the admin. A release never reads these tables after it
is cut: the cut copies what it uses into the snapshot (``leger/releases/snapshot.py``).

Below them, the releases themselves: ``Release`` (a draft, then a cut and published release), its files, the
per-user ``Owner`` that numbers versions, and ``Promotion`` (which release ``latest`` points at). Their rules
live in ``services.py``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

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
    accelerated = models.JSONField(
        default=dict,
        blank=True,
        help_text='GPU builds by backend, e.g. {"cuda": "…", "vulkan": "…"}; the machine\'s accelerator picks one.',
    )
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
    base_path = models.JSONField(
        null=True,
        blank=True,
        help_text='How it lives below a path: {"mode": "strip" | "keep" | "none", "env": …, "format": "…{path}…"}.',
    )
    preload = models.JSONField(
        null=True,
        blank=True,
        help_text='A model fetched on first start: {"variable": "AUDIO_STT_MODEL", "url": "http://127.0.0.1:8000/…/"}.',
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

    @property
    def is_addon_main(self) -> bool:
        """The container of an add-on that carries its name and that Open WebUI talks to; the add-on's other
        containers (its database, its cache) are companions its main one requires."""
        return self.role == self.Role.ADDON and self.id == self.addon

    def clean(self) -> None:
        # The same rules a release applies when it copies this row into a snapshot, so an admin edit that a
        # cut would refuse is refused here, next to the field.
        from leger.releases.snapshot import service_spec_from_row, service_spec_problems

        problems = service_spec_problems(service_spec_from_row(self))
        if problems:
            raise ValidationError(
                {("exec_args" if field == "exec" else field): messages for field, messages in problems.items()}
            )


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

    def clean(self) -> None:
        from leger.releases.fixtures import variable_problems

        data = {
            "id": self.name,
            "type": self.type,
            "default": self.default,
            "options": self.options,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "pattern": self.pattern,
        }
        errors: dict[str, list[str]] = {}
        for field, message in variable_problems(data):
            errors.setdefault("name" if field == "id" else field, []).append(message)
        if errors:
            raise ValidationError(errors)


# --- Releases ----------------------------------------------------------------------------------------------------


class Owner(models.Model):
    """Per-user release bookkeeping: the bucket folder (``uuid``) and the last version number handed out.

    Versions are allocated under ``select_for_update()`` on this row, so concurrent cuts of one owner's drafts
    get 1, 2, 3 with no gap and no duplicate.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="release_owner")
    uuid = models.UUIDField(
        unique=True, default=uuid.uuid4, editable=False, help_text="Names the owner's folder in the bucket."
    )
    last_version = models.PositiveIntegerField(default=0, help_text="The version the newest cut received.")

    class Meta:
        verbose_name = "release owner"

    def __str__(self) -> str:
        return f"{self.user} ({self.uuid})"


class Release(models.Model):
    """A draft being configured in the wizard, or a cut release on its way to (or in) the bucket.

    ``inputs`` holds the wizard's answers, in the shape the API takes::

        {"models": [{"model": id, "provider": id | null}], "services": [selection ids],
         "openwebui": {VARIABLE: value}, "routes": {service id: {"exposed", "port", "path", "subdomain"}}}

    Cutting freezes everything the release uses into ``snapshot`` and gives it the owner's next ``version``;
    from then on nothing reads ``inputs`` or live tables again.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        UPLOADING = "uploading", "Uploading"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="releases")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(null=True, blank=True, help_text="The owner's N; given when cut.")
    inputs = models.JSONField(default=dict, blank=True, help_text="The wizard's answers (drafts only change).")
    step = models.PositiveSmallIntegerField(
        default=0, help_text="How many wizard steps, in order, passed validation (0 to 4)."
    )
    snapshot = models.JSONField(null=True, blank=True, help_text="Every input of rendering, frozen when cut.")
    error = models.TextField(blank=True, help_text="Why publishing failed, naming the file and line if it can.")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of publishing done.")
    publish_attempts = models.PositiveSmallIntegerField(
        default=0,
        help_text="Publish runs started and not finished: each one's worker stopped mid-way (0 once a run ends).",
    )
    manifest_key = models.CharField(max_length=300, blank=True, help_text="Object key of this release's manifest.")
    cloned_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="clones")
    cut_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    cut_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "version"], name="releases_one_version_per_owner"),
            # A draft has no version and no snapshot; everything cut has both.
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(version__isnull=True) & Q(snapshot__isnull=True))
                | (~Q(status="draft") & Q(version__isnull=False) & Q(snapshot__isnull=False)),
                name="releases_cut_releases_have_version_and_snapshot",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="releases_progress_is_a_percentage"),
            models.CheckConstraint(condition=Q(step__lte=4), name="releases_step_within_wizard"),
        ]
        indexes = [models.Index(fields=["owner", "-created_at"], name="releases_owner_created")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}" if self.version else f"{self.name} (draft)"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RENDERING, self.Status.UPLOADING)


class ReleaseFile(models.Model):
    """One file of a published release, as uploaded (``manifest.json`` included)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(help_text="Bytes.")
    content = models.TextField()
    secret_name = models.CharField(
        max_length=253,
        blank=True,
        db_index=True,
        help_text="The Podman secret the CLI mounts this config file as (from the manifest); empty for units.",
    )

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["release", "path"], name="releases_one_file_per_path")]

    def __str__(self) -> str:
        return self.path


class Promotion(models.Model):
    """``latest`` pointed at a release: when it was published, or when someone rolled back to it.

    The newest promotion of an owner is what ``{owner uuid}/latest/manifest.json`` holds.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="release_promotions")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="promotions")
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    promoted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-promoted_at", "-id"]
        indexes = [models.Index(fields=["owner", "-promoted_at"], name="releases_promotion_owner_at")]

    def __str__(self) -> str:
        return f"latest → {self.release}"
