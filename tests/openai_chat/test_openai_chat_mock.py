"""The OpenAI Chat adapter against httpx.MockTransport: request mapping, responses, streams, errors, retries."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from accord.adapters._hooks import AttemptStart, FirstChunk, RequestFailed, RequestStart, ResponseDone, RetryScheduled
from accord.adapters.openai_chat import OpenAIChatAdapter, VendorSpec, map_finish, usage_from_wire, wire_call_id
from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ContextWindowExceededError,
    DocumentPart,
    ImagePart,
    InvalidRequestError,
    Message,
    ModelProfile,
    NotFoundError,
    ParameterRules,
    QuotaExceededError,
    RateLimitError,
    Request,
    RequestTimeoutError,
    ResponseParseError,
    ServerError,
    StreamEnd,
    StreamInterruptedError,
    TextDelta,
    TextPart,
    ThinkingDelta,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolChoice,
    TransportError,
    UnsupportedFeatureError,
    UsageUpdate,
)

from .helpers_openai_chat import KEY, Pieces, Recorder, adapter, call, chunk, completion, sse

WEATHER = Tool(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def req(*messages: Message | str, model: str = "gpt-4o-mini", **fields: Any) -> Request:
    msgs = [Message.user(m) if isinstance(m, str) else m for m in messages] or [Message.user("hi")]
    return Request(model=model, messages=msgs, **fields)


async def collect(a: OpenAIChatAdapter, request: Request, seen: list[Any] | None = None) -> tuple[list[Any], Any]:
    events = [] if seen is None else seen
    async with a.stream(request) as stream:
        async for event in stream:
            events.append(event)
    return events, stream.response


# --- request mapping ---------------------------------------------------------------------------------------


async def test_text_completion_round_trip() -> None:
    rec = Recorder(
        httpx.Response(
            200, json=completion(), headers={"x-ratelimit-remaining-requests": "99", "x-request-id": "req_9"}
        )
    )
    a, _ = adapter(rec)
    response = await a.complete(req("Say hello", max_tokens=50, temperature=0.3, top_p=0.9, seed=7, stop="END"))
    sent = rec.requests[0]
    assert sent.url == "https://api.openai.com/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert rec.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello"}],
        "max_tokens": 50,
        "temperature": 0.3,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["END"],
    }
    assert response.text == "Hello!"
    assert response.finish_reason == "stop"
    assert response.provider_finish_reason == "stop"
    assert response.id == "chatcmpl-1"
    assert response.model == "gpt-4o-mini-2024-07-18"
    assert response.usage.input_tokens == 10
    assert response.usage.output_tokens == 2
    assert response.provider.name == "openai"
    assert response.provider.request_id == "req_9"
    assert response.provider.system_fingerprint == "fp_1"
    assert response.provider.headers["x-ratelimit-remaining-requests"] == "99"
    assert response.cost == pytest.approx((10 * 0.15 + 2 * 0.6) / 1e6)
    assert response.attempts == 1


async def test_system_roles_follow_profile_rules() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    await a.complete(req(Message.system("inline"), "q", system="be brief"))
    assert [m["role"] for m in rec.body["messages"]] == ["system", "system", "user"]
    assert rec.body["messages"][0]["content"] == "be brief"
    await a.complete(req(Message.system("inline"), "q", system="be brief", model="o3-mini"))
    assert [m["role"] for m in rec.body["messages"]] == ["developer", "developer", "user"]
    b, _ = adapter(rec, profile=ModelProfile(parameters=ParameterRules(system_role="user")))
    await b.complete(req("q", system="s"))
    assert rec.body["messages"][0] == {"role": "user", "content": "s"}


async def test_multi_turn_with_tool_calls_and_results() -> None:
    rec = Recorder(httpx.Response(200, json=completion("It is sunny.")))
    a, _ = adapter(rec)
    calls = [
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_2", name="get_weather", arguments={"city": "Rome"}),
    ]
    truncated = ToolCall(id="call_3", name="get_weather", raw_arguments='{"city": "Os')
    request = req(
        "weather?",
        Message.assistant("Checking.", tool_calls=calls),
        Message(
            role="tool", parts=[*Message.tool("call_1", "18C").parts, *Message.tool("call_2", "x", is_error=True).parts]
        ),
        Message.assistant(tool_calls=[truncated]),
        Message.tool("call_3", [TextPart(text="a"), TextPart(text="b")]),
        "thanks",
        tools=[WEATHER],
    )
    await a.complete(request)
    msgs = rec.body["messages"]
    assert msgs[1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
        ],
    }
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
    assert msgs[3] == {"role": "tool", "tool_call_id": "call_2", "content": "Error: x"}
    assert msgs[4]["content"] is None
    assert msgs[4]["tool_calls"][0]["function"]["arguments"] == '{"city": "Os'
    assert msgs[5]["content"] == "ab"
    assert msgs[6] == {"role": "user", "content": "thanks"}


async def test_images_url_and_base64_and_documents() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    data = base64.b64encode(b"\x89PNG").decode()
    pdf = DocumentPart.from_bytes(b"%PDF-1.4", name="a.pdf")
    await a.complete(
        req(
            Message.user(
                [
                    TextPart(text="what?"),
                    ImagePart(url="https://x/cat.png", detail="low"),
                    ImagePart(data=data, media_type="image/png"),
                    pdf,
                ]
            )
        )
    )
    content = rec.body["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "what?"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{pdf.data}", "filename": "a.pdf"}},
    ]
    with pytest.raises(UnsupportedFeatureError, match="documents must be sent as data") as caught:
        await a.complete(req(Message.user([DocumentPart(url="https://x/a.pdf")])))
    assert caught.value.feature == "document_url"
    assert len(rec.requests) == 1


async def test_vision_refused_for_a_text_only_model_before_network() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    with pytest.raises(UnsupportedFeatureError, match="image"):
        await a.complete(req(Message.user([ImagePart(url="https://x/a.png")]), model="gpt-3.5-turbo"))
    assert rec.requests == []


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (ToolChoice.auto(), "auto"),
        (ToolChoice.none(), "none"),
        (ToolChoice.required(), "required"),
        (ToolChoice.named("get_weather"), {"type": "function", "function": {"name": "get_weather"}}),
        (
            ToolChoice.named("get_weather", "get_time"),
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [
                        {"type": "function", "function": {"name": "get_weather"}},
                        {"type": "function", "function": {"name": "get_time"}},
                    ],
                },
            },
        ),
    ],
)
async def test_tools_and_tool_choice(choice: ToolChoice, wire: Any) -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    tools = [WEATHER, Tool(name="get_time", strict=True)]
    await a.complete(req("q", tools=tools, tool_choice=choice, parallel_tool_calls=False))
    assert rec.body["tool_choice"] == wire
    assert rec.body["parallel_tool_calls"] is False
    assert rec.body["tools"][0] == {
        "type": "function",
        "function": {"name": "get_weather", "parameters": WEATHER.parameters, "description": "Weather for a city"},
    }
    strict = rec.body["tools"][1]["function"]
    assert strict["name"] == "get_time"
    assert strict["strict"] is True
    assert "description" not in strict
    assert strict["parameters"]["type"] == "object"
    assert strict["parameters"]["properties"] == {}


async def test_tool_names_are_sanitized_on_the_wire_and_restored() -> None:
    wire_name: dict[str, str] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        wire_name["n"] = body["tools"][0]["function"]["name"]
        assert body["tool_choice"]["function"]["name"] == wire_name["n"]
        assert body["messages"][1]["tool_calls"][0]["function"]["name"] == wire_name["n"]
        return httpx.Response(
            200, json=completion(None, finish="tool_calls", tool_calls=[call("c2", wire_name["n"], '{"p": "/"}')])
        )

    a, _ = adapter(Recorder(answer))
    prior = ToolCall(id="c1", name="fs.read", arguments={"p": "/"})
    response = await a.complete(
        req(
            "q",
            Message.assistant(tool_calls=[prior]),
            Message.tool("c1", "ok"),
            tools=[Tool(name="fs.read")],
            tool_choice=["fs.read"],
        )
    )
    assert wire_name["n"] != "fs.read"
    assert "." not in wire_name["n"]
    assert response.tool_calls == [ToolCall(id="c2", name="fs.read", arguments={"p": "/"})]


async def test_reasoning_models_rename_max_tokens_and_refuse_temperature_before_network() -> None:
    rec = Recorder(
        httpx.Response(
            200,
            json=completion(
                usage={
                    "prompt_tokens": 100,
                    "completion_tokens": 50,
                    "prompt_tokens_details": {"cached_tokens": 64},
                    "completion_tokens_details": {"reasoning_tokens": 30},
                }
            ),
        )
    )
    a, _ = adapter(rec)
    response = await a.complete(req("think", model="o3-mini", max_tokens=500, reasoning="high"))
    assert rec.body["max_completion_tokens"] == 500
    assert "max_tokens" not in rec.body
    assert rec.body["reasoning_effort"] == "high"
    assert response.usage.cache_read_tokens == 64
    assert response.usage.reasoning_tokens == 30
    for field, value in (("temperature", 0.5), ("top_p", 0.5)):
        with pytest.raises(UnsupportedFeatureError, match=f"does not accept `{field}`") as caught:
            await a.complete(req("x", model="gpt-5-mini", **{field: value}))
        assert caught.value.feature == field
    with pytest.raises(UnsupportedFeatureError, match="not a reasoning model"):
        await a.complete(req("x", model="gpt-4o", reasoning="low"))
    with pytest.raises(UnsupportedFeatureError, match="not a token budget"):
        await a.complete(req("x", model="o3-mini", reasoning=1000))
    assert len(rec.requests) == 1


async def test_provider_options_pass_through_verbatim() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    await a.complete(req("q", provider_options={"openai": {"user": "u1", "logprobs": True}, "groq": {"x": 1}}))
    assert rec.body["user"] == "u1"
    assert rec.body["logprobs"] is True
    assert "x" not in rec.body


# --- response mapping --------------------------------------------------------------------------------------


async def test_tool_call_response_and_usage_details() -> None:
    payload = completion(
        None,
        finish="tool_calls",
        tool_calls=[call("call_a", "get_weather", '{"city": "Paris"}'), call("call_b", "get_weather", "")],
        usage={
            "prompt_tokens": 20,
            "completion_tokens": 9,
            "prompt_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 3},
        },
    )
    a, _ = adapter(Recorder(httpx.Response(200, json=payload)))
    response = await a.complete(req("q", tools=[WEATHER]))
    assert response.finish_reason == "tool_calls"
    assert response.text == ""
    assert response.tool_calls == [
        ToolCall(id="call_a", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_b", name="get_weather", arguments={}),
    ]
    assert (response.usage.cache_read_tokens, response.usage.cache_write_tokens) == (5, 3)


async def test_truncated_tool_arguments_kept_raw_on_length() -> None:
    payload = completion(None, finish="length", tool_calls=[call("c", "get_weather", '{"city": "Par')])
    a, _ = adapter(Recorder(httpx.Response(200, json=payload)))
    response = await a.complete(req("q", tools=[WEATHER]))
    assert response.finish_reason == "length"
    assert response.tool_calls[0].raw_arguments == '{"city": "Par'
    assert response.tool_calls[0].arguments == {}
    bad = completion(None, finish="tool_calls", tool_calls=[call("c", "get_weather", "{oops")])
    b, _ = adapter(Recorder(httpx.Response(200, json=bad)))
    with pytest.raises(ResponseParseError, match="not valid JSON"):
        await b.complete(req("q", tools=[WEATHER]))


async def test_refusal_reasoning_content_and_object_arguments() -> None:
    a, _ = adapter(Recorder(httpx.Response(200, json=completion(None, refusal="I can't help with that."))))
    refused = await a.complete(req("q"))
    assert refused.finish_reason == "refusal"
    assert refused.text == "I can't help with that."
    payload = completion(
        "42",
        reasoning_content="let me think",
        tool_calls=[
            {"id": "c", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
            {"function": {"name": "get_weather", "arguments": "{}"}},
        ],
    )
    b, _ = adapter(Recorder(httpx.Response(200, json=payload)))
    response = await b.complete(req("q", tools=[WEATHER]))
    assert response.thinking[0].text == "let me think"
    assert response.thinking[0].provider == "openai"
    assert response.text == "42"
    assert response.tool_calls[0].arguments == {"city": "Oslo"}
    assert response.tool_calls[1].id.startswith("call_")
    listy = completion([{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}])
    c, _ = adapter(Recorder(httpx.Response(200, json=listy)))
    assert (await c.complete(req("q"))).text == "ab"


def test_finish_map_and_usage_edges() -> None:
    assert map_finish(None) == "stop"
    assert map_finish("function_call") == "tool_calls"
    assert map_finish("content_filter") == "content_filter"
    assert map_finish("weird") == "other"
    usage = usage_from_wire(
        {
            "prompt_tokens": 5,
            "completion_tokens": 1,
            "prompt_cache_hit_tokens": 9,
            "completion_tokens_details": {"reasoning_tokens": 4},
        }
    )
    assert usage.cache_read_tokens == 5
    assert usage.reasoning_tokens == 1
    assert usage_from_wire({"prompt_tokens": None, "completion_tokens": -3}).total_tokens == 0


@pytest.mark.parametrize(
    ("payload", "match"),
    [({"choices": []}, "non-empty `choices`"), (["x"], "non-empty `choices`"), ({"object": "x"}, "choices")],
)
async def test_malformed_responses(payload: Any, match: str) -> None:
    a, _ = adapter(Recorder(httpx.Response(200, json=payload)))
    with pytest.raises(ResponseParseError, match=match):
        await a.complete(req("q"))


async def test_non_json_and_error_in_200_body() -> None:
    a, _ = adapter(Recorder(httpx.Response(200, content=b"<html>proxy</html>")))
    with pytest.raises(ResponseParseError, match="not JSON") as caught:
        await a.complete(req("q"))
    assert caught.value.raw == b"<html>proxy</html>"
    body = {"error": {"message": "Rate limit", "type": "rate_limit_error"}}
    b, _ = adapter(Recorder(httpx.Response(200, json=body)), max_retries=0)
    with pytest.raises(RateLimitError):
        await b.complete(req("q"))


# --- errors and retries ------------------------------------------------------------------------------------


def err(
    status: int, message: str, *, type_: str | None = None, code: str | None = None, **headers: str
) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": message, "type": type_, "param": None, "code": code}}, headers=headers
    )


@pytest.mark.parametrize(
    ("response", "cls"),
    [
        (
            err(401, "Incorrect API key provided", type_="invalid_request_error", code="invalid_api_key"),
            AuthenticationError,
        ),
        (err(404, "The model `gpt-9` does not exist", code="model_not_found"), NotFoundError),
        (
            err(
                400,
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000",
                code="context_length_exceeded",
            ),
            ContextWindowExceededError,
        ),
        (
            err(400, "Invalid 'max_tokens': 429 exceeds the rate limit of this model's maximum context window"),
            InvalidRequestError,
        ),
        (
            err(429, "You exceeded your current quota", type_="insufficient_quota", code="insufficient_quota"),
            QuotaExceededError,
        ),
        (httpx.Response(502, content=b"<html>Bad gateway</html>"), ServerError),
    ],
)
async def test_error_bodies_map_to_typed_errors_without_retry(response: httpx.Response, cls: type[Exception]) -> None:
    rec = Recorder(response)
    a, sleeps = adapter(rec, max_retries=0)
    with pytest.raises(cls) as caught:
        await a.complete(req("q"))
    assert type(caught.value) is cls
    assert len(rec.requests) == 1
    assert sleeps.calls == []
    assert caught.value.status == response.status_code  # type: ignore[attr-defined]


async def test_rate_limit_retried_with_hint_then_succeeds() -> None:
    rec = Recorder(
        err(429, "Rate limit reached. Please try again in 1.5s.", code="rate_limit_exceeded"),
        err(429, "slow", **{"retry-after-ms": "250"}),
        err(503, "overloaded"),
        httpx.Response(200, json=completion()),
    )
    events: list[Any] = []
    a, sleeps = adapter(rec, max_retries=3, hooks=[events.append])
    response = await a.complete(req("q"))
    assert response.attempts == 4
    assert len(rec.requests) == 4
    assert sleeps.calls == [1.5, 0.25, 0.5 * 0.5 * 4]  # hints first, then full jitter (rng 0.5, retry 3)
    kinds = [type(e) for e in events]
    assert kinds.count(AttemptStart) == 4
    assert kinds.count(RetryScheduled) == 3
    assert kinds[0] is RequestStart
    assert kinds[-1] is ResponseDone


async def test_quota_is_not_retried_and_max_retries_zero_disables() -> None:
    rec = Recorder(err(429, "quota", code="insufficient_quota"))
    a, _sleeps = adapter(rec)
    with pytest.raises(QuotaExceededError) as caught:
        await a.complete(req("q"))
    assert not caught.value.retryable
    assert len(rec.requests) == 1
    rec2 = Recorder(err(500, "boom"))
    b, sleeps2 = adapter(rec2, max_retries=0)
    with pytest.raises(ServerError):
        await b.complete(req("q"))
    assert len(rec2.requests) == 1
    assert sleeps2.calls == []
    with pytest.raises(ConfigurationError, match="max_retries"):
        adapter(rec2, max_retries=-1)


async def test_transport_errors_and_timeouts() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rec = Recorder(refuse)
    events: list[Any] = []
    a, sleeps = adapter(rec, max_retries=1, hooks=[events.append])
    with pytest.raises(ConnectError, match="connection refused"):
        await a.complete(req("q"))
    assert len(rec.requests) == 2
    assert len(sleeps.calls) == 1
    assert isinstance(events[-1], RequestFailed)

    def read_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    b, _ = adapter(Recorder(read_timeout), max_retries=0)
    with pytest.raises(RequestTimeoutError):
        await b.complete(req("q"))

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed", request=request)

    c, _ = adapter(Recorder(reset), max_retries=0)
    with pytest.raises(TransportError) as caught:
        await c.complete(req("q"))
    assert type(caught.value) is TransportError


async def test_total_timeout_from_the_request() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=completion())

    client = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    a = OpenAIChatAdapter(api_key=KEY, http_client=client, max_retries=0)
    with pytest.raises(RequestTimeoutError, match=r"no answer within 0\.05 s"):
        await a.complete(req("q", timeout=0.05))


async def test_secrets_never_in_repr_str_or_errors() -> None:
    echo = err(401, f"Incorrect API key provided: {KEY}. You can find your API key at ...")
    a, _ = adapter(Recorder(echo), max_retries=0)
    assert KEY not in repr(a)
    assert KEY not in str(a)
    assert KEY not in repr(a.api_key)
    with pytest.raises(AuthenticationError) as caught:
        await a.complete(req("q"))
    error = caught.value
    for text in (str(error), repr(error), json.dumps(error.body), error.message):
        assert KEY not in text
    odd_key = "plainsecret123"
    b, _ = adapter(Recorder(err(400, f"bad key {odd_key}")), max_retries=0, api_key=odd_key)
    with pytest.raises(InvalidRequestError) as caught2:
        await b.complete(req("q"))
    assert odd_key not in str(caught2.value)
    assert odd_key not in json.dumps(caught2.value.body)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="set OPENAI_API_KEY or pass api_key"):
        OpenAIChatAdapter()
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert OpenAIChatAdapter().api_key is not None
    with pytest.raises(ConfigurationError, match="base_url is required"):
        OpenAIChatAdapter(vendor=VendorSpec(name="x", base_url="", env_var=None, requires_key=False))


async def test_model_must_be_set() -> None:
    a, _ = adapter(Recorder(httpx.Response(200, json=completion())))
    with pytest.raises(ConfigurationError, match=r"request\.model is not set"):
        await a.complete(Request(messages=[Message.user("x")]))


# --- streaming ---------------------------------------------------------------------------------------------


async def test_stream_text_with_usage_not_erased_by_later_null() -> None:
    body = sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, finish="stop"),
        chunk(None, usage={"prompt_tokens": 7, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 3}}),
        chunk(None, usage=None),
    )
    rec = Recorder(httpx.Response(200, content=body, headers={"x-ratelimit-limit-tokens": "1000"}))
    hooks: list[Any] = []
    a, _ = adapter(rec, hooks=[hooks.append])
    events, response = await collect(a, req("hi"))
    assert rec.body["stream"] is True
    assert rec.body["stream_options"] == {"include_usage": True}
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    assert [type(e) for e in events][-2:] == [UsageUpdate, StreamEnd]
    assert response.text == "Hello"
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.cache_read_tokens) == (7, 2, 3)
    assert response.provider.headers == {"x-ratelimit-limit-tokens": "1000"}
    assert response.cost is not None
    assert events[-1].response == response
    assert FirstChunk in [type(h) for h in hooks]
    assert isinstance(hooks[-1], ResponseDone)


async def test_stream_interleaved_tool_call_deltas() -> None:
    body = sse(
        chunk(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_A",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            }
        ),
        chunk({"tool_calls": [{"index": 1, "id": "call_B", "function": {"name": "get_weather", "arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": 'ty": "Rome"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "Paris"}'}}]}),
        chunk({}, finish="tool_calls"),
    )
    a, _ = adapter(Recorder(httpx.Response(200, content=body)))
    events, response = await collect(a, req("q", tools=[WEATHER], parallel_tool_calls=True))
    starts = [(e.index, e.id, e.name) for e in events if isinstance(e, ToolCallStart)]
    assert starts == [(0, "call_A", "get_weather"), (1, "call_B", "get_weather")]
    frags: dict[int, str] = {}
    for e in events:
        if isinstance(e, ToolCallDelta):
            frags[e.index] = frags.get(e.index, "") + e.arguments_fragment
    assert {i: json.loads(f) for i, f in frags.items()} == {0: {"city": "Paris"}, 1: {"city": "Rome"}}
    ends = [e.call for e in events if isinstance(e, ToolCallEnd)]
    assert (
        ends
        == response.tool_calls
        == [
            ToolCall(id="call_A", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="call_B", name="get_weather", arguments={"city": "Rome"}),
        ]
    )
    assert response.finish_reason == "tool_calls"


async def test_stream_reasoning_refusal_and_whole_arguments() -> None:
    body = sse(
        chunk({"reasoning_content": "hmm"}),
        chunk({"refusal": "I can't"}),
        chunk({"refusal": " do that."}),
        chunk({}, finish="stop"),
    )
    a, _ = adapter(Recorder(httpx.Response(200, content=body)))
    events, response = await collect(a, req("q"))
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["hmm"]
    assert response.finish_reason == "refusal"
    assert response.text == "I can't do that."
    whole = sse(
        chunk({"tool_calls": [{"index": 0, "function": {"name": "get_weather", "arguments": {"city": "X"}}}]}),
        chunk(None) | {"choices": [{"index": 1, "delta": {"content": "no"}}]},
        chunk({}, finish="tool_calls"),
    )
    b, _ = adapter(Recorder(httpx.Response(200, content=whole)))
    events, response = await collect(b, req("q", tools=[WEATHER]))
    assert response.tool_calls == [ToolCall(id="call_0", name="get_weather", arguments={"city": "X"})]
    assert response.text == ""  # choice index 1 ignored
    assert [e.arguments_fragment for e in events if isinstance(e, ToolCallDelta)] == ['{"city": "X"}']


async def test_stream_retries_before_first_event_but_never_after() -> None:
    ok = sse(chunk({"content": "hi"}), chunk({}, finish="stop"))
    rec = Recorder(err(500, "boom"), httpx.Response(200, content=ok))
    a, sleeps = adapter(rec)
    _, response = await collect(a, req("q"))
    assert response.attempts == 2
    assert response.text == "hi"
    assert len(sleeps.calls) == 1
    broken = Pieces(
        sse(chunk({"content": "partial "}), done=False),
        sse({"error": {"message": "The server had an error", "type": "server_error"}}, done=False),
    )
    rec2 = Recorder(httpx.Response(200, stream=broken), httpx.Response(200, content=ok))
    b, sleeps2 = adapter(rec2)
    seen: list[Any] = []
    with pytest.raises(ServerError) as caught:
        await collect(b, req("q"), seen)
    assert len(rec2.requests) == 1
    assert sleeps2.calls == []
    assert caught.value.in_stream
    assert caught.value.partial is not None
    assert caught.value.partial.text == "partial "
    assert [type(e) for e in seen] == [TextDelta]


async def test_stream_error_frame_before_any_event_is_retried_when_retryable() -> None:
    first = sse({"error": {"message": "overloaded", "type": "server_error"}}, done=False)
    ok = sse(chunk({"content": "ok"}), chunk({}, finish="stop"))
    rec = Recorder(httpx.Response(200, content=first), httpx.Response(200, content=ok))
    a, _ = adapter(rec)
    _, response = await collect(a, req("q"))
    assert response.text == "ok"
    assert response.attempts == 2
    bad = sse({"error": {"message": "Invalid schema", "type": "invalid_request_error", "code": "bad"}}, done=False)
    b, _ = adapter(Recorder(httpx.Response(200, content=bad)))
    with pytest.raises(InvalidRequestError) as caught:
        await collect(b, req("q"))
    assert caught.value.in_stream
    assert caught.value.code == "bad"


async def test_stream_cut_midway_is_interrupted_with_partial_text() -> None:
    cut = sse(chunk({"content": "Once upon"}), chunk({"content": " a time"}), done=False)
    a, _ = adapter(Recorder(httpx.Response(200, content=cut)))
    seen: list[Any] = []
    with pytest.raises(StreamInterruptedError, match="ended before \\[DONE\\]") as caught:
        await collect(a, req("q"), seen)
    assert caught.value.partial.text == "Once upon a time"
    assert caught.value.partial.finish_reason == "error"
    assert len(seen) == 2
    # a finish reason without [DONE] is a complete answer (some compatible servers omit [DONE])
    finished = sse(chunk({"content": "done"}), chunk({}, finish="stop"), done=False)
    b, _ = adapter(Recorder(httpx.Response(200, content=finished)))
    _, response = await collect(b, req("q"))
    assert response.text == "done"


async def test_stream_transport_failure_midway() -> None:
    class Breaks(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield sse(chunk({"content": "abc"}), done=False)
            yield sse(
                chunk(
                    {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "get_weather", "arguments": '{"ci'}}]}
                ),
                done=False,
            )
            raise httpx.ReadError("connection reset")

    a, _ = adapter(Recorder(lambda r: httpx.Response(200, stream=Breaks())))
    with pytest.raises(StreamInterruptedError, match="the stream broke") as caught:
        await collect(a, req("q", tools=[WEATHER]))
    partial = caught.value.partial
    assert partial.text == "abc"
    assert partial.tool_calls[0].raw_arguments == '{"ci'
    assert isinstance(caught.value.cause, TransportError)

    class BreaksAtOnce(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            raise httpx.ReadError("reset before anything")
            yield b""  # pragma: no branch - makes this an async generator

    rec = Recorder(lambda r: httpx.Response(200, stream=BreaksAtOnce()))
    b, _sleeps = adapter(rec, max_retries=1)
    with pytest.raises(TransportError):
        await collect(b, req("q"))
    assert len(rec.requests) == 2  # nothing was delivered yet: retried


async def test_stream_bad_frames_and_unread_response() -> None:
    a, _ = adapter(Recorder(httpx.Response(200, content=sse("{not json", done=False))))
    with pytest.raises(ResponseParseError, match="not JSON"):
        await collect(a, req("q"))
    b, _ = adapter(Recorder(httpx.Response(200, content=sse("[1, 2]", done=False))))
    with pytest.raises(ResponseParseError, match="not an object"):
        await collect(b, req("q"))
    c, _ = adapter(Recorder(httpx.Response(200, content=sse(chunk({"content": "x"}), chunk({}, finish="stop")))))
    async with c.stream(req("q")) as stream:
        with pytest.raises(RuntimeError, match="has not ended yet"):
            _ = stream.response
    empty = sse() + b"data: " + json.dumps(chunk({"content": "late"})).encode() + b"\n\n"
    d, _ = adapter(Recorder(httpx.Response(200, content=empty)))
    _, response = await collect(d, req("q"))
    assert response.text == ""  # frames after [DONE] are ignored


async def test_stream_http_errors_and_unsupported_streaming() -> None:
    rec = Recorder(err(401, "bad key"))
    a, _ = adapter(rec)
    with pytest.raises(AuthenticationError):
        await collect(a, req("q"))
    assert len(rec.requests) == 1
    b, _ = adapter(Recorder(httpx.Response(200, content=b"")), profile=ModelProfile(supports_streaming=False))
    with pytest.raises(UnsupportedFeatureError, match="does not stream"):
        b.stream(req("q"))
    rec3 = Recorder(httpx.Response(200, content=sse(chunk({"content": "x"}), chunk({}, finish="stop"))))
    c, _ = adapter(rec3, profile=ModelProfile(supports_streaming_usage=False))
    await collect(c, req("q"))
    assert rec3.body["stream"] is True
    assert "stream_options" not in rec3.body


async def test_stream_connect_error_is_typed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    a, _ = adapter(Recorder(refuse), max_retries=0)
    with pytest.raises(ConnectError):
        await collect(a, req("q"))


# --- client ownership --------------------------------------------------------------------------------------


async def test_pooled_client_per_loop_and_injected_client_untouched() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a = OpenAIChatAdapter(api_key=KEY, transport_factory=lambda: httpx.MockTransport(rec))
    await a.complete(req("q"))
    first = a.core.client()
    await a.complete(req("q"))
    assert a.core.client() is first
    assert len(rec.requests) == 2
    other: dict[str, Any] = {}

    def in_other_loop() -> None:
        async def run() -> None:
            await a.complete(req("q"))
            other["client"] = a.core.client()

        asyncio.run(run())

    await asyncio.to_thread(in_other_loop)
    assert other["client"] is not first
    async with a:
        pass
    assert first.is_closed

    injected = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    b = OpenAIChatAdapter(api_key=KEY, http_client=injected)
    await b.complete(req("q"))
    assert b.core.client() is injected
    await b.aclose()
    assert not injected.is_closed
    await injected.aclose()


async def test_timeout_option_reaches_the_pooled_client() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a = OpenAIChatAdapter(api_key=KEY, timeout=3.0, transport_factory=lambda: httpx.MockTransport(rec))
    await a.complete(req("q"))
    assert a.core.client().timeout == httpx.Timeout(3.0)
    default = OpenAIChatAdapter(api_key=KEY, transport_factory=lambda: httpx.MockTransport(rec))
    await default.complete(req("q"))
    timeout = default.core.client().timeout
    assert timeout.connect == 10.0
    assert timeout.read is not None
    assert timeout.read <= 600
    await a.aclose()
    await default.aclose()


# --- vendor data paths -------------------------------------------------------------------------------------


async def test_vendor_spec_data() -> None:
    vendor = VendorSpec(
        name="acme",
        base_url="https://acme.test/v1",
        env_var=None,
        requires_key=False,
        chat_path="/models/{model}/chat",
        extra_headers={"x-acme": "1"},
        param_renames={"seed": "random_seed"},
        reasoning_effort_path=("reasoning", "effort"),
        reasoning_budget_path=("reasoning", "max_tokens"),
        tool_call_id_length=9,
        kept_fields=("citations",),
        max_tools=1,
        send_stream_usage=False,
    )
    rec = Recorder(httpx.Response(200, json=completion() | {"citations": ["u"]}))
    client = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    a = OpenAIChatAdapter(vendor=vendor, http_client=client, profile=ModelProfile(supports_reasoning=True))
    prior = ToolCall(id="call_long_id", name="get_weather")
    response = await a.complete(
        req(
            "q",
            Message.assistant(tool_calls=[prior]),
            Message.tool("call_long_id", "r"),
            model="m/1",
            seed=3,
            reasoning=2048,
            tools=[WEATHER],
        )
    )
    assert str(rec.requests[0].url) == "https://acme.test/v1/models/m%2F1/chat"
    assert rec.requests[0].headers["x-acme"] == "1"
    assert "authorization" not in rec.requests[0].headers
    assert rec.body["random_seed"] == 3
    assert "seed" not in rec.body
    assert rec.body["reasoning"] == {"max_tokens": 2048}
    short = wire_call_id("call_long_id", vendor)
    assert len(short) == 9
    assert short.isalnum()
    assert rec.body["messages"][1]["tool_calls"][0]["id"] == short == rec.body["messages"][2]["tool_call_id"]
    assert wire_call_id("abcDEF123", vendor) == "abcDEF123"
    assert response.provider.extra == {"citations": ["u"]}
    with pytest.raises(UnsupportedFeatureError, match="at most 1 tools"):
        await a.complete(req("q", tools=[WEATHER, Tool(name="t2")]))


async def test_token_provider_auth_refreshes_after_401() -> None:
    tokens = iter(["t1", "t2"])

    async def token() -> str:
        return next(tokens)

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer t1":
            return httpx.Response(401, json={"error": {"message": "expired"}})
        return httpx.Response(200, json=completion())

    rec = Recorder(answer)
    client = httpx.AsyncClient(transport=httpx.MockTransport(rec))
    a = OpenAIChatAdapter(http_client=client, token_provider=token, api_key=None)
    response = await a.complete(req("q"))
    assert response.text == "Hello!"
    assert sent == ["Bearer t1", "Bearer t2"]


async def test_cancellation_propagates_and_is_never_retried() -> None:
    started = asyncio.Event()
    calls: list[httpx.Request] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        started.set()
        await asyncio.sleep(3600)
        return httpx.Response(200, json=completion())

    hooks: list[Any] = []
    client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    a = OpenAIChatAdapter(api_key=KEY, http_client=client, max_retries=5, hooks=[hooks.append])
    for run in (lambda: a.complete(req("q")), lambda: collect(a, req("q"))):
        started.clear()
        task = asyncio.create_task(run())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(calls) == 2  # one per call: a cancelled attempt is never retried
    assert isinstance(hooks[-1], RequestFailed)
    assert isinstance(hooks[-1].error, asyncio.CancelledError)


@pytest.mark.parametrize(
    "fragments",
    [
        # Ollama-style: every call says index 0, each with its own id, arguments whole
        [
            {"index": 0, "id": "a", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"index": 0, "id": "b", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
        ],
        # Gemini-compat style: no index at all, continuation fragments without id
        [
            {"id": "a", "function": {"name": "get_weather", "arguments": '{"city": '}},
            {"function": {"arguments": '"Paris"}'}},
            {"id": "b", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
        ],
        # vLLM-style: the same id repeated on every fragment of a call
        [
            {"index": 0, "id": "a", "function": {"name": "get_weather", "arguments": '{"city"'}},
            {"index": 0, "id": "a", "function": {"arguments": ': "Paris"}'}},
            {"index": 1, "id": "b", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
        ],
    ],
    ids=["index-reused", "index-missing", "id-repeated"],
)
async def test_stream_tool_calls_from_compatible_servers_stay_apart(fragments: list[dict[str, Any]]) -> None:
    body = sse(*[chunk({"tool_calls": [f]}) for f in fragments], chunk({}, finish="tool_calls"))
    a, _ = adapter(Recorder(httpx.Response(200, content=body)))
    _, response = await collect(a, req("q", tools=[WEATHER]))
    assert response.tool_calls == [
        ToolCall(id="a", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="b", name="get_weather", arguments={"city": "Rome"}),
    ]


@pytest.mark.parametrize("choice", ["auto", "none"])
async def test_tool_choice_and_parallel_flag_only_sent_with_tools(choice: str) -> None:
    # OpenAI answers 400 "'tool_choice' is only allowed when 'tools' are specified" (same for parallel_tool_calls)
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    await a.complete(req("q", tool_choice=choice, parallel_tool_calls=True))
    assert "tool_choice" not in rec.body
    assert "parallel_tool_calls" not in rec.body
    assert "tools" not in rec.body
    await a.complete(req("q", tools=[WEATHER], tool_choice=choice, parallel_tool_calls=True))
    assert rec.body["tool_choice"] == choice
    assert rec.body["parallel_tool_calls"] is True


async def test_empty_assistant_turn_is_sent_as_empty_text() -> None:
    rec = Recorder(httpx.Response(200, json=completion()))
    a, _ = adapter(rec)
    empty = Message(role="assistant", parts=[TextPart(text="")])
    await a.complete(req("q", empty, "again"))
    assert rec.body["messages"][1] == {"role": "assistant", "content": ""}
