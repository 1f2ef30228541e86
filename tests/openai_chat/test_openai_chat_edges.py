"""Less common paths of the OpenAI Chat adapter and the stream assembler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from accord.adapters._assemble import StreamAssembler, parse_arguments
from accord.adapters._base import NativeOutput
from accord.adapters._toolnames import ToolNameMap
from accord.adapters.openai_chat import OpenAIChatAdapter, TokenProviderAuth, VendorSpec
from accord.contracts import (
    DocumentPart,
    Message,
    ModelProfile,
    ProviderError,
    ProviderInfo,
    RateLimitError,
    Request,
    ResponseParseError,
    StreamEnd,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallEnd,
    TransportError,
    UnsupportedFeatureError,
)

from .helpers_openai_chat import KEY, Recorder, adapter, chunk, completion, sse


def req(*messages: Message | str, **fields: Any) -> Request:
    msgs = [Message.user(m) if isinstance(m, str) else m for m in messages] or [Message.user("hi")]
    return Request(model=fields.pop("model", "gpt-4o-mini"), messages=msgs, **fields)


async def drain(a: OpenAIChatAdapter, request: Request) -> None:
    async with a.stream(request) as stream:
        async for _ in stream:
            pass


async def open_only(a: OpenAIChatAdapter, request: Request, native: NativeOutput | None = None) -> None:
    async with a.open(request, native):
        pass


async def test_native_output_response_format() -> None:
    rec = Recorder(httpx.Response(200, json=completion('{"a": 1}')))
    a, _ = adapter(rec)
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    await a.send(req("q"), NativeOutput(name="Answer", schema=schema, strict=True, description="The answer"))
    assert rec.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": schema, "strict": True, "description": "The answer"},
    }
    await a.send(req("q"), NativeOutput(name="A", schema=schema, strict=False))
    assert "description" not in rec.body["response_format"]["json_schema"]
    await a.send(req("q"), NativeOutput(name="A", schema=schema, strict=False, json_mode=True))
    assert rec.body["response_format"] == {"type": "json_object"}


async def test_native_output_refused_before_sending_when_the_model_cannot_stream_it() -> None:
    recorder = Recorder(httpx.Response(200))
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    profile = ModelProfile(supports_native_output=True, supports_native_output_streaming=False)
    a = OpenAIChatAdapter(api_key=KEY, http_client=client, profile=profile)
    with pytest.raises(UnsupportedFeatureError, match="cannot stream structured output") as caught:
        await open_only(a, req("q"), NativeOutput(name="A", schema={"type": "object"}, strict=False))
    assert caught.value.feature == "native_output_stream"
    assert recorder.requests == []


async def test_retry_hint_moves_the_class() -> None:
    vendor = VendorSpec(
        name="router", base_url="https://x.test/v1", env_var=None, retry_hint_classes={402: RateLimitError}
    )
    answers = [
        httpx.Response(402, json={"error": {"message": "credits"}}, headers={"retry-after": "3"}),
        httpx.Response(402, json={"error": {"message": "credits"}}),
    ]
    for answer, cls in zip(answers, ("RateLimitError", "QuotaExceededError"), strict=True):
        client = httpx.AsyncClient(transport=httpx.MockTransport(Recorder(answer)))
        a = OpenAIChatAdapter(vendor=vendor, api_key=SecretStr(KEY), http_client=client, max_retries=0)
        with pytest.raises(ProviderError) as caught:
            await a.complete(req("q"))
        assert type(caught.value).__name__ == cls
        assert getattr(caught.value, "status", None) == 402


async def test_sync_token_provider_and_no_sync_flow() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    client = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    a = OpenAIChatAdapter(http_client=client, token_provider=lambda: "tok", api_key=None)
    await a.complete(req("q"))
    assert rec.requests[0].headers["authorization"] == "Bearer tok"
    auth = TokenProviderAuth(lambda: "t", "Authorization", "Bearer ")
    with pytest.raises(RuntimeError, match="no sync flow"):
        auth.sync_auth_flow(httpx.Request("POST", "https://x.test"))


async def test_mapping_odds_and_ends() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    doc = DocumentPart.from_bytes(b"%PDF")
    await a.complete(req(Message.user([doc]), "x", Message.assistant("plain answer"), "y"))
    assert rec.body["messages"][0]["content"] == [
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{doc.data}"}}
    ]
    assert rec.body["messages"][2] == {"role": "assistant", "content": "plain answer"}


async def test_stream_last_frame_without_blank_line() -> None:
    body = (
        sse(chunk({"content": "a"}), done=False)
        + b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}'
    )
    a, _ = adapter(Recorder(httpx.Response(200, content=body)))
    async with a.stream(req("q")) as stream:
        events = [e async for e in stream]
    assert isinstance(events[-1], StreamEnd)
    assert stream.response.text == "a"


async def test_error_body_that_breaks_while_read() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"error": '
            raise httpx.ReadError("reset")

    a, _ = adapter(Recorder(lambda r: httpx.Response(500, stream=Broken())), max_retries=0)
    with pytest.raises(TransportError, match="reset"):
        await open_only(a, req("q"))


# --- the stream assembler ----------------------------------------------------------------------------------


def test_parse_arguments_edges() -> None:
    assert parse_arguments("  ", truncated=False) == ({}, None)
    assert parse_arguments("[1]", truncated=True) == ({}, "[1]")
    with pytest.raises(ResponseParseError, match="not a JSON object"):
        parse_arguments("[1]", truncated=False)


def test_assembler_blocks_in_order() -> None:
    asm = StreamAssembler(
        provider="p",
        model="m",
        names=ToolNameMap(),
        thinking_provider="p",
        restore=lambda name, args: {**args, "restored": name},
    )
    events: list[Any] = []
    events += asm.thinking("think", "a", signature="sig1")
    events += asm.thinking("think", "", signature="sig2", redacted=True)
    events += asm.text("text", "")
    events += asm.text("text", "hello")
    events += asm.tool_start("t1", "c1", "f")
    events += asm.tool_start("t1", "c1", "f")  # a repeated start is ignored
    events += asm.tool_args("t1", "")
    events += asm.tool_args("t1", '{"x": 1}')
    events += asm.tool_end("t1")
    events += asm.tool_end("t1")  # ending twice emits nothing more
    events += asm.tool_start("t2", "c2", "g")
    events += asm.tool_end("t2", {"y": 2})
    events += asm.tool_start("t3", "c3", "h")  # never closed: closed by end()
    events += asm.tool_args("t3", "{}")
    assert [type(e) for e in events] == [ThinkingDelta, TextDelta, *[type(e) for e in events[2:]]]
    ends = [e.call for e in events if isinstance(e, ToolCallEnd)]
    assert ends[0].arguments == {"x": 1, "restored": "f"}
    assert ends[1].arguments == {"y": 2, "restored": "g"}
    assert [e.arguments_fragment for e in events if isinstance(e, ToolCallDelta)] == ['{"x": 1}', '{"y": 2}', "{}"]
    final = asm.end(ProviderInfo(name="p"))
    assert isinstance(final[-1], StreamEnd)
    response = final[-1].response
    thinking = response.thinking[0]
    assert (thinking.text, thinking.signature, thinking.redacted) == ("a", "sig1sig2", True)
    assert response.text == "hello"
    assert [c.id for c in response.tool_calls] == ["c1", "c2", "c3"]
    assert response.finish_reason == "stop"


def test_assembler_partial_keeps_raw_fragments() -> None:
    asm = StreamAssembler(provider="p", model="m", names=ToolNameMap())
    asm.tool_start(0, "c", "f")
    asm.tool_args(0, '{"a": ')
    partial = asm.response(ProviderInfo(name="p"), partial=True)
    assert partial.finish_reason == "error"
    assert partial.tool_calls[0].raw_arguments == '{"a": '
    asm.finish("length", "length")
    closed = asm.end(ProviderInfo(name="p"))[-1].response
    assert closed.finish_reason == "length"
    assert closed.tool_calls[0].raw_arguments == '{"a": '


class Weather(BaseModel):
    """Weather report."""

    city: str
    celsius: int


async def test_structured_output_end_to_end() -> None:
    rec = Recorder(httpx.Response(200, json=completion('{"city": "Paris", "celsius": 18}')))
    a, _ = adapter(rec)
    response = await a.complete(req("weather?", output=Weather))
    assert response.output == Weather(city="Paris", celsius=18)
    assert rec.body["response_format"]["type"] == "json_schema"
    assert rec.body["response_format"]["json_schema"]["name"] == "Weather"
    frames = sse(chunk({"content": '{"city": "Oslo", '}), chunk({"content": '"celsius": 3}'}, finish="stop"))
    b, _ = adapter(Recorder(httpx.Response(200, content=frames)))
    async with b.stream(req("weather?", output=Weather)) as stream:
        async for _ in stream:
            pass
    assert stream.response.output == Weather(city="Oslo", celsius=3)


async def test_consumer_stopping_early_releases_the_stream() -> None:
    closed: list[bool] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            n = 0
            while True:
                n += 1
                yield sse(chunk({"content": f"{n} "}), done=False)

        async def aclose(self) -> None:
            closed.append(True)

    a, _ = adapter(Recorder(lambda r: httpx.Response(200, stream=Endless())))
    seen = 0
    async with a.stream(req("count")) as stream:
        async for event in stream:
            seen += isinstance(event, TextDelta)
            if seen == 3:
                break
    assert seen == 3
    assert closed == [True]


def test_wire_context_without_plans_keeps_arguments() -> None:
    from accord.adapters._base import WireContext
    from accord.contracts import ModelProfile, Tool

    ctx = WireContext(model="m", profile=ModelProfile(), names=ToolNameMap(), native_output=None, streaming=False)
    assert ctx.restore_arguments("f", {"a": 1}) == {"a": 1}
    assert ctx.tool_parameters(Tool(name="f")) == {"type": "object", "properties": {}}
    assert ctx.tool_strict(Tool(name="f")) is None
    assert ctx.tool_strict(Tool(name="f", strict=True)) is True


def _body(message: Any = None, choice: Any = None) -> dict[str, Any]:
    base = completion()
    if choice is not None:
        base["choices"] = [choice]
    else:
        base["choices"][0]["message"] = message
    return base


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (_body(choice=0), r"choices\[0\]\.message"),
        (_body(message="0"), r"choices\[0\]\.message"),
        (_body(message=0), r"choices\[0\]\.message"),
        (_body(message={"role": "assistant", "content": 0}), "neither text nor a list"),
        (_body(message={"role": "assistant", "content": {}}), "neither text nor a list"),
        (_body(message={"role": "assistant", "content": [0]}), "neither text nor a list"),
        (_body(message={"role": "assistant", "content": [{"type": "text", "text": [0]}]}), "neither text"),
        (
            _body(message={"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": {}}]}),
            "no function name",
        ),
        (_body(message={"role": "assistant", "content": None, "tool_calls": ["x"]}), "no function name"),
    ],
)
async def test_wrong_shapes_are_response_parse_errors(payload: dict[str, Any], match: str) -> None:
    a, _ = adapter(Recorder(httpx.Response(200, json=payload)))
    with pytest.raises(ResponseParseError, match=match):
        await a.complete(req("q"))


async def test_message_null_is_an_empty_answer() -> None:
    a, _ = adapter(Recorder(httpx.Response(200, json=_body(message=None))))
    response = await a.complete(req("q"))
    assert response.text == ""
    assert response.parts == []


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        ({"choices": [0]}, "choice is not an object"),
        ({"choices": [{"index": 0, "delta": "x"}]}, "choice is not an object"),
        ({"choices": [{"index": 0, "delta": {"content": 5}}]}, "neither text"),
        ({"choices": [{"index": 0, "delta": {"tool_calls": [7]}}]}, "tool call is not an object"),
        ({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "f"}]}}]}, "not an object"),
        (
            {
                "choices": [
                    {"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"arguments": "{}"}}]}}
                ]
            },
            "no function name",
        ),
    ],
)
async def test_wrong_stream_shapes_are_response_parse_errors(frame: dict[str, Any], match: str) -> None:
    a, _ = adapter(Recorder(httpx.Response(200, content=sse(frame))), max_retries=0)
    with pytest.raises(ResponseParseError, match=match):
        await drain(a, req("q"))
