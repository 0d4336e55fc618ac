"""The real catalog fixtures: they load, and they carry the reference catalog's facts (with its faults fixed).

The cross-check reads ``../shared/reference`` (beside the repository, as CI has it). Every difference from the
reference is listed below with the reason; anything else must match exactly.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from leger.catalog.loading import load_fixtures
from leger.catalog.models import LLM, Capability, Maker, Offering, Provider

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "leger-app-data" / "models"

# The LiteLLM provider prefix each catalog provider's model strings must start with. The reference used prefixes
# LiteLLM does not know (fireworks/, moonshotai/, alibabacloud/), so those models could never be routed.
LITELLM_PREFIXES = {
    "alibabacloud": ("dashscope/",),
    "anthropic": ("anthropic/",),
    "aws-bedrock": ("bedrock/",),
    "azure": ("azure/",),
    "baseten": ("baseten/",),
    "cerebras": ("cerebras/",),
    "cohere": ("cohere/", "cohere_chat/"),
    "deepinfra": ("deepinfra/",),
    "deepseek": ("deepseek/",),
    "fireworks": ("fireworks_ai/accounts/fireworks/models/",),
    "gemini": ("gemini/",),
    "groq": ("groq/",),
    "mistral": ("mistral/",),
    "moonshot": ("moonshot/",),
    "novita": ("novita/",),
    "openai": ("openai/",),
    "openrouter": ("openrouter/",),
    "parasail": ("parasail/",),
    "perplexity": ("perplexity/",),
    "vertex-ai": ("vertex_ai/",),
    "voyage": ("voyage/",),
    "xai": ("xai/",),
    "zai": ("zai/",),
}

# Offerings whose LiteLLM string was corrected: the reference's strings name models the provider does not have
# (undated Anthropic ids, Bedrock ids without version, Groq/Cerebras/DeepInfra/Novita/Baseten ids in a made-up
# "maker/model" form, DeepSeek V3.2-Exp under names DeepSeek's API does not serve) or use a wrong prefix.
LITELLM_CORRECTED: dict[str, set[str]] = {
    "alibabacloud": {"qwen3-coder-plus", "qwen3-max", "qwen3-max-preview", "qwen3-next-80b-a3b-instruct",
                     "qwen3-next-80b-a3b-thinking", "qwen3-vl-instruct", "qwen3-vl-thinking"},
    "anthropic": {"claude-3-haiku", "claude-3-opus", "claude-3.5-haiku", "claude-3.7-sonnet", "claude-haiku-4.5",
                  "claude-opus-4", "claude-sonnet-4"},
    "aws-bedrock": {"claude-3-haiku", "claude-3-opus", "claude-3.5-haiku", "claude-3.5-sonnet",
                    "claude-3.5-sonnet-20240620", "claude-3.7-sonnet", "claude-haiku-4.5", "claude-opus-4",
                    "claude-opus-4-1", "claude-sonnet-4", "claude-sonnet-4-5", "deepseek-r1", "gpt-oss-120b-cloud",
                    "gpt-oss-20b-cloud", "llama-3.1-70b", "llama-3.1-8b", "llama-3.2-11b", "llama-3.2-1b",
                    "llama-3.2-3b", "llama-3.2-90b", "llama-3.3-70b", "llama-4-maverick", "llama-4-scout",
                    "nova-lite", "nova-micro", "nova-pro", "qwen-3-32b", "qwen3-coder-30b-a3b", "titan-embed-text-v2"},
    "baseten": {"deepseek-v3", "deepseek-v3.1", "kimi-k2-0905", "qwen-3-235b", "qwen3-coder"},
    "cerebras": {"gpt-oss-120b-cloud", "llama-3.1-8b", "llama-3.3-70b", "llama-4-scout", "qwen-3-32b",
                 "qwen3-coder"},
    "cohere": {"command-a"},
    "deepinfra": {"deepseek-v3.1", "kimi-k2", "llama-4-maverick", "llama-4-scout", "qwen-3-14b", "qwen-3-235b",
                  "qwen-3-30b", "qwen-3-32b", "qwen3-coder"},
    "deepseek": {"deepseek-v3.2-exp", "deepseek-v3.2-exp-thinking"},
    "fireworks": {"deepseek-v3.1", "gpt-oss-120b-cloud", "gpt-oss-20b-cloud", "kimi-k2", "kimi-k2-0905",
                  "mixtral-8x22b-instruct", "qwen-3-235b"},
    "groq": {"kimi-k2", "kimi-k2-0905", "llama-3.1-8b", "llama-3.3-70b", "llama-4-scout", "qwen-3-32b"},
    "mistral": {"codestral", "devstral-small", "magistral-medium", "magistral-small", "ministral-3b", "ministral-8b",
                "mistral-large", "mistral-medium", "mistral-small", "pixtral-12b", "pixtral-large"},
    "moonshot": {"kimi-k2", "kimi-k2-0905", "kimi-k2-turbo"},
    "novita": {"deepseek-v3", "glm-4.5", "glm-4.5v", "kimi-k2", "qwen-3-235b", "qwen3-coder",
               "qwen3-next-80b-a3b-instruct", "qwen3-next-80b-a3b-thinking"},
    "vertex-ai": {"claude-3-haiku", "claude-3-opus", "claude-3.5-haiku", "claude-3.5-sonnet",
                  "claude-3.5-sonnet-20240620", "claude-3.7-sonnet", "claude-haiku-4.5", "claude-opus-4",
                  "claude-opus-4-1", "claude-sonnet-4", "claude-sonnet-4-5", "llama-4-maverick", "llama-4-scout"},
}  # fmt: skip

# What LiteLLM's registry (the pinned litellm package, see test_registry_sync.py) no longer lists, fixed so that no
# release routes to a model its provider stopped serving (issue 13). Offerings it no longer lists are disabled
# (kept, out of new releases); where one was the default, the default moved to a listed offering.
OFFERING_DISABLED: dict[str, set[str]] = {
    "claude-3-haiku": {"anthropic", "aws-bedrock"}, "claude-3-opus": {"anthropic", "vertex-ai"},
    "claude-3.5-haiku": {"anthropic"}, "claude-3.5-sonnet": {"vertex-ai"},
    "claude-3.7-sonnet": {"anthropic", "vertex-ai"}, "claude-opus-4": {"anthropic", "vertex-ai"},
    "claude-opus-4-1": {"anthropic", "vertex-ai"}, "claude-sonnet-4": {"anthropic", "vertex-ai"},
    "deepseek-r1": {"parasail"}, "gemini-embedding-001": {"openrouter"}, "llama-3.1-8b": {"groq"},
    "llama-3.3-70b": {"groq"}, "llama-4-scout": {"cerebras", "groq"}, "kimi-k2": {"groq", "moonshot", "parasail"},
    "kimi-k2-0905": {"groq", "moonshot"}, "gpt-oss-120b-cloud": {"parasail"},
    "text-embedding-3-large": {"openrouter"}, "text-embedding-3-small": {"openrouter"},
    "text-embedding-ada-002": {"openrouter"}, "qwen-3-235b": {"baseten"}, "qwen-3-32b": {"groq"},
    "qwen3-coder": {"baseten", "cerebras"}, "codestral-embed-2505": {"openrouter"},
    "mistral-embed-2312": {"openrouter"}, "qwen3-embedding-0.6b": {"openrouter"}, "qwen3-embedding-8b": {"openrouter"},
}  # fmt: skip
# Embedding models whose only route (OpenRouter) is unlisted gained the provider the registry lists them under.
OFFERING_ADDED = {
    "codestral-embed-2505": "mistral", "mistral-embed-2312": "mistral", "qwen3-embedding-0.6b": "novita",
    "qwen3-embedding-8b": "novita",
}  # fmt: skip
DEFAULT_MOVED = {
    **OFFERING_ADDED,
    "claude-3-haiku": "vertex-ai", "claude-3-opus": "aws-bedrock", "claude-3.5-haiku": "aws-bedrock",
    "claude-3.7-sonnet": "aws-bedrock", "claude-opus-4": "aws-bedrock", "claude-opus-4-1": "aws-bedrock",
    "claude-sonnet-4": "aws-bedrock", "kimi-k2": "deepinfra", "kimi-k2-0905": "fireworks",
    "qwen-3-235b": "novita", "qwen3-coder": "deepinfra",
}  # fmt: skip
# Models none of whose offerings the registry lists: kept, with their offerings, but disabled.
DISABLED_UNLISTED = {
    "gemini-2.5-flash-image-preview", "gpt-3.5-turbo-instruct", "grok-2", "grok-2-vision", "grok-3", "grok-3-fast",
    "grok-3-mini", "grok-3-mini-fast", "grok-4", "grok-4-fast-non-reasoning", "grok-4-fast-reasoning",
    "kimi-k2-turbo", "magistral-medium-2506", "magistral-small-2506", "pixtral-12b", "qwen3-embedding-4b",
}  # fmt: skip

# Gemini 2.5 Pro takes 1,048,576 tokens (2M never shipped); Mistral Large 2 and later take 128K (32K was Large 1).
CONTEXT_CORRECTED = {"gemini-2.5-pro": 1_048_576, "mistral-large": 131_072}

# Local models: the reference's set of November 2025 was refreshed in December 2026 against what each Hugging Face
# repository holds (files, quantizations, sizes and contexts found in public llama.cpp/llama-swap configs, download
# scripts and the repositories' own pages): every one now names a file that exists and is enabled. These left:
LOCAL_DROPPED = {
    "voyage-3-large": "Voyage models have no open weights: the reference's GGUF does not exist",
    "llama-2-7b": "Llama 2 (2023) is superseded by Llama 3.1 8B and 3.2 3B, which replace it",
    "qwen3-235b": "no verified file: the reference's names a quantization its repository does not hold at the root",
}

# The provider key variables LiteLLM really reads.
# The variable the key itself fills, where LiteLLM reads another than the reference names: Bedrock's key is the
# secret access key (its ID is a key field of its own), Vertex AI's the service-account file's JSON.
ENV_VAR_CORRECTED = {
    "alibabacloud": "DASHSCOPE_API_KEY",
    "azure": "AZURE_API_KEY",
    "aws-bedrock": "AWS_SECRET_ACCESS_KEY",
    "vertex-ai": "VERTEX_CREDENTIALS",
}
CAPABILITY_RENAMED = {"tool_calling": "tool-calling", "function_execution": "tool-calling"}


def reference(folder: str) -> list[dict[str, Any]]:
    if not REFERENCE.is_dir():
        pytest.skip(f"the reference catalog is not beside the repository ({REFERENCE.resolve()})")
    return [json.loads(path.read_text()) for path in sorted((REFERENCE / folder).glob("*.json"))]


def reference_price(text: str) -> Decimal | str | None:
    text = text.strip()
    if text.startswith("$"):
        return Decimal(text[1:])
    if text.upper().startswith("FREE"):
        return Decimal(0)
    if text in ("—", ""):
        return None
    return "not a price"


@pytest.fixture
def catalog(db: None) -> None:
    load_fixtures(settings.LEGER_FIXTURES_DIR)


def test_the_real_fixtures_load_with_the_expected_counts(catalog: None) -> None:
    assert Capability.objects.count() == 11
    assert Maker.objects.count() == 17
    assert Provider.objects.filter(kind="api").count() == 23
    assert list(Provider.objects.filter(kind="local").values_list("id", flat=True)) == ["llama-cpp"]
    assert LLM.objects.filter(kind="cloud").count() == 130
    assert LLM.objects.filter(kind="local").count() == 31
    assert Offering.objects.count() == 251
    assert Offering.objects.filter(is_default=True).count() == 161


def test_every_reference_maker_is_present_with_its_facts(catalog: None) -> None:
    for ref in reference("makers"):
        maker = Maker.objects.get(pk=ref["id"])
        assert (maker.name, maker.website) == (ref["name"], ref["website"])
        assert maker.description and maker.description != ref["description"]
    # The reference's local Nomic model names a maker it never declared.
    assert Maker.objects.filter(pk="nomic").exists()


def test_every_reference_provider_is_present_with_its_facts(catalog: None) -> None:
    for ref in reference("providers"):
        provider = Provider.objects.get(pk=ref["id"])
        assert provider.name == ref["name"]
        if ref["provider_type"] == "local":
            assert (provider.kind, provider.env_var) == ("local", "")
        else:
            assert provider.kind == "api"
            assert provider.env_var == ENV_VAR_CORRECTED.get(ref["id"], ref["requires_api_key"])
        assert provider.description and provider.description != ref["description"]
    assert Provider.objects.get(pk="anthropic").key_prefix == "sk-ant-"
    assert Provider.objects.get(pk="groq").key_prefix == "gsk_"


def test_every_reference_cloud_model_is_present_with_its_facts(catalog: None) -> None:
    models = {llm.pk: llm for llm in LLM.objects.prefetch_related("capabilities", "offerings")}
    for ref in reference("cloud"):
        llm = models[ref["id"]]
        assert (llm.kind, llm.maker_id) == ("cloud", ref["maker"]), ref["id"]
        assert llm.context_window == CONTEXT_CORRECTED.get(ref["id"], ref.get("context_window")), ref["id"]
        assert llm.embedding_dimension == ref.get("embedding_dimension"), ref["id"]
        assert llm.description and llm.description != ref["description"]

        for field, text in (
            ("input_price", ref["pricing"]["input_per_1m"]),
            ("output_price", ref["pricing"]["output_per_1m"]),
        ):
            expected = reference_price(text)
            if expected == "not a price":
                assert getattr(llm, field) is not None, f"{ref['id']}: {text!r} should have become a real price"
            else:
                assert getattr(llm, field) == expected, (ref["id"], field)

        max_output = ref.get("max_output")
        if max_output and max_output * 4 != ref.get("context_window"):
            assert llm.max_output == max_output, ref["id"]
        elif llm.max_output is not None:  # the reference's context/4 filler was replaced by a known limit
            assert llm.max_output <= llm.context_window, ref["id"]

        wanted_capabilities = {CAPABILITY_RENAMED.get(c, c) for c in ref["capabilities"]} - {"image"}
        assert wanted_capabilities <= {c.pk for c in llm.capabilities.all()}, ref["id"]

        assert llm.enabled == (ref["id"] not in DISABLED_UNLISTED and ref.get("enabled", True)), ref["id"]
        offerings = {offering.provider_id: offering for offering in llm.offerings.all()}
        added = {OFFERING_ADDED[ref["id"]]} if ref["id"] in OFFERING_ADDED else set()
        assert set(offerings) == {p["id"] for p in ref["providers"]} | added, ref["id"]
        disabled = {p for p, offering in offerings.items() if not offering.enabled}
        assert disabled == OFFERING_DISABLED.get(ref["id"], set()), ref["id"]
        for ref_offering in ref["providers"]:
            offering = offerings[ref_offering["id"]]
            if ref["id"] in DEFAULT_MOVED:
                assert offering.is_default == (offering.provider_id == DEFAULT_MOVED[ref["id"]]), ref["id"]
            else:
                assert offering.is_default == ref_offering["is_default"], ref["id"]
            if ref["id"] in LITELLM_CORRECTED.get(ref_offering["id"], set()):
                assert offering.litellm_model != ref_offering["litellm_model_name"], (ref["id"], ref_offering["id"])
            else:
                assert offering.litellm_model == ref_offering["litellm_model_name"], (ref["id"], ref_offering["id"])


def test_every_reference_local_model_is_present_and_enabled_or_dropped_for_a_stated_reason(catalog: None) -> None:
    cloud_ids = {ref["id"] for ref in reference("cloud")}
    for ref in reference("local"):
        catalog_id = f"{ref['id']}-gguf" if ref["id"] in cloud_ids else ref["id"]
        if ref["id"] in LOCAL_DROPPED:
            assert not LLM.objects.filter(pk__in=[ref["id"], ref["id"] + "-gguf"], kind="local").exists()
            continue
        llm = LLM.objects.get(pk=catalog_id)
        assert (llm.kind, llm.maker_id, llm.enabled) == ("local", ref["maker"], True), catalog_id
        assert llm.aliases == ref.get("aliases", [])
        offering = llm.offerings.get()
        assert (offering.provider_id, offering.is_default, offering.litellm_model) == ("llama-cpp", True, "")


def test_every_local_model_is_enabled_and_says_what_it_is_and_the_memory_it_needs(catalog: None) -> None:
    local = list(LLM.objects.filter(kind="local").prefetch_related("capabilities"))
    assert len(local) >= 25
    for llm in local:
        capabilities = {c.pk for c in llm.capabilities.all()}
        assert llm.enabled, f"{llm.pk} is shown but cannot be chosen: enable it or drop it"
        assert f"needs about {llm.ram_required_gb} GB of memory" in llm.description, llm.pk
        assert f"as a {llm.quantization} GGUF" in llm.description, llm.pk
        kind = "embedding" if "embeddings" in capabilities else "reranking" if "rerank" in capabilities else ""
        assert not kind or f"{kind} model" in llm.description, llm.pk
        # A split model is started from its first part; llama.cpp fetches the others beside it.
        parts = re.search(r"-(\d{5})-of-(\d{5})\.gguf$", llm.hf_file)
        assert parts is None or parts.group(1) == "00001", llm.pk
    kinds = {c.pk for llm in local for c in llm.capabilities.all()}
    assert {"chat", "code", "reasoning", "embeddings", "rerank"} <= kinds, "a current set has each kind"


def test_local_models_that_share_a_name_with_a_cloud_model_take_the_gguf_suffix(catalog: None) -> None:
    assert set(LLM.objects.filter(pk__endswith="-gguf").values_list("pk", flat=True)) == {
        "glm-4.5-air-gguf", "qwen3-embedding-0.6b-gguf", "qwen3-embedding-4b-gguf", "qwen3-embedding-8b-gguf",
        "llama-3.1-8b-gguf", "llama-3.2-3b-gguf", "devstral-small-gguf",
    }  # fmt: skip
    assert LLM.objects.get(pk="glm-4.5-air").kind == "cloud"


def test_every_offering_uses_its_providers_litellm_prefix(catalog: None) -> None:
    assert set(LITELLM_PREFIXES) == set(Provider.objects.filter(kind="api").values_list("pk", flat=True))
    for offering in Offering.objects.filter(provider__kind="api"):
        assert offering.litellm_model.startswith(LITELLM_PREFIXES[offering.provider_id]), offering
        assert re.fullmatch(r"\S+", offering.litellm_model)


def test_local_files_are_gguf_files_in_owner_name_repositories(catalog: None) -> None:
    for llm in LLM.objects.filter(kind="local"):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", llm.hf_repo), llm.pk
        assert llm.hf_file.endswith(".gguf"), llm.pk
        assert llm.ctx_size <= llm.context_window, llm.pk


def test_no_two_models_share_a_name_and_only_coders_are_called_coding_models(catalog: None) -> None:
    names: dict[str, str] = {}
    for llm in LLM.objects.order_by("pk"):
        assert names.setdefault(llm.name, llm.pk) == llm.pk, f"{names[llm.name]} and {llm.pk} are both {llm.name!r}"
        if llm.is_local and " coding model " in f" {llm.description} ":
            assert "coder" in llm.name.lower(), f"{llm.pk} is a general model its description calls a coding model"


def test_a_local_model_knows_a_context_window_at_least_the_one_it_starts_with(catalog: None) -> None:
    for llm in LLM.objects.filter(kind="local"):
        assert llm.context_window and llm.ctx_size and llm.context_window >= llm.ctx_size, llm.pk
