"""OpenAI Responses: request mapping and stream/response decoding, checked against the `openai` SDK's own types."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from pydantic_core import ValidationError

from accord.adapters._base import NativeOutput
from accord.adapters._retry import RetryPolicy
from accord.adapters.openai_responses import (
    OpenAIResponsesAdapter,
    decode_reasoning_signature,
    encode_reasoning_signature,
    map_finish,
)
from accord.contracts import (
    AuthenticationError,
    ContextWindowExceededError,
    DocumentPart,
    ImagePart,
    InvalidRequestError,
    Message,
    ModelProfile,
    NotFoundError,
    ProviderError,
    RateLimitError,
    Request,
    ResponseParseError,
    ServerError,
    StreamEnd,
    StreamInterruptedError,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    UnsupportedFeatureError,
)

openai_types = pytest.importorskip("openai.types.responses")
from openai.types.responses import response_create_params  # noqa: E402

MODEL = "gpt-4o"
WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


# --- oracles -------------------------------------------------------------------------------------------------


def _consume(value: Any) -> Any:
    """Walk a validated TypedDict, forcing pydantic's lazy iterators so nested items are validated too."""
    if isinstance(value, dict):
        return {k: _consume(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_consume(v) for v in value]
    if type(value).__name__ == "ValidatorIterator":
        return [_consume(v) for v in value]
    return value


# Kept alive for the whole module: pydantic's lazy iterators still refer to their validator's definitions.
REQUEST_PARAMS: dict[bool, TypeAdapter[Any]] = {
    True: TypeAdapter(response_create_params.ResponseCreateParamsStreaming),
    False: TypeAdapter(response_create_params.ResponseCreateParamsNonStreaming),
}


def assert_valid_request(body: dict[str, Any]) -> None:
    _consume(REQUEST_PARAMS[bool(body.get("stream"))].validate_python(body))


def test_request_oracle_rejects_a_bad_item() -> None:
    with pytest.raises(ValidationError):
        assert_valid_request({"model": MODEL, "input": [{"type": "function_call_output"}]})


STREAM_EVENT = TypeAdapter(openai_types.ResponseStreamEvent)


def response_obj(output: list[dict[str, Any]], status: str = "completed", **extra: Any) -> dict[str, Any]:
    obj = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "gpt-4o-2024-08-06",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 50,
            "input_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 5},
            "output_tokens": 30,
            "output_tokens_details": {"reasoning_tokens": 10},
            "total_tokens": 80,
        },
        **extra,
    }
    openai_types.Response.model_validate(obj)  # every fixture is a valid SDK Response
    return obj


def sse(events: list[dict[str, Any]], validate: bool = True) -> bytes:
    out = []
    for number, event in enumerate(events):
        event = {**event, "sequence_number": number}
        if validate:
            STREAM_EVENT.validate_python(event)
        out.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
    return "".join(out).encode()


REASONING_ITEM: dict[str, Any] = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": "First."}, {"type": "summary_text", "text": "Second."}],
    "encrypted_content": "gAAAAenc",
}
MESSAGE_ITEM: dict[str, Any] = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Hello world", "annotations": []}],
}
CALL_ITEM: dict[str, Any] = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city":"Oslo"}',
    "status": "completed",
}


def text_stream_events() -> list[dict[str, Any]]:
    final = response_obj([REASONING_ITEM, MESSAGE_ITEM])
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    return [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": {**REASONING_ITEM, "summary": []}},
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "First.",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 1,
            "delta": "Second.",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING_ITEM},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**MESSAGE_ITEM, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        *[
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 1,
                "content_index": 0,
                "delta": piece,
                "logprobs": [],
            }
            for piece in ("Hel", "lo ", "world")
        ],
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "text": "Hello world",
            "logprobs": [],
        },
        {"type": "response.output_item.done", "output_index": 1, "item": MESSAGE_ITEM},
        {"type": "response.completed", "response": final},
    ]


def tool_stream_events(mode: str) -> list[dict[str, Any]]:
    """A function call whose arguments arrive as deltas, only in `.done`, or only in the item."""
    final = response_obj([CALL_ITEM])
    added = {**CALL_ITEM, "arguments": "", "status": "in_progress"}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**final, "status": "in_progress", "output": [], "usage": None}},
        {"type": "response.output_item.added", "output_index": 0, "item": added},
    ]
    if mode == "deltas":
        events += [
            {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0, "delta": d}
            for d in ('{"city"', ':"Oslo"}')
        ]
    if mode in ("deltas", "done"):
        events.append(
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_1",
                "output_index": 0,
                "arguments": '{"city":"Oslo"}',
                "name": "get_weather",
            }
        )
    events += [
        {"type": "response.output_item.done", "output_index": 0, "item": CALL_ITEM},
        {"type": "response.completed", "response": final},
    ]
    return events


