from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.models import Credential

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
        "Re-encrypted 3 of 3 credentials under the newest key (0 replaced meanwhile, 0 unreadable)." in out.getvalue()
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
    with pytest.raises(CommandError, match="1 credentials could not be re-encrypted"):
        call_command("rotate_credentials", stdout=out, stderr=err)
    assert "0 of 1" in out.getvalue()
    assert "anthropic_api_key" in err.getvalue()
