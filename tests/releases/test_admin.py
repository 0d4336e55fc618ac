from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from leger.releases.models import InfrastructureService, OpenWebUIVariable


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "root-password-1"))
    return client


def test_the_infrastructure_admin_lists_and_shows_services(admin_client: Client) -> None:
    InfrastructureService.objects.create(
        id="tika", name="Apache Tika", role="addon", addon="tika", image="docker.io/apache/tika:3.2.3.0-full", port=9998
    )
    page = admin_client.get("/admin/releases/infrastructureservice/?q=tika")
    assert page.status_code == 200 and b"docker.io/apache/tika:3.2.3.0-full" in page.content
    detail = admin_client.get("/admin/releases/infrastructureservice/tika/change/")
    assert detail.status_code == 200 and b"Exposure defaults" in detail.content


def test_the_open_webui_variable_admin_lists_and_filters_variables(admin_client: Client) -> None:
    OpenWebUIVariable.objects.create(
        name="RAG_TOP_K", label="Passages", group="rag", type="int", default=3, help_text="How many passages."
    )
    page = admin_client.get("/admin/releases/openwebuivariable/?group__exact=rag")
    assert page.status_code == 200 and b"RAG_TOP_K" in page.content


def test_an_admin_edit_a_release_would_refuse_is_refused_next_to_the_field(admin_client: Client) -> None:
    InfrastructureService.objects.create(
        id="tika", name="Apache Tika", role="addon", addon="tika", image="docker.io/apache/tika:3.2.3.0-full", port=9998
    )
    page = admin_client.get("/admin/releases/infrastructureservice/tika/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {key: ("" if value is None else value) for key, value in data.items()}
    data.update(image="docker.io/apache/tika:latest", health='{"cmd": "curl -f http://localhost:9998/ || exit 1%"}')
    answer = admin_client.post("/admin/releases/infrastructureservice/tika/change/", data)
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "image" in errors and "health" in errors
    assert InfrastructureService.objects.get(id="tika").image == "docker.io/apache/tika:3.2.3.0-full"


def test_a_variable_open_webui_does_not_read_is_refused_in_the_admin(admin_client: Client) -> None:
    answer = admin_client.post(
        "/admin/releases/openwebuivariable/add/",
        {
            "name": "WEBUI_NAMEZ",
            "label": "Name",
            "group": "general",
            "type": "string",
            "default": '"x"',
            "options": "[]",
            "help_text": "A name.",
            "order": 0,
        },
    )
    assert answer.status_code == 200
    assert "Open WebUI v0.12.4 does not read this variable" in str(answer.context["adminform"].form.errors["name"])
    assert not OpenWebUIVariable.objects.exists()