def make(handler: Any, **options: Any) -> tuple[OpenAIResponsesAdapter, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    async def no_sleep(_: float) -> None:
        return None

    options.setdefault("retry_policy", RetryPolicy(max_retries=0, sleep=no_sleep))
    options.setdefault("api_key", "sk-test-secret-key-123")
    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return OpenAIResponsesAdapter(http_client=client, **options), seen


def streaming(data: bytes) -> Any:
    return lambda request: httpx.Response(200, content=data, headers={"content-type": "text/event-stream"})


async def drain(adapter: OpenAIResponsesAdapter, request: Request) -> list[Any]:
    async with adapter.stream(request) as stream:
        return [e async for e in stream]


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)  # type: ignore[no-any-return]


# --- request mapping -----------------------------------------------------------------------------------------


async def test_request_mapping_is_a_valid_sdk_request() -> None:
    png = ImagePart.from_bytes(b"png", "image/png")
    request = Request(
        model="o3-mini",
        system="Be brief.",
        messages=[
            Message.system("Policy."),
            Message.user(
                [
                    TextPart(text="look"),
                    png,
                    ImagePart(url="https://x/a.jpg", detail="low"),
                    DocumentPart.from_bytes(b"%PDF", name="r.pdf"),
                    DocumentPart(url="https://x/d.pdf", media_type="application/pdf"),
                ]
            ),
            Message.assistant(
                [
                    ThinkingPart(text="why", signature="rs_9:gAAAAenc", provider="openai-responses"),
                    ThinkingPart(text="foreign", signature="x", provider="anthropic"),
                    TextPart(text="Calling."),
                ],
                tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"})],
            ),
            Message.tool("call_1", "failed", is_error=True),
            Message.user("again"),
            Message.assistant(tool_calls=[ToolCall(id="call_2", name="get_weather", arguments={"city": "Rome"})]),
            Message.tool("call_2", [TextPart(text="chart"), png]),
        ],
        tools=[WEATHER, Tool(name="noop", strict=True)],
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=300,
        reasoning={"effort": "high", "summary": "detailed"},
        provider_options={"openai-responses": {"service_tier": "flex"}},
    )
    media = ModelProfile(supports_vision=True, supports_documents=True, supports_tool_result_media=True)
    adapter, seen = make(lambda r: httpx.Response(200, json=response_obj([MESSAGE_ITEM])), profile=media)
    await adapter.complete(request)
    body = body_of(seen[0])
    assert_valid_request(body)
    assert body["instructions"] == "Be brief."
    items = body["input"]
    # o-series: the catalog says `developer`
    assert items[0] == {"type": "message", "role": "developer", "content": "Policy."}
    assert [c["type"] for c in items[1]["content"]] == [
        "input_text",
        "input_image",
        "input_image",
        "input_file",
        "input_file",
    ]
    assert items[1]["content"][1]["image_url"].startswith("data:image/png;base64,")
    assert items[1]["content"][2] == {"type": "input_image", "image_url": "https://x/a.jpg", "detail": "low"}
    assert items[1]["content"][4] == {"type": "input_file", "file_url": "https://x/d.pdf"}
    assert items[2] == {
        "type": "reasoning",
        "id": "rs_9",
        "summary": [{"type": "summary_text", "text": "why"}],
        "encrypted_content": "gAAAAenc",
    }
    assert items[3] == {"type": "message", "role": "assistant", "content": "Calling."}
    assert items[4] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Oslo"}',
    }
    assert items[5] == {"type": "function_call_output", "call_id": "call_1", "output": "Error: failed"}
    assert items[6] == {"type": "message", "role": "user", "content": "again"}
    assert items[8]["output"][1]["type"] == "input_image"
    assert body["tools"][0] == {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": WEATHER.parameters,
        "strict": False,
    }
    assert body["tools"][1]["strict"] is True
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert body["max_output_tokens"] == 300
    assert body["reasoning"] == {"effort": "high", "summary": "detailed"}
    assert body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["service_tier"] == "flex"
    assert seen[0].url == "https://api.openai.com/v1/responses"
    assert seen[0].headers["authorization"] == "Bearer sk-test-secret-key-123"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        (["get_weather"], {"type": "function", "name": "get_weather"}),
        (
            ["get_weather", "noop"],
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "get_weather"}, {"type": "function", "name": "noop"}],
            },
        ),
    ],
)
async def test_tool_choice(choice: Any, wire: Any) -> None:
    adapter, seen = make(lambda r: httpx.Response(200, json=response_obj([MESSAGE_ITEM])))
    tools = [WEATHER, Tool(name="noop")]
    await adapter.complete(
        Request(model=MODEL, messages=[Message.user("hi")], tools=tools, tool_choice=choice, temperature=0.2, top_p=0.5)
    )
    body = body_of(seen[0])
    assert body["tool_choice"] == wire
    assert (body["temperature"], body["top_p"]) == (0.2, 0.5)
    assert_valid_request(body)
    assert "store" not in body  # gpt-4o is no reasoning model: nothing to keep client-side


