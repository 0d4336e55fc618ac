"""Where an action on a secret came from, for the audit log."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.http import HttpRequest

USER_AGENT_MAX = 300


@dataclass(frozen=True)
class AccessSource:
    channel: str  # one of AuditEntry.Channel
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest, *, channel: str) -> AccessSource:
        # REMOTE_ADDR, not X-Forwarded-For: a client can write any header it likes,
        # and the audit log must not record an address the caller chose.
        ip = request.META.get("REMOTE_ADDR") or None
        if ip is not None:
            try:
                ip = str(ipaddress.ip_address(ip))
            except ValueError:
                ip = None
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]
        return cls(channel=channel, ip=ip, user_agent=user_agent)


SYSTEM = AccessSource(channel="system")
