"""Rules for tailnet names and Tailscale credentials, written once for the model, the form and the API.

Each function takes what a person typed and returns it normalised (trimmed,
lower case, no trailing dot) or raises ``ValidationError`` with a message that
says what to change.
"""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

TAILNET_SUFFIX = ".ts.net"
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
AUTH_KEY_PREFIX = "tskey-"
_AUTH_KEY = re.compile(r"^tskey-[A-Za-z0-9-]{10,200}$")
API_KEY_PREFIX = "tskey-api-"
_API_KEY = re.compile(r"^tskey-api-[A-Za-z0-9-]{10,200}$")
LOGIN_NAME_MAX = 255
_LOGIN_NAME = re.compile(r"^[^@]+@[^@]+$")
API_KEY_WHERE = (
    "generate one in the Tailscale admin console under Settings → Keys → “Generate access token”, with read "
    "access to devices"
)


def _normalise(value: str) -> str:
    text = (value or "").strip().lower()
    return text[:-1] if text.endswith(".") else text


def _label_problem(label: str) -> str | None:
    if not label:
        return "has an empty part (two dots in a row, or a dot at the start)"
    if len(label) > 63:
        return f"has a part longer than 63 characters ({label[:20]}…)"
    if not _LABEL.match(label):
        if label.startswith("-") or label.endswith("-"):
            return f"has a part that starts or ends with a dash ({label!r}); move or remove the dash"
        others = dict.fromkeys(" " if char.isspace() else char for char in label if not re.match(r"[a-z0-9-]", char))
        names = [f"“{char}”" if not char.isspace() else "spaces" for char in others]
        shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"may only use letters, digits and dashes; remove {shown} from {label!r}"
    return None


def clean_dns_label(value: str, *, what: str = "The machine name") -> str:
    """One DNS label: 1 to 63 letters, digits or dashes, not starting or ending with a dash."""
    label = _normalise(value)
    if not label:
        raise ValidationError(f"{what} is required.", code="required")
    if "." in label:
        raise ValidationError(
            f"{what} is a single name without dots, e.g. “box” (not {value.strip()!r}).", code="dotted"
        )
    problem = _label_problem(label)
    if problem:
        raise ValidationError(f"{what} {problem}.", code="invalid")
    return label


def clean_domain(value: str, *, what: str = "The domain") -> str:
    """A DNS name of at least two labels, each a valid label, at most 253 characters."""
    domain = _normalise(value)
    if not domain:
        raise ValidationError(f"{what} is required.", code="required")
    if "://" in domain or "/" in domain:
        raise ValidationError(f"{what} is a name only, without https:// or a path, e.g. example.com.", code="url")
    if len(domain) > 253:
        raise ValidationError(f"{what} is longer than 253 characters.", code="too_long")
    labels = domain.split(".")
    if len(labels) < 2:
        raise ValidationError(f"{what} needs at least two parts, e.g. example.com.", code="single_label")
    for label in labels:
        problem = _label_problem(label)
        if problem:
            raise ValidationError(f"{what} {problem}.", code="invalid")
    if labels[-1].isdigit():
        raise ValidationError(f"{what} must be a name, not an IP address.", code="numeric")
    return domain


def clean_tailnet(value: str, *, custom_domain_mode: bool = False) -> str:
    """The tailnet's DNS domain: ``<name>.ts.net`` (e.g. tail1234.ts.net), unless the user exposes services
    on a custom domain, where a self-run control server may give the tailnet another domain."""
    domain = clean_domain(value, what="The tailnet domain")
    if custom_domain_mode:
        return domain
    if not domain.endswith(TAILNET_SUFFIX) or domain.count(".") != 2:
        raise ValidationError(
            "The tailnet domain looks like tail1234.ts.net: one name, then .ts.net. Find it in the Tailscale admin "
            "console under DNS → Tailnet name. (For a domain of your own, choose the custom-domain exposure.)",
            code="not_tailnet",
        )
    return domain


