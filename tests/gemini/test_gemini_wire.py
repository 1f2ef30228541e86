"""Gemini generateContent: request mapping, response mapping, the SSE decoder and errors, against a mock transport."""

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
from accord.adapters.gemini import FINISH_REASONS, GeminiAdapter, call_id, usage_from_wire
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
    ToolResult,
    UnsupportedFeatureError,
    Usage,
)

MODEL = "gemini-2.5-flash"
KEY = "AIzaSyTEST-key-0000000000000000000000000"
PNG = base64.b64encode(b"\x89PNG fake").decode()
WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def answer(parts: list[dict[str, Any]], finish: str | None = "STOP", **usage: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 4, **usage},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp1",
    }


class Recorder:
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


class _Iter(httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces

    async def __aiter__(self) -> Any:
        for piece in self.pieces:
            yield piece


def adapter_for(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> GeminiAdapter:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    options.setdefault("max_retries", 0)
    return GeminiAdapter(api_key=KEY, http_client=client, **options)


def request(*messages: Message, **fields: Any) -> Request:
    return Request(model=fields.pop("model", MODEL), messages=list(messages) or [Message.user("hi")], **fields)


async def sent_body(req: Request, native: NativeOutput | None = None) -> dict[str, Any]:
    recorder = Recorder(body=answer([{"text": "ok"}]))
    await adapter_for(recorder).send(req, native)
    validate_request(recorder.sent)
    return recorder.sent


def validate_request(body: dict[str, Any]) -> None:
    """google-genai's own types (extra fields forbidden) as the oracle for every piece of the request body."""
    from google.genai import types

    for content in body["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    if "toolConfig" in body:
        types.ToolConfig.model_validate(body["toolConfig"])
    if "generationConfig" in body:
        types.GenerationConfig.model_validate(body["generationConfig"])


def validate_response(payload: dict[str, Any]) -> None:
    from google.genai import types

    types.GenerateContentResponse.model_validate(payload)


# --- request mapping -----------------------------------------------------------------------------------------


async def test_url_auth_header_and_minimal_body() -> None:
    recorder = Recorder(body=answer([{"text": "ok"}]))
    response = await adapter_for(recorder).complete(request(model="models/gemini-2.5-flash"))
    sent = recorder.requests[0]
    assert str(sent.url) == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    assert "key=" not in str(sent.url)
    assert recorder.sent == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert response.text == "ok"


def test_key_from_gemini_then_google_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    adapter = GeminiAdapter()
    assert adapter.api_key is not None
    assert adapter.api_key.get_secret_value() == "google-key"
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    adapter = GeminiAdapter()
    assert adapter.api_key is not None
    assert adapter.api_key.get_secret_value() == "gemini-key"
    assert GeminiAdapter(api_key="explicit").api_key.get_secret_value() == "explicit"  # type: ignore[union-attr]
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_API_KEY")
    with pytest.raises(ConfigurationError, match="GEMINI_API_KEY"):
        GeminiAdapter()


async def test_system_instruction_media_and_generation_config() -> None:
    user = Message.user(
        [
            TextPart(text="look"),
            ImagePart(data=PNG, media_type="image/png"),
            ImagePart(url="https://generativelanguage.googleapis.com/v1beta/files/abc", media_type="image/jpeg"),
            DocumentPart(url="https://www.youtube.com/watch?v=x"),
        ]
    )
    body = await sent_body(
        request(
            Message.system("Be brief."),
            user,
            system="You are a test.",
            max_tokens=50,
            temperature=0.3,
            top_p=0.8,
            stop=["END"],
            seed=7,
        )
    )
    assert body["systemInstruction"] == {"parts": [{"text": "You are a test.\n\nBe brief."}]}
    assert body["contents"][0]["parts"] == [
        {"text": "look"},
        {"inlineData": {"mimeType": "image/png", "data": PNG}},
        {
            "fileData": {
                "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc",
                "mimeType": "image/jpeg",
            }
        },
        {"fileData": {"fileUri": "https://www.youtube.com/watch?v=x"}},
    ]
    assert body["generationConfig"] == {
        "maxOutputTokens": 50,
        "temperature": 0.3,
        "topP": 0.8,
        "stopSequences": ["END"],
        "seed": 7,
    }


async def test_tools_and_function_round_trip_with_synthesized_ids() -> None:
    call = ToolCall(id="call_resp1_0", name="get_weather", arguments={"city": "Paris"})
    history = [
        Message.user("weather?"),
        Message.assistant([ThinkingPart(signature="U0lH", provider="gemini"), call]),
        Message(
            role="tool",
            parts=[
                ToolResult(
                    call_id="call_resp1_0",
                    content=[TextPart(text="sunny"), ImagePart(data=PNG, media_type="image/png")],
                )
            ],
        ),
        Message.user("thanks"),
    ]
    body = await sent_body(request(*history, tools=[WEATHER]))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Weather for a city", "parametersJsonSchema": WEATHER.parameters}
            ]
        }
    ]
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"id": "call_resp1_0", "name": "get_weather", "args": {"city": "Paris"}},
                "thoughtSignature": "U0lH",
            },
        ],
    }
    # The function's name comes from the earlier call; media follow the response; the user's words join the turn.
    assert body["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"id": "call_resp1_0", "name": "get_weather", "response": {"result": "sunny"}}},
            {"inlineData": {"mimeType": "image/png", "data": PNG}},
            {"text": "thanks"},
        ],
    }
    assert "toolConfig" not in body