async def test_native_output_goes_to_text_format() -> None:
    adapter, seen = make(lambda r: httpx.Response(200, json=response_obj([MESSAGE_ITEM])))
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    request = Request(model=MODEL, messages=[Message.user("hi")])
    await adapter.send(request, NativeOutput(name="answer", schema=schema, strict=True, description="An answer"))
    body = body_of(seen[0])
    assert body["text"] == {
        "format": {
            "type": "json_schema",
            "name": "answer",
            "schema": schema,
            "strict": True,
            "description": "An answer",
        }
    }
    assert_valid_request(body)


@pytest.mark.parametrize(
    "kwargs",
    [{"stop": ["x"]}, {"seed": 3}, {"reasoning": 1000}],
)
async def test_unsupported_parameters_are_refused(kwargs: dict[str, Any]) -> None:
    adapter, seen = make(lambda r: httpx.Response(200, json=response_obj([MESSAGE_ITEM])))
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(Request(model="o3-mini", messages=[Message.user("hi")], **kwargs))
    assert seen == []


def test_profile_refuses_what_the_wire_lacks() -> None:
    adapter = OpenAIResponsesAdapter(api_key="k")
    unsupported = adapter.profile("o3-mini").parameters.unsupported
    assert {"stop", "seed", "temperature"} <= unsupported  # the wire's gaps added to the catalog's own
    assert {"stop", "seed"} == adapter.profile("gpt-4o").parameters.unsupported


def test_reasoning_signature_round_trip() -> None:
    assert decode_reasoning_signature(encode_reasoning_signature("rs_1", "gA==")) == ("rs_1", "gA==")
    assert decode_reasoning_signature(encode_reasoning_signature("rs_1", None)) == ("rs_1", None)


# --- response mapping ----------------------------------------------------------------------------------------


async def test_response_mapping_and_reasoning_round_trip() -> None:
    web = {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}}
    payload = response_obj([REASONING_ITEM, MESSAGE_ITEM, CALL_ITEM, web])
    adapter, seen = make(lambda r: httpx.Response(200, json=payload, headers={"x-request-id": "req_1"}))
    response = await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], tools=[WEATHER]))
    assert response.text == "Hello world"
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "completed"
    assert response.tool_calls == [ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"})]
    assert response.thinking == [
        ThinkingPart(text="First.\n\nSecond.", signature="rs_1:gAAAAenc", provider="openai-responses")
    ]
    usage = response.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.reasoning_tokens) == (
        50,
        20,
        30,
        10,
    )
    assert response.id == "resp_1"
    assert response.model == "gpt-4o-2024-08-06"
    assert response.provider.request_id == "req_1"
    assert response.provider.extra["unmapped_output"] == [web]
    follow = Request(
        model=MODEL,
        messages=[Message.user("hi"), response.to_message(), Message.tool("call_1", "sunny")],
        tools=[WEATHER],
    )
    await adapter.complete(follow)
    sent = body_of(seen[1])["input"]
    assert sent[1] == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "First.\n\nSecond."}],
        "encrypted_content": "gAAAAenc",
    }
    assert_valid_request(body_of(seen[1]))


@pytest.mark.parametrize(
    ("status", "details", "finish", "raw"),
    [
        ("incomplete", {"reason": "max_output_tokens"}, "length", "max_output_tokens"),
        ("incomplete", {"reason": "content_filter"}, "content_filter", "content_filter"),
        ("incomplete", None, "other", "incomplete"),
        ("cancelled", None, "other", "cancelled"),
        ("queued", None, "other", "queued"),
    ],
)
async def test_status_maps_to_finish_reason(status: str, details: Any, finish: str, raw: str) -> None:
    cut = {**CALL_ITEM, "arguments": '{"city": "Os'}
    output: list[dict[str, Any]] = [MESSAGE_ITEM, cut] if details == {"reason": "max_output_tokens"} else [MESSAGE_ITEM]
    payload = response_obj(output, status=status, incomplete_details=details)
    adapter, _ = make(lambda r: httpx.Response(200, json=payload))
    response = await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert response.finish_reason == finish
    assert response.provider_finish_reason == raw
    if len(output) == 2:  # truncated arguments are kept raw, not raised
        assert response.tool_calls[0].raw_arguments == '{"city": "Os'


