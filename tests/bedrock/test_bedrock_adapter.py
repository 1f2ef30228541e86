"""Bedrock Converse: request mapping (validated by botocore), responses, event streams, errors, SigV4 and config."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from accord.adapters._retry import RetryPolicy
from accord.adapters.bedrock import (
    BedrockAdapter,
    ConverseStreamDecoder,
    SigV4Auth,
    error_type,
    map_finish,
    model_vendor,
    usage_from_wire,
)
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
    PermissionDeniedError,
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
    UnsupportedFeatureError,
    UsageUpdate,
)

SHARED = Path(__file__).resolve().parents[3] / "shared"
SERVICE_MODEL = SHARED / "specs" / "bedrock-runtime" / "service-2.json"
RECORDINGS = SHARED / "recordings" / "bedrock"

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
ACCESS, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example"
WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


# --- helpers -------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_BEARER_TOKEN_BEDROCK", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "us-west-2")


def _validator() -> Any:
    from botocore.model import ServiceModel
    from botocore.validate import ParamValidator

    if SERVICE_MODEL.is_file():
        model = ServiceModel(json.loads(SERVICE_MODEL.read_text()), service_name="bedrock-runtime")
    else:  # botocore's own copy, through its loader
        from botocore.loaders import Loader

        model = ServiceModel(Loader().load_service_model("bedrock-runtime", "service-2"), "bedrock-runtime")
    return ParamValidator(), model


def assert_valid_converse(body: dict[str, Any], model_id: str = MODEL, operation: str = "Converse") -> None:
    """The oracle: botocore's validator against the Converse input shape of the service model."""
    validator, service = _validator()
    report = validator.validate({"modelId": model_id, **body}, service.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (string headers only) — test data for botocore's decoder."""
    raw_headers = b"".join(
        bytes([len(n)]) + n.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode()
        for n, v in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(raw_headers) + len(payload), len(raw_headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(name: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, json.dumps({**body, "p": "abcdef"}).encode())


def exception(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


def make(handler: Any, **options: Any) -> tuple[BedrockAdapter, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    client = httpx.AsyncClient(transport=httpx.MockTransport(record))

    async def no_sleep(_: float) -> None:
        return None

    options.setdefault("retry_policy", RetryPolicy(max_retries=0, sleep=no_sleep))
    return BedrockAdapter(http_client=client, **options), seen


def ok(body: dict[str, Any], **headers: str) -> Any:
    return lambda request: httpx.Response(200, json=body, headers=headers)


def converse(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15, **usage},
        "metrics": {"latencyMs": 100},
    }


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in the given chunks (so events arrive before a later error)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk


async def drain(adapter: BedrockAdapter, request: Request) -> list[Any]:
    async with adapter.stream(request) as stream:
        return [e async for e in stream]


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)  # type: ignore[no-any-return]


# --- request mapping -----------------------------------------------------------------------------------------


async def test_full_request_maps_to_valid_converse_body() -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    pdf = base64.b64encode(b"%PDF fake").decode()
    call = ToolCall(id="tooluse_1", name="get_weather", arguments={"city": "Paris"})
    request = Request(
        model=MODEL,
        system="Be brief.",
        messages=[
            Message.system("Also be kind."),
            Message.user(
                [
                    TextPart(text="Look:"),
                    ImagePart(data=png, media_type="image/png"),
                    DocumentPart(data=pdf, media_type="application/pdf", name="report"),
                ]
            ),
            Message.assistant(
                [
                    ThinkingPart(text="hmm", signature="sig-1", provider="bedrock"),
                    ThinkingPart(signature=base64.b64encode(b"x").decode(), redacted=True, provider="bedrock"),
                    ThinkingPart(text="foreign", signature="other", provider="anthropic"),
                    TextPart(text="Checking."),
                ],
                tool_calls=[call],
            ),
            Message.tool("tooluse_1", "boom", is_error=True),
            Message.user("and now?"),
        ],
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=100,
        temperature=0.5,
        top_p=0.9,
        stop=["END"],
        provider_options={
            "bedrock": {
                "cache_points": ["system", "tools", "messages"],
                "additionalModelRequestFields": {"top_k": 5},
                "performanceConfig": {"latency": "optimized"},
            }
        },
    )
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(request)
    body = body_of(seen[0])
    assert_valid_converse(body)
    assert body["system"] == [{"text": "Be brief."}, {"text": "Also be kind."}, {"cachePoint": {"type": "default"}}]
    user, assistant, tool_turn = body["messages"]
    assert [list(b) for b in user["content"]] == [["text"], ["image"], ["document"]]
    assert user["content"][1]["image"] == {"format": "png", "source": {"bytes": png}}
    assert user["content"][2]["document"] == {"format": "pdf", "name": "report", "source": {"bytes": pdf}}
    assert assistant["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig-1"}}},
        {"reasoningContent": {"redactedContent": base64.b64encode(b"x").decode()}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
    ]
    # The tool result and the next user text merge into one user turn (Converse needs alternating roles).
    assert tool_turn["role"] == "user"
    assert tool_turn["content"][0] == {
        "toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "boom"}], "status": "error"}
    }
    assert tool_turn["content"][1] == {"text": "and now?"}
    assert tool_turn["content"][2] == {"cachePoint": {"type": "default"}}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}
    assert body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {"json": WEATHER.parameters}
    assert body["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    assert body["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]}
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    assert body["performanceConfig"] == {"latency": "optimized"}
    assert "cache_points" not in body
    assert seen[0].url.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse"
    assert seen[0].url.raw_path.decode().endswith("/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse")


