"""The sync with LiteLLM's model registry: on the pinned litellm package's registry, on a small registry of our own,
and on broken ones, which change nothing."""

from __future__ import annotations

import importlib.metadata
import json
import math
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leger.catalog import registry
from leger.catalog.loading import load_fixtures
from leger.catalog.models import LLM, Offering, RegistrySync, Source
from leger.catalog.registry import RegistryError, RegistrySource
from leger.catalog.registry_sync import catalog_sync, registry_read
from leger.catalog.selectors import llm_refusal, registry_sync_latest, retired_offerings, unoffered_offerings
from leger.catalog.tasks import sync_model_registry
from tests.catalog.factories import make_capability, make_llm, make_maker, make_provider
from tests.catalog_copy import load_catalog_copy

ROOT = Path(__file__).resolve().parents[2]
# The day the pinned registry was checked against the fixtures: its deprecation dates are read as of then, so the
# tests do not change their answer as the calendar moves on.
PINNED_ON = date(2026, 12, 3)
TODAY = date(2026, 12, 3)


def pinned_version() -> str:
    text = (ROOT / "requirements.txt").read_text()
    match = re.search(r"^litellm==(\S+)", text, re.MULTILINE)
    assert match, "requirements.txt pins litellm"
    return match.group(1)


@pytest.fixture(scope="module")
def pinned() -> RegistrySource:
    source = registry.read_packaged()
    assert source.litellm_version == pinned_version(), "install the pinned litellm: pip install -r requirements.txt"
    return source


def catalog_dump() -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.db_table: list(model._default_manager.order_by("pk").values())
        for model in apps.get_app_config("catalog").get_models(include_auto_created=True)
    }


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"])]


# --- the pinned package's registry ------------------------------------------------------------------------------


def test_the_installed_litellm_is_the_pinned_one_and_its_registry_is_read_without_importing_it(
    pinned: RegistrySource,
) -> None:
    assert importlib.metadata.version("litellm") == pinned_version()
    assert pinned.location.endswith("litellm/model_prices_and_context_window_backup.json")
    script = (
        "import sys; from leger.catalog import registry; source = registry.read_packaged(); "
        "registry.parse_registry(source.data); assert 'litellm' not in sys.modules, 'litellm was imported'"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=60)


def test_every_enabled_offering_names_a_model_the_pinned_registry_lists(pinned: RegistrySource) -> None:
    reg = registry.parse_registry(pinned.data)
    unlisted = []
    for path in sorted((ROOT / "fixtures/catalog/models").glob("*.json")):
        for item in json.loads(path.read_text())["items"]:
            if item["kind"] != "cloud" or not item.get("enabled", True):
                continue
            for offering in item["offerings"]:
                if offering.get("enabled", True) and reg.lookup(offering["litellm_model"]) is None:
                    unlisted.append(
                        f"{path.name}: {item['id']} via {offering['provider']}: {offering['litellm_model']}"
                    )
    assert unlisted == [], "disable these offerings (or their model) or fix the model string"


