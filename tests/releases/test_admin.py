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
