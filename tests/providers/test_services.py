from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError

from leger.catalog.models import Provider
from leger.providers import crypto, services
from leger.providers.audit import AccessSource
from leger.providers.models import AuditEntry, Credential
from leger.providers.selectors import configured_provider_ids, credential_usages
from leger.providers.usage import register_credential_usage, unregister_credential_usage

from .conftest import a_key

pytestmark = pytest.mark.django_db

WEB = AccessSource(channel="web", ip="192.0.2.7", user_agent="Firefox")


def raw_value_column(credential: Credential) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM providers_credential WHERE id = %s", [credential.pk])
        return cursor.fetchone()[0]


def test_the_value_column_holds_ciphertext_only(alice: User, anthropic: Provider) -> None:
    value = a_key()
    credential = services.credential_create(owner=alice, provider=anthropic, label="work", value=value)
    stored = raw_value_column(credential)
    assert stored != value
    assert value not in stored
    assert value[len("sk-ant-api03-") :][:12] not in stored
    assert crypto.is_token(stored)
    assert crypto.decrypt(stored) == value


def test_a_new_key_gets_its_name_env_var_and_masked_form(alice: User, anthropic: Provider) -> None:
    value = a_key()
    credential = services.credential_create(owner=alice, provider=anthropic, label="work", value=value)
    assert credential.secret_name == "anthropic_api_key"
    assert credential.env_var == "ANTHROPIC_API_KEY"
    assert credential.masked == f"sk-ant-…{value[-4:]}"
    assert credential.rotated_at is None


def test_further_keys_for_a_provider_get_distinct_names_that_never_change(alice: User, anthropic: Provider) -> None:
    first = services.credential_create(owner=alice, provider=anthropic, label="personal", value=a_key())
    second = services.credential_create(owner=alice, provider=anthropic, label="work", value=a_key())
    third = services.credential_create(owner=alice, provider=anthropic, label="Work!", value=a_key())
    assert [first.secret_name, second.secret_name, third.secret_name] == [
        "anthropic_api_key",
        "anthropic_api_key_work",
        "anthropic_api_key_2",
    ]
    services.credential_rename(credential=second, label="office")
    services.credential_rotate(credential=second, value=a_key())
    second.refresh_from_db()
    assert second.secret_name == "anthropic_api_key_work"


def test_secret_names_are_per_owner(alice: User, bob: User, anthropic: Provider) -> None:
    services.credential_create(owner=alice, provider=anthropic, label="work", value=a_key())
    bobs = services.credential_create(owner=bob, provider=anthropic, label="work", value=a_key())
    assert bobs.secret_name == "anthropic_api_key"


