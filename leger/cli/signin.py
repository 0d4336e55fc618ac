"""``leger auth login``: trust nothing the CLI claims until Tailscale's API confirms it.

The CLI reads its identity from the local tailscaled and posts it (login name, tailnet, the device's Tailscale
IP as ``device_id``, hostname, numeric user id). Anyone can post any of that, so Leger asks Tailscale itself,
with the API access token the user linked on /settings, for the devices of the claimed tailnet, and signs the
CLI in only when one of them

- has the claimed address,
- is owned by the claimed login name, which is the login name linked on /settings,
- is authorized, and
- has not expired (or has key expiry disabled).

Every attempt is recorded (``SignInAttempt``; in the owner's audit log once the login name names an owner), and
attempts are limited per client address and per login name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from leger.cli import envelope
from leger.cli.models import SignInAttempt
from leger.cli.tokens import Identity, token_issue
from leger.providers import crypto
from leger.providers.audit import AccessSource
from leger.providers.models import AuditEntry
from leger.releases.services import owner_for
from leger.tailnet.selectors import tailnet_for_login
from leger.tailnet.tailscale_api import Device, TailscaleRefused, TailscaleUnavailable, list_devices

logger = logging.getLogger(__name__)

_FIELD_MAX = 255


class SignInRefused(Exception):
    """The sign-in is refused: ``code`` and ``status`` for the CLI, ``message`` says what to change."""

    def __init__(self, code: str, message: str, *, status: int, outcome: str = SignInAttempt.Outcome.REFUSED) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.outcome = outcome


@dataclass(frozen=True)
class Claim:
    """What the CLI says about itself, read from its body (nothing verified yet)."""

    user_id: str
    login_name: str
    device_ip: str
    device_hostname: str
    tailnet: str
    cli_version: str


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_in: int
    user_uuid: str
    login_name: str
    display_name: str


def read_claim(body: dict[str, Any]) -> Claim:
    tailscale = body.get("tailscale")
    if not isinstance(tailscale, dict):
        raise SignInRefused(
            envelope.INVALID_REQUEST,
            'Send {"tailscale": {"user_id", "login_name", "device_id", "device_hostname", "tailnet"}}.',
            status=400,
        )

    def text(mapping: dict[str, Any], name: str) -> str:
        value = mapping.get(name, "")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise SignInRefused(envelope.INVALID_REQUEST, f"tailscale.{name} must be text.", status=400)
        value = str(value).strip()
        if len(value) > _FIELD_MAX or "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise SignInRefused(
                envelope.INVALID_REQUEST, f"tailscale.{name} must be at most {_FIELD_MAX} characters.", status=400
            )
        return value

    claim = Claim(
        user_id=text(tailscale, "user_id"),
        login_name=text(tailscale, "login_name"),
        device_ip=text(tailscale, "device_id"),
        device_hostname=text(tailscale, "device_hostname"),
        tailnet=text(tailscale, "tailnet"),
        cli_version=text(body, "cli_version")[:50],
    )
    missing = [name for name, value in (("login_name", claim.login_name), ("tailnet", claim.tailnet)) if not value]
    if not claim.device_ip:
        missing.append("device_id")
    if missing:
        raise SignInRefused(envelope.INVALID_REQUEST, f"tailscale.{', tailscale.'.join(missing)} missing.", status=400)
    return claim


def _too_many(claim: Claim | None, client_ip: str | None) -> bool:
    since = timezone.now() - dt.timedelta(seconds=settings.LEGER_CLI_SIGNIN_WINDOW_SECONDS)
    recent = SignInAttempt.objects.filter(at__gte=since).exclude(outcome=SignInAttempt.Outcome.LIMITED)
    scope = Q(client_ip=client_ip) if client_ip else Q(pk__in=[])
    if claim is not None and claim.login_name:
        scope |= Q(login_name__iexact=claim.login_name)
    return recent.filter(scope).count() >= settings.LEGER_CLI_SIGNIN_LIMIT


def _claimed_address(claim: Claim) -> str:
    try:
        return str(ipaddress.ip_address(claim.device_ip))
    except ValueError:
        raise SignInRefused(
            envelope.VERIFICATION_FAILED,
            "device_id must be the machine's Tailscale IP address (what `tailscale ip -4` prints).",
            status=403,
        ) from None


def _matching_device(devices: list[Device], claim: Claim, login_name: str) -> Device:
    address = _claimed_address(claim)
    device = next((d for d in devices if address in {str(ipaddress.ip_address(a)) for a in d.addresses}), None)
    if device is None:
        raise SignInRefused(
            envelope.VERIFICATION_FAILED,
            f"No device of tailnet {claim.tailnet} has the address {address}. Check `tailscale status` on this "
            "machine, and that the token linked on /settings belongs to this tailnet.",
            status=403,
        )
    if device.user.lower() != claim.login_name.lower() or device.user.lower() != login_name.lower():
        raise SignInRefused(
            envelope.VERIFICATION_FAILED,
            f"The device {device.hostname or address} belongs to another Tailscale user, not {claim.login_name}.",
            status=403,
        )
    if not device.authorized:
        raise SignInRefused(
            envelope.VERIFICATION_FAILED,
            f"The device {device.hostname or address} is not authorized in the tailnet; approve it in Tailscale's "
            "admin console first.",
            status=403,
        )
    if device.is_expired(timezone.now()):
        raise SignInRefused(
            envelope.VERIFICATION_FAILED,
            f"The device {device.hostname or address}'s Tailscale key has expired; run `tailscale up` to "
            "re-authenticate it.",
            status=403,
        )
    return device


def _record(
    *,
    claim: Claim | None,
    client: AccessSource,
    outcome: str,
    reason: str,
    owner: Any = None,
    token: Any = None,
) -> None:
    SignInAttempt.objects.create(
        owner=owner,
        login_name=(claim.login_name if claim else "")[:_FIELD_MAX],
        device_ip=(claim.device_ip if claim else "")[:100],
        device_hostname=(claim.device_hostname if claim else "")[:_FIELD_MAX],
        client_ip=client.ip,
        outcome=outcome,
        reason=reason[:300],
        token=token,
    )
    if owner is not None:
        device = f"{claim.device_hostname or '?'} ({claim.device_ip})" if claim else ""
        AuditEntry.objects.create(
            owner=owner,
            secret_name="",
            kind="",
            label=device[:100],
            provider_name=reason[:200],
            action=AuditEntry.Action.CLI_SIGNED_IN
            if outcome == SignInAttempt.Outcome.GRANTED
            else AuditEntry.Action.CLI_REFUSED,
            actor=owner,
            actor_name=(claim.login_name if claim else "")[:150],
            channel=AuditEntry.Channel.API,
            ip=client.ip,
            user_agent=client.user_agent,
        )


def sign_in(*, body: dict[str, Any] | None, client: AccessSource) -> SignedIn:
    """Verify the CLI's claim and issue a token; raises SignInRefused with the CLI's code and status."""
    claim: Claim | None = None
    owner = None
    try:
        if body is not None:
            claim = read_claim(body)
        if _too_many(claim, client.ip):
            raise SignInRefused(
                envelope.RATE_LIMITED,
                f"Too many sign-in attempts; wait {settings.LEGER_CLI_SIGNIN_WINDOW_SECONDS // 60} minutes and try "
                "again.",
                status=429,
                outcome=SignInAttempt.Outcome.LIMITED,
            )
        if claim is None:
            raise SignInRefused(envelope.INVALID_REQUEST, "Send a JSON object.", status=400)
        linked = tailnet_for_login(login_name=claim.login_name)
        if linked is None:
            raise SignInRefused(
                envelope.ACCOUNT_NOT_LINKED,
                f"No Leger account has linked the Tailscale login {claim.login_name}. Sign in to Leger in a "
                "browser and link it on /settings (login name and a Tailscale API access token).",
                status=403,
            )
        owner = linked.owner
        _claimed_address(claim)
        try:
            devices = list_devices(api_key=crypto.decrypt(linked.api_key), tailnet=claim.tailnet)
        except TailscaleUnavailable as error:
            raise SignInRefused(
                envelope.UNAVAILABLE,
                f"{error} Nothing was decided; try `leger auth login` again shortly.",
                status=503,
                outcome=SignInAttempt.Outcome.UNAVAILABLE,
            ) from None
        except TailscaleRefused as error:
            raise SignInRefused(envelope.VERIFICATION_FAILED, str(error), status=403) from None
        device = _matching_device(devices, claim, linked.login_name)
        identity = Identity(
            login_name=device.user,
            user_id=claim.user_id,
            device_ip=claim.device_ip,
            device_hostname=claim.device_hostname or device.hostname,
            device_id=device.id,
            cli_version=claim.cli_version,
        )
        owner_uuid = str(owner_for(user=owner).uuid)
        token, row = token_issue(owner=owner, owner_uuid=owner_uuid, identity=identity)
        if not linked.address and device.hostname.lower() == linked.hostname.lower():
            # The machine named on /settings, just vouched for by Tailscale: its ports will listen on this address.
            type(linked).objects.filter(pk=linked.pk, address__isnull=True).update(address=_claimed_address(claim))
    except SignInRefused as refused:
        _record(claim=claim, client=client, outcome=refused.outcome, reason=str(refused), owner=owner)
        logger.info("CLI sign-in refused (%s) for %s", refused.code, claim.login_name if claim else "?")
        raise
    _record(claim=claim, client=client, outcome=SignInAttempt.Outcome.GRANTED, reason="", owner=owner, token=row)
    logger.info("CLI signed in: user %s, device %s (%s)", owner.pk, identity.device_hostname, identity.device_ip)
    display = owner.get_full_name() if hasattr(owner, "get_full_name") else ""
    return SignedIn(
        token=token,
        expires_in=int((row.expires_at - row.created_at).total_seconds()),
        user_uuid=owner_uuid,
        login_name=device.user,
        display_name=display or owner.get_username(),
    )
