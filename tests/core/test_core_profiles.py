"""Capabilities checks, the catalog (longest match), pricing, hooks and scrubbing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from accord.adapters._capabilities import check_request
from accord.adapters._catalog import catalog_profile
from accord.adapters._hooks import RequestStart, emit
from accord.adapters._pricing import cost_of
from accord.adapters._scrub import has_secret, scrub_text, scrub_value
from accord.contracts import (
    DocumentPart,
    ImagePart,
    Message,
    ModelProfile,
    ParameterRules,
    Pricing,
    Request,
    TextPart,
    Tool,
    ToolCall,
    ToolResult,
    UnsupportedFeatureError,
    Usage,
)

ALL = ModelProfile(
    provider="p",
    model="m",
    supports_vision=True,
    supports_documents=True,
    supports_native_output=True,
    supports_strict_tools=True,
    supports_reasoning=True,
    supports_tool_result_media=True,
)
IMG = ImagePart(url="https://x/a.png")
DOC = DocumentPart(url="https://x/a.pdf")


def _req(**kw: Any) -> Request:
    return Request(messages=kw.pop("messages", [Message.user("hi")]), **kw)


def _tool_media_req(item: Any) -> Request:
    call = ToolCall(id="c", name="t")
    return _req(
        messages=[
            Message.user("x"),
            Message.assistant(tool_calls=[call]),
            Message(role="tool", parts=[ToolResult(call_id="c", content=[item])]),
        ],
        tools=[Tool(name="t")],
    )


@pytest.mark.parametrize(
    ("denied", "request_", "feature"),
    [
        ({"supports_tools": False}, _req(tools=[Tool(name="t")]), "tools"),
        (
            {"supports_tool_choice_required": False},
            _req(tools=[Tool(name="t")], tool_choice="required"),
            "tool_choice_required",
        ),
        ({"supports_parallel_tools": False}, _req(tools=[Tool(name="t")], parallel_tool_calls=True), "parallel_tools"),
        ({"supports_strict_tools": False}, _req(tools=[Tool(name="t", strict=True)]), "strict_tools"),
        ({"supports_vision": False}, _req(messages=[Message.user([IMG])]), "vision"),
        ({"supports_documents": False}, _req(messages=[Message.user([DOC])]), "documents"),
        ({"supports_tool_result_media": False}, _tool_media_req(IMG), "tool_result_media"),
        ({"supports_documents": False}, _tool_media_req(DOC), "documents"),
        ({"supports_reasoning": False}, _req(reasoning="high"), "reasoning"),
        ({"supports_system_prompt": False}, _req(system="be brief"), "system_prompt"),
        ({"supports_system_prompt": False}, _req(messages=[Message.system("s"), Message.user("u")]), "system_prompt"),
        ({"parameters": ParameterRules(unsupported=frozenset({"temperature"}))}, _req(temperature=0.2), "temperature"),
        ({"supports_native_output": False}, _req(output={"type": "object", "properties": {}} | {}), None),
        ({"max_output": 100}, _req(max_tokens=101), "max_tokens"),
    ],
)
def test_denied_features_are_refused(denied: dict[str, Any], request_: Request, feature: str | None) -> None:
    check_request(request_, ALL, "p")  # the full profile takes it
    profile = ALL.model_copy(update=denied)
    if feature is None:
        check_request(request_, profile, "p")  # auto output mode needs no native support
        return
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(request_, profile, "p")
    assert caught.value.feature == feature
    assert caught.value.provider == "p"
    assert caught.value.model == "m"
    assert str(caught.value).startswith("p:m ")


def test_output_modes_and_allowed_cases() -> None:
    spec = {"json_schema": {"type": "object"}, "mode": "native"}
    with pytest.raises(UnsupportedFeatureError, match="native structured output"):
        check_request(_req(output=spec), ALL.model_copy(update={"supports_native_output": False}), "p")
    with pytest.raises(UnsupportedFeatureError, match="through a tool call"):
        check_request(_req(output={**spec, "mode": "tool"}), ALL.model_copy(update={"supports_tools": False}), "p")
    no_reasoning = ALL.model_copy(update={"supports_reasoning": False})
    check_request(_req(reasoning="none"), no_reasoning, "p")  # turning reasoning off is always fine
    check_request(_req(max_tokens=100), ALL.model_copy(update={"max_output": 100}), "p")
    check_request(_req(messages=[Message.user([TextPart(text="x")])]), ModelProfile(), "p")


def test_catalog_longest_match() -> None:
    dated = catalog_profile("openai", "gpt-4o-mini-2024-07-18")
    assert dated.pricing.input == 0.15  # gpt-4o-mini, not gpt-4o
    assert catalog_profile("openai", "gpt-4o-2024-08-06").pricing.input == 2.5
    assert catalog_profile("openai", "gpt-4o").max_output == 16384
    o1 = catalog_profile("openai", "o1-2024-12-17")
    assert o1.parameters.max_tokens_field == "max_completion_tokens"
    assert o1.supports_reasoning
    assert catalog_profile("openai", "o1-mini").supports_tools is False
    unknown = catalog_profile("openai", "gpt-4ox")  # no boundary after the key: no match
    assert unknown.pricing.input is None
    assert unknown.supports_json_mode is True
    assert catalog_profile("openai", "gpt-4o-mini-search-preview").supports_vision  # family: capabilities


def test_pricing() -> None:
    pricing = Pricing(input=2.0, output=8.0, cache_read=0.5, cache_write=2.5)
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=500_000,
        cache_read_tokens=400_000,
        cache_write_tokens=100_000,
        reasoning_tokens=100_000,
    )
    # 500k plain input x2 + 400k x0.5 + 100k x2.5 + 500k output x8 (reasoning billed as output)
    assert cost_of(usage, pricing) == pytest.approx(1.0 + 0.2 + 0.25 + 4.0)
    with_reasoning = pricing.model_copy(update={"reasoning": 10.0})
    assert cost_of(usage, with_reasoning) == pytest.approx(1.0 + 0.2 + 0.25 + 3.2 + 1.0)
    assert cost_of(Usage(), pricing) == 0.0
    assert cost_of(Usage(), Pricing()) is None
    assert cost_of(Usage(input_tokens=1), Pricing(input=1.0)) is None
    assert cost_of(Usage(input_tokens=2, cache_read_tokens=1), Pricing(input=1.0, output=1.0)) is None
    assert cost_of(Usage(input_tokens=2, cache_write_tokens=1), Pricing(input=1.0, output=1.0, cache_read=1)) is None


def test_hooks_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[Any] = []

    def broken(event: Any) -> None:
        raise RuntimeError("hook bug")

    with caplog.at_level(logging.ERROR, logger="accord"):
        emit([broken, seen.append], RequestStart("p", "m", streaming=False))
    assert len(seen) == 1
    assert "hook" in caplog.text


def test_scrubbing() -> None:
    key = "sk-proj-" + "A1" * 20
    assert scrub_text(f"bad key {key}") == "bad key <redacted>"
    assert scrub_text("Authorization: Bearer abcdefghijklmnop123", ("",)) == "Authorization: <redacted>"
    assert scrub_text("my-own-secret here", ("my-own-secret",)) == "<redacted> here"
    assert scrub_value({"a": [key, 1, {"b": "AKIAABCDEFGHIJKLMNOP"}]}) == {"a": ["<redacted>", 1, {"b": "<redacted>"}]}
    assert has_secret(key)
    assert not has_secret("hello")