async def test_tool_choice_none_leaves_the_tools_out() -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], tools=[WEATHER], tool_choice="none"))
    body = body_of(seen[0])
    assert "toolConfig" not in body
    assert_valid_converse(body)


@pytest.mark.parametrize(
    ("choice", "wire"),
    [("auto", {"auto": {}}), ("required", {"any": {}}), (["get_weather"], {"tool": {"name": "get_weather"}})],
)
async def test_tool_choice(choice: Any, wire: dict[str, Any]) -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], tools=[WEATHER], tool_choice=choice))
    body = body_of(seen[0])
    assert body["toolConfig"]["toolChoice"] == wire
    assert_valid_converse(body)


async def test_strict_tool_and_native_output_schema_as_string() -> None:
    from accord.adapters._base import NativeOutput

    strict_tool = Tool(name="get_weather", parameters=WEATHER.parameters, strict=True)
    adapter, seen = make(ok(converse([{"text": '{"a": 1}'}])))
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    request = Request(model=MODEL, messages=[Message.user("hi")], tools=[strict_tool])
    await adapter.send(request, NativeOutput(name="answer", schema=schema, strict=True, description="The answer"))
    body = body_of(seen[0])
    assert_valid_converse(body)
    assert body["toolConfig"]["tools"][0]["toolSpec"]["strict"] is True
    json_schema = body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]
    assert body["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert json.loads(json_schema["schema"]) == schema
    assert json_schema["name"] == "answer"
    assert json_schema["description"] == "The answer"


@pytest.mark.parametrize(
    ("model", "reasoning", "fields"),
    [
        (MODEL, 2048, {"thinking": {"type": "enabled", "budget_tokens": 2048}}),
        ("openai.gpt-oss-120b-1:0", "high", {"reasoning_effort": "high"}),
        ("us.amazon.nova-2-lite-v1:0", "xhigh", {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}),
    ],
)
async def test_reasoning_goes_to_additional_fields(model: str, reasoning: Any, fields: dict[str, Any]) -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(Request(model=model, messages=[Message.user("hi")], reasoning=reasoning))
    body = body_of(seen[0])
    assert body["additionalModelRequestFields"] == fields
    assert_valid_converse(body, model)


async def test_reasoning_none_sends_nothing_and_unknown_family_refuses() -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], reasoning="none"))
    assert "additionalModelRequestFields" not in body_of(seen[0])
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], reasoning="high"))
    assert len(seen) == 1


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {
            "messages": [
                Message.user("hi"),
                Message.assistant(tool_calls=[ToolCall(id="t", name="get_weather")]),
                Message.tool("t", "sunny"),
            ],
            "tools": [WEATHER],
            "tool_choice": "none",
        },
        {"messages": [Message.user("hi")], "tools": [WEATHER, Tool(name="b")], "tool_choice": ["get_weather", "b"]},
        {"messages": [Message.user("hi")], "tools": [WEATHER], "parallel_tool_calls": False},
        {"messages": [Message.user([ImagePart(url="https://x/a.png")])]},
        {"messages": [Message.user([ImagePart(url="s3://b/a.png")])]},
        {"messages": [Message.user([ImagePart.from_bytes(b"x", "image/bmp")])]},
        {"messages": [Message.user([DocumentPart(url="https://x/a.pdf", media_type="application/pdf")])]},
        {"messages": [Message.user([DocumentPart.from_bytes(b"x", "application/zip")])]},
        {
            "messages": [
                Message.user("hi"),
                Message.assistant(tool_calls=[ToolCall(id="t", name="f", raw_arguments='{"a":')]),
            ]
        },
    ],
)
async def test_unsupported_content_is_refused_before_sending(request_kwargs: dict[str, Any]) -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(Request(model=MODEL, **request_kwargs))
    assert seen == []


