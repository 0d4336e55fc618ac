"""The leger CLI's bearer tokens: ``leg_`` and a JWT (HS256) that names its owner, device and expiry.

The signature makes a token unforgeable; its ``jti`` row (``CliToken``) makes it revocable. Both are checked on
every request, so a token revoked on /account/ stops working at once, before it expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from leger.cli.models import CliToken

PREFIX = "leg_"
ALGORITHM = "HS256"
# A token's last use is written at most this often, so a `secrets sync` of 50 secrets costs one UPDATE, not 50.
_TOUCH_EVERY = dt.timedelta(minutes=1)


class InvalidToken(Exception):
    """Not a token of ours, expired, revoked, or its owner is gone; the message says which and what to do."""


@dataclass(frozen=True)
class Identity:
    """What Tailscale's API confirmed about the machine signing in."""

    login_name: str
    user_id: str  # the CLI's numeric Tailscale user id, as it sent it
    device_ip: str
    device_hostname: str
    device_id: str  # Tailscale's own id of the device
    cli_version: str = ""


def _key() -> bytes:
    if settings.LEGER_CLI_TOKEN_KEY:
        return settings.LEGER_CLI_TOKEN_KEY.encode("utf-8")
    # Derived, so SECRET_KEY's other uses (sessions, password resets) never sign a CLI token.
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), b"leger-cli-token", hashlib.sha256).digest()


def token_issue(*, owner: AbstractBaseUser, owner_uuid: str, identity: Identity) -> tuple[str, CliToken]:
    """A new token for ``owner``'s verified machine: the string to hand out (once) and its row."""
    now = timezone.now()
    row = CliToken.objects.create(
        jti=uuid.uuid4(),
        owner=owner,
        login_name=identity.login_name,
        device_ip=identity.device_ip,
        device_hostname=identity.device_hostname[:255],
        device_id=identity.device_id[:100],
        cli_version=identity.cli_version[:50],
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.LEGER_CLI_TOKEN_DAYS),
    )
    claims = {
        "sub": owner_uuid,
        "jti": str(row.jti),
        "email": identity.login_name,
        "tailscale_user_id": identity.user_id,
        "tailscale_device_id": identity.device_ip,
        "iat": int(now.timestamp()),
        "exp": int(row.expires_at.timestamp()),
    }
    return PREFIX + jwt.encode(claims, _key(), algorithm=ALGORITHM), row


def token_verify(raw: str) -> CliToken:
    """The live row of a token string; raises InvalidToken saying why it is refused."""
    if not raw.startswith(PREFIX):
        raise InvalidToken("This is not a leger CLI token; sign in again with: leger auth login")
    try:
        claims = jwt.decode(
            raw[len(PREFIX) :], _key(), algorithms=[ALGORITHM], options={"require": ["exp", "iat", "jti", "sub"]}
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("Your token expired; sign in again with: leger auth login") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("Your token is not valid here; sign in again with: leger auth login") from None
    try:
        jti = uuid.UUID(str(claims["jti"]))
    except ValueError:
        raise InvalidToken("Your token is not valid here; sign in again with: leger auth login") from None
    row = CliToken.objects.select_related("owner", "owner__release_owner").filter(jti=jti).first()
    now = timezone.now()
    owner_uuid = str(row.owner.release_owner.uuid) if row is not None and hasattr(row.owner, "release_owner") else ""
    if row is None or not row.owner.is_active or owner_uuid != claims["sub"]:
        raise InvalidToken("Your token is not valid here; sign in again with: leger auth login")
    if row.revoked_at is not None:
        raise InvalidToken("Your token was revoked on /account/; sign in again with: leger auth login")
    if row.expires_at <= now:
        raise InvalidToken("Your token expired; sign in again with: leger auth login")
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        CliToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


def user_for_token(raw: str) -> AbstractBaseUser | None:
    """The owner of a valid, unrevoked token, or None."""
    try:
        return token_verify(raw).owner
    except InvalidToken:
        return None


def token_revoke(*, owner: AbstractBaseUser, token_id: int | None = None) -> int:
    """Revoke one of the owner's tokens (or all of them); returns how many were live."""
    tokens = CliToken.objects.filter(owner=owner, revoked_at__isnull=True)
    if token_id is not None:
        tokens = tokens.filter(pk=token_id)
    return tokens.update(revoked_at=timezone.now())


def token_list(*, owner: AbstractBaseUser) -> list[CliToken]:
    """The owner's tokens that still work, newest first."""
    return list(CliToken.objects.filter(owner=owner, revoked_at__isnull=True, expires_at__gt=timezone.now()))


__all__ = [
    "PREFIX",
    "Identity",
    "InvalidToken",
    "token_issue",
    "token_list",
    "token_revoke",
    "token_verify",
    "user_for_token",
]
