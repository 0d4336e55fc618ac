"""End to end: releases cut through the service, the API and `cut_release --wait`, published by a real Celery
worker on Redis into a real S3 endpoint on loopback (moto's server), then read back from the bucket with boto3.

The worker is another process on the same test database, so these tests commit their rows
(``transaction=True``) and the catalog is loaded in each.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from leger.lib.storage import sha256_hex
from leger.releases import services
from leger.releases.models import Promotion, Release
from leger.releases.publishing import latest_key
from tests.releases import test_services_setup as setup
from tests.releases.test_services_setup import (
    forget_celery_connections,
    full_draft,
    minimal_draft,
    wait_until_done,
)
from tests.services import S3_ENV

catalog = setup.catalog
full_user = setup.full_user
ready_user = setup.ready_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _route_to_the_worker(celery_worker: Any) -> None:
    """Send tasks to the test worker's queue even after an eager ``.delay()`` earlier in the session."""
    forget_celery_connections()


@pytest.fixture
def read_bucket(worker_bucket: str, moto_server) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=S3_ENV["LEGER_S3_REGION"],
        aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
    )

    def objects(prefix: str) -> dict[str, bytes]:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=worker_bucket, Prefix=prefix).get("Contents", [])]
        return {key: client.get_object(Bucket=worker_bucket, Key=key)["Body"].read() for key in keys}

    return objects


def check_release_in_bucket(release: Release, objects: dict[str, bytes]) -> dict[str, Any]:
    """Every file the manifest lists is there with its checksum; the manifest has what the CLI reads."""
    owner_uuid = release.snapshot["release"]["owner_uuid"]
    prefix = f"{owner_uuid}/v{release.version}/"
    manifest = json.loads(objects[prefix + "manifest.json"])
    assert manifest["version"] == release.version
    assert manifest["user_uuid"] == owner_uuid
    assert manifest["name"] == release.name
    assert manifest["created_at"] == release.snapshot["release"]["cut_at"]
    assert manifest["networks"] and manifest["volumes"] and manifest["secrets"]
    for service in manifest["services"]:
        assert service["type"] == "container" and service["files"] and service["image"]
        assert {"depends_on", "ports", "secrets_required"} <= set(service)
        assert service["checksum"] == f"sha256:{sha256_hex(objects[prefix + service['name'] + '.container'])}"
    version_objects = {key for key in objects if key.startswith(prefix)}
    assert version_objects == {prefix + f["path"] for f in manifest["files"]} | {prefix + "manifest.json"}
    for entry in manifest["files"]:
        assert sha256_hex(objects[prefix + entry["path"]]) == entry["sha256"]
    return manifest


def test_the_worker_publishes_a_cut_release_and_the_bucket_holds_it(
    full_user: dict[str, Any], read_bucket: Any, celery_worker: Any
) -> None:
    user = full_user["user"]
    release = services.release_cut(release=full_draft(full_user), actor=user)
    assert release.status == Release.Status.QUEUED

    release = wait_until_done(release)
    assert release.status == Release.Status.PUBLISHED, release.error
    assert release.progress == 100
    assert f"release {release.pk} published as v1" in celery_worker.log.read_text()

    owner_uuid = release.snapshot["release"]["owner_uuid"]
    objects = read_bucket(f"{owner_uuid}/")
    manifest = check_release_in_bucket(release, objects)
    assert {s["name"] for s in manifest["services"]} >= {"openwebui", "searxng", "qdrant", "jupyter", "whisper"}
    assert objects[latest_key(owner_uuid)] == objects[f"{owner_uuid}/v1/manifest.json"]
    assert Promotion.objects.get().release == release

    # No stored key value reaches any byte of any uploaded object.
    for value in full_user["secret_values"]:
        for key, data in objects.items():
            assert value.encode() not in data, f"a key value leaked into {key}"


def test_releases_cut_through_the_api_and_the_command_are_published_and_latest_is_the_newest(
    ready_user: dict[str, Any], read_bucket: Any, celery_worker: Any
) -> None:
    user: User = ready_user["user"]
    api = APIClient()
    api.force_authenticate(user)

    created = api.post(
        "/api/v1/releases/", {"name": "from the api", "models": [{"model": "claude-haiku-4.5"}]}, format="json"
    )
    assert created.status_code == 201, created.json()
    answer = api.post(f"/api/v1/releases/{created.json()['id']}/cut/")
    assert answer.status_code == 202
    assert (answer.json()["status"], answer.json()["version"]) == ("queued", 1)
    first = wait_until_done(Release.objects.get(pk=created.json()["id"]))
    assert first.status == Release.Status.PUBLISHED, first.error

    files = api.get(f"/api/v1/releases/{first.pk}/files/").json()
    owner_uuid = first.snapshot["release"]["owner_uuid"]
    objects = read_bucket(f"{owner_uuid}/v1/")
    assert {f"{owner_uuid}/v1/{f['path']}": f["content"].encode() for f in files} == objects
    assert "Signature=" in api.get(f"/api/v1/releases/{first.pk}/").json()["manifest_url"]

    minimal_draft(user, "from the command")
    out = io.StringIO()
    call_command("cut_release", user=user.get_username(), from_latest_draft=True, wait=True, stdout=out)
    output = out.getvalue()
    assert "as v2: queued" in output
    assert "v2: published 100%" in output
    assert output.rstrip().endswith(f"v2 published: {owner_uuid}/v2/manifest.json")

    objects = read_bucket(f"{owner_uuid}/")
    second = Release.objects.get(version=2, owner=user)
    check_release_in_bucket(second, objects)
    latest = json.loads(objects[latest_key(owner_uuid)])
    assert (latest["version"], latest["name"]) == (2, "from the command")
    assert objects[latest_key(owner_uuid)] == objects[f"{owner_uuid}/v2/manifest.json"]
