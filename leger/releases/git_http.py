"""Read-only Git smart HTTP for the owners' release repositories (``git_source``), by ``git http-backend`` as CGI.

==========================================  =====================================================
``/git/{owner uuid}.git/...``               every published release; the default branch is ``latest``
``/git/{owner uuid}/v{N}.git/...``          release N as the default branch (``leger deploy install vN``)
==========================================  =====================================================

``leger deploy install [vN] --source https://USER:TOKEN@leger.example/git/{uuid}.git`` runs
``git clone --depth 1`` on it, which needs the smart protocol. HTTP Basic: the password is the owner's leger
CLI token or their API token, the user name is ignored (git needs one: ``leger``). Another owner's repository
answers 404, as if it did not exist. Only fetching is served; a push is refused with 403.

The patterns carry their ``git/`` prefix: include this module at the site root (``path("", include(...))``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed, StreamingHttpResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from rest_framework.authtoken.models import Token

from leger.cli import tokens as cli_tokens
from leger.releases import git_source
from leger.releases.models import Owner

logger = logging.getLogger(__name__)

CHALLENGE = 'Basic realm="Leger releases"'
UNAUTHORIZED = (
    "Sign in with your leger CLI token (or your API token from /account/) as the password; any user name will do, "
    "e.g. https://leger:TOKEN@this-host/git/UUID.git\n"
)
NOT_FOUND = "There is no release repository here.\n"
READ_ONLY = "This repository is read-only: releases are published on Leger, never pushed.\n"
SMART_ONLY = "Leger serves release repositories over Git's smart HTTP protocol only (git clone or git fetch).\n"
# A fetch request is a list of wants and haves; anything far beyond that is not a fetch.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
CHUNK = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024
# The CGI headers git http-backend answers with that mean something to the client; the rest is left out.
PASSED_HEADERS = {"content-type", "content-length", "cache-control", "expires", "pragma", "last-modified"}
_OBJECTS_INFO = re.compile(r"objects/info/(alternates|http-alternates|packs)")


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _unauthorized() -> HttpResponse:
    response = _text(401, UNAUTHORIZED)
    response["WWW-Authenticate"] = CHALLENGE
    return response


@sensitive_variables("header", "encoded", "decoded", "password")
def _basic_auth_user(request: HttpRequest) -> AbstractBaseUser | None:
    """The active user whose CLI token or API token is the Basic password, or None."""
    # Out of META, so no error report or debug page of this request can show it.
    header = request.META.pop("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    if not colon or not password:
        return None
    user = cli_tokens.user_for_token(password)
    if user is None:
        token = Token.objects.select_related("user").filter(key=password).first()
        user = token.user if token is not None else None
    if user is None or not user.is_active:
        return None
    return user


def _refusal(request: HttpRequest, rest: str) -> HttpResponse | None:
    """None when ``rest`` is a fetch request git http-backend may answer; else the answer itself."""
    service = request.GET.get("service", "")
    if rest == "git-receive-pack" or (rest == "info/refs" and service == "git-receive-pack"):
        return _text(403, READ_ONLY)
    if rest == "info/refs" and service == "git-upload-pack":
        allowed = ["GET", "HEAD"]
    elif rest == "git-upload-pack":
        allowed = ["POST"]
    elif rest == "HEAD" or _OBJECTS_INFO.fullmatch(rest):
        allowed = ["GET", "HEAD"]
    else:
        return _text(404, SMART_ONLY)
    if request.method not in allowed:
        return HttpResponseNotAllowed(allowed)
    return None


def _serve(request: HttpRequest, *, owner_uuid: UUID, version: int | None, rest: str) -> HttpResponseBase:
    user = _basic_auth_user(request)
    if user is None:
        return _unauthorized()
    owner = Owner.objects.filter(uuid=owner_uuid, user_id=user.pk).first()
    if owner is None:
        return _text(404, NOT_FOUND)
    refusal = _refusal(request, rest)
    if refusal is not None:
        return refusal
    try:
        repository = (
            git_source.owner_repository(owner) if version is None else git_source.version_repository(owner, version)
        )
    except git_source.RepositoryNotFound as error:
        return _text(404, f"{error}\n")
    root = Path(settings.LEGER_GIT_DIR)
    return _http_backend(request, user=user, path_info=f"/{repository.relative_to(root).as_posix()}/{rest}")


def _request_body(request: HttpRequest) -> tuple[IO[bytes], int] | None:
    """The request body in a temporary file (http-backend's stdin) and its size; None when it is too large."""
    # request.read, not request.body: a fetch body may exceed DATA_UPLOAD_MAX_MEMORY_SIZE, and it is not a form.
    stream: Any = request
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        # Chunked (git sends a request above http.postBuffer so): Django reads only CONTENT_LENGTH bytes, but a
        # server that sets wsgi.input_terminated (gunicorn) has de-chunked wsgi.input and ends it with the body.
        stream = request.META["wsgi.input"]
    body = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the child process, closed by the caller)
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            body.close()
            return None
        body.write(chunk)
    body.seek(0)
    return body, size


