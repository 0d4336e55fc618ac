"""Every marketplace service runs in the release with everything it needs, or is honestly external."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from leger.marketplace.models import Service
from leger.releases.models import InfrastructureService
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import select

catalog = setup.catalog

pytestmark = pytest.mark.django_db


def test_every_service_offered_as_a_container_has_one(catalog: None) -> None:
    containers = set(InfrastructureService.objects.filter(role="addon").values_list("addon", flat=True))
    offered = list(Service.objects.filter(enabled=True, runtime="container").values_list("pk", flat=True))
    assert offered, "no container service: the check below proved nothing"
    assert [service for service in offered if service not in containers] == []


@pytest.mark.parametrize(("service", "variable"), [("pgvector", "PGVECTOR_DB_URL"), ("comfyui", "COMFYUI_BASE_URL")])
def test_a_service_that_runs_elsewhere_cannot_be_chosen_without_its_address(
    alice: User, catalog: None, service: str, variable: str
) -> None:
    """pgvector: Open WebUI's own database in a release has no vector extension. ComfyUI: Leger runs no ComfyUI
    (it needs a GPU and the checkpoints its workflow loads)."""
    assert Service.objects.get(pk=service).runtime == "external"
    with pytest.raises(ValidationError) as refused:
        select(alice, service)
    assert variable in str(refused.value) and "required" in str(refused.value)


def test_every_setting_says_what_happens_when_it_is_left_empty(catalog: None) -> None:
    """A setting the page may leave empty says what the program then does (or has a default Leger writes)."""
    from leger.marketplace.models import Variable

    silent = [
        f"{variable.service_id or variable.slot_id}: {variable.name}"
        for variable in Variable.objects.filter(default__isnull=True, required=False).exclude(type="secret")
        if "empty" not in variable.help_text.lower()
    ]
    assert silent == []
