"""Loading the releases fixtures through load_catalog's loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leger.catalog.loading import FixtureProblems, load_fixtures
from leger.releases.models import InfrastructureService, OpenWebUIVariable
from leger.releases.snapshot import CORE_SERVICES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def fixtures_dir(tmp_path: Path) -> Path:
    """A copy of the project's fixtures (other kinds cross-check ours, e.g. the marketplace's add-ons)."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures", ignore=shutil.ignore_patterns("schema"))
    return tmp_path / "fixtures"


def edit(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document["items"])
    path.write_text(json.dumps(document))


def by_id(items: list[dict], item_id: str) -> dict:
    return next(item for item in items if item["id"] == item_id)


@pytest.mark.django_db
def test_it_loads_every_service_and_variable_and_writes_nothing_the_second_time(fixtures_dir: Path) -> None:
    load_fixtures(fixtures_dir)
    assert set(CORE_SERVICES) <= set(InfrastructureService.objects.values_list("id", flat=True))
    openwebui = InfrastructureService.objects.get(id="openwebui")
    assert openwebui.image == "ghcr.io/open-webui/open-webui:v0.12.4"
    assert openwebui.published_port == 3000 and openwebui.websocket
    assert {"name": "openwebui-data", "mount": "/app/backend/data"} in openwebui.volumes
    searxng = InfrastructureService.objects.get(id="searxng")
    assert searxng.role == "addon" and searxng.addon == "searxng"
    assert OpenWebUIVariable.objects.count() >= 40
    assert OpenWebUIVariable.objects.get(name="RAG_TOP_K").default == 3

    report = load_fixtures(fixtures_dir)
    assert not report.wrote_anything


@pytest.mark.django_db
def test_no_image_is_left_on_a_moving_tag(fixtures_dir: Path) -> None:
    load_fixtures(fixtures_dir)
    for image in InfrastructureService.objects.values_list("image", flat=True):
        assert "@sha256:" in image or not image.endswith((":latest", ":main", ":stable")), image
        assert ":" in image.rsplit("/", 1)[-1] or "@" in image, image


@pytest.mark.django_db
def test_it_refuses_a_variable_open_webui_does_not_read_and_writes_nothing(fixtures_dir: Path) -> None:
    edit(fixtures_dir / "openwebui" / "variables.json", lambda items: items[0].update(id="WEBUI_NAMEZ"))
    with pytest.raises(FixtureProblems) as error:
        load_fixtures(fixtures_dir)
    assert "entry 'WEBUI_NAMEZ', field 'id': Open WebUI v0.12.4 does not read this variable" in str(error.value)
    assert "openwebui/variables.json" in str(error.value)
    assert not InfrastructureService.objects.exists() and not OpenWebUIVariable.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_variable_the_release_sets_itself(fixtures_dir: Path) -> None:
    edit(fixtures_dir / "openwebui" / "variables.json", lambda items: items[0].update(id="ENABLE_PERSISTENT_CONFIG"))
    with pytest.raises(FixtureProblems, match="the release sets this variable itself"):
        load_fixtures(fixtures_dir)


@pytest.mark.django_db
def test_it_refuses_a_default_outside_the_variables_own_limits(fixtures_dir: Path) -> None:
    def change(items: list[dict]) -> None:
        by_id(items, "RAG_TOP_K").update(default=500)
        by_id(items, "DEFAULT_USER_ROLE").update(default="owner")

    edit(fixtures_dir / "openwebui" / "variables.json", change)
    with pytest.raises(FixtureProblems) as error:
        load_fixtures(fixtures_dir)
    assert "entry 'RAG_TOP_K', field 'default': 500 is above the maximum 100" in str(error.value)
    assert "entry 'DEFAULT_USER_ROLE', field 'default': 'owner' is not one of the options" in str(error.value)


@pytest.mark.django_db
def test_it_refuses_two_services_on_one_default_port_naming_both(fixtures_dir: Path) -> None:
    edit(
        fixtures_dir / "infrastructure" / "core.json", lambda items: by_id(items, "litellm").update(published_port=3000)
    )
    with pytest.raises(FixtureProblems) as error:
        load_fixtures(fixtures_dir)
    assert "entry 'litellm', field 'published_port': published port 3000 is already used by service 'openwebui'" in str(
        error.value
    )


@pytest.mark.django_db
def test_it_refuses_an_unpinned_image(fixtures_dir: Path) -> None:
    edit(
        fixtures_dir / "infrastructure" / "core.json",
        lambda items: by_id(items, "cockpit").update(image="quay.io/cockpit/ws:latest"),
    )
    with pytest.raises(FixtureProblems, match="entry 'cockpit', field 'image'"):
        load_fixtures(fixtures_dir)


@pytest.mark.django_db
def test_it_refuses_references_it_cannot_follow(fixtures_dir: Path) -> None:
    def change(items: list[dict]) -> None:
        by_id(items, "openwebui")["requires"].append("openwebui-postgress")
        by_id(items, "litellm")["config_files"].append({"path": "litellm/extra.yaml", "mount": "/app/extra.yaml"})

    edit(fixtures_dir / "infrastructure" / "core.json", change)
    with pytest.raises(FixtureProblems) as error:
        load_fixtures(fixtures_dir)
    text = str(error.value)
    assert "entry 'openwebui', field 'requires[3]': unknown service 'openwebui-postgress'" in text
    assert "entry 'litellm', field 'config_files[1].path': no template renders it" in text


@pytest.mark.django_db
def test_it_refuses_infrastructure_without_a_core_service(fixtures_dir: Path) -> None:
    edit(
        fixtures_dir / "infrastructure" / "core.json",
        lambda items: items.remove(by_id(items, "cockpit")),
    )
    with pytest.raises(FixtureProblems, match="add an entry for cockpit"):
        load_fixtures(fixtures_dir)


@pytest.mark.django_db
def test_it_loads_an_add_ons_companion_and_refuses_one_its_add_on_does_not_run(fixtures_dir: Path) -> None:
    companion = {
        "id": "searxng-cache-db",
        "name": "Cache of SearXNG",
        "role": "addon",
        "addon": "searxng",
        "image": "docker.io/valkey/valkey:8.1-alpine",
        "port": 6379,
    }
    addons = fixtures_dir / "infrastructure" / "addons.json"
    original = addons.read_text()

    def wanted(items: list[dict]) -> None:
        items.append(dict(companion))
        by_id(items, "searxng")["requires"].append("searxng-cache-db")

    edit(addons, wanted)
    load_fixtures(fixtures_dir)
    row = InfrastructureService.objects.get(pk="searxng-cache-db")
    assert not row.is_addon_main and InfrastructureService.objects.get(pk="searxng").is_addon_main

    addons.write_text(original)

    def stray(items: list[dict]) -> None:
        items.append({**companion, "openwebui_env": {"SEARXNG_QUERY_URL": "http://x:1/search?q=<query>"}})
        items.append({**companion, "id": "orphan-db", "addon": "no-such-main"})

    edit(addons, stray)
    with pytest.raises(FixtureProblems) as error:
        load_fixtures(fixtures_dir)
    text = str(error.value)
    assert "entry 'searxng-cache-db', field 'addon': a companion runs for its add-on's container" in text
    assert "entry 'searxng-cache-db', field 'openwebui_env': Open WebUI talks to the add-on's container" in text
    assert "entry 'orphan-db', field 'id': an add-on's main container is named after its marketplace service" in text
