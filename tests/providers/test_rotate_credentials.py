from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.models import Credential
from leger.providers.rotation import (
    ReencryptResult,
    encrypted_columns,
    register_reencryption,
    registered_reencryptions,
    unregister_reencryption,
)

from .conftest import a_key

pytestmark = pytest.mark.django_db


def test_it_reencrypts_every_credential_under_the_newest_key_and_prints_counts(
    settings, alice: User, bob: User, anthropic: Provider
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LEGER_FERNET_KEYS = [old]
    values = {}
    for owner, label in ((alice, "a"), (alice, "b"), (bob, "a")):
        value = a_key()
        values[services.credential_create(owner=owner, provider=anthropic, label=label, value=value).pk] = value

    settings.LEGER_FERNET_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_credentials", stdout=out)
    assert (
        "credentials: re-encrypted 3 of 3 under the newest key (0 replaced meanwhile, 0 unreadable)." in out.getvalue()
    )
    for value in values.values():
        assert value not in out.getvalue()

    settings.LEGER_FERNET_KEYS = [new]  # the old key is gone, and nothing needed it any more
    for credential in Credential.objects.all():
        assert crypto.decrypt(credential.value) == values[credential.pk]


def test_it_fails_loudly_when_a_credential_opens_with_no_configured_key(
    settings, alice: User, anthropic: Provider
) -> None:
    settings.LEGER_FERNET_KEYS = [Fernet.generate_key().decode()]
    services.credential_create(owner=alice, provider=anthropic, label="a", value=a_key())
    settings.LEGER_FERNET_KEYS = [Fernet.generate_key().decode()]
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 secrets could not be re-encrypted"):
        call_command("rotate_credentials", stdout=out, stderr=err)
    assert "credentials: re-encrypted 0 of 1" in out.getvalue()
    assert "anthropic_api_key" in err.getvalue()


def test_every_encrypted_column_is_found_for_rotation() -> None:
    # Other sections' EncryptedTextField columns (e.g. the tailnet auth key) are rotated with no registration.
    assert (Credential, "value") in encrypted_columns()


def test_stores_other_sections_register_are_rotated_and_reported(settings, alice: User, anthropic: Provider) -> None:
    calls = []

    def reencrypt_json_secrets() -> ReencryptResult:
        calls.append(True)
        return ReencryptResult(total=2, reencrypted=1, unreadable=["marketplace selection 7: TAVILY_API_KEY"])

    # Stands in for the marketplace's real registration, which is put back afterwards for the tests that use it.
    real = registered_reencryptions().get("marketplace secret values")
    register_reencryption("marketplace secret values", reencrypt_json_secrets)
    try:
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError, match="1 secrets could not be re-encrypted"):
            call_command("rotate_credentials", stdout=out, stderr=err)
    finally:
        unregister_reencryption("marketplace secret values")
        if real is not None:
            register_reencryption("marketplace secret values", real)
    assert calls == [True]
    assert (
        "marketplace secret values: re-encrypted 1 of 2 under the newest key (0 replaced meanwhile, 1 unreadable)."
        in (out.getvalue())
    )
    assert "Cannot decrypt marketplace selection 7: TAVILY_API_KEY" in err.getvalue()
