"""A cut whose publishing really fails (the worker's bucket is gone), seen in the browser, then retried to published.

The worker retries a store error with backoff (tests/services.py gives it LEGER_PUBLISH_RETRY_BASE_SECONDS=1, so
1+2+4+8 s) before it marks the release failed; the page follows all of it without a reload.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import boto3
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from leger.catalog.models import Provider
from leger.providers.services import credential_create
from leger.releases import services
from leger.releases.models import Release
from leger.tailnet.services import tailnet_settings_put
from tests.e2e.pages import assert_accessible_basics
from tests.services import S3_ENV

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BUCKET = "leger-worker"  # the bucket the test worker publishes to (tests/services.py)
# Four retries of 1, 2, 4 and 8 s, each after a try that fails at once, plus a busy machine's slack.
FAILED_WITHIN_MS = 40_000
PUBLISHED_WITHIN_MS = 30_000


@pytest.fixture
def bucket(moto_server, leger_server) -> Iterator[object]:
    """The worker's bucket on the moto server; whatever a test does to it, it exists again afterwards."""
    client = boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=S3_ENV["LEGER_S3_REGION"],
        aws_access_key_id=S3_ENV["LEGER_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["LEGER_S3_SECRET_ACCESS_KEY"],
    )
    try:
        yield client
    finally:
        if BUCKET not in {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=BUCKET)


def delete_bucket(client) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def ready_draft(user: User, catalog) -> Release:
    """A draft that passed the four steps: a model with a key, tailnet settings."""
    key = "sk-ant-api03-" + secrets.token_urlsafe(36).replace("-", "x").replace("_", "y")
    credential_create(owner=user, provider=Provider.objects.get(pk="anthropic"), label="work", value=key)
    tailnet_settings_put(owner=user, tailnet="tail1234.ts.net", hostname="box", exposure="port", custom_domain="")
    draft = services.release_update(
        release=services.release_create(owner=user, name="Home box"), models=[{"model": "claude-haiku-4.5"}]
    )
    for step in services.STEPS:
        assert services.release_validate_step(release=draft, step=step) == {}
    draft.refresh_from_db()
    return draft


def test_a_cut_that_cannot_reach_the_bucket_fails_with_the_reason_and_retry_publishes_it(
    signed_in: Page, ready_draft: Release, bucket, screenshot
) -> None:
    page = signed_in
    page.goto(f"/releases/{ready_draft.pk}/summary/")
    delete_bucket(bucket)
    page.get_by_role("button", name="Cut and publish version 1").click()

    # While the worker retries, the page says it is publishing, and why the last try did not work.
    progress = page.locator("#release-progress")
    expect(progress.get_by_role("heading", name="Publishing version 1")).to_be_visible()
    expect(progress).to_contain_text("Trying again shortly", timeout=FAILED_WITHIN_MS)
    screenshot("retrying", of=progress)

    # Then it gives up: a clear failure with the reason and a Retry button; nothing says "publishing" any more.
    failed = page.get_by_role("region", name="Publishing version 1 failed")
    expect(failed).to_be_visible(timeout=FAILED_WITHIN_MS)
    expect(failed).to_contain_text("Nothing moved: latest still points where it did")
    expect(failed).to_contain_text(re.compile(r"bucket|NoSuchBucket", re.I))
    expect(page.locator("#release-body .badge").first).to_have_text("Failed")
    expect(progress).to_have_count(0)
    expect(page.get_by_text("publishing it now")).to_have_count(0)
    expect(page.locator("#release-announce")).to_have_text("Publishing v1 failed.")
    assert Release.objects.get(pk=ready_draft.pk).status == Release.Status.FAILED
    assert_accessible_basics(page)
    screenshot("failed")
    screenshot("failed", phone=True)

    # The bucket is back: Retry publishes it, and the page ends on the success, with nothing left of the failure.
    bucket.create_bucket(Bucket=BUCKET)
    failed.get_by_role("button", name="Retry publishing").click()
    expect(page.get_by_role("heading", name="Published v1")).to_be_visible(timeout=PUBLISHED_WITHIN_MS)
    expect(page.locator("#release-body .badge").first).to_have_text("Published")
    expect(page.get_by_role("heading", name=re.compile("failed"))).to_have_count(0)
    expect(page.get_by_role("heading", name="Publishing version 1")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry publishing")).to_have_count(0)
    expect(page.get_by_role("heading", name="Install it")).to_be_visible()
    expect(page.locator("#install-run")).to_contain_text("leger deploy install v1 --source")
    release = Release.objects.get(pk=ready_draft.pk)
    assert release.status == Release.Status.PUBLISHED and release.error == ""
    keys = bucket.list_objects_v2(Bucket=BUCKET, Prefix=release.snapshot["release"]["owner_uuid"])["Contents"]
    assert any(item["Key"].endswith("/latest/manifest.json") for item in keys)
    screenshot("retried")
