"""validate(files, snapshot): each kind of broken file is caught, naming the file, the line and the fix."""

from __future__ import annotations

import pytest

from leger.releases.rendering import render
from leger.releases.snapshot import example_snapshot
from leger.releases.validation import Problem, validate
from tests.releases.conftest import changed


@pytest.fixture(scope="module")
def release():
    snapshot = example_snapshot("full")
    return snapshot, render(snapshot)


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")


def replace(files: dict[str, str], path: str, old: str, new: str) -> dict[str, str]:
    assert old in files[path], f"{old!r} is not in {path}"
    return {**files, path: files[path].replace(old, new, 1)}


def problems_of(snapshot, files) -> list[Problem]:
    return validate(files, snapshot)


def assert_problem(problems: list[Problem], file: str, line: int | None, fragment: str) -> None:
    matching = [p for p in problems if p.file == file and p.line == line and fragment in p.message]
    assert matching, f"no problem {file}:{line} containing {fragment!r}; got {[str(p) for p in problems]}"


@pytest.mark.parametrize("kind", ["minimal", "full"])
@pytest.mark.parametrize("exposure", ["port", "path", "subdomain"])
def test_a_rendered_release_has_no_problem(kind: str, exposure: str) -> None:
    snapshot = example_snapshot(kind, exposure)
    assert validate(render(snapshot), snapshot) == []


@pytest.mark.parametrize(
    ("old", "new", "line_text", "fragment"),
    [
        ("HostName=tika\n", "HostName=tika\nthis is not a setting\n", "this is not a setting", "expected Key=Value"),
        ("HostName=tika\n", "HostNmae=tika\n", "HostNmae=tika", "HostNmae= is not a key of [Container]"),
        ("[Service]\n", "[Servce]\n", "[Servce]", "unknown section [Servce]"),
        ("Network=llm.network", "Network=other.network", "Network=other.network", "the release has no other.network"),
        ("HostName=tika\n", "HostName=tika\nVolume=gone.volume:/x\n", "Volume=gone.volume", "no such file"),
        ("Requires=llm-network.service", "Requires=ghost.service", "Requires=ghost.service", "no file of the release"),
        (
            "HostName=tika\n",
            "HostName=tika\nSecret=stolen-key,type=env,target=X\n",
            "Secret=stolen-key",
            "not declared in the manifest",
        ),
        (
            "HostName=tika\n",
            "HostName=tika\nSecret=stolen-key,type=mount,target=etc/key\n",
            "Secret=stolen-key",
            "or type=mount with an absolute target",
        ),
        # The leger CLI copies only unit files into ~/.config/containers/systemd/: nothing lies beside a unit.
        (
            "HostName=tika\n",
            "HostName=tika\nVolume=./tika-config.xml:/config.xml:ro,Z\n",
            "Volume=./tika-config.xml",
            "a path next to the unit, where the leger CLI installs only unit files",
        ),
        (
            "HostName=tika\n",
            "HostName=tika\nEnvironmentFile=tika.env\n",
            "EnvironmentFile=tika.env",
            "write the variables as Environment= lines",
        ),
        (
            "HostName=tika\n",
            "HostName=tika\nPublishPort=100.101.102.103:3000:9998\n",
            "PublishPort=100.101.102.103:3000",
            "port 3000 is published by both caddy and tika",
        ),
        (
            "HostName=tika\n",
            "HostName=tika\nPublishPort=0.0.0.0:9998:9998\n",
            "PublishPort=0.0.0.0:9998",
            "listens on 0.0.0.0, reachable from the LAN or the internet",
        ),
        (
            "HostName=tika\n",
            "HostName=tika\nPublishPort=9998:9998\n",
            "PublishPort=9998:9998",
            "listens on 0.0.0.0, reachable from the LAN or the internet",
        ),
        (
            "HostName=tika\n",
            "HostName=tika\nPublishPort=192.168.1.20:9998:9998\n",
            "PublishPort=192.168.1.20",
            "listens on 192.168.1.20",
        ),
    ],
)
def test_it_finds_broken_quadlet_units(release, old, new, line_text, fragment) -> None:
    snapshot, files = release
    broken = replace(files, "tika.container", old, new)
    assert_problem(
        problems_of(snapshot, broken), "tika.container", line_of(broken["tika.container"], line_text), fragment
    )


def test_a_container_without_an_image_is_refused(release) -> None:
    snapshot, files = release
    broken = replace(files, "tika.container", "Image=docker.io/apache/tika:3.2.3.0-full\n", "")
    assert_problem(
        problems_of(snapshot, broken),
        "tika.container",
        line_of(broken["tika.container"], "[Container]"),
        "needs Image=",
    )


