"""Anthropic's per-request structured-output limits, enforced before the network call.

20 strict tools per request; 24 optional and 16 union (`anyOf` / type list) parameters across every strict schema
of a request (strict tools' input schemas and `output_config.format`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from accord.adapters import plan_schema
from accord.adapters._base import NativeOutput
from accord.adapters._dialects.anthropic import (
    MAX_OPTIONAL_PARAMETERS,
    MAX_STRICT_TOOLS,
    MAX_UNION_PARAMETERS,
    StrictLoad,
    over_limits,
    strict_load,
)
from accord.contracts import OutputSpec, Reasoning, Tool, UnsupportedFeatureError

from .test_anthropic_wire import Recorder, adapter_for, message_body, request


def obj(optional: int = 0, required: int = 0, unions: int = 0) -> dict[str, Any]:
    """An object with `required` required strings, then `optional` optional strings, `unions` of them `[T, null]`."""
    properties: dict[str, Any] = {f"r{i}": {"type": "string"} for i in range(required)}
    for i in range(optional):
        properties[f"o{i}"] = {"type": ["string", "null"]} if i < unions else {"type": "string"}
    return {"type": "object", "properties": properties, "required": [f"r{i}" for i in range(required)]}


def tool(name: str, schema: dict[str, Any] | None = None, strict: bool | None = True) -> Tool:
    return Tool(name=name, description=f"tool {name}", parameters=schema or obj(required=1), strict=strict)


def strict_flags(body: dict[str, Any]) -> list[bool]:
    return [wire.get("strict", False) for wire in body["tools"]]


# --- counting ------------------------------------------------------------------------------------------------


def test_a_flat_object_is_counted_by_hand() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},  # required
            "b": {"type": ["string", "null"]},  # optional, union (type list)
            "c": {"anyOf": [{"type": "string"}, {"type": "integer"}]},  # optional, union (anyOf)
            "d": {"type": "integer"},  # optional
            "e": {"oneOf": [{"type": "string"}, {"type": "null"}]},  # required, union (oneOf)
        },
        "required": ["a", "e"],
    }
    assert strict_load(schema) == StrictLoad(optional=3, unions=3)


def test_nested_objects_and_each_definition_body_count_once() -> None:
    schema = {
        "type": "object",
        "properties": {
            "first": {"$ref": "#/$defs/Item"},  # required, a $ref is not a union
            "more": {"type": "array", "items": {"$ref": "#/$defs/Item"}},  # optional
            "meta": {  # optional
                "type": "object",
                "properties": {"k": {"type": "string"}, "v": {"type": ["integer", "null"]}},  # both optional, 1 union
            },
            "choice": {  # optional, union; the object in a branch counts too
                "anyOf": [
                    {"type": "object", "properties": {"x": {"type": "string"}}, "required": []},  # x optional
                    {"type": "null"},
                ]
            },
        },
        "required": ["first"],
        "$defs": {
            # used twice, counted once: p optional + union, q required, r optional
            "Item": {
                "type": "object",
                "properties": {"p": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "q": {}, "r": {}},
                "required": ["q"],
            }
        },
    }
    # optional: more, meta, choice (root) + k, v (meta) + x (branch) + p, r (Item) = 8; unions: choice, v, p = 3
    assert strict_load(schema) == StrictLoad(optional=8, unions=3)


def test_edge_shapes_count_nothing_or_everything() -> None:
    assert strict_load(True) == StrictLoad()
    assert strict_load({"type": "string"}) == StrictLoad()
    assert strict_load({"type": "object", "properties": {}}) == StrictLoad()
    # no `required` at all: every property is optional; a union of a union-typed item is not a union parameter
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"anyOf": [{}, {}]}}, "b": {}}}
    assert strict_load(schema) == StrictLoad(optional=2, unions=0)
    assert strict_load(obj(optional=5, required=3, unions=2)) == StrictLoad(optional=5, unions=2)


def test_loads_add_up_and_the_limits_are_inclusive() -> None:
    assert StrictLoad(1, 2) + StrictLoad(3, 4) == StrictLoad(4, 6)
    assert over_limits(StrictLoad(MAX_OPTIONAL_PARAMETERS, MAX_UNION_PARAMETERS), strict_tools=MAX_STRICT_TOOLS) == []
    problems = over_limits(StrictLoad(25, 17), strict_tools=21)
    assert problems == [
        "21 strict tools, over the limit of 20 per request",
        "25 optional parameters, over the limit of 24 across strict schemas",
        "17 parameters with anyOf or type lists, over the limit of 16 across strict schemas",
    ]


# --- one schema over the limits: the plan is not strict ------------------------------------------------------


def test_a_schema_over_the_limits_alone_is_planned_non_strict_with_the_reason() -> None:
    over = plan_schema(obj(optional=25), "anthropic", strict=True)
    assert not over.strict_applied
    assert "/: 25 optional parameters, over the limit of 24 across strict schemas (strict not applied)" in over.reasons
    unions = plan_schema(obj(optional=17, unions=17), "anthropic", strict=True)
    assert not unions.strict_applied
    assert any("17 parameters with anyOf or type lists" in r for r in unions.reasons)
    assert plan_schema(obj(optional=24, unions=16), "anthropic", strict=True).strict_applied
    assert plan_schema(obj(optional=25), "anthropic", strict=False).reasons == []


def test_oneof_rewritten_to_anyof_is_counted_after_the_transform() -> None:
    properties = {f"u{i}": {"oneOf": [{"type": "string"}, {"type": "integer"}]} for i in range(17)}
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    plan = plan_schema(schema, "anthropic", strict=True)
    assert not plan.strict_applied
    assert strict_load(plan.transformed) == StrictLoad(optional=0, unions=17)


# --- strict tools ------------------------------------------------------------------------------------------------


async def _send(req: Any, native: NativeOutput | None = None) -> tuple[Recorder, dict[str, Any]]:
    recorder = Recorder(body=message_body([{"type": "text", "text": "ok"}]))
    await adapter_for(recorder).send(req, native)
    return recorder, recorder.sent


async def test_twenty_strict_tools_are_all_sent_strict(caplog: pytest.LogCaptureFixture) -> None:
    tools = [tool(f"t{i}") for i in range(20)]
    with caplog.at_level(logging.WARNING, logger="accord"):
        _, body = await _send(request(tools=tools))
    assert strict_flags(body) == [True] * 20
    assert not caplog.records


async def test_twenty_one_strict_tools_are_all_sent_without_strict(caplog: pytest.LogCaptureFixture) -> None:
    tools = [tool(f"t{i}") for i in range(21)]
    with caplog.at_level(logging.WARNING, logger="accord"):
        recorder, body = await _send(request(tools=tools))
    assert len(recorder.requests) == 1  # the request still goes out
    assert strict_flags(body) == [False] * 21
    assert all("strict" not in wire for wire in body["tools"])
    assert [wire["input_schema"] for wire in body["tools"]] == [
        t.parameters | {"additionalProperties": False} for t in tools
    ]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "21 strict tools, over the limit of 20 per request (strict not applied)" in record.getMessage()
    assert "t0, t1" in record.getMessage()


async def test_non_strict_tools_do_not_use_the_budget() -> None:
    tools = [tool(f"t{i}") for i in range(20)] + [tool(f"plain{i}", strict=None) for i in range(5)]
    tools.append(tool("off", obj(optional=30), strict=False))
    _, body = await _send(request(tools=tools))
    assert strict_flags(body) == [True] * 20 + [False] * 6


async def test_optional_parameters_are_counted_across_strict_tools(caplog: pytest.LogCaptureFixture) -> None:
    fits = [tool("a", obj(optional=12)), tool("b", obj(optional=12, unions=8)), tool("c", obj(unions=0))]
    _, body = await _send(request(tools=fits))
    assert strict_flags(body) == [True, True, True]
    over = [tool("a", obj(optional=12)), tool("b", obj(optional=13))]
    with caplog.at_level(logging.WARNING, logger="accord"):
        _, body = await _send(request(tools=over))
    assert strict_flags(body) == [False, False]
    assert "25 optional parameters, over the limit of 24" in caplog.records[-1].getMessage()


async def test_union_parameters_are_counted_across_strict_tools() -> None:
    _, body = await _send(request(tools=[tool("a", obj(optional=8, unions=8)), tool("b", obj(optional=8, unions=8))]))
    assert strict_flags(body) == [True, True]
    _, body = await _send(request(tools=[tool("a", obj(optional=8, unions=8)), tool("b", obj(optional=9, unions=9))]))
    assert strict_flags(body) == [False, False]


async def test_one_tool_over_the_limits_alone_is_not_strict_and_the_others_keep_strict() -> None:
    _, body = await _send(request(tools=[tool("big", obj(optional=30)), tool("small", obj(optional=3))]))
    assert strict_flags(body) == [False, True]


async def test_the_output_schema_shares_the_budget_with_strict_tools(caplog: pytest.LogCaptureFixture) -> None:
    native = NativeOutput(name="out", schema=obj(optional=20), strict=True)
    with caplog.at_level(logging.WARNING, logger="accord"):
        _, body = await _send(request(tools=[tool("a", obj(optional=5))]), native)
    assert strict_flags(body) == [False]
    assert body["output_config"]["format"] == {"type": "json_schema", "schema": obj(optional=20)}
    assert "25 optional parameters" in caplog.records[-1].getMessage()
    _, body = await _send(request(tools=[tool("a", obj(optional=4))]), native)
    assert strict_flags(body) == [True]


# --- the output schema over the limits ----------------------------------------------------------------------

OVER = obj(optional=25, required=1)
FITS_ANSWER = {"r0": "x", "o3": "y"}


async def test_native_output_over_the_limits_fails_before_any_request() -> None:
    recorder = Recorder(body=message_body([{"type": "text", "text": "{}"}]))
    adapter = adapter_for(recorder)
    for strict in (None, True):
        with pytest.raises(UnsupportedFeatureError) as info:
            await adapter.complete(request(output=OutputSpec(json_schema=OVER, mode="native", strict=strict)))
        assert info.value.feature == "native_output"
        assert "25 optional parameters" in str(info.value)
        assert "24" in str(info.value)
    unions = obj(optional=17, unions=17)
    with pytest.raises(UnsupportedFeatureError, match="17 parameters with anyOf or type lists") as info:
        await adapter.complete(request(output=OutputSpec(json_schema=unions, mode="native")))
    assert info.value.feature == "native_output"
    assert recorder.requests == []


async def test_native_output_over_the_limits_fails_before_any_request_when_streaming() -> None:
    recorder = Recorder(body=message_body([{"type": "text", "text": "{}"}]))
    adapter = adapter_for(recorder)
    req = request(output=OutputSpec(json_schema=OVER, mode="native"))

    async def drain() -> None:
        async with adapter.stream(req) as stream:
            async for _ in stream:
                pass

    with pytest.raises(UnsupportedFeatureError) as info:
        await drain()
    assert info.value.feature == "native_output"
    assert recorder.requests == []


async def test_a_direct_send_with_an_oversized_native_schema_is_refused() -> None:
    recorder = Recorder(body=message_body([{"type": "text", "text": "{}"}]))
    native = NativeOutput(name="out", schema=OVER, strict=False)  # output_config.format is constrained anyway
    with pytest.raises(UnsupportedFeatureError, match=r"output_config\.format"):
        await adapter_for(recorder).send(request(), native)
    assert recorder.requests == []


async def test_auto_mode_falls_back_to_a_tool_for_an_output_schema_over_the_limits() -> None:
    answer = [{"type": "tool_use", "id": "toolu_1", "name": "final_result", "input": FITS_ANSWER}]
    recorder = Recorder(body=message_body(answer, stop="tool_use"))
    response = await adapter_for(recorder).complete(request(output=OutputSpec(json_schema=OVER)))
    assert response.output == FITS_ANSWER
    [sent] = recorder.requests
    body = recorder.sent
    assert "output_config" not in body
    assert body["tool_choice"] == {"type": "tool", "name": "final_result"}
    [wire_tool] = body["tools"]
    assert wire_tool["name"] == "final_result"
    assert "strict" not in wire_tool  # over the limits: arguments are validated client-side instead
    assert sent.url.path == "/v1/messages"


async def test_auto_mode_keeps_native_output_within_the_limits() -> None:
    schema = obj(optional=24, required=1, unions=16)
    recorder = Recorder(body=message_body([{"type": "text", "text": '{"r0": "x"}'}]))
    response = await adapter_for(recorder).complete(request(output=OutputSpec(json_schema=schema)))
    assert response.output == {"r0": "x"}
    assert recorder.sent["output_config"]["format"]["schema"]["required"] == ["r0"]
    assert "tools" not in recorder.sent


async def test_auto_mode_with_thinking_and_an_oversized_schema_asks_in_the_prompt() -> None:
    # Thinking forbids a forced tool and the always-enforced native field cannot take the schema: prompted output.
    recorder = Recorder(body=message_body([{"type": "text", "text": '{"r0": "x", "o3": "y"}'}]))
    thinking = Reasoning(effort="low")
    response = await adapter_for(recorder).complete(request(output=OutputSpec(json_schema=OVER), reasoning=thinking))
    assert response.output == FITS_ANSWER
    body = recorder.sent
    assert "output_config" not in body or "format" not in body["output_config"]
    assert "tools" not in body
    assert "o24" in json.dumps(body["system"])  # the schema travels in the instructions