async def test_refusal_and_failed_and_malformed() -> None:
    refusal = {**MESSAGE_ITEM, "content": [{"type": "refusal", "refusal": "I can't."}]}
    adapter, _ = make(lambda r: httpx.Response(200, json=response_obj([refusal])))
    response = await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert response.finish_reason == "refusal"
    assert response.text == "I can't."
    failed = response_obj([], status="failed", error={"code": "rate_limit_exceeded", "message": "slow down"})
    adapter, _ = make(lambda r: httpx.Response(200, json=failed))
    with pytest.raises(RateLimitError, match="slow down"):
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    for bad in ({"id": "x"}, {"error": {"message": "odd", "type": "server_error"}}):
        adapter, _ = make(lambda r, bad=bad: httpx.Response(200, json=bad))
        with pytest.raises((ResponseParseError, ServerError)):
            await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    bad_args = response_obj([{**CALL_ITEM, "arguments": "{not json"}])
    adapter, _ = make(lambda r: httpx.Response(200, json=bad_args))
    with pytest.raises(ResponseParseError):
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))


def test_map_finish_prefers_tool_calls() -> None:
    assert map_finish({"status": "completed"}, has_calls=True, refused=True) == ("tool_calls", "completed")
    assert map_finish({"status": "failed"}, has_calls=False, refused=False) == ("error", "failed")


# --- streams -------------------------------------------------------------------------------------------------


def _sdk_final(events: list[dict[str, Any]]) -> Any:
    """The final response as the SDK's own stream accumulator builds it."""
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState

    state: Any = ResponseStreamState(input_tools=omit, text_format=omit)
    final = None
    for number, raw in enumerate(events):
        for out in state.handle_event(STREAM_EVENT.validate_python({**raw, "sequence_number": number})):
            if out.type == "response.completed":
                final = out.response
    return final


async def test_text_stream_matches_sdk_accumulator_and_complete() -> None:
    events = text_stream_events()
    data = sse(events)
    adapter, seen = make(streaming(data))
    out = await drain(adapter, Request(model="o3-mini", messages=[Message.user("hi")]))
    end = out[-1]
    assert isinstance(end, StreamEnd)
    sdk = _sdk_final(events)
    assert end.response.text == sdk.output_text == "Hello world"
    assert "".join(e.text for e in out if isinstance(e, TextDelta)) == "Hello world"
    assert "".join(e.text for e in out if isinstance(e, ThinkingDelta)) == "First.\n\nSecond."
    body = body_of(seen[0])
    assert body["stream"] is True
    assert_valid_request(body)
    # The stream's response equals what complete() makes of the final response object.
    adapter2, _ = make(lambda r: httpx.Response(200, json=events[-1]["response"]))
    completed = await adapter2.complete(Request(model="o3-mini", messages=[Message.user("hi")]))
    assert end.response.parts == completed.parts
    assert end.response.usage == completed.usage
    assert end.response.finish_reason == completed.finish_reason == "stop"
    assert end.response.id == completed.id


def test_stream_is_independent_of_chunk_splits() -> None:
    from accord.adapters._base import WireContext
    from accord.adapters._toolnames import sanitize_names
    from accord.adapters.openai_responses import ResponsesStreamDecoder

    adapter = OpenAIResponsesAdapter(api_key="k")
    data = sse(text_stream_events()) + sse(tool_stream_events("deltas"))[:0]

    def run(splits: list[int]) -> list[Any]:
        ctx = WireContext(
            model=MODEL,
            profile=adapter.profile(MODEL),
            names=sanitize_names([], adapter.tool_name_rule),
            native_output=None,
            streaming=True,
        )
        decoder = ResponsesStreamDecoder(adapter, ctx, {})
        out: list[Any] = []
        start = 0
        for cut in [*splits, len(data)]:
            out.extend(decoder.feed(data[start:cut]))
            start = cut
        return out + decoder.close()

    whole = run([])
    rng = random.Random(11)
    for _ in range(25):
        assert run(sorted(rng.sample(range(1, len(data)), rng.randint(1, 60)))) == whole


