"""The fixture loader and ``load_catalog``: all or nothing, idempotent, and errors that say where to look.

Bad fixtures are written into a tmp_path copy of the real fixture directory, so every case also proves that the
rest of the real catalog would have loaded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leger.catalog.fixtures import load_providers
from leger.catalog.loading import FixtureProblems, Item, LoadContext, load_fixtures
from leger.catalog.models import LLM, Maker, Offering, Provider

Mutation = Callable[[Path], None]


@pytest.fixture
def fixtures_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(settings.LEGER_FIXTURES_DIR, tmp_path / "fixtures"))


@pytest.fixture
def loaded(db: None, fixtures_dir: Path) -> Path:
    load_fixtures(fixtures_dir)
    return fixtures_dir


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2))


def edit_item(directory: Path, relative: str, item_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / relative
    document = read(path)
    (item,) = [item for item in document["items"] if item["id"] == item_id]
    change(item)
    write(path, document)


def drop_provider(directory: Path, provider_id: str) -> None:
    """Take a provider out of the fixtures, with the offerings that name it."""
    providers_file = directory / "catalog/providers.json"
    document = read(providers_file)
    document["items"] = [item for item in document["items"] if item["id"] != provider_id]
    write(providers_file, document)
    for path in (directory / "catalog/models").glob("*.json"):
        models = read(path)
        for item in models["items"]:
            item["offerings"] = [o for o in item["offerings"] if o["provider"] != provider_id]
        write(path, models)


def catalog_dump() -> dict[str, list[dict[str, Any]]]:
    """Every row of every catalog table, the many-to-many tables included."""
    return {
        model._meta.db_table: list(model._default_manager.order_by("pk").values())
        for model in apps.get_app_config("catalog").get_models(include_auto_created=True)
    }


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


# --- a good load ------------------------------------------------------------------------------------------------


def test_it_loads_every_catalog_kind_and_counts_what_it_created(db: None, fixtures_dir: Path) -> None:
    report = load_fixtures(fixtures_dir)

    assert report.totals("catalog.models").created == LLM.objects.count() + Offering.objects.count()
    assert report.counts["catalog.models"]["catalog.LLM"].created == 161
    assert report.counts["catalog.providers"]["catalog.Provider"].created == 24
    assert report.wrote_anything


def test_running_it_again_with_nothing_changed_writes_nothing(loaded: Path) -> None:
    before = catalog_dump()

    with CaptureQueriesContext(connection) as queries:
        report = load_fixtures(loaded)

    assert writes(queries) == []
    assert not report.wrote_anything
    assert report.counts["catalog.models"]["catalog.LLM"].unchanged == 161
    assert catalog_dump() == before


def test_a_changed_fact_is_updated_and_counted(loaded: Path) -> None:
    def change(item: dict[str, Any]) -> None:
        item["context_window"] = 180_000
        item["input_price"] = 0.3
        item["capabilities"] = ["chat"]

    edit_item(loaded, "catalog/models/anthropic.json", "claude-3-haiku", change)

    with CaptureQueriesContext(connection) as queries:
        report = load_fixtures(loaded)

    llm = LLM.objects.get(pk="claude-3-haiku")
    assert (llm.context_window, llm.input_price) == (180_000, Decimal("0.3"))
    assert list(llm.capabilities.values_list("pk", flat=True)) == ["chat"]
    counts = report.counts["catalog.models"]["catalog.LLM"]
    assert (counts.created, counts.updated, counts.unchanged, counts.removed) == (0, 1, 160, 0)
    assert report.totals("catalog.makers").writes == 0
    assert all("catalog_llm" in sql for sql in writes(queries))


def test_a_moved_default_offering_changes_place_without_breaking_the_one_default_rule(loaded: Path) -> None:
    def change(item: dict[str, Any]) -> None:
        for offering in item["offerings"]:
            offering["is_default"] = offering["provider"] == "vertex-ai"

    edit_item(loaded, "catalog/models/anthropic.json", "claude-haiku-4.5", change)

    load_fixtures(loaded)

    assert Offering.objects.get(llm="claude-haiku-4.5", is_default=True).provider_id == "vertex-ai"


def test_a_dropped_default_offering_gives_way_to_the_new_default(loaded: Path) -> None:
    def change(item: dict[str, Any]) -> None:
        item["offerings"] = [o for o in item["offerings"] if o["provider"] != "anthropic"]
        item["offerings"][0]["is_default"] = True

    edit_item(loaded, "catalog/models/anthropic.json", "claude-haiku-4.5", change)

    report = load_fixtures(loaded)

    offerings = Offering.objects.filter(llm="claude-haiku-4.5")
    assert sorted(offerings.values_list("provider_id", "is_default")) == [("aws-bedrock", True), ("vertex-ai", False)]
    assert report.counts["catalog.models"]["catalog.Offering"].removed == 1


def test_rows_that_left_the_fixtures_are_removed(loaded: Path) -> None:
    models_file = loaded / "catalog/models/anthropic.json"
    document = read(models_file)
    document["items"] = [item for item in document["items"] if item["id"] != "claude-3-haiku"]
    write(models_file, document)

    report = load_fixtures(loaded)

    assert not LLM.objects.filter(pk="claude-3-haiku").exists()
    assert not Offering.objects.filter(llm="claude-3-haiku").exists()
    assert report.counts["catalog.models"]["catalog.LLM"].removed == 1


def test_a_provider_that_left_the_fixtures_is_removed_after_the_offerings_that_used_it(loaded: Path) -> None:
    drop_provider(loaded, "parasail")

    report = load_fixtures(loaded)

    assert not Provider.objects.filter(pk="parasail").exists()
    assert report.counts["catalog.providers"]["catalog.Provider"].removed == 1
    assert report.counts["catalog.models"]["catalog.Offering"].removed == 3


def test_the_catalog_providers_never_remove_service_providers_the_marketplace_declares(
    db: None, fixtures_dir: Path
) -> None:
    # Only the catalog's own kind, so whatever the marketplace fixtures say about service keys does not matter.
    Provider.objects.create(id="tavily-test", name="Tavily", kind="service", env_var="TAVILY_API_KEY")
    providers_file = fixtures_dir / "catalog/providers.json"
    items = [Item(providers_file, index, data) for index, data in enumerate(read(providers_file)["items"])]
    context = LoadContext()
    context.kind = "catalog.providers"

    load_providers(items, context)
    context.run_removals(["catalog.providers"])

    assert Provider.objects.filter(pk="tavily-test", kind="service").exists()
    assert Provider.objects.filter(kind__in=["api", "local"]).count() == len(items)


def test_a_removed_row_that_something_still_uses_fails_the_load_and_names_the_user(loaded: Path) -> None:
    # A later app's row that PROTECTs a catalog provider: a user's key for it.
    from leger.providers.services import credential_create

    credential = credential_create(
        owner=User.objects.create_user("carol"),
        provider=Provider.objects.get(pk="parasail"),
        label="work",
        value="parasail-secret-value-1234",
    )
    drop_provider(loaded, "parasail")
    edit_item(loaded, "catalog/makers.json", "openai", lambda item: item.update(name="OpenAI, Inc."))
    before = catalog_dump()

    with pytest.raises(FixtureProblems) as excinfo:
        load_fixtures(loaded)

    message = str(excinfo.value)
    assert "provider 'parasail' is no longer in the fixtures" in message
    assert f"credential (#{credential.pk})" in message
    assert "secret-value" not in message and "work" not in message
    assert catalog_dump() == before


# --- bad fixtures -----------------------------------------------------------------------------------------------


def invalid_json(directory: Path) -> None:
    path = directory / "catalog/models/anthropic.json"
    path.write_text(path.read_text()[:-20])


def missing_envelope_key(directory: Path) -> None:
    document = read(directory / "catalog/makers.json")
    del document["kind"]
    write(directory / "catalog/makers.json", document)


def unknown_kind(directory: Path) -> None:
    document = read(directory / "catalog/makers.json")
    document["kind"] = "catalog.makerz"
    write(directory / "catalog/makers.json", document)


def missing_required_field(directory: Path) -> None:
    edit_item(directory, "catalog/models/anthropic.json", "claude-3-haiku", lambda item: item.pop("name"))


def wrong_type(directory: Path) -> None:
    edit_item(
        directory, "catalog/models/anthropic.json", "claude-3-haiku", lambda item: item.update(context_window="200K")
    )


def unknown_property(directory: Path) -> None:
    edit_item(directory, "catalog/models/anthropic.json", "claude-3-haiku", lambda item: item.update(colour="blue"))


def bad_id(directory: Path) -> None:
    edit_item(directory, "catalog/makers.json", "meta", lambda item: item.update(id="Meta AI"))


def unknown_maker(directory: Path) -> None:
    edit_item(directory, "catalog/models/anthropic.json", "claude-3-haiku", lambda item: item.update(maker="anthropik"))


def duplicate_id_across_files(directory: Path) -> None:
    openai = read(directory / "catalog/models/openai.json")
    haiku = next(i for i in read(directory / "catalog/models/anthropic.json")["items"] if i["id"] == "claude-3-haiku")
    openai["items"].append(haiku)
    write(directory / "catalog/models/openai.json", openai)


def two_default_offerings(directory: Path) -> None:
    def change(item: dict[str, Any]) -> None:
        for offering in item["offerings"]:
            offering["is_default"] = True

    edit_item(directory, "catalog/models/anthropic.json", "claude-haiku-4.5", change)


def local_model_without_runtime(directory: Path) -> None:
    edit_item(directory, "catalog/models/qwen.json", "qwen3-8b", lambda item: item.pop("runtime"))


def cloud_offering_without_litellm_model(directory: Path) -> None:
    edit_item(
        directory,
        "catalog/models/anthropic.json",
        "claude-haiku-4.5",
        lambda item: item["offerings"][1].pop("litellm_model"),
    )


def local_model_offered_by_an_api_provider(directory: Path) -> None:
    edit_item(
        directory, "catalog/models/qwen.json", "qwen3-8b", lambda item: item["offerings"][0].update(provider="openai")
    )


BAD_FIXTURES = [
    pytest.param(invalid_json, "catalog/models/anthropic.json: invalid JSON at line", id="invalid-json"),
    pytest.param(missing_envelope_key, "catalog/makers.json: field 'kind': is required", id="missing-envelope-key"),
    pytest.param(unknown_kind, "catalog/makers.json: field 'kind': unknown kind 'catalog.makerz'", id="unknown-kind"),
    pytest.param(
        missing_required_field,
        "catalog/models/anthropic.json: entry 'claude-3-haiku', field 'name': is required",
        id="missing-required-field",
    ),
    pytest.param(
        wrong_type,
        "catalog/models/anthropic.json: entry 'claude-3-haiku', field 'context_window': '200K' is not of type "
        "'integer'",
        id="wrong-type",
    ),
    pytest.param(
        unknown_property,
        "catalog/models/anthropic.json: entry 'claude-3-haiku', field 'colour': is not an allowed property",
        id="unknown-property",
    ),
    pytest.param(bad_id, "catalog/makers.json: entry 'Meta AI', field 'id': 'Meta AI' does not match", id="bad-id"),
    pytest.param(
        unknown_maker,
        "catalog/models/anthropic.json: entry 'claude-3-haiku', field 'maker': unknown maker 'anthropik'",
        id="unknown-maker",
    ),
    pytest.param(
        duplicate_id_across_files,
        "catalog/models/openai.json: entry 'claude-3-haiku', field 'id': is a duplicate",
        id="duplicate-id-across-files",
    ),
    pytest.param(
        two_default_offerings,
        "catalog/models/anthropic.json: entry 'claude-haiku-4.5', field 'offerings': exactly one offering must have "
        "is_default true; found 3",
        id="two-default-offerings",
    ),
    pytest.param(
        local_model_without_runtime,
        "catalog/models/qwen.json: entry 'qwen3-8b', field 'runtime': is required",
        id="local-model-without-runtime",
    ),
    pytest.param(
        cloud_offering_without_litellm_model,
        "catalog/models/anthropic.json: entry 'claude-haiku-4.5', field 'offerings[1].litellm_model': is required",
        id="cloud-offering-without-litellm-model",
    ),
    pytest.param(
        local_model_offered_by_an_api_provider,
        "catalog/models/qwen.json: entry 'qwen3-8b', field 'offerings[0].provider': a local model must be offered by "
        "local providers, but 'openai' is api",
        id="local-model-offered-by-an-api-provider",
    ),
]


@pytest.mark.parametrize(("spoil", "expected"), BAD_FIXTURES)
def test_a_bad_fixture_leaves_the_database_exactly_as_it_was(loaded: Path, spoil: Mutation, expected: str) -> None:
    # A good change elsewhere, which would be written if the bad file did not stop the whole load.
    edit_item(loaded, "catalog/capabilities.json", "chat", lambda item: item.update(name="Conversation"))
    spoil(loaded)
    before = catalog_dump()

    with pytest.raises(FixtureProblems) as excinfo:
        load_fixtures(loaded)

    assert expected in str(excinfo.value)
    assert catalog_dump() == before


def test_it_reports_every_problem_it_finds_not_just_the_first(loaded: Path) -> None:
    unknown_property(loaded)
    local_model_without_runtime(loaded)

    with pytest.raises(FixtureProblems) as excinfo:
        load_fixtures(loaded)

    fields = {(Path(error.path).name, error.entry, error.field) for error in excinfo.value.errors}
    assert fields == {("anthropic.json", "claude-3-haiku", "colour"), ("qwen.json", "qwen3-8b", "runtime")}


def test_it_stops_collecting_after_twenty_problems(loaded: Path) -> None:
    def change(document: dict[str, Any]) -> None:
        for item in document["items"]:
            item["colour"] = "blue"

    path = loaded / "catalog/models/openai.json"
    document = read(path)
    change(document)
    write(path, document)

    with pytest.raises(FixtureProblems) as excinfo:
        load_fixtures(loaded)

    assert len(excinfo.value.errors) == 20
    assert excinfo.value.truncated


# --- the command ------------------------------------------------------------------------------------------------


def test_the_command_prints_counts_per_kind(db: None, fixtures_dir: Path) -> None:
    out = StringIO()

    call_command("load_catalog", "--dir", str(fixtures_dir), stdout=out)

    assert "catalog.models / catalog.LLM: 161 created, 0 updated, 0 unchanged, 0 removed" in out.getvalue()
    assert LLM.objects.count() == 161


def test_the_command_with_check_validates_and_writes_nothing(db: None, fixtures_dir: Path) -> None:
    out = StringIO()

    with CaptureQueriesContext(connection) as queries:
        call_command("load_catalog", "--dir", str(fixtures_dir), "--check", stdout=out)

    assert writes(queries) == []
    assert not Maker.objects.exists()
    assert "no problems. Nothing was written." in out.getvalue()


def test_the_command_with_check_still_reports_bad_files(db: None, fixtures_dir: Path) -> None:
    unknown_maker(fixtures_dir)
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("load_catalog", "--dir", str(fixtures_dir), "--check", stderr=err)

    assert "field 'maker': unknown maker 'anthropik'" in err.getvalue()


def test_the_command_prints_each_problem_and_exits_non_zero(loaded: Path) -> None:
    wrong_type(loaded)
    unknown_maker(loaded)
    err = StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("load_catalog", "--dir", str(loaded), stderr=err)

    assert excinfo.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert any("entry 'claude-3-haiku', field 'context_window'" in line for line in lines)
    assert "nothing was written" in str(excinfo.value)
