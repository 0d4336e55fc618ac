"""Tailscale's API, the one part Leger reads: the devices of a tailnet.

``leger auth login`` is verified here: the CLI says which machine it runs on, and Leger asks Tailscale, with the
API access token the user linked on /settings, whether that machine exists, whose it is and whether it may be on
the tailnet. Documented at https://tailscale.com/api (``GET /api/v2/tailnet/{tailnet}/devices``).

Errors say what to change and never carry the token: not in their message, and not as a chained cause (a
``requests`` exception holds the prepared request, and with it the ``Authorization`` header).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

TOKEN_WHERE = "in the Tailscale admin console → Settings → Keys → “Generate access token”, with read access to devices"
# Tailscale's zero time: what it answers for ``expires`` when the device's key expiry is disabled.
_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_MESSAGE_MAX = 200


class TailscaleError(Exception):
    """Tailscale's API could not tell Leger the devices; the message says what to change."""


class TailscaleUnavailable(TailscaleError):
    """No usable answer: the API could not be reached, timed out, failed (5xx, 429) or answered garbage.

    Nothing is known about the devices; asking again later may work.
    """


class TailscaleRefused(TailscaleError):
    """Tailscale answered, and said no: the token is wrong, expired or lacks a scope, or the tailnet is unknown."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Device:
    """One device of a tailnet, as Tailscale describes it."""

    id: str  # Tailscale's legacy numeric id, as text
    node_id: str  # the preferred id, e.g. n5SUKe8CNTRL
    addresses: tuple[str, ...]  # its Tailscale IPv4 and IPv6 addresses
    user: str  # the owner's login name, e.g. alice@github
    name: str  # its MagicDNS name, e.g. box.tail1234.ts.net
    hostname: str  # the machine's own hostname
    authorized: bool
    expires: dt.datetime | None  # None when its key never expires
    key_expiry_disabled: bool

    def is_expired(self, now: dt.datetime) -> bool:
        """Whether the device's node key has expired at ``now`` (never, when key expiry is disabled)."""
        if self.key_expiry_disabled or self.expires is None:
            return False
        return self.expires <= now

    @classmethod
    def from_json(cls, data: Any) -> Device:
        """A device from its JSON object in Tailscale's answer; ``ValueError`` when the object is not one."""
        if not isinstance(data, dict):
            raise ValueError("a device is not a JSON object")
        addresses = data.get("addresses", [])
        if not isinstance(addresses, list) or not all(isinstance(item, str) for item in addresses):
            raise ValueError("a device's addresses are not a list of text")
        return cls(
            id=_text(data, "id"),
            node_id=_text(data, "nodeId"),
            addresses=tuple(addresses),
            user=_text(data, "user"),
            name=_text(data, "name"),
            hostname=_text(data, "hostname"),
            # Absent means no: a device is trusted only when Tailscale says so.
            authorized=_flag(data, "authorized"),
            expires=_time(data.get("expires")),
            key_expiry_disabled=_flag(data, "keyExpiryDisabled"),
        )


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"a device's {name} is not text")
    return value


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"a device's {name} is not true or false")
    return value


