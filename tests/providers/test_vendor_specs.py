"""The OpenAI-compatible vendors: each VendorSpec's URL, auth, renames, usage location, error shapes, stream quirks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from accord.adapters import connect
from accord.adapters._base import NativeOutput
from accord.adapters.openai_chat import OpenAIChatAdapter, VendorSpec, wire_call_id
from accord.adapters.providers import (
    VENDORS,
    _unnest,
    databricks_error_details,
    mistral_error_details,
    openrouter_error_details,
    vendor_adapter,
)
from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    Message,
    OverloadedError,
    QuotaExceededError,
    RateLimitError,
    Reasoning,
    Request,
    ServerError,
    StreamInterruptedError,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCall,
    UnsupportedFeatureError,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport that answers with `answer` and keeps every request it saw."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[-1].content)
        return data

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def completion(
    text: str = "hi", *, message: dict[str, Any] | None = None, usage: dict[str, Any] | None = None, **top: Any
) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "model": "m",
        "choices": [
            {"index": 0, "message": message or {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": usage or {"prompt_tokens": 5, "completion_tokens": 2},
        **top,
    }


def ok(payload: dict[str, Any] | None = None) -> Handler:
    return lambda request: httpx.Response(200, json=payload or completion())


class Frames(httpx.AsyncByteStream):
    """A response body delivered one frame per network chunk."""

    def __init__(self, frames: tuple[str, ...]) -> None:
        self.frames = frames

    async def __aiter__(self) -> Any:
        for frame in self.frames:
            yield frame.encode()


def sse(*frames: str) -> Handler:
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Frames(frames))


def data(obj: Any) -> str:
    return f"data: {json.dumps(obj)}\n\n"


def chunk(delta: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    return {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **top}


def make(vendor: str, recorder: Recorder, **options: Any) -> OpenAIChatAdapter:
    options.setdefault("api_key", "test-key")
    return vendor_adapter(vendor_name=vendor, http_client=recorder.client(), max_retries=0, **options)


def ask(text: str = "hello", **fields: Any) -> Request:
    return Request(model=fields.pop("model", "m"), messages=[Message.user(text)], **fields)


async def collect(adapter: OpenAIChatAdapter, request: Request) -> Any:
    async with adapter.stream(request) as stream:
        events = [event async for event in stream]
    return stream.response, events


# --- every vendor: URL and auth --------------------------------------------------------------------------------

EXPECTED_URLS = {
    "groq": "https://api.groq.com/openai/v1/chat/completions",
    "mistral": "https://api.mistral.ai/v1/chat/completions",
    "deepseek": "https://api.deepseek.com/chat/completions",
    "together": "https://api.together.xyz/v1/chat/completions",
    "perplexity": "https://api.perplexity.ai/chat/completions",
    "openrouter": "https://openrouter.ai/api/v1/chat/completions",
    "databricks": "https://dbc.example.com/serving-endpoints/m/invocations",
    "llamacpp": "http://localhost:8080/v1/chat/completions",
    "vllm": "http://localhost:8000/v1/chat/completions",
    "lmstudio": "http://localhost:1234/v1/chat/completions",
    "openai-compatible": "https://llm.example.com/v1/chat/completions",
}
GIVEN_BASE = {"databricks": "dbc.example.com", "openai-compatible": "https://llm.example.com/v1"}


def test_every_vendor_has_an_expected_url() -> None:
    assert set(EXPECTED_URLS) == set(VENDORS)


@pytest.mark.parametrize("vendor", sorted(VENDORS))
async def test_vendor_url_and_bearer_auth(vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in VENDORS.values():
        if spec.base_url_env:
            monkeypatch.delenv(spec.base_url_env, raising=False)
    recorder = Recorder(ok())
    options = {"base_url": GIVEN_BASE[vendor]} if vendor in GIVEN_BASE else {}
    adapter = make(vendor, recorder, **options)
    response = await adapter.complete(ask())
    sent = recorder.requests[0]
    assert str(sent.url) == EXPECTED_URLS[vendor]
    assert sent.headers["authorization"] == "Bearer test-key"
    assert response.text == "hi"
    assert response.provider.name == vendor
    assert adapter.name == vendor


@pytest.mark.parametrize("vendor", ["llamacpp", "vllm", "lmstudio", "openai-compatible"])
async def test_local_servers_need_no_key(vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = VENDORS[vendor]
    assert spec.env_var is not None
    monkeypatch.delenv(spec.env_var, raising=False)
    monkeypatch.setenv(spec.base_url_env or "", "http://127.0.0.1:9999/v1")
    recorder = Recorder(ok())
    adapter = vendor_adapter(vendor_name=vendor, http_client=recorder.client())
    await adapter.complete(ask())
    assert "authorization" not in recorder.requests[0].headers
    assert str(recorder.requests[0].url) == "http://127.0.0.1:9999/v1/chat/completions"


async def test_local_server_reads_an_optional_key_from_its_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "local-secret")
    monkeypatch.delenv("VLLM_BASE_URL", raising=False)
    recorder = Recorder(ok())
    await vendor_adapter(vendor_name="vllm", http_client=recorder.client()).complete(ask())
    assert recorder.requests[0].headers["authorization"] == "Bearer local-secret"


async def test_hosted_vendor_without_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="GROQ_API_KEY"):
        vendor_adapter(vendor_name="groq")


async def test_connect_reaches_a_vendor_through_the_registry() -> None:
    recorder = Recorder(ok())
    model = connect("groq:llama-3.3-70b-versatile", api_key="k", http_client=recorder.client())
    response = await model.complete("hi")
    assert response.text == "hi"
    assert recorder.body["model"] == "llama-3.3-70b-versatile"


def test_unknown_vendor_name() -> None:
    with pytest.raises(ConfigurationError, match="unknown OpenAI-compatible vendor"):
        vendor_adapter(vendor_name="nope", api_key="k")


# --- generic openai-compatible -------------------------------------------------------------------------------


def test_openai_compatible_needs_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_COMPATIBLE_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match=r"base_url is required.*OPENAI_COMPATIBLE_BASE_URL"):
        vendor_adapter(vendor_name="openai-compatible")


async def test_openai_compatible_key_from_a_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVER_KEY", "from-env")
    recorder = Recorder(ok())
    adapter = vendor_adapter(
        vendor_name="openai-compatible",
        base_url="https://llm.example.com/v1/",
        api_key_env="MY_SERVER_KEY",
        http_client=recorder.client(),
    )
    await adapter.complete(ask())
    assert recorder.requests[0].headers["authorization"] == "Bearer from-env"
    assert str(recorder.requests[0].url) == "https://llm.example.com/v1/chat/completions"


# --- groq ----------------------------------------------------------------------------------------------------


async def test_groq_stream_usage_comes_from_x_groq() -> None:
    usage = {"prompt_tokens": 30, "completion_tokens": 9, "completion_tokens_details": {"reasoning_tokens": 4}}
    recorder = Recorder(
        sse(
            data(chunk({"role": "assistant", "reasoning": "think"}, x_groq={"id": "r"})),
            data(chunk({"content": "Hello"}, x_groq={"id": "r"})),
            data(chunk({}, "stop", x_groq={"id": "r", "usage": usage})),
            "data: [DONE]\n\n",
        )
    )
    response, _ = await collect(make("groq", recorder), ask())
    assert response.text == "Hello"
    assert response.thinking[0].text == "think"
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.reasoning_tokens) == (30, 9, 4)


async def test_groq_tool_use_failed_inside_a_stream_is_an_invalid_request() -> None:
    error = {
        "error": {
            "message": "Tool call validation failed: parameters did not match schema",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": "{}",
            "status_code": 400,
        }
    }
    recorder = Recorder(sse(data(chunk({"content": "a"})), f"event: error\ndata: {json.dumps(error)}\n\n"))
    with pytest.raises(InvalidRequestError) as info:
        await collect(make("groq", recorder), ask())
    assert info.value.in_stream
    assert info.value.code == "tool_use_failed"
    assert info.value.partial is not None
    assert info.value.partial.text == "a"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (498, {"error": {"message": "Capacity exceeded", "code": "capacity_exceeded"}}, OverloadedError),
        (
            400,
            {"error": {"message": "Please reduce the length of the messages or completion."}},
            ContextWindowExceededError,
        ),
        (400, {"error": {"message": "bad", "code": "tool_use_failed"}}, InvalidRequestError),
    ],
)
async def test_groq_error_statuses(status: int, body: dict[str, Any], expected: type[Exception]) -> None:
    recorder = Recorder(lambda r: httpx.Response(status, json=body))
    with pytest.raises(expected):
        await make("groq", recorder).complete(ask())


# --- mistral -------------------------------------------------------------------------------------------------


async def test_mistral_renames_seed_and_does_not_ask_for_stream_usage() -> None:
    recorder = Recorder(sse(data(chunk({"content": "x"}, "stop", usage={"prompt_tokens": 3, "completion_tokens": 1}))))
    response, _ = await collect(make("mistral", recorder), ask(seed=7, temperature=0.2))
    assert recorder.body["random_seed"] == 7
    assert "seed" not in recorder.body
    assert "stream_options" not in recorder.body
    assert response.usage.input_tokens == 3  # usage on the last chunk, without [DONE]: the stream still completes


async def test_mistral_remaps_tool_call_ids_consistently() -> None:
    recorder = Recorder(ok())
    history = [
        Message.user("weather?"),
        Message.assistant(
            tool_calls=[ToolCall(id="call_abc-123_long", name="w", arguments={}), ToolCall(id="Ab3dE6gH9", name="w")]
        ),
        Message.tool("call_abc-123_long", "sunny"),
        Message.tool("Ab3dE6gH9", "rainy"),
    ]
    tool = Tool(name="w", parameters={"type": "object", "properties": {}})
    await make("mistral", recorder).complete(Request(model="mistral-large-latest", messages=history, tools=[tool]))
    messages = recorder.body["messages"]
    remapped = messages[1]["tool_calls"][0]["id"]
    assert len(remapped) == 9
    assert remapped.isalnum()
    assert messages[2]["tool_call_id"] == remapped
    assert messages[1]["tool_calls"][1]["id"] == "Ab3dE6gH9" == messages[3]["tool_call_id"]
    assert wire_call_id("call_abc-123_long", VENDORS["mistral"]) == remapped  # same id on every request
    assert wire_call_id("call_abc-123_long", VENDORS["groq"]) == "call_abc-123_long"


async def test_mistral_thinking_chunks_are_thinking_not_text() -> None:
    content = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "Let me think."}]},
        {"type": "text", "text": "42"},
    ]
    recorder = Recorder(ok(completion(message={"role": "assistant", "content": content})))
    response = await make("mistral", recorder).complete(ask(model="magistral-medium-latest"))
    assert response.text == "42"
    assert [p.text for p in response.thinking] == ["Let me think."]


async def test_mistral_thinking_chunks_in_a_stream() -> None:
    recorder = Recorder(
        sse(
            data(chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]}]})),
            data(chunk({"content": [{"type": "thinking", "thinking": "m"}]})),
            data(chunk({"content": "ok"}, "stop")),
            "data: [DONE]\n\n",
        )
    )
    response, _ = await collect(make("mistral", recorder), ask(model="magistral-medium-latest"))
    assert response.text == "ok"
    assert response.thinking[0].text == "hmm"


async def test_mistral_422_detail_error() -> None:
    body = {"detail": [{"loc": ["body", "messages"], "msg": "Field required", "type": "missing"}]}
    recorder = Recorder(lambda r: httpx.Response(422, json=body))
    with pytest.raises(InvalidRequestError) as info:
        await make("mistral", recorder).complete(ask())
    assert info.value.message == "body.messages: Field required"
    assert info.value.type == "missing"


def test_mistral_error_details_shapes() -> None:
    assert mistral_error_details({"detail": [{"msg": "x"}, "junk"]}, "f").message == "x"
    assert mistral_error_details({"detail": []}, "fallback").message == "fallback"
    flat = mistral_error_details({"object": "error", "message": "nope", "type": "invalid_request_error"}, "f")
    assert (flat.message, flat.type) == ("nope", "invalid_request_error")


async def test_mistral_context_overflow_phrase() -> None:
    msg = "Prompt contains 40000 tokens, too large for model with 32768 maximum context length"
    recorder = Recorder(lambda r: httpx.Response(400, json={"object": "error", "message": msg}))
    with pytest.raises(ContextWindowExceededError):
        await make("mistral", recorder).complete(ask())


# --- deepseek ------------------------------------------------------------------------------------------------


async def test_deepseek_reasoning_out_never_back_in_and_cache_hits() -> None:
    message = {"role": "assistant", "content": "4", "reasoning_content": "2+2"}
    usage = {"prompt_tokens": 100, "completion_tokens": 10, "prompt_cache_hit_tokens": 64}
    recorder = Recorder(ok(completion(message=message, usage=usage)))
    adapter = make("deepseek", recorder)
    first = await adapter.complete(ask(model="deepseek-reasoner"))
    assert first.thinking[0].text == "2+2"
    assert first.text == "4"
    assert first.usage.cache_read_tokens == 64
    follow = Request(
        model="deepseek-reasoner", messages=[Message.user("2+2?"), first.to_message(), Message.user("and?")]
    )
    await adapter.complete(follow)
    sent = recorder.body["messages"][1]
    assert sent == {"role": "assistant", "content": "4"}
    assert "reasoning_content" not in json.dumps(recorder.body)


# --- perplexity ----------------------------------------------------------------------------------------------


async def test_perplexity_refuses_tools_before_any_request() -> None:
    recorder = Recorder(ok())
    tool = Tool(name="t", parameters={"type": "object", "properties": {}})
    with pytest.raises(UnsupportedFeatureError):
        await make("perplexity", recorder).complete(ask(model="sonar", tools=[tool]))
    assert recorder.requests == []


async def test_perplexity_citations_are_kept() -> None:
    citations = ["https://a.example", "https://b.example"]
    results = [{"title": "A", "url": "https://a.example"}]
    recorder = Recorder(ok(completion(citations=citations, search_results=results)))
    response = await make("perplexity", recorder).complete(ask(model="sonar"))
    assert response.provider.extra == {"citations": citations, "search_results": results}


async def test_perplexity_citations_in_a_stream() -> None:
    recorder = Recorder(
        sse(
            data(chunk({"content": "a"}, citations=["https://x"])),
            data(chunk({}, "stop", citations=["https://x", "https://y"])),
            "data: [DONE]\n\n",
        )
    )
    response, _ = await collect(make("perplexity", recorder), ask(model="sonar"))
    assert response.provider.extra == {"citations": ["https://x", "https://y"]}


# --- openrouter ----------------------------------------------------------------------------------------------


async def test_openrouter_routing_preferences_and_attribution_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_APP_TITLE", "From Env")
    monkeypatch.delenv("OPENROUTER_APP_URL", raising=False)
    recorder = Recorder(ok())
    adapter = make("openrouter", recorder, app_url="https://myapp.example")
    routing = {"provider": {"order": ["anthropic"], "allow_fallbacks": False}, "models": ["a/b", "c/d"]}
    await adapter.complete(ask(model="anthropic/claude-sonnet-4.6", provider_options={"openrouter": routing}))
    assert recorder.body["provider"] == routing["provider"]
    assert recorder.body["models"] == ["a/b", "c/d"]
    headers = recorder.requests[0].headers
    assert headers["http-referer"] == "https://myapp.example"
    assert headers["x-title"] == "From Env"


async def test_openrouter_explicit_headers_win_over_attribution_options() -> None:
    recorder = Recorder(ok())
    adapter = make("openrouter", recorder, app_title="Option", headers={"X-Title": "Explicit"})
    await adapter.complete(ask())
    assert recorder.requests[0].headers["x-title"] == "Explicit"


async def test_openrouter_processing_comments_are_ignored() -> None:
    recorder = Recorder(
        sse(
            ": OPENROUTER PROCESSING\n\n",
            data(chunk({"content": "a", "reasoning": "r"})),
            ": OPENROUTER PROCESSING\n\n",
            data(chunk({"content": "b"}, "stop", usage={"prompt_tokens": 4, "completion_tokens": 2, "cost": 0.1})),
            "data: [DONE]\n\n",
        )
    )
    response, _ = await collect(make("openrouter", recorder), ask())
    assert response.text == "ab"
    assert response.thinking[0].text == "r"
    assert response.usage.input_tokens == 4


async def test_openrouter_error_chunk_inside_a_200_stream() -> None:
    error_chunk = chunk(
        {"content": ""}, "error", error={"code": 400, "message": "Token limit reached"}, provider="Minimax"
    )
    recorder = Recorder(sse(data(chunk({"content": "part"})), data(error_chunk)))
    with pytest.raises(InvalidRequestError) as info:
        await collect(make("openrouter", recorder), ask())
    assert info.value.in_stream
    assert info.value.status == 400
    assert info.value.partial is not None
    assert info.value.partial.text == "part"
    assert not isinstance(info.value, ContextWindowExceededError)  # "Token limit reached" is not a context overflow


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (402, {"retry-after": "3"}, {"error": {"code": 402, "message": "in-flight budget"}}, RateLimitError),
        (402, {}, {"error": {"code": 402, "message": "Insufficient credits"}}, QuotaExceededError),
        (408, {}, {"error": {"code": 408, "message": "timeout"}}, ServerError),
        (524, {}, {"error": {"code": 524, "message": "edge timeout"}}, ServerError),
        (529, {}, {"error": {"code": 529, "message": "provider overloaded"}}, OverloadedError),
        (
            403,
            {},
            {"error": {"code": 403, "message": "Your input was flagged", "metadata": {"reasons": ["violence"]}}},
            ContentFilterError,
        ),
        (401, {}, {"error": {"code": 401, "message": "No auth credentials found"}}, AuthenticationError),
        (
            400,
            {},
            {"error": {"code": 400, "message": "This endpoint's maximum context length is 8192 tokens"}},
            ContextWindowExceededError,
        ),
    ],
)
async def test_openrouter_error_statuses(
    status: int, headers: dict[str, str], body: dict[str, Any], expected: type[Exception]
) -> None:
    recorder = Recorder(lambda r: httpx.Response(status, json=body, headers=headers))
    with pytest.raises(expected) as info:
        await make("openrouter", recorder).complete(ask())
    assert type(info.value) is expected


async def test_openrouter_402_with_retry_after_is_retried() -> None:
    answers = iter(
        [httpx.Response(402, json={"error": {"code": 402, "message": "busy"}}, headers={"retry-after": "2"})]
    )
    recorder = Recorder(lambda r: next(answers, httpx.Response(200, json=completion())))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    from accord.adapters._retry import RetryPolicy

    adapter = vendor_adapter(
        vendor_name="openrouter", api_key="k", http_client=recorder.client(), retry_policy=RetryPolicy(sleep=sleep)
    )
    response = await adapter.complete(ask())
    assert response.text == "hi"
    assert response.attempts == 2
    assert waits == [2.0]


async def test_openrouter_reasoning_is_nested() -> None:
    recorder = Recorder(ok())
    adapter = make("openrouter", recorder)
    await adapter.complete(ask(model="anthropic/claude-sonnet-4.6", reasoning=Reasoning(effort="high")))
    assert recorder.body["reasoning"] == {"effort": "high"}
    assert "reasoning_effort" not in recorder.body
    await adapter.complete(ask(model="anthropic/claude-sonnet-4.6", reasoning=Reasoning(budget_tokens=2048)))
    assert recorder.body["reasoning"] == {"max_tokens": 2048}


def test_openrouter_error_details_keep_a_given_status() -> None:
    assert openrouter_error_details({"error": {"code": 400, "message": "m"}}, "f").status == 400
    assert openrouter_error_details({"error": {"code": 400, "status": 502, "message": "m"}}, "f").status == 502
    assert openrouter_error_details({"error": {"code": "x", "message": "m"}}, "f").status is None
    assert openrouter_error_details("plain", "f").message == "plain"


# --- databricks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["dbc.example.com", "https://dbc.example.com/", "https://dbc.example.com/serving-endpoints", "DATABRICKS_HOST"],
)
async def test_databricks_serving_endpoint_url(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    options: dict[str, Any] = {}
    if given == "DATABRICKS_HOST":
        monkeypatch.setenv("DATABRICKS_HOST", "https://dbc.example.com")
    else:
        options["base_url"] = given
    recorder = Recorder(ok())
    await make("databricks", recorder, **options).complete(ask(model="databricks-claude-sonnet-4"))
    assert (
        str(recorder.requests[0].url)
        == "https://dbc.example.com/serving-endpoints/databricks-claude-sonnet-4/invocations"
    )


def test_databricks_needs_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    with pytest.raises(ConfigurationError, match="DATABRICKS_HOST"):
        vendor_adapter(vendor_name="databricks", api_key="k")


async def test_databricks_oauth_token_provider_refreshes_after_401(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    tokens = iter(["expired", "fresh", "fresh"])
    calls: list[str] = []

    async def provider() -> str:
        token = next(tokens)
        calls.append(token)
        return token

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer expired":
            return httpx.Response(401, json={"error_code": "UNAUTHENTICATED", "message": "expired token"})
        return httpx.Response(200, json=completion())

    recorder = Recorder(answer)
    adapter = vendor_adapter(
        vendor_name="databricks", base_url="dbc.example.com", token_provider=provider, http_client=recorder.client()
    )
    response = await adapter.complete(ask())
    assert response.text == "hi"
    assert calls == ["expired", "fresh"]
    await adapter.complete(ask())
    assert calls == ["expired", "fresh", "fresh"]  # asked again on every request: the provider does the caching


async def test_databricks_sync_token_provider_and_persistent_401() -> None:
    recorder = Recorder(lambda r: httpx.Response(401, json={"error_code": "UNAUTHENTICATED", "message": "no"}))
    adapter = vendor_adapter(
        vendor_name="databricks",
        base_url="dbc.example.com",
        token_provider=lambda: "tok",
        http_client=recorder.client(),
    )
    with pytest.raises(AuthenticationError):
        await adapter.complete(ask())
    assert len(recorder.requests) == 2
    assert recorder.requests[0].headers["authorization"] == "Bearer tok"


async def test_databricks_nested_error_json() -> None:
    inner = json.dumps({"error": {"message": json.dumps({"message": "Input is too long."}), "code": "INVALID"}})
    body = {"error_code": "BAD_REQUEST", "message": inner}
    recorder = Recorder(lambda r: httpx.Response(400, json=body))
    with pytest.raises(ContextWindowExceededError) as info:
        await make("databricks", recorder, base_url="dbc.example.com").complete(ask())
    assert info.value.message == "Input is too long."
    assert info.value.code == "BAD_REQUEST"


def test_databricks_error_details_shapes() -> None:
    plain = databricks_error_details({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no endpoint"}, "f")
    assert (plain.message, plain.code) == ("no endpoint", "RESOURCE_DOES_NOT_EXIST")
    assert databricks_error_details({"error_code": "X"}, "fallback").message == "fallback"
    openai_like = databricks_error_details({"error": {"message": '{"message": "deep"}', "type": "t"}}, "f")
    assert (openai_like.message, openai_like.type) == ("deep", "t")
    assert _unnest('"just a string"') == ('"just a string"', None)
    assert _unnest('{"error": "flat"}') == ("flat", None)
    assert _unnest('{"other": 1}') == ('{"other": 1}', None)


async def test_databricks_tool_limit_and_no_structured_streaming() -> None:
    recorder = Recorder(ok())
    adapter = make("databricks", recorder, base_url="dbc.example.com")
    tools = [Tool(name=f"t{i}", parameters={"type": "object", "properties": {}}) for i in range(33)]
    with pytest.raises(UnsupportedFeatureError, match="at most 32 tools"):
        await adapter.complete(ask(model="databricks-meta-llama-3-3-70b-instruct", tools=tools))
    native = NativeOutput(name="out", schema={"type": "object"}, strict=False)
    with pytest.raises(UnsupportedFeatureError, match="cannot stream structured output"):
        async with adapter.open(ask(model="databricks-meta-llama-3-3-70b-instruct"), native):
            pass
    assert recorder.requests == []
    assert adapter.profile("databricks-meta-llama-3-3-70b-instruct").schema_dialect == "databricks"


async def test_databricks_streams_structured_output_through_a_forced_tool() -> None:
    # Databricks rejects response_format on a stream, so auto mode streams a forced tool call instead.
    events = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "final_result", "arguments": ""},
                            }
                        ],
                    },
                }
            ]
        },
        {
            "choices": [
                {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Paris"}'}}]}}
            ]
        },
        {
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
        },
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    recorder = Recorder(lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body))
    adapter = make("databricks", recorder, base_url="dbc.example.com")
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    async with adapter.stream(ask(model="databricks-meta-llama-3-3-70b-instruct", output=schema)) as stream:
        async for _ in stream:
            pass
    assert stream.response.output == {"city": "Paris"}
    sent = json.loads(recorder.requests[0].content)
    assert "response_format" not in sent
    assert sent["tool_choice"]["function"]["name"] == "final_result"
    assert sent["stream"] is True


# --- profiles from the catalog -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "model", "field", "value"),
    [
        ("groq", "openai/gpt-oss-120b", "supports_reasoning", True),
        ("groq", "llama-3.3-70b-versatile", "schema_dialect", "groq"),
        ("mistral", "mistral-large-latest", "schema_dialect", "mistral"),
        ("mistral", "magistral-medium-latest", "supports_reasoning", True),
        ("perplexity", "sonar-pro", "supports_tools", False),
        ("databricks", "databricks-claude-sonnet-4", "supports_json_mode", False),
        ("databricks", "databricks-gpt-oss-120b", "supports_parallel_tools", False),
        ("deepseek", "deepseek-reasoner", "supports_reasoning", True),
        ("openrouter", "anthropic/claude-sonnet-4.6", "supports_vision", True),
        ("llamacpp", "anything", "schema_dialect", "ollama"),
    ],
)
def test_catalog_profiles(vendor: str, model: str, field: str, value: Any) -> None:
    adapter = vendor_adapter(vendor_name=vendor, api_key="k", base_url="https://h.example")
    assert getattr(adapter.profile(model), field) == value


# --- a new vendor is data only -------------------------------------------------------------------------------


async def test_a_new_vendor_is_one_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server we have never heard of: different auth header, a renamed parameter, its own error phrase."""
    monkeypatch.setenv("ACME_KEY", "acme-secret")
    acme = VendorSpec(
        name="acme",
        base_url="https://api.acme.example/v2",
        env_var="ACME_KEY",
        auth_header="X-Acme-Key",
        auth_scheme="",
        chat_path="/chat",
        param_renames={"max_tokens": "max_new_tokens"},
        reasoning_fields=("thoughts",),
        stream_usage_path=("meta", "usage"),
        error_rules=(),
        kept_fields=("trace_id",),
    )
    acme = replace(acme, error_rules=(*acme.error_rules,))

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("stream"):
            return sse(
                data(chunk({"thoughts": "t", "content": "streamed"})),
                data(chunk({}, "stop", meta={"usage": {"prompt_tokens": 7, "completion_tokens": 3}})),
                "data: [DONE]\n\n",
            )(request)
        if body["messages"][0]["content"] == "fail":
            return httpx.Response(429, json={"error": {"message": "slow down"}})
        return httpx.Response(
            200, json=completion(message={"role": "assistant", "content": "ok", "thoughts": "t"}, trace_id="z")
        )

    recorder = Recorder(answer)
    adapter = vendor_adapter(vendor_name="acme", vendor=acme, http_client=recorder.client(), max_retries=0)
    response = await adapter.complete(ask(max_tokens=50))
    sent = recorder.requests[0]
    assert str(sent.url) == "https://api.acme.example/v2/chat"
    assert sent.headers["x-acme-key"] == "acme-secret"
    assert "authorization" not in sent.headers
    assert recorder.body["max_new_tokens"] == 50
    assert "max_tokens" not in recorder.body
    assert response.text == "ok"
    assert response.thinking[0].text == "t"
    assert response.provider.extra == {"trace_id": "z"}
    streamed, _ = await collect(adapter, ask())
    assert streamed.text == "streamed"
    assert streamed.usage.input_tokens == 7
    with pytest.raises(RateLimitError) as info:
        await adapter.complete(ask("fail"))
    assert info.value.provider == "acme"


