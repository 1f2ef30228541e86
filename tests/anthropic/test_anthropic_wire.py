"""Anthropic Messages: request mapping, response mapping, the SSE decoder and errors, against a mock transport."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.adapters._base import NativeOutput
from accord.adapters._retry import RetryPolicy
from accord.adapters.anthropic import FINISH_REASONS, AnthropicAdapter, usage_from_wire
from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    DocumentPart,
    ImagePart,
    InvalidRequestError,
    Message,
    NotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExceededError,
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
    ToolCallStart,
    ToolResult,
    UnsupportedFeatureError,
    Usage,
)

MODEL = "claude-sonnet-4-5"
PNG = base64.b64encode(b"\x89PNG fake").decode()
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()
WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def message_body(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
    }


class Recorder:
    """A mock transport that records requests and answers with a fixed response."""

    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, raw: bytes = b""):
        self.requests: list[httpx.Request] = []
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.raw:
            return httpx.Response(self.status, headers=self.headers, content=self.raw)
        return httpx.Response(self.status, headers=self.headers, json=self.body)

    @property
    def sent(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)  # type: ignore[no-any-return]


def adapter_for(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> AnthropicAdapter:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("max_retries", 0)
    return AnthropicAdapter(api_key="sk-ant-test-key-000000000000000000", http_client=client, **options)


def request(*messages: Message, **fields: Any) -> Request:
    return Request(model=MODEL, messages=list(messages) or [Message.user("hi")], **fields)


async def sent_body(req: Request, native: NativeOutput | None = None) -> dict[str, Any]:
    recorder = Recorder(body=message_body([{"type": "text", "text": "ok"}]))
    adapter = adapter_for(recorder)
    await adapter.send(req, native)
    return recorder.sent


def validate_request(body: dict[str, Any]) -> None:
    """The official SDK's request type as an oracle (a TypedDict validated by pydantic)."""
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from pydantic import TypeAdapter

    TypeAdapter(MessageCreateParamsNonStreaming).validate_python({k: v for k, v in body.items() if k != "stream"})


# --- request mapping -----------------------------------------------------------------------------------------


async def test_headers_url_and_minimal_body() -> None:
    recorder = Recorder(body=message_body([{"type": "text", "text": "ok"}]))
    response = await adapter_for(recorder).complete(request())
    sent = recorder.requests[0]
    assert str(sent.url) == "https://api.anthropic.com/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test-key-000000000000000000"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    # max_tokens is required by the API: the catalog default fills it.
    assert recorder.sent == {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert response.text == "ok"
    validate_request(recorder.sent)


def test_key_from_env_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    adapter = AnthropicAdapter()
    assert adapter.api_key is not None
    assert adapter.api_key.get_secret_value() == "from-env"
    assert "from-env" not in repr(adapter)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        AnthropicAdapter()


async def test_system_is_top_level_and_system_messages_are_hoisted() -> None:
    body = await sent_body(
        request(Message.system("Be brief."), Message.user("hi"), system="You are a test.", max_tokens=100)
    )
    assert body["system"] == "You are a test.\n\nBe brief."
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert body["max_tokens"] == 100
    validate_request(body)


async def test_images_and_documents_base64_and_url() -> None:
    text_doc = DocumentPart(data=base64.b64encode(b"plain words").decode(), media_type="text/plain", name="notes")
    user = Message.user(
        [
            TextPart(text="look"),
            ImagePart(data=PNG, media_type="image/png"),
            ImagePart(url="https://example.com/a.png"),
            DocumentPart(data=PDF, media_type="application/pdf", name="report.pdf"),
            DocumentPart(url="https://example.com/a.pdf"),
            text_doc,
        ]
    )
    body = await sent_body(request(user))
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "report.pdf",
        },
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
            "title": "notes",
        },
    ]
    validate_request(body)