@pytest.mark.parametrize("mode", ["deltas", "done", "item"])
async def test_tool_call_arguments_in_any_event(mode: str) -> None:
    events = tool_stream_events(mode)
    adapter, _ = make(streaming(sse(events)))
    out = await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")], tools=[WEATHER]))
    fragments = "".join(e.arguments_fragment for e in out if isinstance(e, ToolCallDelta))
    ends = [e for e in out if isinstance(e, ToolCallEnd)]
    assert json.loads(fragments) == {"city": "Oslo"}
    assert len(ends) == 1
    assert ends[0].call == ToolCall(id="call_1", name="get_weather", arguments={"city": "Oslo"})
    response = out[-1].response
    assert response.finish_reason == "tool_calls"
    sdk_call = _sdk_final(events).output[0]
    assert json.loads(sdk_call.arguments) == response.tool_calls[0].arguments


async def test_incomplete_stream_and_refusal_stream() -> None:
    final = response_obj([MESSAGE_ITEM], status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    events = [*text_stream_events()[6:-1], {"type": "response.incomplete", "response": final}]
    adapter, _ = make(streaming(sse(events)))
    out = await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    assert out[-1].response.finish_reason == "length"
    assert out[-1].response.provider_finish_reason == "max_output_tokens"
    refusal_item = {**MESSAGE_ITEM, "content": [{"type": "refusal", "refusal": "No."}]}
    events = [
        {
            "type": "response.refusal.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "No.",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": refusal_item},
        {"type": "response.completed", "response": response_obj([refusal_item])},
    ]
    adapter, _ = make(streaming(sse(events)))
    out = await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    assert out[-1].response.text == "No."
    assert out[-1].response.finish_reason == "refusal"


async def test_items_only_in_done_events_still_count() -> None:
    # A message and a reasoning item that arrive whole (no deltas), plus an unknown item type.
    other = {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed"}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING_ITEM},
        {"type": "response.output_item.done", "output_index": 1, "item": MESSAGE_ITEM},
        {"type": "response.output_item.done", "output_index": 2, "item": other},
        {"type": "response.completed", "response": response_obj([REASONING_ITEM, MESSAGE_ITEM, other])},
    ]
    adapter, _ = make(streaming(sse(events) + b"data: [DONE]\n\n"))
    out = await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    response = out[-1].response
    assert response.text == "Hello world"
    assert response.thinking[0].text == "First.\n\nSecond."
    assert response.thinking[0].signature == "rs_1:gAAAAenc"
    assert response.provider.extra["unmapped_output"] == [other]


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"type": "error", "code": "rate_limit_exceeded", "message": "slow", "param": None}, RateLimitError),
        ({"type": "error", "error": {"type": "server_error", "code": None, "message": "boom"}}, ServerError),
        ({"type": "error", "code": "context_length_exceeded", "message": "long", "param": None}, InvalidRequestError),
        (
            {
                "type": "response.failed",
                "response": {"status": "failed", "error": {"code": "server_error", "message": "x"}},
            },
            ServerError,
        ),
    ],
)
async def test_errors_inside_the_stream(event: dict[str, Any], error: type[ProviderError]) -> None:
    head = sse(text_stream_events()[6:9])
    tail = sse([event], validate=False)

    class Chunks(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield head
            yield tail

    adapter, _ = make(lambda r: httpx.Response(200, stream=Chunks()))
    with pytest.raises(error) as info:
        await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    assert info.value.in_stream


async def test_cut_and_garbled_streams() -> None:
    adapter, _ = make(streaming(sse(text_stream_events()[:-1])))
    with pytest.raises(StreamInterruptedError) as info:
        await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    assert info.value.partial.text == "Hello world"
    for garbage in (b"data: {nope\n\n", b"data: [1]\n\n"):
        adapter, _ = make(streaming(garbage))
        with pytest.raises(ResponseParseError):
            await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))


# --- HTTP errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "retry_after"),
    [
        (
            401,
            {"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}},
            {},
            AuthenticationError,
            None,
        ),
        (
            429,
            {"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}},
            {"retry-after-ms": "1500"},
            RateLimitError,
            1.5,
        ),
        (
            400,
            {
                "error": {
                    "message": "Your input exceeds the context window of this model.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
            {},
            ContextWindowExceededError,
            None,
        ),
        (
            404,
            {
                "error": {
                    "message": "The model 'x' does not exist",
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                }
            },
            {},
            NotFoundError,
            None,
        ),
        (500, {"error": {"message": "oops", "type": "server_error"}}, {}, ServerError, None),
    ],
)
async def test_http_errors(
    status: int, body: Any, headers: dict[str, str], error: type[ProviderError], retry_after: float | None
) -> None:
    adapter, _ = make(lambda r: httpx.Response(status, json=body, headers=headers))
    with pytest.raises(error) as info:
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert type(info.value) is error
    assert info.value.retry_after == retry_after
    assert "sk-test-secret-key-123" not in repr(info.value)
