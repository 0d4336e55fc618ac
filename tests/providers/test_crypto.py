from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from leger.providers import crypto
from leger.providers.checks import fernet_keys_usable

from .conftest import a_key


def test_it_encrypts_to_a_token_that_does_not_contain_the_value() -> None:
    value = a_key()
    token = crypto.encrypt(value)
    assert value not in token
    assert crypto.is_token(token)
    assert crypto.decrypt(token) == value


def test_two_encryptions_of_one_value_differ() -> None:
    value = a_key()
    assert crypto.encrypt(value) != crypto.encrypt(value)


def test_old_keys_still_decrypt_until_removed_and_reencrypt_moves_to_the_newest(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    value = a_key()
    settings.LEGER_FERNET_KEYS = [old]
    old_token = crypto.encrypt(value)

    settings.LEGER_FERNET_KEYS = [new, old]
    assert crypto.decrypt(old_token) == value
    new_token = crypto.reencrypt(old_token)
    assert new_token != old_token

    settings.LEGER_FERNET_KEYS = [new]
    assert crypto.decrypt(new_token) == value
    with pytest.raises(crypto.UndecryptableError) as refused:
        crypto.decrypt(old_token)
    assert "LEGER_FERNET_KEYS" in str(refused.value)
    assert value not in str(refused.value)


def test_new_values_are_encrypted_under_the_first_key(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LEGER_FERNET_KEYS = [new, old]
    token = crypto.encrypt("sk-something-long-enough")
    assert Fernet(new).decrypt(token.encode()) == b"sk-something-long-enough"


def test_a_malformed_key_is_named_by_position_and_never_echoed(settings) -> None:
    settings.LEGER_FERNET_KEYS = [Fernet.generate_key().decode(), "not-a-fernet-key-but-secret-anyway"]
    with pytest.raises(ImproperlyConfigured) as refused:
        crypto.encrypt("x")
    assert "entry 2 of 2" in str(refused.value)
    assert "not-a-fernet-key-but-secret-anyway" not in str(refused.value)
    problems = fernet_keys_usable()
    assert [problem.id for problem in problems] == ["leger.providers.E001"]
    assert "not-a-fernet-key-but-secret-anyway" not in problems[0].msg


def test_an_empty_key_list_is_refused(settings) -> None:
    settings.LEGER_FERNET_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="LEGER_FERNET_KEYS is empty"):
        crypto.encrypt("x")


def test_the_configured_keys_pass_the_system_check() -> None:
    assert fernet_keys_usable() == []


@pytest.mark.parametrize(
    ("value", "prefix", "masked"),
    [
        ("sk-ant-api03-abcdefghijklmnopqrstu9f2c", "sk-ant-", "sk-ant-…9f2c"),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz1234", "sk-", "sk-…1234"),
        ("abcdefghijklmnopqrstuvwxyz0123456789wxyz", "", "…wxyz"),
        # A prefix the value does not carry is not shown as if it did.
        ("gsk_abcdefghijklmnopqrstuvwx9f2c", "sk-", "…9f2c"),
        # On a short value four characters would give away too much: no tail at all.
        ("sk-ant-abc123", "sk-ant-", "sk-ant-…"),
        ("short", "", "…"),
    ],
)
def test_it_masks_to_the_known_prefix_and_the_last_four(value: str, prefix: str, masked: str) -> None:
    assert crypto.mask(value, prefix) == masked


def test_it_tells_tokens_from_other_text() -> None:
    assert crypto.is_token(crypto.encrypt("anything"))
    assert not crypto.is_token("sk-ant-api03-abcdefghijklmnop")
    assert not crypto.is_token("gAAAAA")
    assert not crypto.is_token("")