async def test_seed_refused_by_catalog_and_unknown_cache_point_rejected() -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], seed=1))
    with pytest.raises(ConfigurationError):
        await adapter.complete(
            Request(model=MODEL, messages=[Message.user("hi")], provider_options={"bedrock": {"cache_points": ["x"]}})
        )
    assert seen == []


async def test_s3_media_and_tool_result_media() -> None:
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    call = ToolCall(id="t1", name="get_weather", arguments={})
    png = ImagePart.from_bytes(b"img", "image/jpeg")
    request = Request(
        model=MODEL,
        messages=[
            Message.user([ImagePart(url="s3://bucket/a.webp", media_type="image/webp")]),
            Message.assistant(tool_calls=[call]),
            Message.tool(
                "t1", [TextPart(text="see"), png, DocumentPart(url="s3://b/r.pdf", media_type="application/pdf")]
            ),
        ],
        tools=[WEATHER],
    )
    await adapter.complete(request)
    body = body_of(seen[0])
    assert_valid_converse(body)
    assert body["messages"][0]["content"][0]["image"]["source"] == {"s3Location": {"uri": "s3://bucket/a.webp"}}
    result = body["messages"][2]["content"][0]["toolResult"]
    assert "status" not in result
    assert [list(c) for c in result["content"]] == [["text"], ["image"], ["document"]]
    assert result["content"][2]["document"]["source"] == {"s3Location": {"uri": "s3://b/r.pdf"}}


def test_model_vendor_and_finish_map() -> None:
    assert model_vendor("us.anthropic.claude-x") == "anthropic"
    assert model_vendor("anthropic.claude-x") == "anthropic"
    assert model_vendor("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc") == ""
    assert model_vendor("plain") == ""
    assert map_finish("guardrail_intervened") == "content_filter"
    assert map_finish("content_filtered") == "content_filter"
    assert map_finish("malformed_tool_use") == "error"
    assert map_finish("model_context_window_exceeded") == "length"
    assert map_finish("brand_new") == "other"
    assert map_finish(None) == "stop"


# --- response mapping ----------------------------------------------------------------------------------------


async def test_response_mapping_with_reasoning_tools_usage_and_extras() -> None:
    payload = converse(
        [
            {"reasoningContent": {"reasoningText": {"text": "think", "signature": "SIG"}}},
            {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
            {"text": "Calling."},
            {"toolUse": {"toolUseId": "tooluse_9", "name": "get_weather", "input": {"city": "Rome"}}},
            {"citationsContent": {"citations": []}},
        ],
        stop="tool_use",
        cacheReadInputTokens=100,
        cacheWriteInputTokens=20,
    )
    payload["trace"] = {"guardrail": {"x": 1}}
    adapter, _ = make(ok(payload, **{"x-amzn-RequestId": "req-1"}))
    response = await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")], tools=[WEATHER]))
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "tool_use"
    assert response.text == "Calling."
    assert response.tool_calls == [ToolCall(id="tooluse_9", name="get_weather", arguments={"city": "Rome"})]
    thinking = response.thinking
    assert thinking[0].text == "think"
    assert thinking[0].signature == "SIG"
    assert thinking[0].provider == "bedrock"
    assert thinking[1].redacted
    assert thinking[1].signature == "cmVkYWN0ZWQ="
    assert response.usage.input_tokens == 130
    assert response.usage.cache_read_tokens == 100
    assert response.usage.cache_write_tokens == 20
    assert response.usage.output_tokens == 5
    assert response.id == "req-1"
    assert response.provider.request_id == "req-1"
    assert response.provider.extra["trace"] == {"guardrail": {"x": 1}}
    assert response.provider.extra["unmapped_content"] == [{"citationsContent": {"citations": []}}]
    # The thinking round-trips: the next request carries it back unchanged.
    adapter2, seen = make(ok(converse([{"text": "done"}])))
    follow = Request(
        model=MODEL,
        messages=[Message.user("hi"), response.to_message(), Message.tool("tooluse_9", "sunny")],
        tools=[WEATHER],
    )
    await adapter2.complete(follow)
    sent = body_of(seen[0])["messages"][1]["content"]
    assert sent[0] == {"reasoningContent": {"reasoningText": {"text": "think", "signature": "SIG"}}}
    assert sent[1] == {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}}
    assert_valid_converse(body_of(seen[0]))