def test_an_empty_label_becomes_default_and_a_second_one_is_refused(alice: User, mistral: Provider) -> None:
    credential = services.credential_create(owner=alice, provider=mistral, label="  ", value=a_key(""))
    assert credential.label == "default"
    assert credential.masked.startswith("…")
    with pytest.raises(ValidationError) as refused:
        services.credential_create(owner=alice, provider=mistral, label="", value=a_key(""))
    assert "already have a key labelled “default” for Mistral" in refused.value.message_dict["label"][0]
    assert Credential.objects.count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Paste your Anthropic key; this field is empty."),
        ("    ", "Paste your Anthropic key; this field is empty."),
        ("\n\t", "Paste your Anthropic key; this field is empty."),
        ("sk-ant-api03-abcdefgh ijklmnopqrstuvwxyz", "spaces or line breaks"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n", "spaces or line breaks"),
        (" sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "spaces or line breaks"),
        ("sk-ant-api03-abcdefghijklmnopq\r\nrstuvwxyz", "spaces or line breaks"),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz012345", 'Anthropic keys start with "sk-ant-" and this one does not'),
        ("sk-ant-abc", "too short to be a key for Anthropic"),
        ("sk-ant-api03-abcdéfghijklmnopqrstuvwxyz", "characters API keys do not use"),
        ("sk-ant-api03-abc\x00defghijklmnopqrstuvwxyz", "characters API keys do not use"),
        ("sk-ant-" + "a" * 3000, "longer than any API key"),
    ],
)
def test_it_refuses_bad_keys_with_a_message_and_saves_nothing(
    alice: User, anthropic: Provider, value: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.credential_create(owner=alice, provider=anthropic, label="work", value=value)
    errors = refused.value.message_dict
    assert list(errors) == ["value"]
    assert message in errors["value"][0]
    if value.strip():
        assert value.strip() not in str(refused.value)
        assert value.strip() not in repr(refused.value)
    assert Credential.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_the_wrong_prefix_message_says_where_to_get_a_key(alice: User, anthropic: Provider) -> None:
    with pytest.raises(ValidationError) as refused:
        services.credential_create(owner=alice, provider=anthropic, label="", value="sk-proj-abcdefghijklmnopqrstuvw")
    assert "https://console.anthropic.com/settings/keys" in refused.value.message_dict["value"][0]


def test_a_provider_without_a_documented_prefix_takes_any_one_line_key(alice: User, mistral: Provider) -> None:
    credential = services.credential_create(owner=alice, provider=mistral, label="", value="Zx81abcdefghijklmnop")
    assert credential.secret_name == "mistral_api_key"


def test_service_keys_of_marketplace_add_ons_are_accepted(alice: User, tavily: Provider) -> None:
    credential = services.credential_create(owner=alice, provider=tavily, label="", value=a_key("tvly-dev-"))
    assert (credential.secret_name, credential.env_var) == ("tavily_api_key", "TAVILY_API_KEY")


def test_a_local_provider_takes_no_key(alice: User, llama_cpp: Provider) -> None:
    with pytest.raises(ValidationError) as refused:
        services.credential_create(owner=alice, provider=llama_cpp, label="", value=a_key())
    assert "needs no key" in refused.value.message_dict["provider"][0]
    assert Credential.objects.count() == 0


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("work\nhome", "on one line"),
        ("work\thome", "on one line"),
        ("x" * 101, "100 characters or fewer (this one has 101)"),
    ],
)
def test_it_refuses_bad_labels(alice: User, anthropic: Provider, label: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.credential_create(owner=alice, provider=anthropic, label=label, value=a_key())
    assert message in refused.value.message_dict["label"][0]
    assert Credential.objects.count() == 0


def test_both_label_and_key_problems_are_reported_at_once(alice: User, anthropic: Provider) -> None:
    with pytest.raises(ValidationError) as refused:
        services.credential_create(owner=alice, provider=anthropic, label="a\nb", value="")
    assert set(refused.value.message_dict) == {"label", "value"}


def test_renaming_checks_the_label_and_keeps_it_unique(alice: User, anthropic: Provider) -> None:
    work = services.credential_create(owner=alice, provider=anthropic, label="work", value=a_key())
    services.credential_create(owner=alice, provider=anthropic, label="home", value=a_key())
    with pytest.raises(ValidationError) as refused:
        services.credential_rename(credential=work, label="home")
    assert "already have a key labelled “home” for Anthropic" in refused.value.message_dict["label"][0]
    with pytest.raises(ValidationError):
        services.credential_rename(credential=work, label="   ")
    work.refresh_from_db()
    assert work.label == "work"
    services.credential_rename(credential=work, label="  office  ")
    work.refresh_from_db()
    assert work.label == "office"


def test_rotating_replaces_the_value_and_records_when(alice_key: tuple[Credential, str]) -> None:
    credential, _ = alice_key
    old_token = raw_value_column(credential)
    new_value = a_key()
    services.credential_rotate(credential=credential, value=new_value)
    credential.refresh_from_db()
    assert raw_value_column(credential) != old_token
    assert crypto.decrypt(credential.value) == new_value
    assert credential.masked.endswith(new_value[-4:])
    assert credential.rotated_at is not None


def test_a_bad_replacement_keeps_the_old_value(alice_key: tuple[Credential, str]) -> None:
    credential, old_value = alice_key
    with pytest.raises(ValidationError) as refused:
        services.credential_rotate(credential=credential, value="sk-ant-api03-has a space-abcdefgh")
    assert "spaces or line breaks" in refused.value.message_dict["value"][0]
    credential.refresh_from_db()
    assert crypto.decrypt(credential.value) == old_value
    assert credential.rotated_at is None


def test_deleting_keeps_the_audit_trail(alice_key: tuple[Credential, str], alice: User) -> None:
    credential, _ = alice_key
    services.credential_delete(credential=credential, actor=alice, source=WEB)
    assert not Credential.objects.exists()
    deleted = AuditEntry.objects.get(action="deleted")
    assert (deleted.secret_name, deleted.credential_id, deleted.actor_name) == ("anthropic_api_key", None, "alice")
    assert AuditEntry.objects.filter(action="created", secret_name="anthropic_api_key").exists()


def test_deleting_a_key_another_section_protects_says_who_holds_it(
    alice_key: tuple[Credential, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    credential, _ = alice_key

    def protected_delete(*args: object, **kwargs: object) -> None:
        raise ProtectedError("protected", {"marketplace selection Tavily"})

    monkeypatch.setattr(Credential, "delete", protected_delete)
    with pytest.raises(ValidationError) as refused:
        services.credential_delete(credential=credential)
    assert "still in use: marketplace selection Tavily" in refused.value.messages[0]
    assert not AuditEntry.objects.filter(action="deleted").exists()


def test_revealing_returns_the_value_and_audits_who_when_and_from_where(
    alice_key: tuple[Credential, str], alice: User
) -> None:
    credential, value = alice_key
    source = AccessSource(channel="api", ip="198.51.100.4", user_agent="leger-cli/0.4")
    assert services.credential_reveal(credential=credential, actor=alice, source=source) == value
    assert credential.reveal(actor=alice, source=source) == value
    reads = AuditEntry.objects.filter(action="read")
    assert reads.count() == 2
    read = reads.first()
    assert (read.owner, read.actor, read.secret_name, read.channel, read.ip, read.user_agent) == (
        alice,
        alice,
        "anthropic_api_key",
        "api",
        "198.51.100.4",
        "leger-cli/0.4",
    )
    assert read.at is not None


def test_only_the_owner_can_reveal_a_value(alice_key: tuple[Credential, str], bob: User) -> None:
    credential, value = alice_key
    with pytest.raises(PermissionDenied) as refused:
        services.credential_reveal(credential=credential, actor=bob, source=WEB)
    assert value not in str(refused.value)
    assert not AuditEntry.objects.filter(action="read").exists()


def test_the_field_refuses_to_store_a_plaintext(alice: User, anthropic: Provider) -> None:
    value = a_key()
    credential = Credential(owner=alice, provider=anthropic, label="x", value=value, secret_name="x", masked="…")
    with pytest.raises(ValueError) as refused, transaction.atomic():
        credential.save()
    assert "only stores Fernet tokens" in str(refused.value)
    assert value not in str(refused.value)
    assert not Credential.objects.exists()


def test_reencrypting_all_moves_every_key_to_the_newest_key(settings, alice: User, bob: User, anthropic) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LEGER_FERNET_KEYS = [old]
    values = {}
    for owner in (alice, bob):
        value = a_key()
        values[services.credential_create(owner=owner, provider=anthropic, label="k", value=value).pk] = value

    settings.LEGER_FERNET_KEYS = [new, old]
    result = services.credentials_reencrypt_all()
    assert (result.total, result.reencrypted, result.unreadable) == (2, 2, [])

    settings.LEGER_FERNET_KEYS = [new]
    for credential in Credential.objects.all():
        assert crypto.decrypt(raw_value_column(credential)) == values[credential.pk]


def test_reencrypting_reports_keys_it_cannot_open_and_leaves_them(settings, alice: User, anthropic) -> None:
    lost, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LEGER_FERNET_KEYS = [lost]
    credential = services.credential_create(owner=alice, provider=anthropic, label="k", value=a_key())
    token = raw_value_column(credential)
    settings.LEGER_FERNET_KEYS = [new]
    result = services.credentials_reencrypt_all()
    assert result.reencrypted == 0
    assert result.unreadable == [f"credential {credential.pk} (anthropic_api_key of user {alice.pk})"]
    assert raw_value_column(credential) == token


def test_configured_provider_ids_are_the_users_own_in_one_query(
    alice: User, bob: User, anthropic: Provider, mistral: Provider, tavily: Provider, django_assert_num_queries
) -> None:
    services.credential_create(owner=alice, provider=anthropic, label="a", value=a_key())
    services.credential_create(owner=alice, provider=anthropic, label="b", value=a_key())
    services.credential_create(owner=alice, provider=tavily, label="", value=a_key("tvly-"))
    services.credential_create(owner=bob, provider=mistral, label="", value=a_key(""))
    with django_assert_num_queries(1):
        assert configured_provider_ids(user=alice) == {"anthropic", "tavily"}
    assert configured_provider_ids(user=bob) == {"mistral"}
    assert configured_provider_ids(user=AnonymousUser()) == set()


def test_usage_lookups_registered_by_other_sections_describe_who_uses_a_key(
    alice_key: tuple[Credential, str], bob_key: tuple[Credential, str]
) -> None:
    credential, _ = alice_key

    def drafts_using(candidate: Credential) -> list[str]:
        return ["draft release 'home'"] if candidate.pk == credential.pk else []

    register_credential_usage(drafts_using)
    register_credential_usage(drafts_using)  # twice is harmless
    try:
        assert credential_usages(credential=credential) == ["draft release 'home'"]
        assert credential_usages(credential=bob_key[0]) == []
    finally:
        unregister_credential_usage(drafts_using)
    assert credential_usages(credential=credential) == []