async def test_error_results_and_thought_parts() -> None:
    history = [
        Message.user("q"),
        Message.assistant(
            [
                ThinkingPart(text="thinking aloud", signature="VEhP", provider="gemini"),
                ThinkingPart(text="plain thought", provider="gemini"),
                ThinkingPart(text="from elsewhere", signature="x", provider="anthropic"),
                ThinkingPart(signature="c2ln", provider="gemini"),
                TextPart(text="Calling."),
                ToolCall(id="c1", name="get_weather", arguments={}),
                ThinkingPart(signature="dGFpbA==", provider="gemini"),
            ]
        ),
        Message.tool("c1", "no such city", is_error=True),
    ]
    body = await sent_body(request(*history, tools=[WEATHER]))
    assert body["contents"][1]["parts"] == [
        {"text": "thinking aloud", "thought": True, "thoughtSignature": "VEhP"},
        {"text": "plain thought", "thought": True},
        {"text": "Calling.", "thoughtSignature": "c2ln"},
        {"functionCall": {"id": "c1", "name": "get_weather", "args": {}}},
        {"text": "", "thoughtSignature": "dGFpbA=="},  # a trailing signature goes back where the stream put it
    ]
    assert body["contents"][2]["parts"][0]["functionResponse"]["response"] == {"error": "no such city"}


async def test_foreign_only_assistant_turn_is_left_out() -> None:
    body = await sent_body(
        request(Message.user("a"), Message.assistant([ThinkingPart(text="t", provider="openai")]), Message.user("b"))
    )
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize(
    ("choice", "tools", "expected"),
    [
        ("auto", [WEATHER], {"mode": "AUTO"}),
        ("none", [WEATHER], {"mode": "NONE"}),
        ("required", [WEATHER], {"mode": "ANY"}),
        (["get_weather"], [WEATHER], {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
        (None, [WEATHER.model_copy(update={"strict": True})], {"mode": "VALIDATED"}),
        ("auto", [WEATHER.model_copy(update={"strict": True})], {"mode": "VALIDATED"}),
        (None, [WEATHER.model_copy(update={"strict": True}), Tool(name="x")], None),
        (None, [WEATHER], None),
    ],
)
async def test_function_calling_config(choice: Any, tools: list[Tool], expected: dict[str, Any] | None) -> None:
    body = await sent_body(request(tools=tools, tool_choice=choice))
    assert body.get("toolConfig") == (None if expected is None else {"functionCallingConfig": expected})


async def test_tool_names_sanitized_and_restored() -> None:
    tool = Tool(name="weather lookup!")

    def handler(req: httpx.Request) -> httpx.Response:
        wire = json.loads(req.content)["tools"][0]["functionDeclarations"][0]["name"]
        return httpx.Response(200, json=answer([{"functionCall": {"name": wire, "args": {}}}]))

    response = await adapter_for(handler).complete(request(tools=[tool]))
    assert response.tool_calls[0].name == "weather lookup!"


async def test_parallel_tool_calls_false_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="one at a time"):
        await sent_body(request(tools=[WEATHER], parallel_tool_calls=False))


def test_result_for_a_call_not_in_history_is_refused() -> None:
    # `Request` already rejects a result with no earlier call, so the mapping's own guard is called directly.
    from accord.adapters.gemini import _function_response

    class Ctx:
        class names:
            @staticmethod
            def wire(name: str) -> str:
                return name

    with pytest.raises(UnsupportedFeatureError, match="answers no tool call"):
        _function_response(ToolResult(call_id="ghost", content="x"), {}, Ctx())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reasoning", "expected"),
    [
        (1024, {"includeThoughts": True, "thinkingBudget": 1024}),
        ("high", {"includeThoughts": True, "thinkingLevel": "HIGH"}),
        ("minimal", {"includeThoughts": True, "thinkingLevel": "MINIMAL"}),
        ("none", {"thinkingBudget": 0}),
        ({"summary": "auto"}, {"includeThoughts": True}),
    ],
)
async def test_thinking_config(reasoning: Any, expected: dict[str, Any]) -> None:
    body = await sent_body(request(reasoning=reasoning))
    assert body["generationConfig"]["thinkingConfig"] == expected