async def test_guardrail_stop_is_content_filter() -> None:
    adapter, _ = make(ok(converse([{"text": "blocked"}], stop="guardrail_intervened")))
    response = await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert response.finish_reason == "content_filter"
    assert response.provider_finish_reason == "guardrail_intervened"


@pytest.mark.parametrize(
    "payload",
    [
        {"nope": 1},
        [1, 2],
        converse([{"toolUse": {"toolUseId": "t", "name": "f", "input": "notadict"}}]),
    ],
)
async def test_malformed_response_raises_parse_error(payload: Any) -> None:
    adapter, _ = make(ok(payload))
    with pytest.raises(ResponseParseError):
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))


def test_usage_ignores_missing_and_negative_values() -> None:
    usage = usage_from_wire({"inputTokens": 3, "outputTokens": -1, "cacheReadInputTokens": None})
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (3, 0, 0)


# --- streams -------------------------------------------------------------------------------------------------


def _stream_frames() -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "let me "}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "think"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "SIG"}}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Hello "}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": ""}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "world"}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}},
        ),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"city": '}}}),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '"Oslo"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "tooluse_2", "name": "get_weather"}}},
        ),
        event("contentBlockStop", {"contentBlockIndex": 3}),
        event(
            "contentBlockDelta", {"contentBlockIndex": 4, "delta": {"reasoningContent": {"redactedContent": "UkVE"}}}
        ),
        event("messageStop", {"stopReason": "tool_use", "additionalModelResponseFields": {"k": 1}}),
        event(
            "metadata", {"usage": {"inputTokens": 7, "outputTokens": 9, "totalTokens": 16}, "metrics": {"latencyMs": 5}}
        ),
    ]


def _decode(data: bytes, splits: list[int]) -> list[Any]:
    adapter = BedrockAdapter()
    from accord.adapters._base import WireContext
    from accord.adapters._toolnames import sanitize_names

    ctx = WireContext(
        model=MODEL,
        profile=adapter.profile(MODEL),
        names=sanitize_names([], adapter.tool_name_rule),
        native_output=None,
        streaming=True,
    )
    decoder = ConverseStreamDecoder(adapter, ctx, {"x-amzn-requestid": "rid"})
    events: list[Any] = []
    start = 0
    for cut in [*splits, len(data)]:
        events.extend(decoder.feed(data[start:cut]))
        start = cut
    return events + decoder.close()


def test_stream_decoding_is_independent_of_chunk_splits() -> None:
    data = b"".join(_stream_frames())
    whole = _decode(data, [])
    rng = random.Random(7)
    for _ in range(30):
        splits = sorted(rng.sample(range(1, len(data)), rng.randint(1, 40)))
        assert _decode(data, splits) == whole
    assert _decode(data, list(range(1, len(data)))) == whole  # one byte at a time
    end = whole[-1]
    assert isinstance(end, StreamEnd)
    response = end.response
    assert "".join(e.text for e in whole if isinstance(e, TextDelta)) == response.text == "Hello world"
    assert "".join(e.text for e in whole if isinstance(e, ThinkingDelta)) == "let me think"
    assert [type(e) for e in whole if isinstance(e, ToolCallStart | ToolCallEnd)] == [
        ToolCallStart,
        ToolCallEnd,
        ToolCallStart,
        ToolCallEnd,
    ]
    fragments = "".join(e.arguments_fragment for e in whole if isinstance(e, ToolCallDelta) and e.index == 2)
    assert json.loads(fragments) == {"city": "Oslo"}
    assert [c.arguments for c in response.tool_calls] == [{"city": "Oslo"}, {}]
    assert response.thinking[0].signature == "SIG"
    assert response.thinking[1].redacted
    assert response.finish_reason == "tool_calls"
    assert response.usage.total_tokens == 16
    assert any(isinstance(e, UsageUpdate) for e in whole)
    assert response.provider.extra["additionalModelResponseFields"] == {"k": 1}
    assert response.provider.extra["metrics"] == {"latencyMs": 5}
    assert response.id == "rid"


