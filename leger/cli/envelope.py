"""The leger CLI's answer shape: ``{"success": true, "data": …}`` or ``{"success": false, "error", "message"}``.

The CLI's own client (internal/legerrun/client.go) reads ``error`` as a *string* code and ``message`` beside it
(``handleErrorResponse``); an object there fails its JSON decoding and the user sees only "HTTP 403". So an error
answers ``{"success": false, "error": "<code>", "message": "<what to change>"}``, the codes those of the
backend specification the CLI was written against (``legerrun.ParseErrorCode`` knows the first five).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse

ACCOUNT_NOT_LINKED = "account_not_linked"
INVALID_TOKEN = "invalid_token"
VERIFICATION_FAILED = "tailscale_verification_failed"
SECRET_NOT_FOUND = "secret_not_found"
INSUFFICIENT_PERMISSIONS = "insufficient_permissions"
INVALID_SECRET_NAME = "invalid_secret_name"
SECRET_VALUE_TOO_LARGE = "secret_value_too_large"
RATE_LIMITED = "rate_limit_exceeded"
INVALID_REQUEST = "invalid_request"
UNAVAILABLE = "service_unavailable"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"


def ok(data: Any, *, status: int = 200) -> JsonResponse:
    response = JsonResponse({"success": True, "data": data}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def fail(code: str, message: str, *, status: int, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse({"success": False, "error": code, "message": message}, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class BadBody(ValueError):
    """The request body is not the JSON object the endpoint takes; ``status`` is 400 or 413."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object body; raises BadBody saying what is wrong with it."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise BadBody("The request body is too large.", status=413) from None
    try:
        data = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise BadBody("Send a JSON object (Content-Type: application/json).") from None
    if not isinstance(data, dict):
        raise BadBody("Send a JSON object (Content-Type: application/json).")
    return data
