"""The URL of each exposed service, in each exposure mode, in the release's own form."""

from __future__ import annotations

from dataclasses import dataclass

from leger.tailnet.exposure import service_url, service_urls
from leger.tailnet.models import TailnetSettings


@dataclass
class Service:
    id: str
    name: str
    published_port: int | None
    path: str = ""
    subdomain: str = ""


OPEN_WEBUI = Service("openwebui", "Open WebUI", 3000, "/", "ai")
LITELLM = Service("litellm", "LiteLLM", 4000, "/litellm", "llm")
BARE = Service("jupyter", "Jupyter", 8889)


def settings(exposure: str, custom_domain: str = "") -> TailnetSettings:
    return TailnetSettings(tailnet="tail1234.ts.net", hostname="box", exposure=exposure, custom_domain=custom_domain)


def test_port_mode_puts_each_service_on_its_port_of_the_machine_name() -> None:
    assert service_url(settings("port"), OPEN_WEBUI) == "https://box.tail1234.ts.net:3000"
    assert service_url(settings("port"), LITELLM) == "https://box.tail1234.ts.net:4000"


def test_path_mode_puts_each_service_on_its_path() -> None:
    assert service_url(settings("path"), OPEN_WEBUI) == "https://box.tail1234.ts.net"
    assert service_url(settings("path"), LITELLM) == "https://box.tail1234.ts.net/litellm"
    assert service_url(settings("path"), BARE) == "https://box.tail1234.ts.net/jupyter"


def test_subdomain_mode_needs_the_custom_domain() -> None:
    assert service_url(settings("subdomain", "home.example.org"), OPEN_WEBUI) == "https://ai.home.example.org"
    assert service_url(settings("subdomain", "home.example.org"), BARE) == "https://jupyter.home.example.org"
    assert service_url(settings("subdomain"), OPEN_WEBUI) is None


def test_service_urls_gives_the_chosen_mode_and_every_mode() -> None:
    [url] = service_urls(settings("path", "home.example.org"), [LITELLM])

    assert url.url == "https://box.tail1234.ts.net/litellm"
    assert url.urls == {
        "port": "https://box.tail1234.ts.net:4000",
        "path": "https://box.tail1234.ts.net/litellm",
        "subdomain": "https://llm.home.example.org",
    }