async def test_effort_without_a_level_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="max"):
        await sent_body(request(reasoning="max"))


async def test_native_output_and_provider_options() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    options = {
        "gemini": {
            "generationConfig": {"topK": 5},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "cachedContent": "cachedContents/abc",
        }
    }
    body = await sent_body(request(provider_options=options), NativeOutput(name="o", schema=schema, strict=True))
    assert body["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema, "topK": 5}
    assert body["safetySettings"][0]["threshold"] == "BLOCK_NONE"
    assert body["cachedContent"] == "cachedContents/abc"


# --- response mapping ----------------------------------------------------------------------------------------


async def test_response_parts_usage_ids_and_finish() -> None:
    payload = answer(
        [
            {"text": "Plan: ", "thought": True},
            {"text": "check weather", "thought": True, "thoughtSignature": "VA=="},
            {"text": "Checking. "},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "U0lH"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "given-id"}},
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        ],
        thoughtsTokenCount=30,
        cachedContentTokenCount=8,
        totalTokenCount=46,
    )
    payload["candidates"][0]["safetyRatings"] = [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
    validate_response(payload)
    response = await adapter_for(Recorder(body=payload)).complete(request(tools=[WEATHER]))
    assert response.parts == [
        ThinkingPart(text="Plan: check weather", signature="VA==", provider="gemini"),
        TextPart(text="Checking. "),
        ThinkingPart(signature="U0lH", provider="gemini"),
        ToolCall(id="call_resp1_0", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="given-id", name="get_weather", arguments={"city": "Rome"}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "STOP"
    assert response.usage == Usage(input_tokens=12, output_tokens=34, cache_read_tokens=8, reasoning_tokens=30)
    assert response.provider.extra["other_content"] == [{"executableCode": {"language": "PYTHON", "code": "print(1)"}}]
    assert response.provider.extra["safetyRatings"][0]["probability"] == "NEGLIGIBLE"
    assert response.id == "resp1"
    expected_cost = ((12 - 8) * 0.3 + 8 * 0.03 + 34 * 2.5) / 1_000_000
    assert response.cost == pytest.approx(expected_cost)


async def test_multi_turn_round_trip_keeps_signatures_and_names() -> None:
    first = answer([{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "QUJD"}])
    recorder = Recorder(body=first)
    adapter = adapter_for(recorder)
    response = await adapter.complete(request(tools=[WEATHER]))
    call = response.tool_calls[0]
    history = [Message.user("hi"), response.to_message(), Message.tool(call.id, "cold")]
    await adapter.complete(request(*history, tools=[WEATHER]))
    sent = recorder.sent
    assert sent["contents"][1]["parts"] == [
        {"functionCall": {"id": call.id, "name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "QUJD"}
    ]
    assert sent["contents"][2]["parts"][0]["functionResponse"] == {
        "id": call.id,
        "name": "get_weather",
        "response": {"result": "cold"},
    }
    validate_request(sent)


def test_synthesized_ids_are_deterministic() -> None:
    call = {"name": "f", "args": {"a": 1}}
    assert call_id("r", 2, call) == "call_r_2"
    assert call_id("", 0, call) == call_id("", 0, dict(call))
    assert call_id("", 0, call) != call_id("", 1, call)
    assert call_id("", 0, {"id": "x", **call}) == "x"


@pytest.mark.parametrize("raw", [*sorted(FINISH_REASONS), "LANGUAGE", "OTHER", "TOO_MANY_TOOL_CALLS"])
async def test_finish_reasons(raw: str) -> None:
    response = await adapter_for(Recorder(body=answer([{"text": "x"}], finish=raw))).complete(request())
    expected = {
        "STOP": "stop",
        "MAX_TOKENS": "length",
        "MALFORMED_FUNCTION_CALL": "error",
        "UNEXPECTED_TOOL_CALL": "error",
        "MALFORMED_RESPONSE": "error",
        "MISSING_THOUGHT_SIGNATURE": "error",
        "LANGUAGE": "other",
        "OTHER": "other",
        "TOO_MANY_TOOL_CALLS": "other",
    }.get(raw, "content_filter")
    assert response.finish_reason == expected
    assert response.provider_finish_reason == raw


async def test_blocked_prompt_is_a_content_filter_finish() -> None:
    payload = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.5-flash",
    }
    validate_response(payload)
    response = await adapter_for(Recorder(body=payload)).complete(request())
    assert response.finish_reason == "content_filter"
    assert response.provider_finish_reason == "PROHIBITED_CONTENT"
    assert response.parts == []
    assert response.usage.input_tokens == 9
    assert response.provider.extra["prompt_feedback"]["blockReason"] == "PROHIBITED_CONTENT"


@pytest.mark.parametrize(
    "payload",
    [
        [1],
        {"usageMetadata": {}},
        answer([{"functionCall": {"name": "f", "args": "nope"}}]),
    ],
)
async def test_malformed_responses(payload: Any) -> None:
    with pytest.raises(ResponseParseError):
        await adapter_for(Recorder(body=payload)).complete(request())


def test_usage_edges() -> None:
    assert usage_from_wire({}) == Usage()
    usage = usage_from_wire({"promptTokenCount": 5, "cachedContentTokenCount": 50, "candidatesTokenCount": 1})
    assert usage.cache_read_tokens == 5  # never more than the prompt


# --- streaming -----------------------------------------------------------------------------------------------


def frames(*objects: dict[str, Any], sep: str = "\r\n\r\n") -> bytes:
    return "".join(f"data: {json.dumps(o)}{sep}" for o in objects).encode()


def chunk(parts: list[dict[str, Any]], finish: str | None = None, **usage: int) -> dict[str, Any]:
    obj = answer(parts, finish)
    obj["usageMetadata"] = {"promptTokenCount": 20, **usage}
    return obj


def full_stream() -> bytes:
    return frames(
        chunk([{"text": "Let me ", "thought": True}], thoughtsTokenCount=10),
        chunk([{"text": "think.", "thought": True}], thoughtsTokenCount=25),
        chunk([{"text": "Héllo "}], candidatesTokenCount=2, thoughtsTokenCount=25),
        chunk([{"text": "wörld", "thoughtSignature": "U0lH"}], candidatesTokenCount=4, thoughtsTokenCount=25),
        chunk(
            [
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
                {"functionCall": {"name": "get_weather", "args": {}}},
            ],
            finish="STOP",
            candidatesTokenCount=9,
            thoughtsTokenCount=25,
            cachedContentTokenCount=4,
        ),
    )


async def collect(adapter: GeminiAdapter, req: Request) -> list[Any]:
    events: list[Any] = []
    async with adapter.stream(req) as stream:
        async for event in stream:
            events.append(event)
    assert stream.response == events[-1].response
    return events


async def test_stream_sequence_and_url() -> None:
    recorder = Recorder(raw=full_stream(), headers={"content-type": "text/event-stream"})
    events = await collect(adapter_for(recorder), request(tools=[WEATHER]))
    sent = recorder.requests[0]
    assert sent.url.path.endswith("/models/gemini-2.5-flash:streamGenerateContent")
    assert dict(sent.url.params) == {"alt": "sse"}
    response = events[-1].response
    assert isinstance(events[-1], StreamEnd)
    assert sum(isinstance(e, StreamEnd) for e in events) == 1
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == response.text == "Héllo wörld"
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Let me think."
    assert response.parts == [
        ThinkingPart(text="Let me think.", provider="gemini"),
        TextPart(text="Héllo "),
        ThinkingPart(signature="U0lH", provider="gemini"),
        TextPart(text="wörld"),
        ToolCall(id="call_resp1_0", name="get_weather", arguments={"city": "Oslo"}),
        ToolCall(id="call_resp1_1", name="get_weather", arguments={}),
    ]
    for end in (e for e in events if isinstance(e, ToolCallEnd)):
        joined = "".join(e.arguments_fragment for e in events if isinstance(e, ToolCallDelta) and e.index == end.index)
        assert json.loads(joined) == end.call.arguments
    assert response.finish_reason == "tool_calls"
    # The last usageMetadata wins.
    assert response.usage == Usage(input_tokens=20, output_tokens=34, cache_read_tokens=4, reasoning_tokens=25)


async def test_stream_agrees_with_the_sdk_parser() -> None:
    from google.genai import types

    raw = full_stream()
    sdk_chunks = [
        types.GenerateContentResponse.model_validate(json.loads(block[len("data: ") :]))
        for block in raw.decode().split("\r\n\r\n")
        if block.startswith("data: ")
    ]
    sdk_parts = [p for c in sdk_chunks for p in (c.candidates or [])[0].content.parts or []]  # type: ignore[union-attr]
    sdk_text = "".join(p.text or "" for p in sdk_parts if not p.thought)
    sdk_calls = [(p.function_call.name, p.function_call.args) for p in sdk_parts if p.function_call]
    response = (await collect(adapter_for(Recorder(raw=raw)), request(tools=[WEATHER])))[-1].response
    assert response.text == sdk_text
    assert [(c.name, c.arguments) for c in response.tool_calls] == sdk_calls
    assert response.usage.input_tokens == sdk_chunks[-1].usage_metadata.prompt_token_count  # type: ignore[union-attr]


class Chunked:
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


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=48), min_size=1, max_size=8), st.sampled_from(["\r\n\r\n", "\n\n"]))
async def test_any_chunk_split_gives_the_same_response(sizes: list[int], sep: str) -> None:
    raw = full_stream().replace(b"\r\n\r\n", sep.encode())
    reference = (await collect(adapter_for(Recorder(raw=full_stream())), request(tools=[WEATHER])))[-1].response
    events = await collect(adapter_for(Chunked(raw, sizes)), request(tools=[WEATHER]))
    assert events[-1].response == reference


async def test_last_frame_without_separator_is_read() -> None:
    raw = frames(chunk([{"text": "a"}])) + b"data: " + json.dumps(chunk([{"text": "b"}], finish="STOP")).encode()
    response = (await collect(adapter_for(Recorder(raw=raw)), request()))[-1].response
    assert response.text == "ab"
    assert response.finish_reason == "stop"


async def test_stream_without_finish_reason_was_cut() -> None:
    raw = frames(chunk([{"text": "par"}]), chunk([{"text": "tial"}]))
    with pytest.raises(StreamInterruptedError) as info:
        await collect(adapter_for(Recorder(raw=raw)), request())
    assert info.value.partial.text == "partial"
    assert info.value.partial.finish_reason == "error"


async def test_blocked_prompt_in_a_stream() -> None:
    raw = frames({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}})
    response = (await collect(adapter_for(Recorder(raw=raw)), request()))[-1].response
    assert response.finish_reason == "content_filter"
    assert response.provider_finish_reason == "SAFETY"