async def test_unsupported_document_type_raises_before_network() -> None:
    recorder = Recorder(body={})
    doc = DocumentPart(data=PDF, media_type="application/msword")
    with pytest.raises(UnsupportedFeatureError, match="msword"):
        await adapter_for(recorder).complete(request(Message.user([doc])))
    assert recorder.requests == []


async def test_tool_use_and_results_round_trip() -> None:
    call = ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"})
    history = [
        Message.user("weather?"),
        Message.assistant("Checking.", tool_calls=[call, ToolCall(id="toolu_2", name="get_weather", arguments={})]),
        Message(
            role="tool",
            parts=[
                ToolResult(call_id="toolu_1", content="sunny"),
                ToolResult(
                    call_id="toolu_2",
                    content=[TextPart(text="no city"), ImagePart(url="https://x/y.png")],
                    is_error=True,
                ),
            ],
        ),
        Message.user("thanks"),
    ]
    body = await sent_body(request(*history, tools=[WEATHER]))
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER.parameters}
    ]
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
        ],
    }
    # Tool results and the next user words form one user turn.
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny", "is_error": False},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [
                    {"type": "text", "text": "no city"},
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                ],
                "is_error": True,
            },
            {"type": "text", "text": "thanks"},
        ],
    }
    validate_request(body)


async def test_tool_names_are_sanitized_and_restored() -> None:
    tool = Tool(name="weather.lookup", parameters={"type": "object", "properties": {}})
    answer = message_body([{"type": "tool_use", "id": "t1", "name": "PLACEHOLDER", "input": {}}], stop="tool_use")
    recorder = Recorder()
    adapter = adapter_for(recorder)

    def handler(req: httpx.Request) -> httpx.Response:
        wire_name = json.loads(req.content)["tools"][0]["name"]
        answer["content"][0]["name"] = wire_name
        recorder.requests.append(req)
        return httpx.Response(200, json=answer)

    adapter = adapter_for(handler)
    response = await adapter.complete(request(tools=[tool], tool_choice=["weather.lookup"]))
    wire_name = recorder.sent["tools"][0]["name"]
    assert wire_name != "weather.lookup"
    assert "." not in wire_name
    assert recorder.sent["tool_choice"] == {"type": "tool", "name": wire_name}
    assert response.tool_calls[0].name == "weather.lookup"
    assert response.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (["get_weather"], None, {"type": "tool", "name": "get_weather"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        (None, True, None),
        (None, None, None),
    ],
)
async def test_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    body = await sent_body(request(tools=[WEATHER], tool_choice=choice, parallel_tool_calls=parallel))
    assert body.get("tool_choice") == expected
    validate_request(body)


async def test_several_named_tools_cannot_be_forced() -> None:
    other = Tool(name="other")
    with pytest.raises(UnsupportedFeatureError, match="one named tool"):
        await sent_body(request(tools=[WEATHER, other], tool_choice=["get_weather", "other"]))


async def test_strict_tools_and_native_output() -> None:
    strict = WEATHER.model_copy(update={"strict": True})
    loose = Tool(name="loose", strict=False)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    body = await sent_body(request(tools=[strict, loose]), NativeOutput(name="out", schema=schema, strict=True))
    assert body["tools"][0]["strict"] is True
    assert "strict" not in body["tools"][1]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


async def test_sampling_parameters_and_seed() -> None:
    body = await sent_body(request(temperature=0.2, top_p=0.9, stop=["END"]))
    assert (body["temperature"], body["top_p"], body["stop_sequences"]) == (0.2, 0.9, ["END"])
    recorder = Recorder(body={})
    with pytest.raises(UnsupportedFeatureError, match="seed"):
        await adapter_for(recorder).complete(request(seed=1))
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("reasoning", "thinking", "output_config"),
    [
        (2048, {"type": "enabled", "budget_tokens": 2048}, None),
        ({"budget_tokens": 2048, "effort": "high"}, {"type": "enabled", "budget_tokens": 2048}, {"effort": "high"}),
        ("xhigh", {"type": "adaptive"}, {"effort": "xhigh"}),
        ({"summary": "auto"}, {"type": "adaptive"}, None),
        ("none", {"type": "disabled"}, None),
    ],
)
async def test_thinking(reasoning: Any, thinking: dict[str, Any], output_config: dict[str, Any] | None) -> None:
    body = await sent_body(request(reasoning=reasoning))
    assert body["thinking"] == thinking
    assert body.get("output_config") == output_config