@pytest.mark.parametrize(
    ("old", "new", "line_text", "fragment"),
    [
        ("WEBUI_NAME=Leger AI", "WEBUI_NAMEZ=Leger AI", "WEBUI_NAMEZ", "Open WebUI v0.12.4 does not read WEBUI_NAMEZ"),
        (
            "DEFAULT_MODELS=claude-haiku-4.5",
            "DEFAULT_MODELS=gpt-5",
            "DEFAULT_MODELS",
            "'gpt-5', which LiteLLM does not serve",
        ),
        (
            "TASK_MODEL=granite-4.0-h-micro",
            "TASK_MODEL=llama-9",
            "TASK_MODEL=",
            "'llama-9', which LiteLLM does not serve",
        ),
        (
            '"RAG_TOP_K=5"',
            '"RAG_TOP_K=5"\nEnvironment="ENABLE_SIGNUP=True"',
            "ENABLE_SIGNUP=True",
            "ENABLE_SIGNUP is set twice (first on line {first_signup})",
        ),
        ('"RAG_TOP_K=5"', '"RAG_TOP_K=5" "ENABLE_SIGNUP=True"', "RAG_TOP_K=5", "ENABLE_SIGNUP is set twice"),
        ('"RAG_TOP_K=5"', '"RAG_TOP_K=5', "RAG_TOP_K=5", "Environment= cannot be read: unterminated"),
        (
            "Secret=openwebui-secret-key,type=env,target=WEBUI_SECRET_KEY",
            "Secret=openwebui-secret-key,type=env,target=WEBUI_SECRET_KEYZ",
            "WEBUI_SECRET_KEYZ",
            "the secret fills WEBUI_SECRET_KEYZ, which Open WebUI v0.12.4 does not read",
        ),
    ],
)
def test_it_finds_open_webui_variables_that_would_be_wrong(release, old, new, line_text, fragment) -> None:
    # Every Open WebUI setting is an Environment= line of its unit: problems name the unit and that line.
    snapshot, files = release
    broken = replace(files, "openwebui.container", old, new)
    first_signup = line_of(files["openwebui.container"], "ENABLE_SIGNUP=")
    assert_problem(
        problems_of(snapshot, broken),
        "openwebui.container",
        line_of(broken["openwebui.container"], line_text),
        fragment.format(first_signup=first_signup),
    )


def test_a_release_without_open_webuis_unit_is_refused(release) -> None:
    snapshot, files = release
    broken = {path: text for path, text in files.items() if path != "openwebui.container"}
    assert_problem(problems_of(snapshot, broken), "openwebui.container", None, "Open WebUI would not run")


def test_a_config_file_changed_after_rendering_no_longer_matches_the_secret_its_unit_mounts(release) -> None:
    snapshot, files = release
    # The unit names the secret of the file's rendered bytes; other bytes are another secret, which it does not.
    broken = replace(files, "litellm-config.yaml", "drop_params: true", "drop_params: false")
    text = broken["litellm.container"]
    assert_problem(
        problems_of(snapshot, broken),
        "litellm.container",
        line_of(text, "Secret=leger-file-litellm-config-yaml-"),
        "changed after it was rendered",
    )


def test_it_finds_litellm_config_that_litellm_would_refuse_or_leak(release) -> None:
    snapshot, files = release
    broken = replace(files, "litellm-config.yaml", "api_key: os.environ/ANTHROPIC_API_KEY", "api_key: sk-ant-123")
    broken = replace(broken, "litellm-config.yaml", "model: openai/gpt-4o-mini", "modle: openai/gpt-4o-mini")
    text = broken["litellm-config.yaml"]
    problems = problems_of(snapshot, broken)
    assert_problem(problems, "litellm-config.yaml", line_of(text, "api_key: sk-ant-123"), "never a key itself")
    entry_line = line_of(text, "api_key: os.environ/OPENAI_API_KEY") - 1  # the "- litellm_params:" line
    assert_problem(problems, "litellm-config.yaml", entry_line, "needs litellm_params.model")


def test_it_finds_yaml_that_does_not_parse(release) -> None:
    snapshot, files = release
    broken = replace(files, "litellm-config.yaml", "model_list:\n", "model_list:\n  - [unclosed\n")
    problems = [p for p in problems_of(snapshot, broken) if p.file == "litellm-config.yaml"]
    assert any("not valid YAML" in p.message and p.line for p in problems), problems


