"""Layers (catalog → discovery → overrides), discovery fetchers over MockTransport, TTL cache, find_models."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from accord.adapters._catalog import (
    Catalog,
    CatalogEntry,
    discover,
    discover_ollama,
    discover_openai,
    discover_openrouter,
    find_models,
)
from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ModelProfile,
    Pricing,
    ResponseParseError,
    ServerError,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(handler: Any, log: list[httpx.Request] | None = None) -> httpx.AsyncClient:
    def wrapped(request: httpx.Request) -> httpx.Response:
        if log is not None:
            log.append(request)
        result: httpx.Response = handler(request)
        return result

    return httpx.AsyncClient(transport=httpx.MockTransport(wrapped))


# --- overrides ------------------------------------------------------------------------------------------------


def test_override_changes_only_the_fields_it_sets() -> None:
    catalog = Catalog()
    catalog.override("openai", "gpt-4o", {"pricing": {"input": 1.0}})
    profile = catalog.profile("openai", "gpt-4o")
    assert profile.pricing.input == 1.0
    assert profile.pricing.output == 10.0  # untouched: the override did not set it
    assert profile.max_context == 128000
    catalog.override("openai", "gpt-4o", ModelProfile(max_output=99))
    profile = catalog.profile("openai", "gpt-4o")
    assert (profile.pricing.input, profile.max_output) == (1.0, 99)  # successive overrides accumulate
    assert catalog.resolve("openai", "gpt-4o").sources == ("catalog", "override")


def test_override_can_add_a_model_with_dates_and_tiers() -> None:
    catalog = Catalog()
    catalog.override(
        "acme",
        "m1",
        {
            "max_context": 1000,
            "released": "2025-01-01",
            "pricing": {"input": 1, "output": 2, "tiers": [{"above_input_tokens": 10, "input": 3, "output": 4}]},
        },
    )
    resolved = catalog.resolve("acme", "m1")
    assert resolved.price_tiers[0].input == 3
    [row] = catalog.models(["acme"])
    assert (row.ref, row.released, row.sources) == ("acme:m1", dt.date(2025, 1, 1), ("override",))
    with pytest.raises(ValueError, match="override acme:m2"):
        catalog.override("acme", "m2", {"max_contextt": 1})


def test_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"openai:gpt-4o": {"supports_vision": False}}), encoding="utf-8")
    catalog = Catalog()
    catalog.load_overrides(path)
    assert catalog.profile("openai", "gpt-4o").supports_vision is False


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps([1]), json.dumps({"no-colon": {}}), json.dumps({"a:b": 3}), json.dumps({"a:b": {"x": 1}})],
)
def test_bad_overrides_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "models.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError):
        Catalog().load_overrides(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        Catalog().load_overrides(tmp_path / "missing.json")


def test_env_overrides_are_read_lazily_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"openai:gpt-4o": {"max_output": 7}}), encoding="utf-8")
    monkeypatch.setenv("ACCORD_CATALOG_OVERRIDES", str(path))
    catalog = Catalog()
    assert catalog.overrides == {}  # nothing read at construction
    assert catalog.profile("openai", "gpt-4o").max_output == 7
    path.write_text(json.dumps({"openai:gpt-4o": {"max_output": 8}}), encoding="utf-8")
    assert catalog.profile("openai", "gpt-4o").max_output == 7  # read once


# --- discovery ------------------------------------------------------------------------------------------------

OPENAI_MODELS = {"object": "list", "data": [{"id": "gpt-4o", "created": 1715558400}, {"id": "ft:new", "created": 0}, 7]}

OPENROUTER_MODELS = {
    "data": [
        {
            "id": "acme/chat-1",
            "created": 1735689600,
            "context_length": 64000,
            "top_provider": {"max_completion_tokens": 8000},
            "architecture": {"input_modalities": ["text", "image"]},
            "supported_parameters": ["tools", "tool_choice", "structured_outputs", "reasoning"],
            "pricing": {
                "prompt": "0.0000025",
                "completion": "0.00001",
                "input_cache_read": "0.00000125",
                "internal_reasoning": "0",
                "image": "0",
            },
        },
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
        {"id": "odd", "pricing": {"prompt": "n/a"}},
    ]
}


async def test_discover_openai() -> None:
    log: list[httpx.Request] = []
    async with _client(lambda r: httpx.Response(200, json=OPENAI_MODELS), log) as client:
        entries = await discover_openai(client, api_key="sk-test")
    assert [e.model for e in entries] == ["gpt-4o", "ft:new"]
    assert entries[0].released == dt.date(2024, 5, 13)
    assert entries[1].released is None
    assert entries[0].profile.model_fields_set == set()  # /models says nothing about capabilities
    assert str(log[0].url) == "https://api.openai.com/v1/models"
    assert log[0].headers["authorization"] == "Bearer sk-test"


# `/models` items as OpenAI-compatible servers list them (each shape from the server's own documentation/output).
COMPATIBLE_MODELS = {
    "data": [
        {  # llama.cpp server: the served n_ctx wins over n_ctx_train; modalities say whether images are read
            "id": "qwen-local",
            "architecture": {"input_modalities": ["text", "image"]},
            "meta": {"n_ctx": 2048, "n_ctx_train": 32768},
        },
        {"id": "trained-only", "meta": {"n_ctx_train": 32768}, "architecture": {"input_modalities": ["text"]}},
        {"id": "vllm-model", "max_model_len": 8192},
        {
            "id": "mistral-small-2603",
            "max_context_length": 262144,
            "capabilities": {"vision": True, "function_calling": False},
        },
        {"id": "groq-model", "context_window": 131072},
        {"id": "together-model", "context_length": 65536},
        {"id": "odd", "max_model_len": True, "context_length": -1, "capabilities": {"vision": "yes"}},
    ]
}


async def test_discover_openai_compatible_servers_reads_their_context_sizes_and_capabilities() -> None:
    async with _client(lambda r: httpx.Response(200, json=COMPATIBLE_MODELS)) as client:
        entries = await discover_openai(client, base_url="http://127.0.0.1:8080/v1", provider="llamacpp")
    found = {e.model: e.profile for e in entries}
    assert found["qwen-local"].max_context == 2048
    assert found["qwen-local"].supports_vision is True
    assert found["trained-only"].max_context == 32768
    assert found["trained-only"].supports_vision is False
    assert found["vllm-model"].max_context == 8192
    assert found["mistral-small-2603"].max_context == 262144
    assert found["mistral-small-2603"].supports_vision is True
    assert found["mistral-small-2603"].supports_tools is False
    assert found["groq-model"].max_context == 131072
    assert found["together-model"].max_context == 65536
    assert found["odd"].model_fields_set == set()  # malformed facts are ignored, never guessed
    # Layered: a local model with no catalog entry now resolves complete (context from discovery, price 0).
    catalog = Catalog()
    catalog.add_discovered("openai@llamacpp", entries)
    profile = catalog.profile("llamacpp", "qwen-local")
    assert (profile.max_context, profile.pricing.input, profile.pricing.output) == (2048, 0.0, 0.0)


async def test_discover_ollama_reads_capabilities_and_context() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tags":
            return httpx.Response(
                200,
                json={
                    "models": [
                        {"name": "qwen3:8b", "modified_at": "2025-05-01T10:00:00.123+02:00"},
                        {"model": "llava:7b", "modified_at": "not a date"},
                        {"size": 1},
                    ]
                },
            )
        name = json.loads(request.content)["model"]
        if name == "qwen3:8b":
            return httpx.Response(
                200,
                json={
                    "capabilities": ["completion", "tools", "thinking"],
                    "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960},
                },
            )
        return httpx.Response(200, json={"model_info": {}})

    async with _client(handler) as client:
        entries = await discover_ollama(client, base_url="http://localhost:11434/")
    qwen, llava = entries
    assert (qwen.profile.supports_tools, qwen.profile.supports_vision, qwen.profile.supports_reasoning) == (
        True,
        False,
        True,
    )
    assert qwen.profile.max_context == 40960
    assert qwen.released == dt.date(2025, 5, 1)
    assert llava.model == "llava:7b"
    assert llava.profile.model_fields_set == set()
    assert llava.released is None


async def test_discover_openrouter_prices_per_million() -> None:
    async with _client(lambda r: httpx.Response(200, json=OPENROUTER_MODELS)) as client:
        entries = await discover_openrouter(client)
    chat, auto, odd = entries
    p = chat.profile
    assert p.pricing == Pricing(input=2.5, output=10.0, cache_read=1.25)  # reasoning "0" = billed as output
    assert (p.max_context, p.max_output, p.supports_vision, p.supports_documents) == (64000, 8000, True, False)
    assert (p.supports_tools, p.supports_native_output, p.supports_json_mode, p.supports_reasoning) == (
        True,
        True,
        False,
        True,
    )
    assert auto.profile.pricing == Pricing()  # variable price: unknown, not -1
    assert odd.profile.pricing.input is None


async def test_discovery_errors_are_raised_not_swallowed() -> None:
    async with _client(lambda r: httpx.Response(401, json={"error": {"message": "bad key"}})) as client:
        with pytest.raises(AuthenticationError):
            await discover_openai(client, api_key="sk-bad")
    async with _client(lambda r: httpx.Response(500, text="down")) as client:
        with pytest.raises(ServerError):
            await discover_openrouter(client)
    async with _client(lambda r: httpx.Response(200, text="<html>")) as client:
        with pytest.raises(ResponseParseError):
            await discover_openai(client)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(refuse) as client:
        with pytest.raises(ConnectError):
            await discover_ollama(client)


async def test_discovery_layer_merges_and_is_cached_with_a_ttl() -> None:
    clock = FakeClock()
    catalog = Catalog(ttl=60, clock=clock)
    log: list[httpx.Request] = []
    async with _client(lambda r: httpx.Response(200, json=OPENROUTER_MODELS), log) as client:
        await discover("openrouter", client, catalog=catalog)
        await discover("openrouter", client, catalog=catalog)
        assert len(log) == 1  # second call served from the cache
        profile = catalog.profile("openrouter", "acme/chat-1")
        assert profile.pricing.input == 2.5
        assert profile.max_context == 64000
        assert catalog.resolve("openrouter", "acme/chat-1").sources[-1] == "discovery"
        assert "openrouter:acme/chat-1" in [m.ref for m in catalog.models(["openrouter"])]
        catalog.override("openrouter", "acme/chat-1", {"max_context": 32000})
        profile = catalog.profile("openrouter", "acme/chat-1")
        assert (profile.max_context, profile.pricing.input) == (32000, 2.5)  # override wins only where it sets
        clock.now += 61
        assert catalog.profile("openrouter", "acme/chat-1").pricing.input is None  # expired
        assert "openrouter:auto" not in [m.ref for m in catalog.models(["openrouter"])]
        await discover("openrouter", client, catalog=catalog)
        await discover("openrouter", client, catalog=catalog, force=True)
        assert len(log) == 3
    with pytest.raises(ConfigurationError, match="unknown discovery source"):
        await discover("nope", client, catalog=catalog)


async def test_discovered_facts_sit_between_catalog_and_overrides() -> None:
    catalog = Catalog()
    catalog.add_discovered("x", [CatalogEntry("openai", "gpt-4o", ModelProfile(max_context=1))])
    assert catalog.profile("openai", "gpt-4o").max_context == 1
    assert catalog.profile("openai", "gpt-4o").pricing.input == 2.5  # discovery set no price: catalog's stays


# --- find_models ------------------------------------------------------------------------------------------------


def _query_catalog() -> Catalog:
    catalog = Catalog()
    catalog.override("q", "cheap", {"max_context": 8000, "pricing": {"input": 0.1, "output": 0.2}})
    catalog.override(
        "q", "big", {"max_context": 1000000, "supports_vision": True, "pricing": {"input": 0.1, "output": 1}}
    )
    catalog.override(
        "q", "pricey", {"max_context": 200000, "supports_reasoning": True, "pricing": {"input": 5, "output": 9}}
    )
    catalog.override("q", "unknown-price", {"max_context": 500000})
    catalog.override(
        "q", "old", {"max_context": 8000, "pricing": {"input": 0.01, "output": 0.01}, "deprecated": "2025-01-01"}
    )
    catalog.override("q", "gone", {"pricing": {"input": 0.01, "output": 0.01}, "shutdown": "2025-02-01"})
    catalog.override("q", "no-tools", {"supports_tools": False, "pricing": {"input": 0.01, "output": 0.01}})
    return catalog


def test_find_models_ranks_by_the_documented_rule() -> None:
    catalog = _query_catalog()
    today = dt.date(2025, 6, 1)
    refs = [m.model for m in find_models(provider="q", catalog=catalog, today=today)]
    # not deprecated first; then cheapest input; then largest context; unknown price after priced ones
    assert refs == ["no-tools", "big", "cheap", "pricey", "unknown-price", "old"]
    assert "gone" in [m.model for m in find_models(provider=["q"], catalog=catalog, today=dt.date(2025, 1, 1))]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"requires_tools": True, "max_input_price": 1}, ["big", "cheap", "old"]),
        ({"requires_vision": True}, ["big"]),
        ({"requires_reasoning": True}, ["pricey"]),
        ({"min_context": 100000}, ["big", "pricey", "unknown-price"]),  # unknown context never passes
        ({"max_input_price": 10}, ["no-tools", "big", "cheap", "pricey", "old"]),  # unknown price never passes
        ({"max_output_price": 0.5, "include_deprecated": False}, ["no-tools", "cheap"]),
        ({"min_output": 1}, []),
        ({"requires_native_output": True}, []),
        ({"requires_documents": True}, []),
        ({"include_shutdown": True, "max_input_price": 0.01}, ["gone", "no-tools", "old"]),
    ],
)
def test_find_models_filters(filters: dict[str, Any], expected: list[str]) -> None:
    found = find_models(provider="q", catalog=_query_catalog(), today=dt.date(2025, 6, 1), **filters)
    assert [m.model for m in found] == expected


def test_find_models_over_the_packaged_catalog() -> None:
    day = dt.date(2026, 12, 7)  # the catalog's as_of: shutdown dates are judged then, so the test does not age
    found = find_models(provider="openai", requires_vision=True, min_context=400000, max_input_price=2, today=day)
    refs = [m.ref for m in found]
    # never deprecated first (cheapest first), then the deprecated ones; gpt-4.1-nano is past its shutdown
    assert refs[:5] == [
        "openai:gpt-6-luna",
        "openai:gpt-5.2",
        "openai:gpt-6.2-sol",
        "openai:gpt-5-nano",
        "openai:gpt-5-mini",
    ]
    assert "openai:gpt-4.1-nano" not in refs
    assert all(m.profile.supports_vision and (m.profile.max_context or 0) >= 400000 for m in found)
    every = find_models()
    assert {"openai", "anthropic"} <= {m.provider for m in every}
