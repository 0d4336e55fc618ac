"""Reads of the releases section. Every read of releases is scoped to one owner."""

from __future__ import annotations

import difflib
import gzip
import io
import tarfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leger.lib.storage import get_store, sha256_hex
from leger.providers.models import SecretKind
from leger.providers.selectors import SecretEntry
from leger.releases import services
from leger.releases.models import InfrastructureService, OpenWebUIVariable, Promotion, Release, ReleaseFile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.catalog.models import LLM, Offering, Provider
    from leger.marketplace.models import Selection, Slot
    from leger.providers.models import Credential
    from leger.releases.snapshot import Route, Snapshot


# --- releases -----------------------------------------------------------------------------------------------------


def release_list(*, owner: AbstractBaseUser) -> QuerySet[Release]:
    """The owner's releases, newest first: drafts and cut ones. One query, however many there are."""
    return Release.objects.filter(owner=owner).order_by("-created_at", "-id")


def release_get(*, owner: AbstractBaseUser, id: int) -> Release:
    """One of the owner's releases; 404 for anyone else's, as if it did not exist."""
    return get_object_or_404(release_list(owner=owner), pk=id)


def latest_draft(*, owner: AbstractBaseUser) -> Release | None:
    """The owner's newest draft (its inputs, not its snapshot: a draft has none), or None."""
    return release_list(owner=owner).filter(status=Release.Status.DRAFT).defer("snapshot").first()


def latest_cut(*, owner: AbstractBaseUser) -> Release | None:
    """The owner's newest cut release, whatever its status (publishing, published, failed), or None.

    Only its row: the snapshot and inputs, which can be large, are not loaded.
    """
    cut = release_list(owner=owner).exclude(status=Release.Status.DRAFT).order_by("-version", "-id")
    return cut.defer("snapshot", "inputs").first()


def release_files(*, release: Release) -> QuerySet[ReleaseFile]:
    """The files of a published release (manifest.json included), by path; none before it is published."""
    return ReleaseFile.objects.filter(release=release).order_by("path")


def release_file(*, release: Release, path: str) -> ReleaseFile:
    return get_object_or_404(release_files(release=release), path=path)


def latest_release(*, owner: AbstractBaseUser) -> Release | None:
    """The release ``latest`` points at: the newest promotion's."""
    promotion = Promotion.objects.filter(owner=owner).select_related("release").order_by("-promoted_at", "-id").first()
    return promotion.release if promotion else None


def promotion_list(*, owner: AbstractBaseUser) -> QuerySet[Promotion]:
    """Every move of ``latest``, newest first, with who did it."""
    return (
        Promotion.objects.filter(owner=owner).select_related("release", "promoted_by").order_by("-promoted_at", "-id")
    )


def release_manifest_url(*, release: Release) -> str:
    """Where the CLI (or a person) fetches the manifest; presigned for a private bucket, so made when asked."""
    if release.status != Release.Status.PUBLISHED or not release.manifest_key:
        return ""
    if settings.LEGER_RELEASES_PUBLIC_URL:
        return f"{settings.LEGER_RELEASES_PUBLIC_URL}/{release.manifest_key}"
    return get_store().url(release.manifest_key)


# --- diff and archive ---------------------------------------------------------------------------------------------


@dataclass
class FileDiff:
    path: str
    diff: str  # unified diff, from ``against`` to ``release``


@dataclass
class Diff:
    release: Release
    against: Release
    changed: list[FileDiff] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.changed or self.added or self.removed)


def _label(release: Release) -> str:
    return f"v{release.version}" if release.version else f"draft {release.pk}"


def _published_files(release: Release, *, content: bool = True) -> dict[str, ReleaseFile]:
    if release.status != Release.Status.PUBLISHED:
        raise ValidationError(
            f"Release {release} has no files yet (it is {release.get_status_display().lower()}); "
            "compare published releases."
        )
    files = release_files(release=release)
    return {f.path: f for f in (files if content else files.defer("content"))}


# Unified diffs already made, by (old sha256, new sha256, from label, to label): a file's text is fixed by its
# checksum, so the same pair always gives the same diff. The release page diffs against the previous release on
# every view; difflib on the larger files was most of its time. Bounded, per process.
_DIFF_CACHE: OrderedDict[tuple[str, str, str, str], str] = OrderedDict()
_DIFF_CACHE_SIZE = 512
_DIFF_CACHE_LOCK = threading.Lock()


def _unified_diff(old: str, new: str, fromfile: str, tofile: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=fromfile, tofile=tofile
    )
    return "".join(_ending(line) for line in lines)