def test_recorded_stream_decodes_the_same_under_any_split() -> None:
    path = RECORDINGS / "bedrock_model_thinking_part_stream.yaml"
    if not path.is_file():
        pytest.skip("shared recordings absent")
    body = yaml.safe_load(path.read_text())["interactions"][0]["response"]["body"]["string"]
    data = body if isinstance(body, bytes) else body.encode()
    whole = _decode(data, [])
    rng = random.Random(3)
    for _ in range(10):
        assert _decode(data, sorted(rng.sample(range(1, len(data)), 25))) == whole
    assert whole[-1].response.text == "Hello! It's nice to meet you. How can I help you today?"
    assert whole[-1].response.thinking
    assert whole[-1].response.thinking[0].signature


async def test_stream_end_to_end_matches_complete_and_sends_signed_request() -> None:
    data = b"".join(_stream_frames())
    adapter, seen = make(lambda r: httpx.Response(200, content=data, headers={"x-amzn-requestid": "rid"}))
    async with adapter.stream(Request(model=MODEL, messages=[Message.user("hi")], tools=[WEATHER])) as stream:
        events = [e async for e in stream]
    assert isinstance(events[-1], StreamEnd)
    assert stream.response.text == "Hello world"
    request = seen[0]
    assert request.url.raw_path.decode().endswith("%3A0/converse-stream")
    assert request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert_valid_converse(body_of(request), operation="ConverseStream")


@pytest.mark.parametrize(
    ("name", "message", "error"),
    [
        ("throttlingException", "Too many requests", RateLimitError),
        ("serviceUnavailableException", "Unavailable", OverloadedError),
        ("internalServerException", "Oops", ServerError),
        ("modelStreamErrorException", "Model broke", ServerError),
        ("validationException", "Input is too long for requested model.", ContextWindowExceededError),
        ("validationException", "Bad field", InvalidRequestError),
    ],
)
async def test_exception_frame_in_200_stream_raises_typed_error(
    name: str, message: str, error: type[ProviderError]
) -> None:
    chunks = [*_stream_frames()[:6], exception(name, message)]
    adapter, _ = make(lambda r: httpx.Response(200, stream=Chunks(chunks)))
    with pytest.raises(error) as info:
        await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    assert type(info.value) is error
    assert info.value.in_stream
    assert info.value.message == message
    assert info.value.partial is not None
    assert info.value.partial.text == "Hello "


async def test_error_frame_and_cut_stream() -> None:
    error_frame = frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "bad"}, b"")
    adapter, _ = make(lambda r: httpx.Response(200, content=_stream_frames()[0] + error_frame))
    with pytest.raises(ServerError, match="bad"):
        await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    adapter, _ = make(lambda r: httpx.Response(200, stream=Chunks(_stream_frames()[:7])))
    with pytest.raises(StreamInterruptedError) as info:
        await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))
    assert info.value.partial.text == "Hello "


@pytest.mark.parametrize(
    "data",
    [
        event("messageStart", {}) + b"\x00\x00\x00\x20garbage-that-fails-the-crc-check!!",
        frame({":message-type": "event", ":event-type": "messageStart"}, b"{not json"),
        event("contentBlockDelta", {"contentBlockIndex": 5, "delta": {"toolUse": {"input": "{}"}}}),
    ],
)
async def test_corrupt_stream_raises_parse_error(data: bytes) -> None:
    adapter, _ = make(lambda r: httpx.Response(200, content=data))
    with pytest.raises(ResponseParseError):
        await drain(adapter, Request(model=MODEL, messages=[Message.user("hi")]))