def test_it_finds_models_the_stack_does_not_agree_on(release) -> None:
    snapshot, files = release
    # The release offers claude-haiku-4.5 but LiteLLM no longer serves it.
    broken = replace(files, "litellm-config.yaml", "model_name: claude-haiku-4.5", "model_name: claude-renamed")
    problems = problems_of(snapshot, broken)
    assert_problem(
        problems,
        "litellm-config.yaml",
        line_of(broken["litellm-config.yaml"], "model_list:"),
        "'claude-haiku-4.5' is not in model_list",
    )
    assert_problem(
        problems,
        "openwebui.container",
        line_of(broken["openwebui.container"], "DEFAULT_MODELS"),
        "which LiteLLM does not serve",
    )
    # LiteLLM sends granite to llama-swap, which no longer knows it.
    broken = replace(files, "llama-swap-config.yaml", "  granite-4.0-h-micro:\n", "  granite-renamed:\n")
    broken = replace(broken, "llama-swap-config.yaml", "- granite-micro\n", "- granite-renamed-alias\n")
    assert_problem(
        problems_of(snapshot, broken),
        "litellm-config.yaml",
        line_of(broken["litellm-config.yaml"], "model: openai/granite-4.0-h-micro"),
        "which llama-swap's config does not define",
    )


@pytest.mark.parametrize(
    ("old", "new", "anchor", "offset", "fragment"),
    [
        ("logLevel: info", "logLevel: info\nlogLevle: debug", "logLevle", 0, "logLevle is not a llama-swap setting"),
        ("logLevel: info", "logLevel: loud", "logLevel: loud", 0, "logLevel must be debug, info, warn or error"),
        ("    ttl: 600\n", "    ttl: 600\n    tll: 5\n", "tll: 5", 0, "tll is not a model setting"),
        # Keys are sorted: cmd, name, proxy; the problem is on the proxy line.
        (
            "--port ${PORT} --hf-repo unsloth",
            "--port 9000 --hf-repo unsloth",
            "--port 9000",
            2,
            "cmd must pass ${PORT}",
        ),
        (
            "--ctx-size 8192 --flash-attn on",
            "--ctx-size ${CTX} --flash-attn on",
            "${CTX}",
            0,
            "${CTX}, which is not defined",
        ),
        ("- granite-micro", "- gpt-oss", "  granite-4.0-h-micro:", 1, "alias 'gpt-oss' belongs to both"),
        ("proxy: http://127.0.0.1:${PORT}", "proxy: not a url ${PORT}", "not a url", 0, "is not a URL"),
    ],
)
def test_it_finds_what_llama_swaps_loader_would_refuse(release, old, new, anchor, offset, fragment) -> None:
    snapshot, files = release
    broken = replace(files, "llama-swap-config.yaml", old, new)
    line = line_of(broken["llama-swap-config.yaml"], anchor) + offset
    assert_problem(problems_of(snapshot, broken), "llama-swap-config.yaml", line, fragment)


def test_it_finds_a_searxng_that_would_refuse_open_webuis_json_queries(release) -> None:
    snapshot, files = release
    broken = replace(files, "searxng-settings.yml", "  - json\n", "")
    assert_problem(
        problems_of(snapshot, broken),
        "searxng-settings.yml",
        line_of(broken["searxng-settings.yml"], "formats:"),
        "must include json",
    )


def test_it_finds_caddy_routes_to_nowhere(release) -> None:
    snapshot, files = release
    broken = replace(files, "Caddyfile", "reverse_proxy litellm:4000", "reverse_proxy litellm:4001")
    broken = replace(broken, "Caddyfile", "reverse_proxy qdrant:6333", "reverse_proxy qdrnat:6333")
    problems = problems_of(snapshot, broken)
    text = broken["Caddyfile"]
    assert_problem(problems, "Caddyfile", line_of(text, "litellm:4001"), "but litellm listens on 4000")
    assert_problem(
        problems, "Caddyfile", line_of(text, "qdrnat:6333"), "'qdrnat', which is no container of the release"
    )


def test_it_names_both_services_of_a_port_clash() -> None:
    snapshot = example_snapshot("full")
    clashing = changed(snapshot, lambda s: next(r for r in s["routes"] if r["service"] == "litellm").update(port=3000))
    files = render(clashing)
    problems = validate(files, clashing)
    messages = [str(p) for p in problems]
    assert any("both exposed on port 3000" in m and "litellm" in m and "openwebui" in m for m in messages), messages
    assert any("caddy.container" in m and "port 3000 is published by both caddy and caddy" in m for m in messages)
    assert any(m.startswith("Caddyfile:") and "defined twice" in m for m in messages)


def test_it_names_both_services_of_a_path_clash() -> None:
    snapshot = example_snapshot("full", "path")
    clashing = changed(
        snapshot, lambda s: next(r for r in s["routes"] if r["service"] == "qdrant").update(path="/litellm")
    )
    messages = [str(p) for p in validate(render(clashing), clashing)]
    assert any("litellm and qdrant are both exposed on path /litellm" in m for m in messages), messages
    assert any("routes to both litellm and qdrant" in m for m in messages), messages