def release_diff(*, release: Release, against: Release) -> Diff:
    """What changed from ``against`` to ``release``: a unified diff per changed file, added and removed paths."""
    if against.owner_id != release.owner_id:
        raise ValidationError("A release can only be compared with another release of the same owner.")
    # Checksums first: the texts are only read for changed files whose diff is not already known.
    new, old = _published_files(release, content=False), _published_files(against, content=False)
    diff = Diff(release=release, against=against)
    diff.added = sorted(set(new) - set(old))
    diff.removed = sorted(set(old) - set(new))
    keys: dict[str, tuple[str, str, str, str]] = {}
    for path in sorted(set(new) & set(old)):
        if new[path].sha256 == old[path].sha256:
            diff.unchanged.append(path)
        else:
            keys[path] = (old[path].sha256, new[path].sha256, f"{_label(against)}/{path}", f"{_label(release)}/{path}")
    with _DIFF_CACHE_LOCK:
        known = {path: _DIFF_CACHE[key] for path, key in keys.items() if key in _DIFF_CACHE}
    missing = [path for path in keys if path not in known]
    if missing:
        ids = [old[path].pk for path in missing] + [new[path].pk for path in missing]
        texts = dict(ReleaseFile.objects.filter(pk__in=ids).values_list("pk", "content"))
        for path in missing:
            known[path] = _unified_diff(texts[old[path].pk], texts[new[path].pk], *keys[path][2:])
    with _DIFF_CACHE_LOCK:
        for path, key in keys.items():
            _DIFF_CACHE[key] = known[path]
            _DIFF_CACHE.move_to_end(key)
        while len(_DIFF_CACHE) > _DIFF_CACHE_SIZE:
            _DIFF_CACHE.popitem(last=False)
    diff.changed = [FileDiff(path=path, diff=known[path]) for path in keys]
    return diff


def _ending(line: str) -> str:
    # A last line without a newline would run into the next diff line.
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def archive_name(release: Release) -> str:
    from django.utils.text import slugify

    return f"{slugify(release.name) or 'release'}-v{release.version}"


def release_archive(*, release: Release) -> bytes:
    """The published release as a .tar.gz under one folder; the same release always gives the same bytes."""
    files = _published_files(release)
    folder = archive_name(release)
    mtime = int((release.cut_at or timezone.now()).timestamp())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path].content.encode("utf-8")
            info = tarfile.TarInfo(f"{folder}/{path}")
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    # No file name and a fixed time in the gzip header: the bytes depend on the files alone.
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0) as handle:
        handle.write(raw.getvalue())
    return packed.getvalue()


# --- what the wizard offers ---------------------------------------------------------------------------------------


@dataclass
class ProviderOption:
    provider: Provider
    litellm_model: str
    is_default: bool
    credentials: list[Credential]


@dataclass
class ModelChoice:
    llm: LLM
    providers: list[ProviderOption]  # cloud: the providers the owner has keys for; local: none

    @property
    def needs_provider_choice(self) -> bool:
        return len(self.providers) > 1 and not any(option.is_default for option in self.providers)


@dataclass
class SlotChoice:
    slot: Slot | None  # None: services outside any slot (integrations)
    name: str
    selections: list[Selection]


@dataclass
class VariableGroup:
    value: str
    label: str
    variables: list[OpenWebUIVariable]


@dataclass
class RouteChoice:
    service: InfrastructureService
    default: Route


@dataclass
class Choices:
    cloud_models: list[ModelChoice]
    local_models: list[ModelChoice]
    slots: list[SlotChoice]
    openwebui: list[VariableGroup]
    routes: list[RouteChoice]
    exposure: str