# --- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "body", "error"),
    [
        (
            429,
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            {"message": "slow"},
            RateLimitError,
        ),
        (429, "ModelNotReadyException", {"message": "warming"}, OverloadedError),
        (503, "ServiceUnavailableException", {"message": "busy"}, OverloadedError),
        (400, "ValidationException", {"message": "Input is too long for requested model."}, ContextWindowExceededError),
        (400, "ValidationException", {"Message": "The provided model identifier is invalid."}, InvalidRequestError),
        (403, "AccessDeniedException", {"message": "no access"}, PermissionDeniedError),
        (
            403,
            "UnrecognizedClientException",
            {"message": "The security token included in the request is invalid."},
            AuthenticationError,
        ),
        (403, None, {"__type": "com.amazon.coral#InvalidSignatureException", "message": "sig"}, AuthenticationError),
        (404, "ResourceNotFoundException", {"message": "no model"}, NotFoundError),
        (400, "ServiceQuotaExceededException", {"message": "quota"}, QuotaExceededError),
        (424, "ModelErrorException", {"message": "model failed", "originalStatusCode": 500}, ServerError),
        (500, "InternalServerException", {"message": "x"}, ServerError),
        (400, None, "plain text", InvalidRequestError),
        (400, None, "", InvalidRequestError),
    ],
)
async def test_http_errors(status: int, kind: str | None, body: Any, error: type[ProviderError]) -> None:
    headers = {"x-amzn-RequestId": "rid-9"}
    if kind:
        headers["x-amzn-ErrorType"] = kind
    content = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
    adapter, _ = make(lambda r: httpx.Response(status, content=content, headers=headers))
    with pytest.raises(error) as info:
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert type(info.value) is error
    assert info.value.status == status
    assert info.value.request_id == "rid-9"
    assert SECRET not in repr(info.value)
    assert SECRET not in str(info.value.body)


async def test_throttling_is_retried_with_backoff() -> None:
    calls = iter(
        [
            httpx.Response(429, json={"message": "slow"}, headers={"x-amzn-ErrorType": "ThrottlingException"}),
            httpx.Response(200, json=converse([{"text": "ok"}])),
        ]
    )
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    adapter, seen = make(lambda r: next(calls), retry_policy=RetryPolicy(max_retries=2, sleep=fake_sleep))
    response = await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert response.text == "ok"
    assert response.attempts == 2
    assert len(slept) == 1
    assert len(seen) == 2
    # Each attempt is signed on its own.
    assert all("authorization" in r.headers for r in seen)


def test_error_type_parsing() -> None:
    assert error_type("ThrottlingException:http://x", None) == "ThrottlingException"
    assert error_type(None, {"__type": "com.amazon#ValidationException"}) == "ValidationException"
    assert error_type("throttlingException", None) == "ThrottlingException"
    assert error_type(None, "text") is None
    assert error_type("", None) is None


# --- SigV4, credentials and configuration --------------------------------------------------------------------


def _verify_signature(request: httpx.Request, access: str, secret: str, token: str | None, region: str) -> None:
    """Re-sign the captured request with botocore (same timestamp) and compare signatures."""
    from botocore.auth import SigV4Auth as BotoSigV4
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = request.headers["authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "host" in signed
    assert "x-amz-date" in signed
    headers = {name: request.headers[name] for name in signed}
    aws = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
    aws.context["timestamp"] = request.headers["x-amz-date"]
    signer = BotoSigV4(Credentials(access, secret, token), "bedrock", region)
    canonical = signer.canonical_request(aws)
    expected = signer.signature(signer.string_to_sign(aws, canonical), aws)
    assert authorization.endswith("Signature=" + expected)
    assert f"/{region}/bedrock/aws4_request" in authorization
    # A wrong secret gives another signature: the check can fail.
    other = BotoSigV4(Credentials(access, secret + "x", token), "bedrock", region)
    assert not authorization.endswith("Signature=" + other.signature(other.string_to_sign(aws, canonical), aws))


async def test_sigv4_signature_verifies_with_env_credentials_and_session_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    request = seen[0]
    assert request.headers["x-amz-security-token"] == TOKEN
    assert request.url.host == "bedrock-runtime.us-west-2.amazonaws.com"
    _verify_signature(request, ACCESS, SECRET, TOKEN, "us-west-2")


async def test_profile_credentials_and_region_from_shared_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name)
    (tmp_path / "credentials").write_text(
        "[dev]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profsecret\n"
    )
    (tmp_path / "config").write_text("[profile dev]\nregion = eu-central-1\n")
    adapter, seen = make(ok(converse([{"text": "ok"}])), aws_profile="dev")
    assert adapter.region == "eu-central-1"
    await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    _verify_signature(seen[0], "AKIDPROFILE", "profsecret", None, "eu-central-1")
    assert "AKIDPROFILE/" in seen[0].headers["authorization"]


