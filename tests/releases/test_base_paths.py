"""Services below a path (path exposure) are told their path, or cannot be put there; Cockpit reaches the host."""

from __future__ import annotations

import configparser

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from leger.releases import services as release_services
from leger.releases.rendering import render
from leger.releases.snapshot import example_snapshot
from tests.releases import test_services_setup as setup
from tests.releases.conftest import unit_environment
from tests.releases.test_services_setup import add_key, add_tailnet, minimal_draft

catalog = setup.catalog


def cockpit_conf(files: dict[str, str]) -> configparser.ConfigParser:
    (name,) = [path for path in files if path.endswith("cockpit.conf")]
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(files[name])
    return parser


@pytest.mark.parametrize(
    ("exposure", "origin", "url_root"),
    [("port", "https://box.tail1234.ts.net:9091", None), ("path", "https://box.tail1234.ts.net", "/console/")],
)
def test_cockpit_keeps_its_bastion_login_and_knows_where_browsers_reach_it(
    exposure: str, origin: str, url_root: str | None
) -> None:
    files = render(example_snapshot("full", exposure))
    conf = cockpit_conf(files)
    # The image's own bastion settings survive: logins go over SSH, with its auth command.
    assert conf["Basic"]["Command"] == conf["Ssh-Login"]["Command"] == "/container/cockpit-auth-ssh-key"
    assert conf["WebService"]["RequireHost"] == "true"
    assert "host.containers.internal" in conf["WebService"]["LoginTitle"]
    assert conf["WebService"]["Origins"] == origin  # its websocket checks the page's origin
    assert conf["WebService"].get("UrlRoot") == url_root
    # Not 9090: a host with cockpit.socket already listens there on every address.
    assert "PublishPort=100.101.102.103:9090:9090" not in files["caddy.container"]


def test_services_below_a_path_are_told_it_and_reached_there() -> None:
    files = render(example_snapshot("full", "path"))
    assert unit_environment(files["litellm.container"])["SERVER_ROOT_PATH"] == "/litellm"
    assert unit_environment(files["jupyter.container"])["NOTEBOOK_ARGS"] == "--ServerApp.base_url=/jupyter/"
    # Jupyter then serves only below its path, so Open WebUI calls it there too; LiteLLM answers on both.
    openwebui = unit_environment(files["openwebui.container"])
    assert openwebui["CODE_EXECUTION_JUPYTER_URL"] == "http://jupyter:8888/jupyter"
    assert openwebui["OPENAI_API_BASE_URL"] == "http://litellm:4000/v1"
    assert "base_url: https://box.tail1234.ts.net/searxng/" in files["searxng-settings.yml"]
    # By port nothing is below a path.
    by_port = render(example_snapshot("full", "port"))
    assert "SERVER_ROOT_PATH" not in unit_environment(by_port["litellm.container"])
    assert unit_environment(by_port["openwebui.container"])["CODE_EXECUTION_JUPYTER_URL"] == "http://jupyter:8888"


@pytest.mark.django_db
def test_llama_swap_cannot_be_exposed_below_a_path_and_the_routes_step_says_what_to_do(
    alice: User, catalog: None
) -> None:
    add_key(alice, "anthropic")
    add_tailnet(alice, exposure="path")
    draft = minimal_draft(alice)
    with pytest.raises(ValidationError) as refused:
        release_services.release_update(release=draft, routes={"llama-swap": {"exposed": True}})
    (problem,) = refused.value.message_dict["routes"]
    assert "llama-swap cannot be served below a path" in problem and "by port or subdomain" in problem
    add_tailnet(alice, exposure="port")
    release_services.release_update(release=draft, routes={"llama-swap": {"exposed": True}})