def clean_custom_domain(value: str) -> str:
    """A domain the user controls, under which services get subdomains (ai.example.com)."""
    domain = clean_domain(value, what="The custom domain")
    if domain == TAILNET_SUFFIX[1:] or domain.endswith(TAILNET_SUFFIX):
        raise ValidationError(
            "Names under ts.net belong to Tailscale, and names below a machine name do not resolve on a tailnet; "
            "use a domain you control, e.g. home.example.com.",
            code="ts_net",
        )
    return domain


def clean_auth_key(value: str) -> str:
    """A Tailscale auth key (tskey-auth-…) or OAuth client secret (tskey-client-…)."""
    key = (value or "").strip()
    if key.startswith(API_KEY_PREFIX):
        raise ValidationError(
            "That is an API access token (tskey-api-…), which lets Leger read your tailnet's devices; it belongs in "
            "the API access token field. An auth key, which lets a machine join the tailnet, starts with "
            "tskey-auth-.",
            code="api_key",
        )
    if not _AUTH_KEY.match(key):
        raise ValidationError(
            "A Tailscale auth key starts with tskey- (e.g. tskey-auth-…) and has no spaces; generate one in the "
            "Tailscale admin console under Settings → Keys.",
            code="invalid",
        )
    return key


def clean_api_key(value: str) -> str:
    """A Tailscale API access token (tskey-api-…), which Leger sends to Tailscale's API as a Bearer token."""
    key = (value or "").strip()
    if key.startswith("tskey-auth-"):
        raise ValidationError(
            "That is an auth key (tskey-auth-…), which lets a machine join the tailnet; it belongs in the auth key "
            f"field. Here Leger needs an API access token, which starts with {API_KEY_PREFIX}: {API_KEY_WHERE}.",
            code="auth_key",
        )
    if key.startswith("tskey-client-"):
        raise ValidationError(
            "That is an OAuth client secret (tskey-client-…); Leger needs an API access token, which starts with "
            f"{API_KEY_PREFIX}: {API_KEY_WHERE}.",
            code="oauth_client",
        )
    if not _API_KEY.match(key):
        raise ValidationError(
            f"A Tailscale API access token starts with {API_KEY_PREFIX} and has no spaces; {API_KEY_WHERE}.",
            code="invalid",
        )
    return key


def clean_login_name(value: str) -> str:
    """A Tailscale login name (alice@github, alice@example.com), trimmed; "" when there is none."""
    name = (value or "").strip()
    if not name:
        return ""
    if len(name) > LOGIN_NAME_MAX:
        raise ValidationError(
            f"A Tailscale login name is at most {LOGIN_NAME_MAX} characters; this one has {len(name)}.",
            code="too_long",
        )
    if any(char.isspace() for char in name):
        raise ValidationError(
            "A Tailscale login name has no spaces, e.g. alice@github or alice@example.com.", code="spaces"
        )
    if not _LOGIN_NAME.match(name) or not name.isprintable():
        raise ValidationError(
            "A Tailscale login name looks like alice@github or alice@example.com: a name, one @, then where you "
            "sign in to Tailscale. The Users page of the Tailscale admin console lists it.",
            code="invalid",
        )
    return name


_TAILSCALE_IPV4 = ipaddress.ip_network("100.64.0.0/10")


def clean_tailscale_address(value: str | None) -> str | None:
    """The machine's Tailscale IPv4 address, or None; Tailscale hands out 100.64.0.0/10 only."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not an IPv4 address. On the machine, “tailscale ip -4” prints it, e.g. 100.101.102.103.",
            code="invalid",
        ) from None
    if address not in _TAILSCALE_IPV4:
        raise ValidationError(
            f"{address} is not a Tailscale address (those are 100.64.0.0 to 100.127.255.255): a LAN or public "
            "address would open the stack beyond the tailnet. Use what “tailscale ip -4” prints on the machine.",
            code="not_tailscale",
        )
    return str(address)