async def test_explicit_keys_region_and_endpoint_override() -> None:
    adapter, seen = make(
        ok(converse([{"text": "ok"}])),
        region="ap-south-1",
        aws_access_key_id="AKIDEXPLICIT",
        aws_secret_access_key="explicit",
        base_url="https://vpce-123.bedrock-runtime.ap-south-1.vpce.amazonaws.com",
    )
    await adapter.complete(
        Request(model="arn:aws:bedrock:ap-south-1:123:application-inference-profile/x", messages=[Message.user("hi")])
    )
    request = seen[0]
    assert request.url.host == "vpce-123.bedrock-runtime.ap-south-1.vpce.amazonaws.com"
    assert "arn%3Aaws%3Abedrock%3Aap-south-1%3A123%3Aapplication-inference-profile%2Fx" in request.url.raw_path.decode()
    _verify_signature(request, "AKIDEXPLICIT", "explicit", None, "ap-south-1")
    assert "explicit" not in repr(adapter)


def test_endpoint_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://localhost:4566")
    assert BedrockAdapter().base_url == "http://localhost:4566"


async def test_bedrock_api_key_uses_bearer_and_no_sigv4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-abc")
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert seen[0].headers["authorization"] == "Bearer bedrock-api-key-abc"
    assert "x-amz-date" not in seen[0].headers


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigurationError, match="region"):
        BedrockAdapter()
    with pytest.raises(ConfigurationError, match="both"):
        BedrockAdapter(region="us-east-1", aws_access_key_id="a")


async def test_missing_credentials_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    adapter, seen = make(ok(converse([{"text": "ok"}])))
    monkeypatch.setattr(adapter._session(), "get_credentials", lambda: None)
    with pytest.raises(ConfigurationError, match="credentials"):
        await adapter.complete(Request(model=MODEL, messages=[Message.user("hi")]))
    assert seen == []


def test_sync_auth_flow_signs_too() -> None:
    from botocore.credentials import Credentials

    auth = SigV4Auth(lambda: Credentials(ACCESS, SECRET), "us-east-1")
    request = httpx.Request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", json={"a": 1})
    signed = next(auth.sync_auth_flow(request))
    _verify_signature(signed, ACCESS, SECRET, None, "us-east-1")
    assert "region='us-east-1'" in repr(auth)


def test_import_of_accord_adapters_does_not_import_botocore() -> None:
    import subprocess
    import sys

    code = (
        "import sys, accord.adapters; assert 'botocore' not in sys.modules;"
        " import accord.adapters.bedrock; assert 'botocore' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "model_id",
    [
        MODEL,
        "amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    ],
)
@pytest.mark.parametrize("operation", ["Converse", "ConverseStream"])
async def test_url_path_is_the_one_botocore_serializes(model_id: str, operation: str) -> None:
    """The path (model id encoding included) equals what botocore's rest-json serializer builds."""
    from botocore.serialize import create_serializer

    _, service = _validator()
    expected = create_serializer("rest-json").serialize_to_request(
        {"modelId": model_id, "messages": []}, service.operation_model(operation)
    )["url_path"]
    stream = operation == "ConverseStream"
    data = b"".join(_stream_frames()) if stream else json.dumps(converse([{"text": "ok"}])).encode()
    adapter, seen = make(lambda r: httpx.Response(200, content=data))
    request = Request(model=model_id, messages=[Message.user("hi")])
    if stream:
        await drain(adapter, request)
    else:
        await adapter.complete(request)
    assert seen[0].url.raw_path.decode() == expected