def _time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("a device's expires is not an RFC 3339 time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        # An unreadable expiry is not "never expires": the whole answer is refused instead.
        raise ValueError("a device's expires is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError("a device's expires has no time zone")
    return None if moment <= _ZERO_TIME else moment


def _tailscale_message(response: requests.Response, api_key: str) -> str:
    """Tailscale's own explanation (``{"message": …}``), short, single-line and without the token."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return ""
    if api_key:
        message = message.replace(api_key, "…")
    text = " ".join(message.split())
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


def _refusal(status: int, tailnet: str, said: str) -> TailscaleRefused:
    quoted = f": {said}" if said else ""
    if status == 401:
        return TailscaleRefused(
            f"Tailscale refused the API access token (HTTP 401{quoted}): it is wrong, expired or revoked. Generate "
            f"a new one {TOKEN_WHERE}, and save it on /settings.",
            status=status,
        )
    if status == 403:
        return TailscaleRefused(
            f"Tailscale refused the API access token (HTTP 403{quoted}): it may not read this tailnet's devices "
            f"(it lacks the devices:core read scope). Generate one {TOKEN_WHERE}, and save it on /settings.",
            status=status,
        )
    if status == 404:
        name = "the token's own tailnet" if tailnet == "-" else f"the tailnet {tailnet!r}"
        return TailscaleRefused(
            f"Tailscale does not know {name} for this API access token (HTTP 404{quoted}). Check the tailnet's name "
            "(Tailscale admin console → Settings → General → Organization), and that the token was generated in "
            "that tailnet.",
            status=status,
        )
    return TailscaleRefused(
        f"Tailscale refused to list the devices (HTTP {status}{quoted}). Check the API access token on /settings.",
        status=status,
    )


@sensitive_variables("headers")
def _get(url: str, *, headers: dict[str, str], timeout: float, base: str) -> requests.Response:
    # The error is raised after the except blocks, so that it carries no __context__: requests' exception holds
    # the prepared request, Authorization header included.
    failure: TailscaleError
    try:
        # No redirects: a redirect would be a reason to send the token somewhere it was not meant for.
        return requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)
    except (requests.exceptions.InvalidHeader, UnicodeError):
        # requests quotes the whole header, token included, in this error: never pass it on.
        failure = TailscaleRefused(
            "The API access token has characters no token has (spaces, line breaks); paste it again on /settings.",
            status=0,
        )
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
        failure = TailscaleUnavailable(
            f"Tailscale's API did not answer: {base!r} is not an http(s) URL; set LEGER_TAILSCALE_API_URL to "
            "Tailscale's API (https://api.tailscale.com)."
        )
    except requests.exceptions.Timeout:
        failure = TailscaleUnavailable(
            f"Tailscale's API did not answer within {timeout:g} s at {base}; try again shortly "
            "(status.tailscale.com says whether Tailscale is having trouble)."
        )
    except requests.exceptions.RequestException:
        failure = TailscaleUnavailable(
            f"Tailscale's API did not answer: could not connect to {base}. Check that this server can reach it "
            "(LEGER_TAILSCALE_API_URL, firewall, proxy), then try again."
        )
    raise failure


@sensitive_variables("api_key", "headers")
def list_devices(
    *, api_key: str, tailnet: str = "-", base_url: str | None = None, timeout: float = 5.0
) -> list[Device]:
    """The devices of ``tailnet`` (``-``: the token's own tailnet) that the API access token may see.

    Raises ``TailscaleRefused`` when Tailscale says no (401, 403, 404, other 4xx) and ``TailscaleUnavailable``
    when there is no usable answer (unreachable, timeout, 429, 5xx, a body that is not a device list).
    """
    base = (base_url or settings.LEGER_TAILSCALE_API_URL).rstrip("/")
    url = f"{base}/api/v2/tailnet/{quote(tailnet or '-', safe='')}/devices"
    if not api_key:
        raise TailscaleRefused(
            f"No Tailscale API access token to ask with: generate one {TOKEN_WHERE}, and save it on /settings.",
            status=0,
        )
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": "leger"}
    response = _get(url, headers=headers, timeout=timeout, base=base)

    with response:
        status = response.status_code
        if status == 429:
            raise TailscaleUnavailable(
                "Tailscale's API did not answer: it is limiting requests from this server (HTTP 429); try again in "
                "a minute."
            )
        if status >= 500:
            raise TailscaleUnavailable(
                f"Tailscale's API did not answer: it failed with HTTP {status}. This is on Tailscale's side; try "
                "again in a few minutes (status.tailscale.com)."
            )
        if 400 <= status < 500:
            raise _refusal(status, tailnet or "-", _tailscale_message(response, api_key))
        if status != 200:
            raise TailscaleUnavailable(
                f"Tailscale's API did not answer with the devices: it returned HTTP {status} from {base}; check "
                "LEGER_TAILSCALE_API_URL."
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("devices"), list):
            raise TailscaleUnavailable(
                f"Tailscale's API did not answer with a device list: {base} answered something else. Check that "
                "LEGER_TAILSCALE_API_URL points at Tailscale's API."
            )
        try:
            return [Device.from_json(item) for item in body["devices"]]
        except ValueError as error:
            reason = str(error)
        raise TailscaleUnavailable(
            f"Tailscale's API did not answer with a device list Leger can read: {reason}. Check that "
            "LEGER_TAILSCALE_API_URL points at Tailscale's API."
        )