def release_choices(*, owner: AbstractBaseUser, release: Release | None = None) -> Choices:
    """What each wizard step offers the owner.

    Models: cloud models a provider the owner has a key for serves (with those providers and keys), and
    local models. Services: the owner's active selections by slot. Open WebUI: every setting by group.
    Routes: the exposable containers, with their default routes; with ``release``, only the containers
    that release runs.
    """
    from leger.catalog.models import LLM, Offering
    from leger.marketplace.selectors import selection_list_active
    from leger.releases.snapshot import default_route, service_spec_from_row

    world = services.World(owner)
    keys_by_provider: dict[str, list[Credential]] = {}
    for credential in world.credentials:
        keys_by_provider.setdefault(credential.provider_id, []).append(credential)

    offerings = Prefetch("offerings", queryset=Offering.objects.select_related("provider"))
    llms = LLM.objects.filter(enabled=True, retired_at__isnull=True).prefetch_related(offerings).order_by("name", "id")
    cloud: list[ModelChoice] = []
    local: list[ModelChoice] = []
    for llm in llms:
        if llm.is_local:
            local.append(ModelChoice(llm=llm, providers=[]))
            continue
        options = [
            ProviderOption(
                provider=offering.provider,
                litellm_model=offering.litellm_model,
                is_default=offering.is_default,
                credentials=keys_by_provider[offering.provider_id],
            )
            for offering in _sorted_offerings(llm.offerings.all())
            if offering.provider_id in keys_by_provider and offering.is_offered
        ]
        if options:
            cloud.append(ModelChoice(llm=llm, providers=options))

    slots: dict[str | None, SlotChoice] = {}
    for selection in selection_list_active(owner=owner):
        slot = selection.service.slot
        key = slot.pk if slot else None
        if key not in slots:
            slots[key] = SlotChoice(slot=slot, name=slot.name if slot else "Other services", selections=[])
        slots[key].selections.append(selection)
    ordered_slots = sorted(slots.values(), key=lambda s: (s.slot is None, s.slot.position if s.slot else 0, s.name))

    groups = {value: VariableGroup(value, str(label), []) for value, label in OpenWebUIVariable.Group.choices}
    for variable in world.openwebui_variables.values():
        groups[variable.group].variables.append(variable)
    for group in groups.values():
        group.variables.sort(key=lambda v: (v.order, v.name))

    if release is not None:
        _, _, chosen = services.clean_services(services.inputs_of(release)["services"], world)
        containers = services.release_containers(world, chosen)
    else:
        active_addons = {s.service_id for slot in slots.values() for s in slot.selections}
        containers = [
            row
            for row in world.infrastructure
            if row.role == InfrastructureService.Role.CORE or row.addon in active_addons
        ]
    routes = [
        RouteChoice(service=row, default=default_route(service_spec_from_row(row), exposed=row.exposed_by_default))
        for row in containers
        if row.exposable
    ]
    return Choices(
        cloud_models=cloud,
        local_models=local,
        slots=ordered_slots,
        openwebui=[group for group in groups.values() if group.variables],
        routes=routes,
        exposure=services.exposure_mode(world),
    )


def _sorted_offerings(offerings: Any) -> list[Offering]:
    return sorted(offerings, key=lambda o: (not o.is_default, o.provider.name.lower(), o.provider_id))


# --- the summary page ---------------------------------------------------------------------------------------------


@dataclass
class PreviewFile:
    path: str
    size: int
    sha256: str


@dataclass
class Preview:
    """What cutting this release would produce, or (for a cut one) what it did."""

    snapshot: Snapshot | None
    files: list[PreviewFile] = field(default_factory=list)
    secrets: list[dict[str, Any]] = field(default_factory=list)  # the manifest's: name, type, target, required
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return self.snapshot is not None and not self.problems


def release_preview(*, release: Release) -> Preview:
    """The snapshot the cut would freeze (with the next version and the current time as placeholders), the
    files it would produce, the secrets the machine needs, and every problem in the way.
    """
    world = services.World(release.owner)
    if release.is_draft:
        owner = services.owner_for(user=release.owner)
        snapshot, problems = services.build_snapshot(
            release, version=owner.last_version + 1, cut_at=timezone.now(), world=world
        )
    else:
        snapshot, problems = release.snapshot, []
    preview = Preview(snapshot=snapshot, problems=problems)
    if snapshot is None:
        return preview
    rendered, problems = services.render_snapshot(snapshot)
    preview.problems += problems
    if rendered is None:
        return preview
    preview.manifest = rendered.manifest
    preview.secrets = list(rendered.manifest["secrets"])
    preview.files = [
        PreviewFile(path=path, size=len(text.encode("utf-8")), sha256=sha256_hex(text.encode("utf-8")))
        for path, text in sorted({**rendered.files, "manifest.json": rendered.manifest_text}.items())
    ]
    return preview


# --- the secrets a machine needs, as a person reads them --------------------------------------------------------------


@dataclass
class SecretRow:
    """One secret of a release's manifest, with who it belongs to by name (never its value)."""

    name: str
    targets: list[str]
    source: str  # "credential" (a key on /providers), "internal" (Leger generates it) or "selection" (marketplace)
    description: str
    providers: list[tuple[str, str]] = field(default_factory=list)  # (id, name) of the providers the key is for
    addons: list[str] = field(default_factory=list)  # names of the add-on services that read it