async def test_effort_without_equivalent_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="minimal"):
        await sent_body(request(reasoning="minimal"))


async def test_own_signed_thinking_is_sent_back_and_foreign_thinking_is_not() -> None:
    assistant = Message.assistant(
        [
            ThinkingPart(text="mine", signature="sig-A", provider="anthropic"),
            ThinkingPart(signature="opaque", redacted=True, provider="anthropic"),
            ThinkingPart(text="theirs", signature="gemini-sig", provider="gemini"),
            ThinkingPart(text="unsigned", provider="anthropic"),
            TextPart(text=""),
            ToolCall(id="toolu_9", name="get_weather", arguments={"city": "Oslo"}),
        ]
    )
    history = [Message.user("q"), assistant, Message.tool("toolu_9", "rain")]
    body = await sent_body(request(*history, tools=[WEATHER], reasoning=1024))
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "mine", "signature": "sig-A"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}},
    ]
    validate_request(body)


async def test_an_assistant_turn_with_nothing_to_send_is_left_out() -> None:
    foreign = Message.assistant([ThinkingPart(text="x", signature="s", provider="openai")])
    body = await sent_body(request(Message.user("a"), foreign, Message.user("b")))
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


async def test_provider_options_pass_through_and_merge() -> None:
    options = {
        "anthropic": {
            "cache_control": {"type": "ephemeral"},
            "metadata": {"user_id": "u1"},
            "output_config": {"effort": "low"},
        }
    }
    schema = {"type": "object", "properties": {}}
    body = await sent_body(
        request(provider_options=options, temperature=0.5), NativeOutput(name="o", schema=schema, strict=True)
    )
    assert body["cache_control"] == {"type": "ephemeral"}
    assert body["metadata"] == {"user_id": "u1"}
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}, "effort": "low"}
    assert body["temperature"] == 0.5


# --- response mapping ----------------------------------------------------------------------------------------


