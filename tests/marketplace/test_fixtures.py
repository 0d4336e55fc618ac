"""The marketplace fixtures: real Open WebUI variables, slot values Open WebUI accepts, loaded all-or-nothing.

The cross-checks read ``../shared/reference`` (beside the repository, as CI has it) and skip with a reason
when it is absent. The slot values below were read from the Open WebUI 0.12.4 wheel, the image we pin.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from leger.catalog.loading import FixtureError, FixtureProblems, load_fixtures
from leger.catalog.models import Provider
from leger.marketplace.fixtures import _sync_selection_slots
from leger.marketplace.models import Selection, Service, Slot, Variable

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
MARKETPLACE = FIXTURES / "marketplace"
REFERENCE = REPO / ".." / "shared" / "reference"
OPENWEBUI_ENV = REFERENCE / "openwebui-env.tsv"
REFERENCE_MARKETPLACE = REFERENCE / "leger-app-data" / "marketplace"

# What each slot variable accepts in Open WebUI 0.12.4 (open_webui/ in the wheel):
ACCEPTED_SLOT_VALUES = {
    # retrieval/vector/type.py (VectorType)
    "VECTOR_DB": {"milvus", "mariadb-vector", "qdrant", "chroma", "pinecone", "elasticsearch", "opensearch",
                  "pgvector", "oracle23ai", "s3vector", "weaviate", "opengauss", "valkey"},
    # retrieval/utils.py: "" is the built-in SentenceTransformers
    "RAG_EMBEDDING_ENGINE": {"", "ollama", "openai", "azure_openai"},
    # retrieval/loaders/main.py: "" is the built-in loaders
    "CONTENT_EXTRACTION_ENGINE": {"", "external", "tika", "datalab_marker", "docling", "document_intelligence",
                                  "mineru", "mistral_ocr", "paddleocr_vl"},
    # routers/retrieval.py, search_web()
    "WEB_SEARCH_ENGINE": {"ollama_cloud", "perplexity_search", "searxng", "openserp", "yacy", "google_pse", "brave",
                          "brave_llm_context", "kagi", "mojeek", "bocha", "serpstack", "serper", "serphouse",
                          "serply", "duckduckgo", "tavily", "staan", "exa", "searchapi", "serpapi", "jina", "bing",
                          "azure", "perplexity", "microsoft_web_iq", "sougou", "firecrawl", "external", "yandex",
                          "youcom", "linkup"},
    # retrieval/web/utils.py, get_web_loader()
    "WEB_LOADER_ENGINE": {"", "safe_web", "playwright", "firecrawl", "tavily", "exa", "microsoft_web_iq", "external"},
    # routers/images.py
    "IMAGE_GENERATION_ENGINE": {"openai", "gemini", "comfyui", "automatic1111"},
    # routers/audio/__init__.py: "" is the built-in faster-whisper / the browser's voices
    "AUDIO_STT_ENGINE": {"", "openai", "deepgram", "azure", "mistral"},
    "AUDIO_TTS_ENGINE": {"", "openai", "openai-realtime", "elevenlabs", "azure", "transformers", "mistral"},
    # routers/utils.py, tools/builtin.py
    "CODE_EXECUTION_ENGINE": {"pyodide", "jupyter"},
    "CODE_INTERPRETER_ENGINE": {"pyodide", "jupyter"},
    # storage/provider.py
    "STORAGE_PROVIDER": {"local", "s3", "gcs", "azure"},
}  # fmt: skip

# Every entry of the reference marketplace, and where it went. None: dropped, with the reason.
REFERENCE_ENTRIES: dict[str, str | None] = {
    "automatic1111": "automatic1111", "azure-dalle": "azure-openai-images",
    "azure-document-intelligence": "azure-document-intelligence", "azure-openai-embeddings": "azure-openai-embeddings",
    "azure-storage": "azure-storage", "azure-stt": "azure-stt", "azure-tts": "azure-tts", "bing": "bing",
    "bocha": "bocha", "brave-search": "brave-search", "chroma": "chroma", "comfyui": "comfyui",
    "deepgram": "deepgram", "docling": "docling", "duckduckgo": "duckduckgo", "edgetts": "edgetts",
    "elasticsearch": "elasticsearch", "elevenlabs": "elevenlabs", "exa": "exa",
    "external-loader": "external-document-loader", "firecrawl": "firecrawl-search", "gcs": "gcs",
    "gemini-images": "gemini-images", "google-drive": "google-drive", "google-pse": "google-pse",
    "jina": "jina-search", "jupyter": "jupyter", "kagi": "kagi", "milvus": "milvus", "mistral-ocr": "mistral-ocr",
    "mojeek": "mojeek", "ollama-cloud-search": "ollama-cloud-search", "ollama-embeddings": "ollama-embeddings",
    "onedrive-business": "onedrive-business", "onedrive-personal": "onedrive-personal",
    "openai-dalle": "openai-images", "openai-embeddings": "openai-embeddings", "openai-stt": "openai-stt",
    "openai-tts": "openai-tts", "opensearch": "opensearch", "opentelemetry": "opentelemetry",
    "oracle23ai": "oracle23ai", "perplexity": "perplexity", "perplexity-search": "perplexity-search",
    "pgvector": "pgvector", "pinecone": "pinecone", "playwright": "playwright", "pyodide": "pyodide",
    "qdrant": "qdrant", "s3": "s3", "searchapi": "searchapi", "searxng": "searxng",
    "sentencetransformers": "sentence-transformers", "serpapi": "serpapi", "serper": "serper", "serply": "serply",
    "serpstack": "serpstack", "sougou": "sougou", "tavily": "tavily-search", "tika": "tika",
    "transformers-tts": "transformers-tts", "webapi-tts": "browser-tts", "whisper-local": "whisper-builtin",
    # Shared settings became the slots' shared settings (fixtures/marketplace/slots.json).
    "search-shared": None, "rag-shared": None, "image-shared": None, "code-shared": None,
    # LLMs reach Open WebUI through LiteLLM; their keys are the catalog's providers.
    "openai-api": None, "azure-openai": None, "ollama": None,
    # Every release runs Open WebUI's own PostgreSQL and Redis.
    "postgresql": None, "sqlite": None, "sqlcipher": None, "redis": None, "redis-cluster": None,
    "redis-sentinel": None,
    # Its credentials are boto3's AWS_* variables, which Open WebUI itself does not read.
    "s3vector": None,
}  # fmt: skip


def _items(kind_dir: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in sorted(kind_dir.glob("*.json")):
        items += json.loads(path.read_text(encoding="utf-8"))["items"]
    return items


SLOTS = json.loads((MARKETPLACE / "slots.json").read_text(encoding="utf-8"))["items"]
SERVICES = _items(MARKETPLACE / "services")


def every_variable_name() -> dict[str, str]:
    """Every Open WebUI variable the marketplace fixtures name, with where."""
    names: dict[str, str] = {}
    for slot in SLOTS:
        for name in [*slot["variables"], *slot.get("fixed", {})]:
            names[name] = f"slot {slot['id']}"
        for variable in slot.get("shared_settings", {}).get("variables", []):
            names[variable["name"]] = f"slot {slot['id']} shared settings"
    for service in SERVICES:
        where = f"service {service['id']}"
        for name in [*service.get("key", {}).get("variables", []), *service.get("fixed", {})]:
            names[name] = where
        for variable in service["variables"]:
            names[variable["name"]] = where
    return names


def openwebui_variables() -> set[str]:
    if not OPENWEBUI_ENV.is_file():
        pytest.skip(f"Open WebUI's variable list is not beside the repository ({OPENWEBUI_ENV.resolve()})")
    with OPENWEBUI_ENV.open(encoding="utf-8") as handle:
        return {row["name"] for row in csv.DictReader(handle, delimiter="\t")}


def test_every_variable_in_the_fixtures_is_one_open_webui_reads() -> None:
    known = openwebui_variables()

    unknown = {name: where for name, where in every_variable_name().items() if name not in known}

    assert unknown == {}
    assert len(every_variable_name()) > 200


def test_every_slot_value_is_one_open_webui_accepts() -> None:
    slots = {slot["id"]: slot for slot in SLOTS}
    wrong = [
        (service["id"], name, service["slot_value"])
        for service in SERVICES
        if "slot" in service
        for name in slots[service["slot"]]["variables"]
        if service["slot_value"] not in ACCEPTED_SLOT_VALUES[name]
    ]

    assert wrong == []
    assert {name for slot in SLOTS for name in slot["variables"]} == set(ACCEPTED_SLOT_VALUES)


def test_every_reference_entry_is_carried_over_or_dropped_on_purpose() -> None:
    if not REFERENCE_MARKETPLACE.is_dir():
        pytest.skip(f"the reference marketplace is not beside the repository ({REFERENCE_MARKETPLACE.resolve()})")
    reference = {json.loads(path.read_text())["id"] for path in REFERENCE_MARKETPLACE.glob("*.json")}
    ours = {service["id"] for service in SERVICES}

    assert reference == set(REFERENCE_ENTRIES)
    assert {target for target in REFERENCE_ENTRIES.values() if target} <= ours


def test_the_rag_category_is_split_into_vector_databases_and_embedding_engines() -> None:
    by_id = {service["id"]: service for service in SERVICES}

    assert {by_id[i]["slot"] for i in ("qdrant", "chroma", "pgvector", "milvus")} == {"vector-database"}
    assert {by_id[i]["slot"] for i in ("openai-embeddings", "sentence-transformers")} == {"embedding"}


def test_no_service_sets_the_slot_variable_or_another_services_variable_as_its_own() -> None:
    slot_variables = {name for slot in SLOTS for name in slot["variables"]}
    for service in SERVICES:
        names = {variable["name"] for variable in service["variables"]}
        assert not names & slot_variables, service["id"]
        assert "PGVECTOR_DB_URL" not in names or service["id"] == "pgvector"


def test_every_setting_has_a_label_in_words_unique_on_its_form() -> None:
    shared = {slot["id"]: slot.get("shared_settings", {}).get("variables", []) for slot in SLOTS}
    for service in SERVICES:
        variables = [*service["variables"], *shared.get(service.get("slot"), [])]
        labels = [variable["label"] for variable in variables]
        assert len(set(labels)) == len(labels), f"{service['id']} shows two settings under one label: {labels}"
        for variable in variables:
            # A label is words, not the variable name again (the page shows that beside it).
            assert variable["label"] != variable["name"] and not re.fullmatch(r"[A-Z0-9_]+", variable["label"])


@pytest.mark.django_db
def test_the_fixtures_load_and_loading_again_changes_nothing() -> None:
    first = load_fixtures(FIXTURES)
    again = load_fixtures(FIXTURES)

    assert first.counts["marketplace.services"]["marketplace.Service"].created == len(SERVICES)
    assert Service.objects.count() == len(SERVICES)
    assert Slot.objects.count() == len(SLOTS) == 10
    key_providers = json.loads((MARKETPLACE / "key-providers.json").read_text(encoding="utf-8"))["items"]
    assert Provider.objects.filter(kind="service").count() == len(key_providers)
    assert Service.objects.get(pk="openai-embeddings").key_provider.kind == "api"
    assert Variable.objects.filter(slot="web-search").exists()
    assert not again.wrote_anything


def _broken_copy(tmp_path: Path, file: str, change) -> Path:  # type: ignore[no-untyped-def]
    copy = tmp_path / "fixtures"
    shutil.copytree(settings.LEGER_FIXTURES_DIR, copy)
    path = copy / "marketplace" / file
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document["items"])
    path.write_text(json.dumps(document), encoding="utf-8")
    return copy


def _by_id(items: list[dict[str, Any]], id: str) -> dict[str, Any]:
    return next(item for item in items if item["id"] == id)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        (
            "services/vector-databases.json",
            lambda items: _by_id(items, "qdrant").update(slot="vector-db"),
            "marketplace/services/vector-databases.json: entry 'qdrant', field 'slot': unknown slot 'vector-db'",
        ),
        (
            "services/vector-databases.json",
            lambda items: _by_id(items, "qdrant")["variables"].append(dict(_by_id(items, "qdrant")["variables"][0])),
            "entry 'qdrant', field 'variables[7].name': ENABLE_QDRANT_MULTITENANCY_MODE is already set by variables[0]",
        ),
        (
            "services/vector-databases.json",
            lambda items: _by_id(items, "qdrant")["variables"][5].update(default=0),
            "entry 'qdrant', field 'variables[5].default': 0 does not suit the variable: Enter a value of at least 1",
        ),
        (
            "services/vector-databases.json",
            lambda items: _by_id(items, "qdrant")["container"].update(image="docker.io/qdrant/qdrant:latest"),
            "field 'container.image': 'docker.io/qdrant/qdrant:latest' disagrees with",
        ),
        (
            "services/web-search.json",
            lambda items: _by_id(items, "tavily-search")["key"].update(provider="tavilly"),
            "entry 'tavily-search', field 'key.provider': unknown key provider 'tavilly'",
        ),
        (
            "services/vector-databases.json",
            lambda items: _by_id(items, "qdrant")["variables"][5].pop("label"),
            "entry 'qdrant', field 'variables[5].label': is required",
        ),
        (
            "key-providers.json",
            lambda items: items.append({**items[0], "id": "openai"}),
            "entry 'openai', field 'id': 'openai' is an LLM provider of the catalog",
        ),
        (
            "slots.json",
            lambda items: _by_id(items, "web-search")["shared_settings"]["variables"].append(
                {"name": "RAG_TOP_K", "label": "Twice", "type": "int", "help": "Twice."}
            ),
            "RAG_TOP_K is already set by shared_settings.variables[0] of slot 'vector-database'",
        ),
    ],
)
def test_a_bad_fixture_is_refused_naming_file_entry_and_field_and_nothing_is_written(
    tmp_path: Path, file: str, change, expected: str
) -> None:
    broken = _broken_copy(tmp_path, file, change)

    with pytest.raises(FixtureProblems) as refused:
        load_fixtures(broken)

    assert any(expected in str(error) for error in refused.value.errors), refused.value
    assert not Service.objects.exists()
    assert not Slot.objects.exists()


@pytest.mark.django_db
def test_a_service_moved_to_another_slot_takes_its_selections_along(alice, qdrant, chroma, search_slot) -> None:
    moving = Selection.objects.create(owner=alice, service=qdrant, active=True)
    Selection.objects.create(owner=alice, service=chroma, active=False)
    Service.objects.filter(pk="qdrant").update(slot=search_slot)
    Service.objects.filter(pk="chroma").update(slot=None)

    _sync_selection_slots([])

    assert Selection.objects.get(pk=moving.pk).slot_id == "web-search"
    assert Selection.objects.get(service="chroma").slot_id is None


@pytest.mark.django_db
def test_a_move_that_would_give_a_user_two_active_providers_is_refused(alice, qdrant, searxng) -> None:
    Selection.objects.create(owner=alice, service=qdrant, active=True)
    Selection.objects.create(owner=alice, service=searxng, active=True)
    Service.objects.filter(pk="qdrant").update(slot="web-search")

    with pytest.raises(FixtureError, match="would give a user two active providers in that slot"):
        _sync_selection_slots([])