async def test_stream_cut_before_done_is_interrupted() -> None:
    recorder = Recorder(sse(data(chunk({"content": "par"}))))
    with pytest.raises(StreamInterruptedError) as info:
        await collect(make("together", recorder), ask())
    assert info.value.partial is not None
    assert info.value.partial.text == "par"


async def test_thinking_from_another_provider_is_not_sent_to_a_vendor() -> None:
    recorder = Recorder(ok())
    history = [
        Message.user("q"),
        Message.assistant([ThinkingPart(text="secret", provider="anthropic", signature="sig"), TextPart(text="a")]),
        Message.user("more"),
    ]
    await make("groq", recorder).complete(Request(model="m", messages=history))
    assert "secret" not in json.dumps(recorder.body)


def test_every_registered_vendor_has_a_spec_and_catalog() -> None:
    from importlib import resources

    from accord.adapters._registry import BUILTIN

    registered = {name for name, entry in BUILTIN.items() if entry.target.endswith("providers:vendor_adapter")}
    assert registered == set(VENDORS)
    for name in VENDORS:
        path = resources.files("accord.adapters").joinpath(f"data/catalog/{name}.json")
        assert json.loads(path.read_text(encoding="utf-8"))["defaults"], f"no catalog defaults for {name}"


@pytest.mark.parametrize(("effort", "sent"), [("low", "high"), ("high", "high"), ("none", "none")])
async def test_mistral_reasoning_effort_values(effort: str, sent: str) -> None:
    recorder = Recorder(ok())
    await make("mistral", recorder).complete(ask(model="magistral-medium-latest", reasoning=Reasoning(effort=effort)))
    assert recorder.body["reasoning_effort"] == sent
