"""The real LiteLLM proxy, at the version releases pin, loads a release's litellm-config.yaml and calls each kind
of provider the way that provider authenticates: a one-key API (Anthropic's x-api-key), Azure OpenAI (api-key,
its endpoint and api-version), AWS Bedrock (a SigV4 signature made with the access key ID, the secret access
key and the region) and Vertex AI (an OAuth token from the service account, for the project and location).

The providers are a loopback stand-in that answers as each one's API does, from its docs; the release's own
config is changed in one way only, for the test: each model's ``api_base`` points at the stand-in, and the
router's Redis at this machine's. The proxy's environment is what the leger CLI would give the container: each
secret the manifest lists for LiteLLM, read by name as the CLI reads it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User

from leger.catalog.models import Provider
from leger.providers.services import credential_create
from leger.releases import services as release_services
from leger.releases.rendering import render
from tests.releases import test_services_setup as setup
from tests.releases.conftest import secret_environment
from tests.releases.test_real_tools import require
from tests.releases.test_services_setup import a_key, add_key, add_tailnet
from tests.services import JSONHandler, free_port, running_program, serve_in_thread

catalog = setup.catalog

REPO = Path(__file__).resolve().parents[2]
PROXY = REPO / ".cache" / "tools" / "litellm-proxy" / "bin" / "litellm"

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

AZURE_VERSION = "2024-10-21"
BEDROCK_REGION = "eu-central-1"
VERTEX_PROJECT = "leger-test-123"
VERTEX_LOCATION = "europe-west4"
VERTEX_TOKEN = "ya29.leger-stand-in-token"


def proxy_binary() -> Path:
    return Path(
        require(str(PROXY) if PROXY.is_file() else None, "the LiteLLM proxy", install="scripts/install-litellm-proxy")
    )


class Providers:
    """What the stand-in saw: (provider, checks passed or the reason they did not) per request."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.seen: list[tuple[str, str]] = []
        self.url = ""


def _openai_answer(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    }