async def test_response_blocks_usage_and_headers() -> None:
    payload = message_body(
        [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "secret-blob"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "x"}},
        ],
        stop="tool_use",
        cache_read_input_tokens=100,
        cache_creation_input_tokens=20,
    )
    payload["usage"]["output_tokens_details"] = {"thinking_tokens": 3}
    from anthropic.types import Message as SDKMessage

    SDKMessage.model_validate(payload)  # the fixture is a real Messages response shape
    headers = {"request-id": "req_1", "anthropic-ratelimit-requests-remaining": "99", "x-other": "no"}
    recorder = Recorder(body=payload, headers=headers)
    response = await adapter_for(recorder).complete(request(tools=[WEATHER]))
    assert response.parts[:3] == [
        ThinkingPart(text="hmm", signature="sig", provider="anthropic"),
        ThinkingPart(signature="secret-blob", redacted=True, provider="anthropic"),
        TextPart(text="Let me check."),
    ]
    assert response.tool_calls == [ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris"})]
    assert response.provider.extra["other_content"][0]["type"] == "server_tool_use"
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(
        input_tokens=130, output_tokens=5, cache_read_tokens=100, cache_write_tokens=20, reasoning_tokens=3
    )
    assert response.provider.request_id == "req_1"
    assert response.provider.headers == {"request-id": "req_1", "anthropic-ratelimit-requests-remaining": "99"}
    assert response.cost is not None  # catalog prices each token class
    expected = (10 * 3.0 + 100 * 0.3 + 20 * 3.75 + 5 * 15.0) / 1_000_000
    assert response.cost == pytest.approx(expected)


async def test_response_continues_the_conversation() -> None:
    payload = message_body(
        [
            {"type": "thinking", "thinking": "t", "signature": "s1"},
            {"type": "tool_use", "id": "toolu_7", "name": "get_weather", "input": {"city": "Rome"}},
        ],
        stop="tool_use",
    )
    recorder = Recorder(body=payload)
    adapter = adapter_for(recorder)
    first = await adapter.complete(request(tools=[WEATHER], reasoning=1024))
    history = [Message.user("hi"), first.to_message(), Message.tool("toolu_7", "warm")]
    await adapter.complete(request(*history, tools=[WEATHER], reasoning=1024))
    assert recorder.sent["messages"][1]["content"][0] == {"type": "thinking", "thinking": "t", "signature": "s1"}
    validate_request(recorder.sent)


@pytest.mark.parametrize("raw", [*sorted(FINISH_REASONS), "something_new"])
async def test_stop_reasons(raw: str) -> None:
    recorder = Recorder(body=message_body([{"type": "text", "text": "x"}], stop=raw))
    response = await adapter_for(recorder).complete(request())
    assert response.provider_finish_reason == raw
    expected = {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "max_tokens": "length",
        "model_context_window_exceeded": "length",
        "tool_use": "tool_calls",
        "refusal": "refusal",
        "pause_turn": "other",
    }.get(raw, "other")
    assert response.finish_reason == expected


async def test_stop_sequence_is_kept() -> None:
    payload = message_body([{"type": "text", "text": "x"}], stop="stop_sequence")
    payload["stop_sequence"] = "END"
    response = await adapter_for(Recorder(body=payload)).complete(request())
    assert response.provider.extra["stop_sequence"] == "END"


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        {"type": "message"},
        message_body([{"type": "tool_use", "id": "t", "name": "n", "input": "not an object"}]),
    ],
)
async def test_malformed_responses(payload: Any) -> None:
    with pytest.raises(ResponseParseError):
        await adapter_for(Recorder(body=payload)).complete(request())


async def test_non_json_body() -> None:
    with pytest.raises(ResponseParseError):
        await adapter_for(Recorder(raw=b"<html>")).complete(request())


async def test_error_object_in_a_200_body() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(OverloadedError):
        await adapter_for(Recorder(body=body)).complete(request())


def test_usage_normalization_edges() -> None:
    assert usage_from_wire({}) == Usage()
    usage = usage_from_wire({"input_tokens": 5, "output_tokens": 2, "output_tokens_details": {"thinking_tokens": 9}})
    assert usage.reasoning_tokens == 2  # never more than the output
    assert usage_from_wire({"input_tokens": True, "cache_read_input_tokens": -1}).input_tokens == 0


# --- streaming -----------------------------------------------------------------------------------------------


def sse(*events: dict[str, Any], named: bool = True) -> bytes:
    out = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        out.append(f"{head}data: {json.dumps(event)}\n\n")
    return "".join(out).encode()


START = {
    "type": "message_start",
    "message": {
        "id": "msg_s",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 50,
            "cache_read_input_tokens": 10,
            "cache_creation_input_tokens": 0,
            "output_tokens": 1,
        },
    },
}


def full_stream() -> bytes:
    return sse(
        START,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "think."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "SIG=="}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "redacted_thinking", "data": "RED"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Héllo "}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "citations_delta", "citation": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "wörld"}},
        {"type": "content_block_stop", "index": 2},
        {
            "type": "content_block_start",
            "index": 3,
            "content_block": {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}},
        },
        {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
        {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'}},
        {"type": "content_block_stop", "index": 3},
        {
            "type": "content_block_start",
            "index": 4,
            "content_block": {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {}},
        },
        {"type": "content_block_stop", "index": 4},
        {
            "type": "content_block_start",
            "index": 5,
            "content_block": {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}},
        },
        {"type": "content_block_stop", "index": 5},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 40, "input_tokens": 60, "cache_read_input_tokens": None},
        },
        {"type": "message_stop"},
    )


