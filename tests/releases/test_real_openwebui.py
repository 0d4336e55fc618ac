"""The real Open WebUI (its pip package, at the version releases run), started on PostgreSQL with a release's
own environment, reports through its admin config endpoints the engine and the address each chosen service is
called at: OpenAI's speech-to-text, text-to-speech, embeddings and images at OpenAI with the user's key, the
models at LiteLLM with Open WebUI's own LiteLLM key, web search at the release's SearXNG; the services the release runs
(Speaches, openai-edge-tts, docling-serve, Ollama) at their containers, each with its own key.

The environment is what the leger CLI gives the container: the unit's Environment= lines and every secret the
manifest lists for Open WebUI, read by name. The test changes only where Open WebUI finds its database and Redis
(this machine's PostgreSQL and Redis), its data folder, and the Hugging Face hub offline (nothing to download).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User

from leger.releases import services as release_services
from leger.releases.rendering import render
from tests.releases import test_services_setup as setup
from tests.releases.conftest import secret_environment, unit_environment
from tests.releases.test_real_tools import require
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft, select
from tests.services import free_port, running_program

catalog = setup.catalog

REPO = Path(__file__).resolve().parents[2]
OPEN_WEBUI = REPO / ".cache" / "tools" / "openwebui" / "bin" / "open-webui"
OPENAI = "https://api.openai.com/v1"

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def open_webui() -> Path:
    return Path(
        require(str(OPEN_WEBUI) if OPEN_WEBUI.is_file() else None, "Open WebUI", install="scripts/install-openwebui")
    )


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


@contextlib.contextmanager
def serving(environment: dict[str, str], tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """The real Open WebUI started with ``environment`` (only where its database, Redis and data live changed,
    for this machine); yields ``config(path)``, an admin's GET of one of its config endpoints."""
    program = open_webui()
    database = f"leger_owui_{uuid.uuid4().hex[:12]}"
    psql(f"CREATE DATABASE {database}")
    port = free_port()
    environment = {
        **environment,
        "DATABASE_HOST": "127.0.0.1",
        "DATABASE_PORT": "5432",
        "DATABASE_NAME": database,
        "DATABASE_USER": "postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/5",
        "WEBSOCKET_REDIS_URL": "redis://127.0.0.1:6379/6",
        "DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
    }
    base = f"http://127.0.0.1:{port}"
    try:
        with running_program(
            [str(program), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            cwd=tmp_path,
            health_url=f"{base}/health",
            timeout=420,
            log=tmp_path / "openwebui.log",
        ):
            # The first account is the admin (sign-up is otherwise closed).
            signup = httpx.post(
                f"{base}/api/v1/auths/signup",
                json={"name": "Alice", "email": "alice@example.org", "password": "a long passphrase 42"},
                timeout=60,
            )
            assert signup.status_code == 200, signup.text
            assert signup.json()["role"] == "admin"
            headers = {"Authorization": f"Bearer {signup.json()['token']}"}

            def config(path: str) -> Any:
                answer = httpx.get(f"{base}{path}", headers=headers, timeout=30)
                assert answer.status_code == 200, (path, answer.text)
                return answer.json()

            yield config
    finally:
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def release_environment(owner: User, services: list[Any]) -> tuple[dict[str, str], Any]:
    """What the leger CLI gives Open WebUI's container for a release with these marketplace selections."""
    draft = release_services.release_update(release=minimal_draft(owner), services=[s.pk for s in services])
    release = release_services.release_cut(release=draft, actor=owner)
    files = render(release.snapshot)
    environment = {
        **unit_environment(files["openwebui.container"]),
        **secret_environment(owner, release.snapshot, files, "openwebui"),
    }
    return environment, release


def test_open_webui_calls_each_chosen_service_where_the_release_says(
    alice: User, catalog: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_tailnet(alice)
    add_key(alice, "anthropic")
    openai, openai_key = add_key(alice, "openai", prefix="sk-proj-")
    # Every setting left as /marketplace shows it.
    chosen = [
        select(alice, service, credential=openai)
        for service in ("openai-stt", "openai-tts", "openai-embeddings", "openai-images")
    ]
    chosen.append(select(alice, "searxng"))
    environment, release = release_environment(alice, chosen)
    litellm_key = environment["OPENAI_API_KEY"]
    assert litellm_key.startswith("sk-") and litellm_key != openai_key
    # Open WebUI's own virtual key, the one LiteLLM's unit registers; never LiteLLM's master key.
    litellm = secret_environment(alice, release.snapshot, render(release.snapshot), "litellm")
    assert litellm_key == litellm["LEGER_OPENWEBUI_KEY"] != litellm["LITELLM_MASTER_KEY"]

    with serving(environment, tmp_path) as config:
        models = config("/openai/config")
        assert models["ENABLE_OPENAI_API"] is True
        assert models["OPENAI_API_BASE_URLS"] == ["http://litellm:4000/v1"]
        assert models["OPENAI_API_KEYS"] == [litellm_key]
        audio = config("/api/v1/audio/config")
        for part in ("stt", "tts"):
            assert audio[part]["ENGINE"] == "openai", part
            assert audio[part]["OPENAI_API_BASE_URL"] == OPENAI, part
            assert audio[part]["OPENAI_API_KEY"] == openai_key, part
        embedding = config("/api/v1/retrieval/embedding")
        assert embedding["RAG_EMBEDDING_ENGINE"] == "openai"
        assert embedding["openai_config"] == {"url": OPENAI, "key": openai_key}
        images = config("/api/v1/images/config")
        assert images["IMAGE_GENERATION_ENGINE"] == "openai"
        assert images["IMAGES_OPENAI_API_BASE_URL"] == OPENAI
        assert images["IMAGES_OPENAI_API_KEY"] == openai_key
        web = config("/api/v1/retrieval/config")["web"]
        assert (web["ENABLE_WEB_SEARCH"], web["WEB_SEARCH_ENGINE"]) == (True, "searxng")
        assert web["SEARXNG_QUERY_URL"] == "http://searxng:8080/search?q=<query>"


def test_open_webui_calls_each_self_hosted_service_in_the_release_with_that_services_own_key(
    alice: User, catalog: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speaches, openai-edge-tts, docling-serve, Ollama and the MCP gateway run in the release: Open WebUI calls
    each at its container, Speaches, the TTS server, docling and the gateway with a key of their own (never
    LiteLLM's master key)."""
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_tailnet(alice)
    add_key(alice, "anthropic")
    chosen = [select(alice, service) for service in ("whisper", "edgetts", "docling", "ollama", "mcp-gateway")]
    environment, release = release_environment(alice, chosen)
    litellm_key = environment["OPENAI_API_KEY"]
    keys = {
        name: environment[name] for name in ("AUDIO_STT_OPENAI_API_KEY", "AUDIO_TTS_OPENAI_API_KEY", "DOCLING_API_KEY")
    }
    assert len({litellm_key, *keys.values()}) == 4, "each service has a key of its own"
    assert all(len(key) >= 32 for key in keys.values())
    (ollama,) = [a for a in release.snapshot["addons"] if a["id"] == "ollama"]

    with serving(environment, tmp_path) as config:
        audio = config("/api/v1/audio/config")
        assert audio["stt"]["ENGINE"] == "openai"
        assert audio["stt"]["OPENAI_API_BASE_URL"] == "http://whisper:8000/v1"
        assert audio["stt"]["OPENAI_API_KEY"] == keys["AUDIO_STT_OPENAI_API_KEY"]
        assert audio["tts"]["ENGINE"] == "openai"
        assert audio["tts"]["OPENAI_API_BASE_URL"] == "http://edgetts:5050/v1"
        assert audio["tts"]["OPENAI_API_KEY"] == keys["AUDIO_TTS_OPENAI_API_KEY"]
        retrieval = config("/api/v1/retrieval/config")
        assert retrieval["CONTENT_EXTRACTION_ENGINE"] == "docling"
        assert retrieval["DOCLING_SERVER_URL"] == "http://docling:5001"
        assert retrieval["DOCLING_API_KEY"] == keys["DOCLING_API_KEY"]
        embedding = config("/api/v1/retrieval/embedding")
        assert embedding["RAG_EMBEDDING_ENGINE"] == "ollama"
        assert embedding["RAG_EMBEDDING_MODEL"] == ollama["variables"]["RAG_EMBEDDING_MODEL"]
        assert embedding["ollama_config"]["url"] == "http://ollama:11434"
        # The MCP gateway, through the connection the release made (its token signed by the gateway's key).
        (tools,) = config("/api/v1/configs/tool_servers")["TOOL_SERVER_CONNECTIONS"]
        assert (tools["type"], tools["url"], tools["auth_type"]) == ("mcp", "http://mcp-gateway:4444/mcp", "bearer")
        assert tools["key"] == json.loads(environment["TOOL_SERVER_CONNECTIONS"])[0]["key"]
        assert tools["config"]["enable"] is True