def secret_rows(*, snapshot: Snapshot | dict[str, Any] | None, secrets: list[dict[str, Any]]) -> list[SecretRow]:
    """The manifest's secrets with each key's provider named as the catalog names it ("OpenAI", not ``openai``).

    The manifest itself says "Key for provider openai" and never changes once published; the page reads the
    snapshot to tell which provider or add-on a key is for. One query, for the provider names.
    """
    from leger.catalog.models import Provider

    snapshot = snapshot or {}
    provider_ids: dict[str, list[str]] = {}
    addon_names: dict[str, list[str]] = {}
    for model in snapshot.get("models") or []:
        credential = model.get("credential") if isinstance(model, dict) else None
        if isinstance(credential, dict) and model.get("provider"):
            ids = provider_ids.setdefault(credential.get("secret", ""), [])
            if model["provider"] not in ids:
                ids.append(model["provider"])
    for addon in snapshot.get("addons") or []:
        if not isinstance(addon, dict):
            continue
        uses = [addon.get("credential"), *(addon.get("secrets") or [])]
        for use in uses:
            if isinstance(use, dict) and use.get("secret"):
                names = addon_names.setdefault(use["secret"], [])
                if addon.get("name") and addon["name"] not in names:
                    names.append(addon["name"])
    wanted = {pk for ids in provider_ids.values() for pk in ids}
    names = dict(Provider.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    rows = []
    for secret in secrets:
        name = str(secret.get("name", ""))
        targets = [str(target) for target in secret.get("targets") or [secret.get("target", "")] if target]
        rows.append(
            SecretRow(
                name=name,
                targets=targets,
                source=str(secret.get("source", "")),
                description=str(secret.get("description", "")),
                providers=[(pk, names.get(pk, pk)) for pk in sorted(provider_ids.get(name, []))],
                addons=addon_names.get(name, []),
            )
        )
    return rows


# --- who uses a credential (for the delete confirmation on /providers) ---------------------------------------------


def draft_credential_usages(credential: Credential) -> list[str]:
    """The owner's drafts that would use this key: a cloud model through its provider, or a selection with it."""
    from leger.catalog.models import Offering

    drafts = list(Release.objects.filter(owner_id=credential.owner_id, status=Release.Status.DRAFT))
    if not drafts:
        return []
    model_ids = {
        entry.get("model")
        for draft in drafts
        for entry in services.inputs_of(draft)["models"]
        if isinstance(entry, dict) and not entry.get("provider")
    }
    served = set(
        Offering.objects.filter(llm_id__in=model_ids, provider_id=credential.provider_id).values_list(
            "llm_id", flat=True
        )
    )
    selection_ids = set(credential.marketplace_selections.values_list("pk", flat=True))
    usages = []
    for draft in drafts:
        inputs = services.inputs_of(draft)
        uses = any(
            isinstance(entry, dict)
            and (
                entry.get("credential") == credential.pk
                or entry.get("provider") == credential.provider_id
                or (not entry.get("provider") and entry.get("model") in served)
            )
            for entry in inputs["models"]
        ) or any(pk in selection_ids for pk in inputs["services"] if isinstance(pk, int))
        if uses:
            usages.append(f"draft release “{draft.name}”")
    return usages


# --- config files the CLI receives as Podman secrets (registered with leger.providers.usage) ----------------------


def release_file_secrets(owner: AbstractBaseUser) -> list[SecretEntry]:
    """One entry per config file secret any published release of the owner mounts; one query, no file text."""
    rows = (
        ReleaseFile.objects.filter(release__owner=owner, release__status=Release.Status.PUBLISHED)
        .exclude(secret_name="")
        .order_by("secret_name", "release__published_at")
        .values_list("secret_name", "path", "release__published_at")
    )
    entries: dict[str, SecretEntry] = {}
    for name, path, published_at in rows:
        entries.setdefault(name, SecretEntry(name, SecretKind.FILE, "", "", path, published_at, published_at))
    return list(entries.values())


def release_file_secret_value(owner: AbstractBaseUser, name: str) -> str | None:
    """The text of the config file a published release of the owner delivers as the secret ``name``."""
    row = (
        ReleaseFile.objects.filter(release__owner=owner, release__status=Release.Status.PUBLISHED, secret_name=name)
        .only("content")
        .first()
    )
    return row.content if row is not None else None


@dataclass(frozen=True)
class PublishedVersions:
    owner_uuid: str
    versions: list[int]  # every published version, oldest first
    latest: int | None  # the one latest/ holds


def published_versions(*, owner: AbstractBaseUser) -> PublishedVersions:
    """What the owner's folder in the bucket holds, for the CLI's version list; three small queries."""
    owner_row = services.owner_for(user=owner)
    numbers = Release.objects.filter(owner=owner, status=Release.Status.PUBLISHED).order_by("version")
    current = Promotion.objects.filter(owner=owner).select_related("release").first()
    return PublishedVersions(
        owner_uuid=str(owner_row.uuid),
        versions=[n for n in numbers.values_list("version", flat=True) if n is not None],
        latest=current.release.version if current is not None else None,
    )