async def collect(adapter: AnthropicAdapter, req: Request) -> list[Any]:
    events: list[Any] = []
    async with adapter.stream(req) as stream:
        async for event in stream:
            events.append(event)
    assert stream.response == events[-1].response
    return events


async def test_full_stream_sequence() -> None:
    recorder = Recorder(raw=full_stream(), headers={"content-type": "text/event-stream", "request-id": "r9"})
    events = await collect(adapter_for(recorder), request(tools=[WEATHER]))
    assert recorder.sent["stream"] is True
    response = events[-1].response
    assert isinstance(events[-1], StreamEnd)
    assert sum(isinstance(e, StreamEnd) for e in events) == 1
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == response.text == "Héllo wörld"
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Let me think."
    assert response.thinking == [
        ThinkingPart(text="Let me think.", signature="SIG==", provider="anthropic"),
        ThinkingPart(signature="RED", redacted=True, provider="anthropic"),
    ]
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.id, s.name) for s in starts] == [("toolu_a", "get_weather"), ("toolu_b", "get_weather")]
    for start in starts:
        fragments = "".join(
            e.arguments_fragment for e in events if isinstance(e, ToolCallDelta) and e.index == start.index
        )
        end = next(e for e in events if isinstance(e, ToolCallEnd) and e.index == start.index)
        assert json.loads(fragments) == end.call.arguments
    assert [c.arguments for c in response.tool_calls] == [{"city": "Oslo"}, {}]
    assert response.finish_reason == "tool_calls"
    # message_delta usage is cumulative: the last value per field wins; null never erases.
    assert response.usage == Usage(input_tokens=70, output_tokens=40, cache_read_tokens=10)
    assert response.provider.extra["other_content"][0]["type"] == "server_tool_use"
    assert response.provider.request_id == "r9"
    assert response.id == "msg_s"
    assert response.model == "claude-sonnet-4-5-20250929"


def sdk_accumulated(raw: bytes) -> Any:
    """The official SDK's own accumulator over the same events (a differential oracle)."""
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    parse = TypeAdapter(RawMessageStreamEvent).validate_python
    snapshot = None
    bufs: dict[int, bytes] = {}
    for block in raw.decode().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
                if data["type"] in ("ping", "error"):
                    continue
                if data["type"] == "content_block_delta" and data["delta"]["type"] == "citations_delta":
                    continue
                snapshot = accumulate_event(event=parse(data), current_snapshot=snapshot, json_bufs=bufs)
    return snapshot


async def test_stream_agrees_with_the_sdk_accumulator() -> None:
    raw = full_stream()
    snapshot = sdk_accumulated(raw)
    events = await collect(adapter_for(Recorder(raw=raw)), request(tools=[WEATHER]))
    response = events[-1].response
    sdk_text = "".join(b.text for b in snapshot.content if b.type == "text")
    sdk_calls = [(b.id, b.input) for b in snapshot.content if b.type == "tool_use"]
    sdk_thinking = [(b.thinking, b.signature) for b in snapshot.content if b.type == "thinking"]
    assert response.text == sdk_text
    assert [(c.id, c.arguments) for c in response.tool_calls] == sdk_calls
    assert [(t.text, t.signature) for t in response.thinking if not t.redacted] == sdk_thinking
    assert response.provider_finish_reason == snapshot.stop_reason
    assert response.usage.output_tokens == snapshot.usage.output_tokens


class Chunked:
    """Serves `raw` in the given chunk sizes (cycled), exercising every split of the SSE framing."""

    def __init__(self, raw: bytes, sizes: list[int]):
        self.raw = raw
        self.sizes = sizes

    def __call__(self, request: httpx.Request) -> httpx.Response:
        pieces, i, k = [], 0, 0
        while i < len(self.raw):
            size = self.sizes[k % len(self.sizes)]
            pieces.append(self.raw[i : i + size])
            i += size
            k += 1
        return httpx.Response(200, stream=_Iter(pieces))