async def test_error_frame_inside_a_200_stream() -> None:
    head = frames(chunk([{"text": "so far"}]))
    tail = frames({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})

    async def run() -> None:
        async with adapter_for(lambda req: httpx.Response(200, stream=_Iter([head, tail]))).stream(request()) as s:
            async for _ in s:
                pass

    with pytest.raises(OverloadedError) as info:
        await run()
    assert info.value.in_stream is True
    assert info.value.status == 503
    assert info.value.partial is not None
    assert info.value.partial.text == "so far"


@pytest.mark.parametrize("frame", [b"data: nope\n\n", b"data: [1]\n\n"])
async def test_garbage_frames(frame: bytes) -> None:
    with pytest.raises(ResponseParseError):
        await collect(adapter_for(Recorder(raw=frames(chunk([{"text": "a"}])) + frame)), request())


# --- errors --------------------------------------------------------------------------------------------------


def rpc(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


ERROR_INFO = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "API_KEY_INVALID",
    "domain": "googleapis.com",
    "metadata": {"service": "generativelanguage.googleapis.com"},
}
QUOTA = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "m", "quotaId": "q"}]}
RETRY = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}


@pytest.mark.parametrize(
    ("status", "body", "cls", "retry_after"),
    [
        (
            400,
            rpc(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", ERROR_INFO),
            AuthenticationError,
            None,
        ),
        (
            400,
            rpc(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            ),
            ContextWindowExceededError,
            None,
        ),
        (400, rpc(400, "INVALID_ARGUMENT", 'Unknown name "foo": Cannot find field.'), InvalidRequestError, None),
        (403, rpc(403, "PERMISSION_DENIED", "Permission denied"), PermissionDeniedError, None),
        (404, rpc(404, "NOT_FOUND", "models/x is not found for API version v1beta"), NotFoundError, None),
        (429, rpc(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota", QUOTA, RETRY), RateLimitError, 37.0),
        (500, rpc(500, "INTERNAL", "An internal error has occurred."), ServerError, None),
        (503, rpc(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), OverloadedError, None),
        (504, rpc(504, "DEADLINE_EXCEEDED", "Deadline exceeded"), ServerError, None),
        (400, [rpc(400, "INVALID_ARGUMENT", "bad", ERROR_INFO)], AuthenticationError, None),
    ],
)
async def test_error_classification(
    status: int, body: Any, cls: type[ProviderError], retry_after: float | None
) -> None:
    with pytest.raises(cls) as info:
        await adapter_for(Recorder(status=status, body=body)).complete(request())
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert error.retry_after == retry_after
    assert KEY not in repr(error.body)
    assert KEY not in str(error)


async def test_api_key_invalid_is_not_retried_and_key_never_leaks() -> None:
    body = rpc(400, "INVALID_ARGUMENT", f"API key not valid: {KEY}", ERROR_INFO)
    recorder = Recorder(status=400, body=body)
    with pytest.raises(AuthenticationError) as info:
        await adapter_for(recorder, max_retries=2).complete(request())
    assert len(recorder.requests) == 1
    assert info.value.code == "API_KEY_INVALID"
    assert info.value.type == "INVALID_ARGUMENT"
    assert KEY not in str(info.value)
    assert KEY not in json.dumps(info.value.body)


async def test_retry_info_drives_the_wait() -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    calls = {"n": 0}

    def handler(req: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(
                429, json=rpc(429, "RESOURCE_EXHAUSTED", "quota", QUOTA, {**RETRY, "retryDelay": "2.5s"})
            )
        return httpx.Response(200, json=answer([{"text": "ok"}]))

    response = await adapter_for(handler, max_retries=2, retry_policy=RetryPolicy(sleep=sleep)).complete(request())
    assert sleeps == [2.5]
    assert response.attempts == 2


@pytest.mark.parametrize(("raw", "match"), [(b"<html>bad gateway</html>", "bad gateway"), (b"{}", "HTTP 502")])
async def test_non_rpc_error_bodies(raw: bytes, match: str) -> None:
    with pytest.raises(ServerError, match=match):
        await adapter_for(Recorder(status=502, raw=raw)).complete(request())


async def test_odd_details_are_skipped() -> None:
    body = rpc(429, "RESOURCE_EXHAUSTED", "quota", "not-a-dict", {"@type": "type.googleapis.com/google.rpc.Help"})  # type: ignore[arg-type]
    with pytest.raises(RateLimitError) as info:
        await adapter_for(Recorder(status=429, body=body)).complete(request())
    assert info.value.retry_after is None


async def test_json_mode_sends_the_mime_type_only_without_tools() -> None:
    native = NativeOutput(name="o", schema={"type": "object"}, strict=False, json_mode=True)
    body = await sent_body(request(), native)
    assert body["generationConfig"] == {"responseMimeType": "application/json"}
    body = await sent_body(request(tools=[WEATHER]), native)
    assert "generationConfig" not in body


async def test_structured_output_native_and_prompted() -> None:
    from pydantic import BaseModel

    from accord.contracts import OutputSpec

    class City(BaseModel):
        name: str
        population: int

    recorder = Recorder(body=answer([{"text": '{"name": "Paris", "population": 2}'}]))
    adapter = adapter_for(recorder)
    response = await adapter.complete(request(output=City))
    assert response.output == City(name="Paris", population=2)
    config = recorder.sent["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["name", "population"]
    response = await adapter.complete(request(output=OutputSpec.of(City, mode="prompted")))
    assert response.output == City(name="Paris", population=2)
    assert recorder.sent["generationConfig"] == {"responseMimeType": "application/json"}
    assert "population" in recorder.sent["systemInstruction"]["parts"][0]["text"]