def _check_sigv4(providers: Providers, method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    """'' when the request carries a valid SigV4 signature for Bedrock in the region with the stored key."""
    authorization = headers.get("authorization", "")
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})",
        authorization,
    )
    if not match:
        return f"no SigV4 Authorization header: {authorization[:40]!r}"
    key_id, _, region, service, signed, signature = match.groups()
    if key_id != providers.keys["bedrock_key_id"]:
        return "signed with another access key ID"
    if (region, service) != (BEDROCK_REGION, "bedrock"):
        return f"signed for {region}/{service}"
    request = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed.split(";")})
    request.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(Credentials(key_id, providers.keys["bedrock_secret"]), service, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return "" if expected == signature else "the signature is not the one the secret access key makes"


def stand_in(providers: Providers) -> ThreadingHTTPServer:
    class Handler(JSONHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            url = urlsplit(self.path)
            path, query = url.path, parse_qs(url.query)
            keys = providers.keys
            if path == "/token":
                # Google's OAuth token endpoint: a JWT assertion signed with the service account's private key.
                form = parse_qs(body.decode())
                assertion = form.get("assertion", [""])[0]
                ok = (
                    form.get("grant_type") == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
                    and assertion.count(".") == 2
                )
                providers.seen.append(("vertex-token", "" if ok else "no JWT bearer grant"))
                self.answer(200, {"access_token": VERTEX_TOKEN, "expires_in": 3600, "token_type": "Bearer"})
            elif path == "/v1/messages":
                ok = headers.get("x-api-key") == keys["anthropic"] and "anthropic-version" in headers
                providers.seen.append(("anthropic", "" if ok else "no x-api-key with the stored key"))
                model = json.loads(body)["model"]
                self.answer(
                    200,
                    {
                        "id": "msg_standin",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [{"type": "text", "text": "pong from anthropic"}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": 3, "output_tokens": 3},
                    },
                )
            elif match := re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", path):
                problem = ""
                if headers.get("api-key") != keys["azure"]:
                    problem = "no api-key header with the stored key"
                elif query.get("api-version") != [AZURE_VERSION]:
                    problem = f"api-version {query.get('api-version')}"
                providers.seen.append(("azure", problem))
                self.answer(200, _openai_answer(match.group(1), "pong from azure"))
            elif re.fullmatch(r"/model/[^/]+/converse", path):
                providers.seen.append(
                    ("bedrock", _check_sigv4(providers, "POST", f"{providers.url}{self.path}", headers, body))
                )
                self.answer(
                    200,
                    {
                        "output": {"message": {"role": "assistant", "content": [{"text": "pong from bedrock"}]}},
                        "stopReason": "end_turn",
                        "usage": {"inputTokens": 3, "outputTokens": 3, "totalTokens": 6},
                        "metrics": {"latencyMs": 1},
                    },
                )
            elif ":generateContent" in path:
                problem = ""
                if headers.get("authorization") != f"Bearer {VERTEX_TOKEN}":
                    problem = "no bearer token from the service account"
                elif f"/projects/{VERTEX_PROJECT}/locations/{VERTEX_LOCATION}/" not in path:
                    problem = f"another project or location: {path}"
                providers.seen.append(("vertex", problem))
                self.answer(
                    200,
                    {
                        "candidates": [
                            {
                                "content": {"role": "model", "parts": [{"text": "pong from vertex"}]},
                                "finishReason": "STOP",
                            }
                        ],
                        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 3, "totalTokenCount": 6},
                    },
                )
            else:
                providers.seen.append(("unknown", f"{self.command} {self.path}"))
                self.answer(404, {"error": {"message": f"no such route {path}"}})

    server = serve_in_thread(Handler)
    providers.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


def service_account(token_uri: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": VERTEX_PROJECT,
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": f"leger@{VERTEX_PROJECT}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": token_uri,
        },
        indent=2,
    )


@pytest.fixture
def providers() -> Iterator[Providers]:
    holder = Providers({})
    server = stand_in(holder)
    yield holder
    server.shutdown()


MODELS = {
    "claude-haiku-4.5": "anthropic",
    "gpt-4o-mini": "azure",
    "nova-micro": "aws-bedrock",
    "gemini-2.5-flash": "vertex-ai",
}


def test_the_real_litellm_proxy_calls_each_provider_authenticated_as_it_expects(
    alice: User, catalog: None, providers: Providers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = proxy_binary()
    monkeypatch.setattr(release_services, "_enqueue", lambda release_id: None)
    add_tailnet(alice)
    _, anthropic = add_key(alice, "anthropic")
    azure_key = a_key("")
    providers.keys.update(anthropic=anthropic, azure=azure_key)
    draft = release_services.release_create(owner=alice, name="every provider")
    credential_create(
        owner=alice,
        provider=Provider.objects.get(pk="azure"),
        label="main",
        value=azure_key,
        fields={"api_base": "https://leger-test.openai.azure.com", "api_version": AZURE_VERSION},
    )
    key_id = "AKIA" + secrets.token_hex(8).upper()
    secret = a_key("")[:40]
    providers.keys.update(bedrock_key_id=key_id, bedrock_secret=secret)
    credential_create(
        owner=alice,
        provider=Provider.objects.get(pk="aws-bedrock"),
        label="main",
        value=secret,
        fields={"access_key_id": key_id, "region": BEDROCK_REGION},
    )
    credential_create(
        owner=alice,
        provider=Provider.objects.get(pk="vertex-ai"),
        label="main",
        value=service_account(f"{providers.url}/token"),
        fields={"project": VERTEX_PROJECT, "location": VERTEX_LOCATION},
    )

    draft = release_services.release_update(
        release=draft, models=[{"model": model, "provider": provider} for model, provider in MODELS.items()]
    )
    release = release_services.release_cut(release=draft, actor=alice)
    files = render(release.snapshot)
    config = yaml.safe_load(files["litellm-config.yaml"])
    text = files["litellm-config.yaml"]
    for value in (anthropic, azure_key, secret, key_id):
        assert value not in text, "a key is written into the config"
    by_name = {entry["model_name"]: entry["litellm_params"] for entry in config["model_list"]}
    assert by_name["gpt-4o-mini"]["api_base"] == "https://leger-test.openai.azure.com"
    assert by_name["gpt-4o-mini"]["api_version"] == AZURE_VERSION
    assert by_name["nova-micro"]["aws_access_key_id"] == "os.environ/AWS_ACCESS_KEY_ID"
    assert by_name["nova-micro"]["aws_secret_access_key"] == "os.environ/AWS_SECRET_ACCESS_KEY"
    assert by_name["nova-micro"]["aws_region_name"] == BEDROCK_REGION
    assert by_name["gemini-2.5-flash"]["vertex_credentials"] == "os.environ/VERTEX_CREDENTIALS"
    assert (by_name["gemini-2.5-flash"]["vertex_project"], by_name["gemini-2.5-flash"]["vertex_location"]) == (
        VERTEX_PROJECT,
        VERTEX_LOCATION,
    )

    # The test's only changes: the providers' addresses, and Redis on this machine.
    for params in by_name.values():
        params["api_base"] = providers.url
    config["router_settings"].update(redis_host="127.0.0.1", redis_port=6379)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    # The container's environment as the CLI gives it: every env secret the manifest lists for LiteLLM.
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        **secret_environment(alice, release.snapshot, files, "litellm"),
    }
    assert environment["AWS_ACCESS_KEY_ID"] == key_id and environment["AWS_SECRET_ACCESS_KEY"] == secret
    master = environment["LITELLM_MASTER_KEY"]

    port = free_port()
    with running_program(
        [str(proxy), "--config", str(tmp_path / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        health_url=f"http://127.0.0.1:{port}/health/liveliness",
        timeout=180,
        log=tmp_path / "litellm.log",
    ):
        for model, provider in MODELS.items():
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                headers={"Authorization": f"Bearer {master}"},
                json={"model": model, "messages": [{"role": "user", "content": "ping"}]},
                timeout=60,
            )
            assert response.status_code == 200, (model, response.text[:500])
            expected = {"anthropic": "anthropic", "azure": "azure", "aws-bedrock": "bedrock", "vertex-ai": "vertex"}
            assert response.json()["choices"][0]["message"]["content"] == f"pong from {expected[provider]}"
        problems = [(who, problem) for who, problem in providers.seen if problem]
        assert problems == [], problems
        assert {who for who, _ in providers.seen} == {"anthropic", "azure", "bedrock", "vertex-token", "vertex"}
        # Without the master key, LiteLLM refuses.
        refused = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]},
            timeout=30,
        )
        assert refused.status_code == 401