class _Iter(httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces

    async def __aiter__(self) -> Any:
        for piece in self.pieces:
            yield piece


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8))
async def test_any_chunk_split_gives_the_same_response(sizes: list[int]) -> None:
    reference = (await collect(adapter_for(Recorder(raw=full_stream())), request(tools=[WEATHER])))[-1].response
    events = await collect(adapter_for(Chunked(full_stream(), sizes)), request(tools=[WEATHER]))
    assert events[-1].response == reference


async def test_in_stream_error_event_raises_typed_error_with_partial() -> None:
    head = sse(
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial"}},
    )
    tail = b"event: error\n" + sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, named=False
    )
    seen: list[Any] = []

    async def run() -> None:
        async with adapter_for(lambda req: httpx.Response(200, stream=_Iter([head, tail]))).stream(request()) as s:
            async for event in s:
                seen.append(event)

    with pytest.raises(OverloadedError) as info:
        await run()
    assert info.value.in_stream is True
    assert info.value.partial is not None
    assert info.value.partial.text == "partial"
    assert any(isinstance(e, TextDelta) for e in seen)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("rate_limit_error", RateLimitError),
        ("api_error", ServerError),
        ("billing_error", QuotaExceededError),
        ("invalid_request_error", InvalidRequestError),
    ],
)
async def test_in_stream_error_types(kind: str, cls: type[Exception]) -> None:
    raw = sse(START, {"type": "error", "error": {"type": kind, "message": "boom"}})
    with pytest.raises(cls):
        await collect(adapter_for(Recorder(raw=raw)), request())


async def test_stream_cut_before_message_stop() -> None:
    raw = sse(
        START,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"a":'}},
    )
    with pytest.raises(StreamInterruptedError) as info:
        await collect(adapter_for(Recorder(raw=raw)), request())
    partial = info.value.partial
    assert partial.finish_reason == "error"
    assert partial.tool_calls[0].raw_arguments == '{"a":'


async def test_last_event_without_trailing_blank_line_is_read() -> None:
    raw = sse(START) + b'event: message_stop\ndata: {"type":"message_stop"}'
    events = await collect(adapter_for(Recorder(raw=raw)), request())
    assert events[-1].response.finish_reason == "stop"


@pytest.mark.parametrize("frame", [b"data: not json\n\n", b"data: [1]\n\n"])
async def test_stream_garbage_frames(frame: bytes) -> None:
    with pytest.raises(ResponseParseError):
        await collect(adapter_for(Recorder(raw=sse(START) + frame)), request())


async def test_max_tokens_cut_tool_arguments_keep_raw_fragment() -> None:
    raw = sse(
        START,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"a": 1'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    )
    response = (await collect(adapter_for(Recorder(raw=raw)), request()))[-1].response
    assert response.finish_reason == "length"
    assert response.tool_calls[0].raw_arguments == '{"a": 1'


# --- errors --------------------------------------------------------------------------------------------------


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_e"}


@pytest.mark.parametrize(
    ("status", "kind", "message", "cls", "retryable"),
    [
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            ContextWindowExceededError,
            False,
        ),
        (400, "invalid_request_error", "max_tokens: must be at most 64000", InvalidRequestError, False),
        (401, "authentication_error", "invalid x-api-key", AuthenticationError, False),
        (402, "billing_error", "credit balance is too low", QuotaExceededError, False),
        (404, "not_found_error", "model: claude-x", NotFoundError, False),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes; prompt is too long",
            InvalidRequestError,
            False,
        ),
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            RateLimitError,
            True,
        ),
        (500, "api_error", "Internal server error", ServerError, True),
        (529, "overloaded_error", "Overloaded", OverloadedError, True),
    ],
)
async def test_error_classification(
    status: int, kind: str, message: str, cls: type[ProviderError], retryable: bool
) -> None:
    recorder = Recorder(status=status, body=error_body(kind, message), headers={"request-id": "req_h"})
    with pytest.raises(cls) as info:
        await adapter_for(recorder).complete(request())
    error = info.value
    assert type(error) is cls  # 413 stays a plain InvalidRequestError, not a context-window error
    assert error.status == status
    assert error.type == kind
    assert error.code == kind
    assert error.retryable is retryable
    assert error.request_id == "req_h"
    assert "sk-ant-test" not in repr(error.body)