def _cgi_environment(
    request: HttpRequest, *, user: AbstractBaseUser, path_info: str, body_size: int | None
) -> dict[str, str]:
    meta = request.META
    env = {
        **git_source.git_environment(),
        "GIT_PROJECT_ROOT": str(settings.LEGER_GIT_DIR),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": str(meta.get("SERVER_PROTOCOL", "HTTP/1.1")),
        "REQUEST_METHOD": request.method or "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": str(meta.get("QUERY_STRING", "")),
        "CONTENT_TYPE": str(meta.get("CONTENT_TYPE", "")),
        "REMOTE_USER": user.get_username(),
        "REMOTE_ADDR": str(meta.get("REMOTE_ADDR", "")),
    }
    if body_size is not None:
        # What was read, also for a chunked request that came without a Content-Length.
        env["CONTENT_LENGTH"] = str(body_size)
    # git's client gzips larger fetch requests; Git-Protocol asks for protocol v2.
    for name in ("HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL"):
        if meta.get(name):
            env[name] = str(meta[name])
    return env


def _http_backend(request: HttpRequest, *, user: AbstractBaseUser, path_info: str) -> HttpResponseBase:
    body: IO[bytes] | None = None
    body_size: int | None = None
    if request.method == "POST":
        spooled = _request_body(request)
        if spooled is None:
            return _text(413, "This request is larger than any fetch; it was not read to the end.\n")
        body, body_size = spooled
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed when the answer ends)
    try:
        process = subprocess.Popen(
            ["git", "http-backend"],  # noqa: S607
            env=_cgi_environment(request, user=user, path_info=path_info, body_size=body_size),
            stdin=body if body is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    except OSError as error:
        errors.close()
        logger.error("git http-backend could not start: %s", error)
        return _text(503, "Git is not installed on this Leger server, so release repositories are unavailable.\n")
    finally:
        if body is not None:
            body.close()  # the child has its own copy of the descriptor
    assert process.stdout is not None
    head, rest = _read_head(process.stdout)
    if head is None:
        _finish(process, errors, path_info, ended=False)
        return _text(502, "Git could not answer this request.\n")
    status, headers = _parse_head(head)
    response = StreamingHttpResponse(_stream(process, rest, errors, path_info), status=status)
    for name, value in headers:
        response[name] = value
    return response


def _read_head(stdout: IO[bytes]) -> tuple[bytes | None, bytes]:
    """The CGI header block and whatever body bytes came with it; None when the output ends before the block."""
    buffer = b""
    while True:
        for separator in (b"\r\n\r\n", b"\n\n"):
            end = buffer.find(separator)
            if end != -1:
                return buffer[:end], buffer[end + len(separator) :]
        if len(buffer) > MAX_HEADER_BYTES:
            return None, b""
        chunk = stdout.read1(CHUNK)  # type: ignore[attr-defined]
        if not chunk:
            return None, b""
        buffer += chunk


def _parse_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if not colon:
            continue
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            code = value.split(" ", 1)[0]
            status = int(code) if code.isdigit() else 502
        elif name.lower() in PASSED_HEADERS:
            headers.append((name, value))
    return status, headers


def _stream(process: subprocess.Popen[bytes], first: bytes, errors: IO[bytes], path_info: str) -> Iterator[bytes]:
    assert process.stdout is not None
    ended = False
    try:
        if first:
            yield first
        while chunk := process.stdout.read1(CHUNK):  # type: ignore[attr-defined]
            yield chunk
        ended = True
    finally:
        # Also when the client went away mid-answer: the server closes this generator, and git is stopped.
        _finish(process, errors, path_info, ended=ended)


def _finish(process: subprocess.Popen[bytes], errors: IO[bytes], path_info: str, *, ended: bool) -> None:
    """Reap git; stop it first when its answer was not read to the end. Logs git's complaint if it failed."""
    stopped = False
    if process.poll() is None and not ended:
        process.kill()
        stopped = True
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
    if process.returncode != 0 and not stopped:
        errors.seek(0)
        logger.warning(
            "git http-backend exited %s for %s: %s",
            process.returncode,
            path_info,
            errors.read(4000).decode(errors="replace").strip(),
        )
    errors.close()


@csrf_exempt
@never_cache
@login_not_required
def latest_repository(request: HttpRequest, owner_uuid: UUID, rest: str) -> HttpResponseBase:
    return _serve(request, owner_uuid=owner_uuid, version=None, rest=rest)


@csrf_exempt
@never_cache
@login_not_required
def version_repository(request: HttpRequest, owner_uuid: UUID, version: int, rest: str) -> HttpResponseBase:
    return _serve(request, owner_uuid=owner_uuid, version=version, rest=rest)


urlpatterns = [
    path("git/<uuid:owner_uuid>.git/<path:rest>", latest_repository, name="git_latest"),
    path("git/<uuid:owner_uuid>/v<int:version>.git/<path:rest>", version_repository, name="git_version"),
]
