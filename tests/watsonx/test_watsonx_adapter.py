"""watsonx.ai chat: IAM token exchange (cache, refresh, secrecy), request/response mapping, stream, errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from accord.adapters import connect
from accord.adapters._base import NativeOutput
from accord.adapters.watsonx import IAMTokenAuth, TokenProviderAuth, WatsonxAdapter, error_details, map_finish
from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    ImagePart,
    InvalidRequestError,
    Message,
    ModelProfile,
    NotFoundError,
    ProviderError,
    QuotaExceededError,
    Reasoning,
    Request,
    ResponseParseError,
    ServerError,
    StreamEnd,
    StreamInterruptedError,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    UnsupportedFeatureError,
)

API_KEY = "wx-secret-api-key-0123456789"
IAM = "https://iam.cloud.ibm.com/identity/token"
TOOL = Tool(name="lookup", parameters={"type": "object", "properties": {"q": {"type": "string"}}})


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Server:
    """A fake IAM endpoint plus a fake watsonx chat endpoint."""

    def __init__(self, clock: Clock, chat: Any = None, lifetime: int = 3600) -> None:
        self.clock = clock
        self.chat = chat or (lambda request: httpx.Response(200, json=answer()))
        self.lifetime = lifetime
        self.issued = 0
        self.requests: list[httpx.Request] = []
        self.iam_status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == IAM:
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["urn:ibm:params:oauth:grant-type:apikey"]
            if self.iam_status != 200:
                return httpx.Response(
                    self.iam_status,
                    json={"errorCode": "BXNIM0415E", "errorMessage": f"Provided API key could not be found: {API_KEY}"},
                )
            assert form["apikey"] == [API_KEY]
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"token-{self.issued}",
                    "token_type": "Bearer",
                    "expires_in": self.lifetime,
                    "expiration": int(self.clock.now) + self.lifetime,
                },
            )
        result: httpx.Response = self.chat(request)
        return result

    @property
    def chat_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url) != IAM]

    def adapter(self, **options: Any) -> WatsonxAdapter:
        options.setdefault("project_id", "proj-1")
        adapter = WatsonxAdapter(
            api_key=API_KEY,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(self)),
            max_retries=0,
            **options,
        )
        assert adapter.iam is not None
        adapter.iam.clock = self.clock
        return adapter


def answer(content: str = "hello", **message: Any) -> dict[str, Any]:
    return {
        "id": "chat-1",
        "model_id": "ibm/granite-3-3-8b-instruct",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content, **message}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
        "system": {"warnings": [{"message": "deprecated", "id": "deprecation_warning"}]},
    }


def ask(text: str = "hi", **fields: Any) -> Request:
    return Request(model=fields.pop("model", "ibm/granite-3-3-8b-instruct"), messages=[Message.user(text)], **fields)


# --- IAM -----------------------------------------------------------------------------------------------------


async def test_token_is_exchanged_once_and_cached() -> None:
    clock = Clock()
    server = Server(clock)
    adapter = server.adapter()
    await adapter.complete(ask())
    await adapter.complete(ask())
    assert server.issued == 1
    assert [r.headers["authorization"] for r in server.chat_requests] == ["Bearer token-1", "Bearer token-1"]
    assert adapter.iam is not None
    assert adapter.iam.exchanges == 1


async def test_token_is_refreshed_shortly_before_expiry() -> None:
    clock = Clock()
    server = Server(clock, lifetime=3600)
    adapter = server.adapter()
    await adapter.complete(ask())
    clock.now += 3600 - 301  # more than five minutes left: still good
    await adapter.complete(ask())
    assert server.issued == 1
    clock.now += 2  # under five minutes left: refresh before it can expire mid-request
    await adapter.complete(ask())
    assert server.issued == 2
    assert server.chat_requests[-1].headers["authorization"] == "Bearer token-2"


async def test_short_lived_token_refreshes_at_ten_percent() -> None:
    clock = Clock()
    server = Server(clock, lifetime=100)
    adapter = server.adapter()
    await adapter.complete(ask())
    clock.now += 89
    await adapter.complete(ask())
    assert server.issued == 1
    clock.now += 2
    await adapter.complete(ask())
    assert server.issued == 2


async def test_a_401_gets_a_new_token_and_one_retry() -> None:
    clock = Clock()
    refused = {"count": 0}

    def chat(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer token-1":
            refused["count"] += 1
            return httpx.Response(
                401, json={"errors": [{"code": "authentication_token_expired", "message": "expired"}]}
            )
        return httpx.Response(200, json=answer())

    server = Server(clock, chat=chat)
    response = await server.adapter().complete(ask())
    assert response.text == "hello"
    assert server.issued == 2
    assert refused["count"] == 1


async def test_a_persistent_401_is_an_authentication_error() -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"errors": [{"code": "authentication_token_expired", "message": "nope"}]})

    server = Server(Clock(), chat=chat)
    with pytest.raises(AuthenticationError):
        await server.adapter().complete(ask())
    assert server.issued == 2


async def test_iam_refusal_is_an_authentication_error_that_never_shows_the_key() -> None:
    server = Server(Clock())
    server.iam_status = 400
    adapter = server.adapter()
    with pytest.raises(AuthenticationError) as info:
        await adapter.complete(ask())
    assert server.chat_requests == []
    assert API_KEY not in str(info.value)
    assert API_KEY not in json.dumps(info.value.body)
    assert API_KEY not in repr(adapter)
    assert API_KEY not in repr(adapter.iam)
    assert adapter.iam is not None


async def test_iam_answer_without_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"nothing": True})

    adapter = WatsonxAdapter(
        api_key=API_KEY, project_id="p", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(ResponseParseError):
        await adapter.complete(ask())


@pytest.mark.parametrize(
    ("body", "expected_refresh"),
    [
        ({"access_token": "t", "expires_in": 1000}, 1000 - 100),
        ({"access_token": "t"}, 3600 - 300),
    ],
)
def test_expiry_without_expiration_field(body: dict[str, Any], expected_refresh: float) -> None:
    auth = IAMTokenAuth(SecretStr(API_KEY), clock=Clock(0.0))
    auth._store(httpx.Response(200, json=body))
    assert auth._refresh_at == expected_refresh


def test_iam_auth_is_async_only() -> None:
    auth = IAMTokenAuth(SecretStr(API_KEY))
    with pytest.raises(RuntimeError):
        next(auth.sync_auth_flow(httpx.Request("GET", "https://x")))


async def test_the_token_is_scrubbed_from_errors() -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errors": [{"code": "bad", "message": "token token-1 rejected"}]})

    server = Server(Clock(), chat=chat)
    with pytest.raises(InvalidRequestError) as info:
        await server.adapter().complete(ask())
    assert "token-1" not in info.value.message


# --- request and response mapping ----------------------------------------------------------------------------


async def test_request_url_version_scope_and_body() -> None:
    server = Server(Clock())
    adapter = server.adapter(api_version="2025-01-01", profile=ModelProfile(supports_vision=True))
    history = [
        Message.user([TextPart(text="see"), ImagePart(data="aGk=", media_type="image/png", detail="low")]),
        Message.assistant("calling", tool_calls=[ToolCall(id="call_1", name="lookup", arguments={"q": "x"})]),
        Message.tool("call_1", "found", is_error=True),
        Message.system("stay short"),
    ]
    request = Request(
        model="ibm/granite-3-3-8b-instruct",
        system="sys",
        messages=history,
        tools=[TOOL],
        tool_choice=ToolChoice(mode="required"),
        max_tokens=64,
        temperature=0.2,
        top_p=0.9,
        seed=1,
        stop=["\n\n"],
        provider_options={"watsonx": {"time_limit": 5000, "response_format": {"type": "json_object"}}},
    )
    response = await adapter.complete(request)
    sent = server.chat_requests[0]
    assert sent.url.path == "/ml/v1/text/chat"
    assert sent.url.params["version"] == "2025-01-01"
    assert sent.url.host == "us-south.ml.cloud.ibm.com"
    body = json.loads(sent.content)
    assert body["model_id"] == "ibm/granite-3-3-8b-instruct"
    assert body["project_id"] == "proj-1"
    assert "space_id" not in body
    assert body["tool_choice_option"] == "required"
    assert body["time_limit"] == 5000
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    assert body["messages"][1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,aGk=", "detail": "low"},
    }
    assert body["messages"][2]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "Error: found"}
    assert body["messages"][4] == {"role": "system", "content": "stay short"}
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"], body["stop"]) == (
        64,
        0.2,
        0.9,
        1,
        ["\n\n"],
    )
    assert response.text == "hello"
    assert response.provider.extra["warnings"][0]["id"] == "deprecation_warning"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 3)


async def test_specific_tool_choice_space_id_native_output_and_reasoning() -> None:
    server = Server(Clock())
    adapter = server.adapter(project_id=None, space_id="space-9", profile=ModelProfile(supports_reasoning=True))
    native = NativeOutput(name="out", schema={"type": "object"}, strict=True, description="the answer")
    request = ask(
        tools=[TOOL], tool_choice=ToolChoice(mode="specific", names=["lookup"]), reasoning=Reasoning(effort="low")
    )
    await adapter.send(request, native)
    body = json.loads(server.chat_requests[0].content)
    assert body["space_id"] == "space-9"
    assert "project_id" not in body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert "tool_choice_option" not in body
    assert body["response_format"]["json_schema"]["description"] == "the answer"
    assert body["reasoning_effort"] == "low"


async def test_unsupported_requests_are_refused_before_sending() -> None:
    server = Server(Clock())
    adapter = server.adapter(profile=ModelProfile(supports_reasoning=True))
    two = Tool(name="other", parameters={"type": "object", "properties": {}})
    for request in (
        ask(tools=[TOOL, two], tool_choice=ToolChoice(mode="specific", names=["lookup", "other"])),
        ask(tools=[TOOL], parallel_tool_calls=False),
        ask(reasoning=Reasoning(budget_tokens=10)),
    ):
        with pytest.raises(UnsupportedFeatureError):
            await adapter.complete(request)
    assert server.requests == []


async def test_tool_calls_reasoning_and_finish() -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "a"}'}},
        {"type": "function", "function": {"name": "lookup", "arguments": {"q": "b"}}},
    ]
    payload = answer("", tool_calls=calls, reasoning_content="thinking")
    payload["choices"][0]["finish_reason"] = "tool_calls"
    server = Server(Clock(), chat=lambda r: httpx.Response(200, json=payload))
    response = await server.adapter().complete(ask(tools=[TOOL]))
    assert [(c.id, c.arguments) for c in response.tool_calls] == [("c1", {"q": "a"}), ("call_1", {"q": "b"})]
    assert response.thinking[0].text == "thinking"
    assert response.finish_reason == "tool_calls"


def test_finish_map() -> None:
    assert map_finish("time_limit") == "length"
    assert map_finish("cancelled") == "other"
    assert map_finish(None) == "stop"
    assert map_finish("new_reason") == "other"


async def test_not_a_chat_answer() -> None:
    server = Server(Clock(), chat=lambda r: httpx.Response(200, json={"choices": []}))
    with pytest.raises(ResponseParseError):
        await server.adapter().complete(ask())
    error_body = {"errors": [{"code": "model_not_supported", "message": "no"}], "status_code": 404}
    server = Server(Clock(), chat=lambda r: httpx.Response(200, json=error_body))
    with pytest.raises(NotFoundError):
        await server.adapter().complete(ask())


# --- configuration -------------------------------------------------------------------------------------------


def test_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATSONX_PROJECT_ID", raising=False)
    monkeypatch.delenv("WATSONX_SPACE_ID", raising=False)
    with pytest.raises(ConfigurationError, match="project_id or space_id"):
        WatsonxAdapter(api_key=API_KEY)
    with pytest.raises(ConfigurationError, match="not both"):
        WatsonxAdapter(api_key=API_KEY, project_id="p", space_id="s")
    monkeypatch.setenv("WATSONX_SPACE_ID", "env-space")
    monkeypatch.setenv("WATSONX_URL", "https://eu-de.ml.cloud.ibm.com")
    adapter = WatsonxAdapter(api_key=API_KEY)
    assert adapter.scope == {"space_id": "env-space"}
    assert adapter.base_url == "https://eu-de.ml.cloud.ibm.com"


async def test_connect_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATSONX_API_KEY", API_KEY)
    monkeypatch.setenv("WATSONX_PROJECT_ID", "env-proj")
    server = Server(Clock())
    model = connect(
        "watsonx:meta-llama/llama-3-3-70b-instruct",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
    )
    response = await model.complete("hi")
    assert response.text == "hello"
    assert json.loads(server.chat_requests[0].content)["project_id"] == "env-proj"


# --- streaming -----------------------------------------------------------------------------------------------


class Frames(httpx.AsyncByteStream):
    def __init__(self, frames: list[str]) -> None:
        self.frames = frames

    async def __aiter__(self) -> Any:
        for frame in self.frames:
            yield frame.encode()


def event(n: int, obj: Any) -> str:
    return f"id: {n}\nevent: message\ndata: {json.dumps(obj)}\n\n"


def delta(d: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    return {
        "id": "s1",
        "model_id": "ibm/granite",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
        **top,
    }


async def drain(adapter: WatsonxAdapter, request: Request) -> None:
    async with adapter.stream(request) as stream:
        async for _ in stream:
            pass


def streaming(frames: list[str]) -> Any:
    return lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Frames(frames))


STREAM = [
    event(1, delta({"role": "assistant", "content": ""})),
    event(2, delta({"content": "Hel"})),
    event(3, delta({"content": "lo", "reasoning_content": "r"})),
    event(
        4,
        delta(
            {
                "tool_calls": [
                    {"index": 0, "id": "t1", "type": "function", "function": {"name": "lookup", "arguments": '{"q"'}}
                ]
            }
        ),
    ),
    event(5, delta({"tool_calls": [{"index": 0, "function": {"arguments": ': "z"}'}}]})),
    event(6, delta({}, "tool_calls")),
    event(
        7, {"id": "s1", "model_id": "ibm/granite", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}
    ),
]


@pytest.mark.parametrize("tail", [[], ["data: [DONE]\n\n"]])
async def test_stream_ends_at_close_or_done(tail: list[str]) -> None:
    server = Server(Clock(), chat=streaming([*STREAM, *tail]))
    adapter = server.adapter()
    async with adapter.stream(ask(tools=[TOOL])) as stream:
        events = [e async for e in stream]
    response = stream.response
    assert isinstance(events[-1], StreamEnd)
    assert server.chat_requests[0].url.path == "/ml/v1/text/chat_stream"
    assert server.chat_requests[0].headers["accept"] == "text/event-stream"
    assert response.text == "Hello"
    assert response.thinking[0].text == "r"
    assert response.tool_calls[0].arguments == {"q": "z"}
    assert response.finish_reason == "tool_calls"
    assert response.usage.input_tokens == 9


async def test_stream_cut_before_finish_is_interrupted() -> None:
    server = Server(Clock(), chat=streaming(STREAM[:3]))
    with pytest.raises(StreamInterruptedError) as info:
        await drain(server.adapter(), ask())
    assert info.value.partial is not None
    assert info.value.partial.text == "Hello"


async def test_error_event_inside_a_stream() -> None:
    error = {"errors": [{"code": "token_quota_reached", "message": "quota"}], "trace": "abc", "status_code": 403}
    server = Server(Clock(), chat=streaming([STREAM[1], f"event: error\ndata: {json.dumps(error)}\n\n"]))
    with pytest.raises(QuotaExceededError) as info:
        await drain(server.adapter(), ask())
    assert info.value.in_stream
    assert info.value.partial is not None
    assert info.value.partial.text == "Hel"


@pytest.mark.parametrize("frame", ["data: not json\n\n", "data: [1]\n\n"])
async def test_bad_stream_frames(frame: str) -> None:
    server = Server(Clock(), chat=streaming([frame]))
    with pytest.raises(ResponseParseError):
        await drain(server.adapter(), ask())


# --- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            403,
            {"errors": [{"code": "token_quota_reached", "message": "Token quota reached"}], "trace": "t"},
            QuotaExceededError,
        ),
        (
            404,
            {"errors": [{"code": "model_not_supported", "message": "Model not supported"}], "trace": "t"},
            NotFoundError,
        ),
        (
            400,
            {"errors": [{"code": "json_validation_error", "message": "bad", "target": {"type": "field", "name": "x"}}]},
            InvalidRequestError,
        ),
        (500, "upstream failure", ServerError),
    ],
)
async def test_error_bodies(status: int, body: Any, expected: type[ProviderError]) -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)

    server = Server(Clock(), chat=chat)
    with pytest.raises(expected) as info:
        await server.adapter().complete(ask())
    assert type(info.value) is expected
    assert info.value.retryable is (status >= 500)


def test_error_details_shapes() -> None:
    first = error_details({"errors": [{"code": "c", "message": "m", "target": {"name": "x"}}], "status_code": 400}, "f")
    assert (first.message, first.code, first.param, first.status) == ("m", "c", '{"name": "x"}', 400)
    assert error_details({"error": {"message": "inner"}}, "f").message == "inner"
    assert error_details({"error": "flat"}, "f").message == "flat"
    assert error_details({}, "fallback").message == "fallback"
    assert error_details("", "fallback").message == "fallback"


async def test_token_provider_replaces_the_iam_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATSONX_API_KEY", raising=False)
    seen: list[str] = []

    def chat(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=answer())

    async def minted() -> str:
        return "cpd-token"

    for provider in (minted, lambda: "sync-token"):
        adapter = WatsonxAdapter(
            project_id="p", token_provider=provider, http_client=httpx.AsyncClient(transport=httpx.MockTransport(chat))
        )
        assert adapter.iam is None
        await adapter.complete(ask())
    assert seen == ["Bearer cpd-token", "Bearer sync-token"]


async def test_context_window_phrase() -> None:
    message = (
        "Invalid input argument for Model 'ibm/granite-3-3-8b-instruct': the number of input tokens 140000 "
        "cannot exceed the total tokens limit 131072 for this model"
    )
    body = {"errors": [{"code": "invalid_input_argument", "message": message}], "trace": "t", "status_code": 400}
    server = Server(Clock(), chat=lambda r: httpx.Response(400, json=body))
    with pytest.raises(ContextWindowExceededError):
        await server.adapter().complete(ask())


def test_token_provider_auth_is_async_only() -> None:
    auth = TokenProviderAuth(lambda: "t")
    with pytest.raises(RuntimeError):
        next(auth.sync_auth_flow(httpx.Request("GET", "https://x")))


async def test_json_mode_for_prompted_output() -> None:
    server = Server(Clock())
    native = NativeOutput(name="out", schema={"type": "object"}, strict=False, json_mode=True)
    await server.adapter().send(ask(), native)
    assert json.loads(server.chat_requests[0].content)["response_format"] == {"type": "json_object"}


async def test_concurrent_first_requests_share_one_exchange() -> None:
    import asyncio

    clock = Clock()
    server = Server(clock)

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)  # let the other requests reach the auth flow while this one waits
        return server(request)

    adapter = WatsonxAdapter(
        api_key=API_KEY, project_id="p", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )
    assert adapter.iam is not None
    adapter.iam.clock = clock
    responses = await asyncio.gather(*(adapter.complete(ask()) for _ in range(5)))
    assert [r.text for r in responses] == ["hello"] * 5
    assert server.issued == 1