async def test_retry_after_header_is_honoured() -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    calls = {"n": 0}

    def handler(req: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"retry-after": "7"}, json=error_body("rate_limit_error", "slow down"))
        return httpx.Response(200, json=message_body([{"type": "text", "text": "ok"}]))

    adapter = adapter_for(handler, max_retries=2, retry_policy=RetryPolicy(sleep=sleep))
    response = await adapter.complete(request())
    assert sleeps == [7.0]
    assert response.attempts == 2


async def test_retry_hint_on_the_error_when_retries_run_out() -> None:
    recorder = Recorder(status=529, body=error_body("overloaded_error", "Overloaded"), headers={"retry-after": "3"})
    with pytest.raises(OverloadedError) as info:
        await adapter_for(recorder).complete(request())
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(("raw", "message"), [(b"upstream connect error", "upstream connect error"), (b"", "HTTP 502")])
async def test_non_json_error_bodies(raw: bytes, message: str) -> None:
    with pytest.raises(ServerError, match=message):
        await adapter_for(Recorder(status=502, raw=raw or b" ")).complete(request())


async def test_json_mode_has_no_anthropic_equivalent() -> None:
    native = NativeOutput(name="o", schema={"type": "object"}, strict=False, json_mode=True)
    with pytest.raises(UnsupportedFeatureError, match="JSON mode"):
        await sent_body(request(), native)


async def test_structured_output_native_and_forced_tool() -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        population: int

    text = '{"name": "Paris", "population": 2}'
    recorder = Recorder(body=message_body([{"type": "text", "text": text}]))
    response = await adapter_for(recorder).complete(request(output=City))
    assert response.output == City(name="Paris", population=2)
    schema = recorder.sent["output_config"]["format"]["schema"]
    assert schema["additionalProperties"] is False  # the anthropic dialect closed the object
    # A model without native output gets a forced tool, answered by a tool_use block.
    tool_answer = message_body(
        [{"type": "tool_use", "id": "toolu_o", "name": "City", "input": {"name": "Rome", "population": 3}}],
        stop="tool_use",
    )
    recorder = Recorder(body=tool_answer)
    response = await adapter_for(recorder).complete(request(output=City).with_(model="claude-sonnet-4-0"))
    assert recorder.sent["tool_choice"] == {"type": "tool", "name": "City"}
    assert response.output == City(name="Rome", population=3)


async def test_foreign_call_ids_are_rewritten_consistently() -> None:
    from accord.adapters.anthropic import wire_call_id

    call = ToolCall(id="tooluse.abc:1", name="get_weather", arguments={})
    history = [Message.user("q"), Message.assistant(tool_calls=[call]), Message.tool("tooluse.abc:1", "ok")]
    body = await sent_body(request(*history, tools=[WEATHER]))
    sent_id = body["messages"][1]["content"][0]["id"]
    assert sent_id == body["messages"][2]["content"][0]["tool_use_id"] == wire_call_id("tooluse.abc:1")
    assert sent_id.startswith("tooluse_abc_1_")
    assert wire_call_id("toolu_01AbC-x") == "toolu_01AbC-x"
    assert wire_call_id("a.b") != wire_call_id("a:b")  # the hash keeps different ids apart