def test_releases_run_the_litellm_image_of_the_pinned_package() -> None:
    """The image releases run, the package the catalog is checked against and the proxy the release tests run
    are one LiteLLM version (since 1.84.0 its images are tagged vX.Y.Z), and the image uses its own registry."""
    core = json.loads((ROOT / "fixtures/infrastructure/core.json").read_text())
    litellm = next(item for item in core["items"] if item["id"] == "litellm")
    tag = litellm["image"].rpartition(":")[2]
    match = re.fullmatch(r"v?(\d+\.\d+\.\d+)", tag)
    assert match and match.group(1) == pinned_version(), f"{litellm['image']} is not LiteLLM {pinned_version()}"
    proxy = (ROOT / "scripts/litellm-proxy-requirements.txt").read_text()
    assert f"\nlitellm=={pinned_version()}\n" in proxy
    # The registry the proxy prices and limits models with is the packaged one, not a download of today's.
    assert litellm["environment"]["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


def test_syncing_the_pinned_registry_updates_adds_and_retires(db: None, pinned: RegistrySource) -> None:
    load_catalog_copy()
    reg = registry.parse_registry(pinned.data)

    report = catalog_sync(source=pinned, today=PINNED_ON)

    counts = report.counts
    assert counts["added_models"] > 100 and counts["added_offerings"] > counts["added_models"]
    assert counts["changed_offerings"] > 50 and counts["retired_models"] > 10
    # An offering it lists takes the entry's facts, prices per million tokens.
    haiku = Offering.objects.get(llm="claude-haiku-4.5", provider="anthropic")
    entry = reg.lookup(haiku.litellm_model)
    assert entry is not None and haiku.registry_key == entry.key
    assert (haiku.context_window, haiku.max_output) == (entry.max_input_tokens, entry.max_output_tokens)
    assert haiku.input_price == entry.input_cost_per_token * 1_000_000
    assert haiku.output_price == entry.output_cost_per_token * 1_000_000
    llm = LLM.objects.get(pk="claude-haiku-4.5")
    assert (llm.context_window, llm.input_price, llm.registry_key) == (
        entry.max_input_tokens,
        haiku.input_price,
        entry.key,
    )
    assert {"vision", "tool-calling", "reasoning"} <= set(llm.capabilities.values_list("pk", flat=True))
    assert llm.name == "Claude Haiku 4.5" and llm.source == Source.FIXTURES  # the curated name stays
    # A model none of whose offerings is listed (or listed live) is retired, with its successor.
    old = LLM.objects.get(pk="claude-3-haiku")
    assert old.is_retired and old.replacement is not None and old.replacement.pk == "claude-haiku-4.5"
    assert LLM.objects.get(pk="grok-4").is_retired
    sonnet_4 = LLM.objects.get(pk="claude-sonnet-4")  # Bedrock's is deprecated: the registry names its successor
    assert sonnet_4.is_retired and sonnet_4.registry_successor_id == "claude-sonnet-5"
    # New chat models of known providers, one catalog model across its providers, the maker's own the default.
    opus = LLM.objects.get(pk="claude-opus-4-8")
    assert (opus.maker_id, opus.source, opus.enabled, opus.is_retired) == ("anthropic", "registry", True, False)
    offerings = {o.provider_id: o for o in opus.offerings.all()}
    assert {"anthropic", "aws-bedrock"} <= set(offerings)
    assert offerings["anthropic"].is_default and offerings["anthropic"].litellm_model == "anthropic/claude-opus-4-8"
    assert sum(o.is_default for o in offerings.values()) == 1
    assert LLM.objects.filter(source="registry", capabilities="embeddings").exists()
    # The run is recorded, for /models and the admin.
    sync = registry_sync_latest()
    assert sync is not None and sync.litellm_version == pinned_version() and sync.counts == counts
    assert sync.entries == len(reg) and sync.sha256 == pinned.sha256


def test_a_second_run_and_a_reload_of_the_fixtures_change_nothing(db: None, pinned: RegistrySource) -> None:
    load_catalog_copy()
    catalog_sync(source=pinned, today=PINNED_ON)
    before = catalog_dump()

    with CaptureQueriesContext(connection) as queries:
        again = catalog_sync(source=pinned, today=PINNED_ON)
    loaded = load_fixtures()

    assert not again.changed_anything and "Nothing changed" in "\n".join(again.lines())
    assert [sql for sql in writes(queries) if "catalog_registrysync" not in sql] == []
    # The fixtures own names and descriptions, the registry the facts it synced: neither undoes the other.
    assert not loaded.wrote_anything
    after = catalog_dump()
    after.pop("catalog_registrysync")
    before.pop("catalog_registrysync")
    assert after == before
    assert RegistrySync.objects.count() == 2


def test_models_shows_retired_models_their_successor_and_when_the_catalog_was_synced(
    db: None, pinned: RegistrySource, client: Client
) -> None:
    load_catalog_copy()
    catalog_sync(source=pinned, today=PINNED_ON)
    user = User.objects.create_user("carol", password="carol-password-1")
    client.force_login(user)

    page = client.get("/models/", {"search": "claude 3 haiku"}).content.decode()
    detail = client.get("/models/claude-3-haiku/").content.decode()

    assert f"LiteLLM {pinned_version()}" in page and "synced" in page
    assert 'class="badge retired">Retired' in page
    assert re.search(r'Use <a href="/models/claude-haiku-4.5/">Claude Haiku 4.5</a> instead', page)
    assert "retired" in detail and "Claude Haiku 4.5" in detail


# --- a small registry of our own -------------------------------------------------------------------------------


def entry(provider: str, mode: str = "chat", **fields: Any) -> dict[str, Any]:
    return {"litellm_provider": provider, "mode": mode, **fields}


def small_registry() -> dict[str, Any]:
    return {
        "sample_spec": {"max_input_tokens": "max input tokens, if the provider specifies it"},
        # changed: a model the catalog has, at two providers
        "claude-x-1-20260101": entry(
            "anthropic",
            max_input_tokens=200_000,
            max_output_tokens=64_000,
            input_cost_per_token=3e-06,
            output_cost_per_token=1.5e-05,
            supports_vision=True,
            supports_function_calling=True,
        ),
        "anthropic.claude-x-1-20260101-v1:0": entry(
            "bedrock_converse", max_input_tokens=200_000, input_cost_per_token=3.3e-06, output_cost_per_token=1.65e-05
        ),
        # deprecated, past its date, with a successor in the catalog
        "claude-old-20240101": entry(
            "anthropic",
            max_input_tokens=100_000,
            input_cost_per_token=1e-06,
            deprecation_date="2026-01-01",
            successor_model="claude-x-1-20260101",
        ),
        # deprecated later: shown, not retired
        "gpt-later": entry("openai", max_input_tokens=128_000, deprecation_date="2027-06-01"),
        # added: a new model at two providers (a regional and a dated copy of it are not new models)
        "claude-y-2": entry(
            "anthropic",
            max_input_tokens=1_000_000,
            max_output_tokens=128_000,
            input_cost_per_token=5e-06,
            output_cost_per_token=2.5e-05,
            supports_reasoning=True,
        ),
        "claude-y-2-20260601": entry("anthropic", max_input_tokens=1_000_000),
        "anthropic.claude-y-2-v1:0": entry("bedrock_converse", max_input_tokens=1_000_000),
        "us.anthropic.claude-y-2-v1:0": entry("bedrock_converse", max_input_tokens=1_000_000),
        "text-embedding-3-huge": entry("openai", "embedding", max_input_tokens=8191, output_vector_size=1024),
        # not added: not a chat or embedding model, a maker Leger does not know, a fine-tune, a provider it lacks
        "gpt-image-z": entry("openai", "image_generation"),
        "mystery-model": entry("openai", max_input_tokens=1000),
        "ft:gpt-4o:acme:custom:1": entry("openai", max_input_tokens=1000),
        "together_ai/meta-llama/llama-9": entry("together_ai", max_input_tokens=1000),
    }


def write_registry(tmp_path: Path, document: Any, name: str = "registry.json") -> RegistrySource:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return registry.read_file(path)


@pytest.fixture
def small_catalog(db: None) -> None:
    for capability in ("chat", "vision", "tool-calling", "reasoning", "embeddings", "long-context", "code"):
        make_capability(capability)
    make_maker("anthropic", name="Anthropic")
    make_maker("openai", name="OpenAI")
    make_provider("anthropic", name="Anthropic", litellm_provider="anthropic")
    make_provider("aws-bedrock", name="AWS Bedrock", litellm_provider="bedrock")
    make_provider("openai", name="OpenAI", litellm_provider="openai")
    make_llm(
        "claude-x-1",
        name="Claude X1, as Leger calls it",
        description="Leger's own words.",
        maker="anthropic",
        capabilities=["chat", "code", "reasoning"],
        providers={
            "anthropic": "anthropic/claude-x-1-20260101",
            "aws-bedrock": "bedrock/anthropic.claude-x-1-20260101-v1:0",
        },
        context_window=100_000,
    )
    make_llm(
        "claude-old", maker="anthropic", capabilities=["chat"], providers={"anthropic": "anthropic/claude-old-20240101"}
    )
    make_llm("gpt-gone", maker="openai", capabilities=["chat"], providers={"openai": "openai/gpt-gone"})
    make_llm("gpt-later", maker="openai", capabilities=["chat"], providers={"openai": "openai/gpt-later"})


def sync(source: RegistrySource, **kwargs: Any) -> Any:
    return catalog_sync(source=source, min_entries=1, today=TODAY, **kwargs)


def test_a_listed_model_takes_the_registrys_facts_and_keeps_leger_s_words(small_catalog: None, tmp_path: Path) -> None:
    report = sync(write_registry(tmp_path, small_registry()))

    llm = LLM.objects.get(pk="claude-x-1")
    assert (llm.name, llm.description, llm.maker_id) == (
        "Claude X1, as Leger calls it",
        "Leger's own words.",
        "anthropic",
    )
    assert (llm.context_window, llm.max_output) == (200_000, 64_000)
    assert (llm.input_price, llm.output_price) == (Decimal("3.0000"), Decimal("15.0000"))
    assert llm.registry_key == "claude-x-1-20260101"
    # vision and tool calling the entry says; reasoning it does not (so no); code is Leger's word, kept.
    assert set(llm.capabilities.values_list("pk", flat=True)) == {"chat", "code", "vision", "tool-calling"}
    bedrock = Offering.objects.get(llm=llm, provider="aws-bedrock")
    assert (bedrock.input_price, bedrock.output_price, bedrock.context_window) == (
        Decimal("3.3000"),
        Decimal("16.5000"),
        200_000,
    )
    assert "claude-x-1" in report.changed_models


def test_a_deprecated_model_is_retired_with_its_successor_and_a_later_date_is_only_shown(
    small_catalog: None, tmp_path: Path
) -> None:
    report = sync(write_registry(tmp_path, small_registry()))

    old = LLM.objects.get(pk="claude-old")
    assert old.is_retired and old.registry_successor_id == "claude-x-1"
    assert old.deprecation_date == date(2026, 1, 1)
    assert Offering.objects.get(llm=old).is_retired
    assert llm_refusal(llm=old) == (
        "Claude Old is retired: LiteLLM's model registry no longer lists it; "
        "choose Claude X1, as Leger calls it (claude-x-1) instead."
    )
    gone = LLM.objects.get(pk="gpt-gone")  # no longer listed at all
    assert gone.is_retired and gone.replacement is None
    later = LLM.objects.get(pk="gpt-later")
    assert not later.is_retired and later.deprecation_date == date(2027, 6, 1)
    assert llm_refusal(llm=later) is None
    assert {llm.pk for llm in report.retired_models} == {"claude-old", "gpt-gone"}
    assert set(retired_offerings().values_list("llm_id", flat=True)) == {"claude-old", "gpt-gone"}
    assert set(unoffered_offerings().values_list("llm_id", flat=True)) == {"claude-old", "gpt-gone"}


def test_new_chat_and_embedding_models_are_added_once_across_providers(small_catalog: None, tmp_path: Path) -> None:
    report = sync(write_registry(tmp_path, small_registry()))

    assert sorted(llm.pk for llm in report.added_models) == ["claude-y-2", "text-embedding-3-huge"]
    added = LLM.objects.get(pk="claude-y-2")
    assert (added.name, added.maker_id, added.kind, added.source) == ("Claude Y 2", "anthropic", "cloud", "registry")
    assert (added.context_window, added.max_output, added.input_price) == (1_000_000, 128_000, Decimal("5.0000"))
    assert set(added.capabilities.values_list("pk", flat=True)) == {"chat", "reasoning", "long-context"}
    assert sorted(added.offerings.values_list("provider_id", "litellm_model", "is_default")) == [
        ("anthropic", "anthropic/claude-y-2", True),
        ("aws-bedrock", "bedrock/anthropic.claude-y-2-v1:0", False),
    ]
    embedding = LLM.objects.get(pk="text-embedding-3-huge")
    assert embedding.embedding_dimension == 1024
    assert list(embedding.capabilities.values_list("pk", flat=True)) == ["embeddings"]
    assert not LLM.objects.filter(pk__in=["gpt-image-z", "mystery-model", "llama-9"]).exists()
    assert "Added: 2 models, 3 offerings" in "\n".join(report.lines())


def test_a_model_listed_again_comes_back_and_a_rerun_changes_nothing(small_catalog: None, tmp_path: Path) -> None:
    document = small_registry()
    sync(write_registry(tmp_path, document))
    assert LLM.objects.get(pk="gpt-gone").is_retired

    document["gpt-gone"] = entry("openai", max_input_tokens=64_000)
    back = sync(write_registry(tmp_path, document, "second.json"))
    again = sync(write_registry(tmp_path, document, "third.json"))

    gone = LLM.objects.get(pk="gpt-gone")
    assert not gone.is_retired and gone.context_window == 64_000
    assert back.restored_models == ["gpt-gone"] and len(back.restored_offerings) == 1
    assert not again.changed_anything


def test_a_dry_run_reports_what_would_change_and_writes_nothing(small_catalog: None, tmp_path: Path) -> None:
    before = catalog_dump()

    report = sync(write_registry(tmp_path, small_registry()), dry_run=True)

    assert report.counts["added_models"] == 2 and report.counts["retired_models"] == 2
    assert "Dry run: nothing was written." in report.lines()
    assert catalog_dump() == before


def test_the_command_prints_the_report(small_catalog: None, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(small_registry()))
    out = StringIO()

    call_command("sync_model_registry", "--file", str(path), "--min-entries", "1", stdout=out)

    text = out.getvalue()
    assert "Added: 2 models, 3 offerings (0 to models already in the catalog)" in text
    assert "Retired: 2 models, 2 offerings" in text
    assert "claude-old → claude-x-1" in text
    assert RegistrySync.objects.get().location == str(path)


def test_the_url_setting_is_read_when_no_source_is_given(settings: Any, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(small_registry()))
    settings.LEGER_MODEL_REGISTRY_URL = path.as_uri()

    source = registry_read()

    assert source.location == path.as_uri() and source.data == path.read_bytes()


# --- broken registries ----------------------------------------------------------------------------------------


def with_entry(**fields: Any) -> str:
    document = small_registry()
    document["claude-x-1-20260101"].update(fields)
    return json.dumps(document)


BROKEN = {
    "bad-json": ('{"claude": {', "invalid JSON at line 1"),
    "not-an-object": ("[1, 2]", "must be a JSON object"),
    "entry-not-an-object": (json.dumps({**small_registry(), "x": [1]}), "entry 'x': must be an object"),
    "wrong-type": (with_entry(max_input_tokens="lots"), "max_input_tokens must be a whole number"),
    "boolean-tokens": (with_entry(max_output_tokens=True), "max_output_tokens must be a whole number"),
    "nan-price": (with_entry(input_cost_per_token=math.nan), "invalid JSON: NaN"),
    "infinite-price": (with_entry(output_cost_per_token=math.inf), "invalid JSON: Infinity"),
    "negative-price": (with_entry(input_cost_per_token=-1e-06), "input_cost_per_token must be a number"),
    "price-of-a-dollar-a-token": (with_entry(output_cost_per_token=2), "output_cost_per_token must be a number"),
    "bad-flag": (with_entry(supports_vision="yes"), "supports_vision must be true or false"),
    "bad-date": (with_entry(deprecation_date="soon"), "deprecation_date must be a date"),
    "bad-provider": (with_entry(litellm_provider=7), "litellm_provider must be a string"),
}


@pytest.mark.parametrize(("text", "reason"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_registry_changes_nothing_and_says_why(
    small_catalog: None, tmp_path: Path, text: str, reason: str
) -> None:
    sync(write_registry(tmp_path, small_registry(), "good.json"))  # a catalog already synced once
    before = catalog_dump()

    with pytest.raises(RegistryError) as raised:
        sync(write_registry(tmp_path, text))

    assert reason in str(raised.value)
    assert catalog_dump() == before


def test_a_registry_much_smaller_than_a_whole_one_is_refused(small_catalog: None, tmp_path: Path) -> None:
    before = catalog_dump()

    with pytest.raises(RegistryError, match="holds 13 model entries, fewer than the 1000"):
        catalog_sync(source=write_registry(tmp_path, small_registry()))

    assert catalog_dump() == before


def test_the_command_refuses_a_broken_registry_naming_the_problem(small_catalog: None, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(with_entry(input_cost_per_token=math.nan))
    err = StringIO()

    with pytest.raises(CommandError, match="the catalog is unchanged"):
        call_command("sync_model_registry", "--file", str(path), "--min-entries", "1", stderr=err)

    assert "NaN" in err.getvalue()
    assert not RegistrySync.objects.exists()


def test_a_missing_file_or_unreachable_url_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot be read"):
        registry.read_file(tmp_path / "nowhere.json")
    with pytest.raises(RegistryError, match="not an http"):
        registry.fetch_url("ftp://example.org/registry.json")
    with pytest.raises(RegistryError, match="cannot be fetched"):
        registry.fetch_url((tmp_path / "nowhere.json").as_uri())


# --- the fixtures and the sync share the catalog ----------------------------------------------------------------


def test_loading_the_fixtures_keeps_the_models_the_sync_added(db: None, tmp_path: Path) -> None:
    load_fixtures()
    document = {
        "claude-z-9": entry("anthropic", max_input_tokens=300_000, input_cost_per_token=1e-06),
        # an offering the catalog has: the sync adds Bedrock's to it
        "anthropic.claude-sonnet-4-5-20250929-v1:0": entry("bedrock_converse", max_input_tokens=200_000),
    }
    sync(write_registry(tmp_path, document))
    assert LLM.objects.get(pk="claude-z-9").source == "registry"

    report = load_fixtures()

    assert LLM.objects.filter(pk="claude-z-9").exists()
    assert report.counts["catalog.models"]["catalog.LLM"].removed == 0
    assert report.counts["catalog.models"]["catalog.Offering"].removed == 0


# --- the admin and the periodic task -------------------------------------------------------------------------


@pytest.fixture
def admin_client(db: None) -> Client:
    admin = User.objects.create_superuser("root", "root@example.org", "root-password-1")
    client = Client()
    client.force_login(admin)
    return client


def test_an_admin_runs_the_sync_from_the_admin_and_sees_the_record(
    admin_client: Client, small_catalog: None, settings: Any
) -> None:
    assert "Sync now" in admin_client.get("/admin/catalog/registrysync/").content.decode()
    assert admin_client.get("/admin/catalog/registrysync/run/").status_code == 403  # a POST only

    response = admin_client.post("/admin/catalog/registrysync/run/", follow=True)

    text = response.content.decode()
    assert response.status_code == 200 and f"LiteLLM {pinned_version()}" in text and "Added:" in text
    sync = RegistrySync.objects.get()
    assert admin_client.get(f"/admin/catalog/registrysync/{sync.pk}/change/").status_code == 200
    assert admin_client.get("/admin/catalog/llm/?retired=yes").status_code == 200


def test_a_staff_member_without_the_right_to_change_models_cannot_run_it(db: None) -> None:
    staff = User.objects.create_user("staff", password="staff-password-1", is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.post("/admin/catalog/registrysync/run/").status_code == 403
    assert not RegistrySync.objects.exists()


def test_the_task_syncs_and_a_refused_registry_is_not_retried(
    small_catalog: None, settings: Any, tmp_path: Path
) -> None:
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(small_registry()))  # a whole registry has a thousand entries: this is refused
    settings.LEGER_MODEL_REGISTRY_URL = path.as_uri()

    assert sync_model_registry.apply().get() == {"refused": 1}
    assert not RegistrySync.objects.exists()

    settings.LEGER_MODEL_REGISTRY_URL = ""
    counts = sync_model_registry.apply().get()
    assert counts["added_models"] > 10 and RegistrySync.objects.count() == 1


def test_the_periodic_sync_is_off_unless_hours_are_set() -> None:
    def schedule(hours: str) -> str:
        script = (
            f"import os; os.environ['LEGER_MODEL_REGISTRY_SYNC_HOURS'] = '{hours}'; "
            "os.environ['DJANGO_SETTINGS_MODULE'] = 'leger.settings'; "
            "from django.conf import settings; print(repr(settings.CELERY_BEAT_SCHEDULE))"
        )
        return subprocess.run(
            [sys.executable, "-c", script], check=True, cwd=ROOT, timeout=60, capture_output=True, text=True
        ).stdout.strip()

    assert schedule("0") == "{}"
    assert schedule("6") == repr(
        {"sync-model-registry": {"task": "leger.catalog.sync_model_registry", "schedule": 21600}}
    )
