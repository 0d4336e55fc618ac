"""The overview at ``/``: where a signed-in user stands in setting Leger up, and the one thing to do next.

Five steps, in the order the sections build on each other: a provider key, the models a release serves, the
add-on services, the tailnet, and a published release. Each ticks itself from the user's own rows, read
through the sections' selectors (never a flag the user sets), so the page cannot claim progress that is not
there. It reads; it never writes (no ``Owner`` row is created by looking at the page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.urls import reverse

from leger.catalog.selectors import RetiredModel, retired_among
from leger.marketplace.selectors import active_service_names
from leger.providers.selectors import configured_provider_names
from leger.releases import selectors as release_selectors
from leger.releases.models import Release
from leger.releases.services import inputs_of
from leger.tailnet.selectors import tailnet_settings_get

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from leger.tailnet.models import TailnetSettings

DONE = "done"
TODO = "todo"
PUBLISHING = "publishing"
FAILED = "failed"
STATE_LABELS = {DONE: "Done", TODO: "To do", PUBLISHING: "Publishing…", FAILED: "Failed"}


@dataclass(frozen=True)
class Step:
    """One line of the checklist."""

    key: str
    title: str
    why: str  # one sentence: what the step is for
    rule: str  # when it ticks, in the user's words, so the tick is never a mystery
    status: str  # what the user's data says right now
    url: str
    action: str  # the link's words when this is the step to take next
    state: str = TODO  # DONE, TODO, or (the release step only) PUBLISHING or FAILED

    @property
    def done(self) -> bool:
        return self.state == DONE

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Overview:
    steps: list[Step]
    latest: Release | None  # the release ``latest`` points at: what a machine that follows it installs
    newest_cut: Release | None  # the newest cut release, which may still be publishing or have failed
    latest_retired: list[RetiredModel] = field(default_factory=list)  # models of ``latest`` providers retired
    draft: Release | None = None
    draft_retired: list[RetiredModel] = field(default_factory=list)  # models of the draft a cut would refuse

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.done)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == self.total

    @property
    def next_step(self) -> Step | None:
        """The first step not done, in order: each one makes the next easier (keys before models, ...)."""
        return next((step for step in self.steps if not step.done), None)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _key_step(provider_names: list[str]) -> Step:
    return Step(
        key="key",
        title="Add a provider key",
        why="Cloud models need an API key; Leger keeps it encrypted and a release only names it, so the key "
        "never sits in a file.",
        rule="Ticks when you hold at least one key.",
        status=f"Keys for {', '.join(provider_names)}."
        if provider_names
        else "No key yet: without one, a release can serve local models only.",
        url=reverse("providers:index") + "#add-key",
        action="Add a provider key",
        state=DONE if provider_names else TODO,
    )


def _model_count(draft: Release) -> int:
    return sum(1 for entry in inputs_of(draft)["models"] if isinstance(entry, dict) and entry.get("model"))


def _models_step(draft: Release | None, newest_cut: Release | None) -> Step:
    chosen = _model_count(draft) if draft is not None else 0
    if chosen:
        status = f"{_plural(chosen, 'model')} chosen in the draft “{draft.name}”."  # type: ignore[union-attr]
    elif newest_cut is not None:
        # A cut always has at least one model: the cut refuses a release without.
        status = f"Version {newest_cut.version} was cut with the models you chose."
    elif draft is not None:
        status = f"Your draft “{draft.name}” has no model yet."
    else:
        status = "No release started yet: its first step is choosing models."
    if draft is not None:
        url = reverse("releases:step", args=[draft.pk, "models"])
        action = f"Choose models for “{draft.name}”"
    else:
        url = reverse("releases:index") + "#new-release"
        action = "Start a release and choose its models"
    return Step(
        key="models",
        title="Choose your models",
        why="LiteLLM and llama-swap serve exactly the models a release names, cloud ones through your keys and "
        "local ones on your machine.",
        rule="Ticks when your newest draft has a model chosen, or once you have cut a release.",
        status=status,
        url=url,
        action=action,
        state=DONE if chosen or newest_cut is not None else TODO,
    )


def _services_step(service_names: list[str]) -> Step:
    return Step(
        key="services",
        title="Pick add-on services",
        why="Web search, a vector database, speech-to-text and the like run beside Open WebUI, one provider per slot.",
        rule="Ticks when at least one service is active in the marketplace.",
        status=f"Active: {', '.join(service_names)}." if service_names else "No add-on service active yet.",
        url=reverse("marketplace:index"),
        action="Browse add-on services",
        state=DONE if service_names else TODO,
    )


def _tailnet_step(tailnet: TailnetSettings | None) -> Step:
    if tailnet is not None:
        status = f"Your machine is {tailnet.machine_name}; {tailnet.get_exposure_display().lower()}."
    else:
        status = "Not saved yet: a release cannot be cut until they are."
    return Step(
        key="tailnet",
        title="Describe your tailnet",
        why="Caddy routes each service to your machine's name on Tailscale, so Leger needs that name and how "
        "services are exposed.",
        rule="Ticks once your tailnet settings are saved.",
        status=status,
        url=reverse("tailnet:settings"),
        action="Fill in your tailnet settings",
        state=DONE if tailnet is not None else TODO,
    )


def _release_step(latest: Release | None, newest_cut: Release | None, draft: Release | None) -> Step:
    state, url, action = TODO, reverse("releases:index") + "#new-release", "Start a release"
    if draft is not None:
        url, action = reverse("releases:detail", args=[draft.pk]), f"Finish and cut “{draft.name}”"
    published = latest is not None or (newest_cut is not None and newest_cut.status == Release.Status.PUBLISHED)
    if published:
        shown = latest or newest_cut
        assert shown is not None
        state, url, action = DONE, reverse("releases:detail", args=[shown.pk]), f"Open version {shown.version}"
        status = f"Version {shown.version} (“{shown.name}”) is published{' and latest' if latest else ''}."
        if newest_cut is not None and newest_cut.pk != shown.pk:
            if newest_cut.is_in_progress:
                status += f" Version {newest_cut.version} is publishing…"
            elif newest_cut.status == Release.Status.FAILED:
                status += f" Publishing version {newest_cut.version} failed; its page says why."
    elif newest_cut is not None and newest_cut.is_in_progress:
        state, url = PUBLISHING, reverse("releases:detail", args=[newest_cut.pk])
        action = f"Watch version {newest_cut.version} publish"
        status = f"Version {newest_cut.version} is publishing… ({newest_cut.get_status_display().lower()})."
    elif newest_cut is not None and newest_cut.status == Release.Status.FAILED:
        state, url = FAILED, reverse("releases:detail", args=[newest_cut.pk])
        action = f"See why version {newest_cut.version} failed"
        status = f"Publishing version {newest_cut.version} failed; its page says why and can retry it."
    elif draft is not None:
        status = f"Your draft “{draft.name}” is waiting: walk its four steps, then cut it."
    else:
        status = "No release yet."
    return Step(
        key="release",
        title="Publish your first release",
        why="A release is the set of files your machine installs with the leger CLI, versioned and never changed "
        "once published.",
        rule="Ticks once a release is published.",
        status=status,
        url=url,
        action=action,
        state=state,
    )


def setup_overview(user: AbstractBaseUser) -> Overview:
    """The checklist of ``user``, from their own rows only: nine small queries, whatever they hold."""
    draft = release_selectors.latest_draft(owner=user)
    newest_cut = release_selectors.latest_cut(owner=user)
    latest = release_selectors.latest_release(owner=user)
    steps = [
        _key_step(configured_provider_names(owner=user)),
        _models_step(draft, newest_cut),
        _services_step(active_service_names(owner=user)),
        _tailnet_step(tailnet_settings_get(owner=user)),
        _release_step(latest, newest_cut, draft),
    ]
    # A model its provider stopped serving breaks the machines that run it, and would stop the next cut.
    latest_models = [model["id"] for model in (latest.snapshot or {}).get("models", [])] if latest else []
    draft_entries = inputs_of(draft)["models"] if draft else []
    draft_models = [entry.get("model") for entry in draft_entries if isinstance(entry, dict)]
    return Overview(
        steps=steps,
        latest=latest,
        newest_cut=newest_cut,
        latest_retired=retired_among(latest_models),
        draft=draft,
        draft_retired=retired_among(draft_models),
    )
