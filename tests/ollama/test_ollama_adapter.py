"""Ollama native `/api/chat`: request mapping, NDJSON streaming (any chunk split), errors, discovery."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.adapters import connect
from accord.adapters._base import NativeOutput
from accord.adapters.ollama import (
    ChatStreamDecoder,
    OllamaAdapter,
    error_details,
    list_models,
    map_finish,
    profile_from_show,
    show_profile,
)
from accord.contracts import (
    AuthenticationError,
    ImagePart,
    InvalidRequestError,
    Message,
    ModelProfile,
    NotFoundError,
    Reasoning,
    Request,
    ResponseParseError,
    ServerError,
    StreamEnd,
    StreamInterruptedError,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCall,
    ToolCallEnd,
    ToolChoice,
    UnsupportedFeatureError,
)

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER = Tool(
    name="get.weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class Recorder:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result: httpx.Response = self.answer(request)
        return result

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[-1].content)
        return data

    def adapter(self, **options: Any) -> OllamaAdapter:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return OllamaAdapter(http_client=client, max_retries=0, **options)


class Lines(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk


def ndjson(*objects: Any, split: int | None = None) -> Any:
    raw = b"".join(json.dumps(o).encode() + b"\n" for o in objects)
    chunks = [raw] if split is None else [raw[i : i + split] for i in range(0, len(raw), split)]
    return lambda request: httpx.Response(200, headers={"content-type": "application/x-ndjson"}, stream=Lines(chunks))


def final(content: str = "", reason: str = "stop", **message: Any) -> dict[str, Any]:
    return {
        "model": "llama3.2",
        "message": {"role": "assistant", "content": content, **message},
        "done": True,
        "done_reason": reason,
        "prompt_eval_count": 12,
        "eval_count": 5,
        "total_duration": 1000,
    }


def ask(text: str = "hi", **fields: Any) -> Request:
    return Request(model=fields.pop("model", "llama3.2"), messages=[Message.user(text)], **fields)


async def collect(adapter: OllamaAdapter, request: Request) -> Any:
    async with adapter.stream(request) as stream:
        events = [e async for e in stream]
    return stream.response, events


# --- request mapping -----------------------------------------------------------------------------------------


async def test_request_body_maps_options_tools_images_and_history() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    history = [
        Message.user([TextPart(text="look"), ImagePart(data=PIXEL, media_type="image/png")]),
        Message.assistant(
            [ThinkingPart(text="mine", provider="ollama"), ThinkingPart(text="theirs", provider="anthropic")],
            tool_calls=[
                ToolCall(id="c1", name="get.weather", arguments={"city": "Paris"}),
                ToolCall(id="c2", name="get.weather", arguments={}, raw_arguments='{"city": "Ly'),
            ],
        ),
        Message.tool("c1", "sunny"),
        Message.tool("c2", "orphan", is_error=True),
    ]
    request = Request(
        model="llama3.2-vision",
        system="be brief",
        messages=history,
        tools=[WEATHER],
        max_tokens=20,
        temperature=0.1,
        top_p=0.5,
        seed=3,
        stop=["END"],
        provider_options={"ollama": {"keep_alive": "5m", "options": {"num_ctx": 8192, "temperature": 0.7}}},
    )
    adapter = recorder.adapter(profile=ModelProfile(supports_tools=True))
    response = await adapter.complete(request)
    body = recorder.body
    assert str(recorder.requests[0].url) == "http://localhost:11434/api/chat"
    assert body["stream"] is False
    assert body["keep_alive"] == "5m"
    assert body["options"] == {
        "num_predict": 20,
        "temperature": 0.7,
        "top_p": 0.5,
        "seed": 3,
        "stop": ["END"],
        "num_ctx": 8192,
    }
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["messages"][1] == {"role": "user", "content": "look", "images": [PIXEL]}
    assert body["messages"][2] == {
        "role": "assistant",
        "content": "",
        "thinking": "mine",
        "tool_calls": [
            {"function": {"name": "get.weather", "arguments": {"city": "Paris"}}},
            {"function": {"name": "get.weather", "arguments": {}}},
        ],
    }
    assert body["messages"][3] == {"role": "tool", "content": "sunny", "tool_name": "get.weather"}
    assert body["messages"][4] == {"role": "tool", "content": "Error: orphan", "tool_name": "get.weather"}
    assert body["tools"][0]["function"]["name"] == "get.weather"  # Ollama accepts dots: no renaming
    assert response.text == "ok"
    assert response.id == "ollama"  # no created_at in this answer
    assert "authorization" not in recorder.requests[0].headers


async def test_tool_choice_none_sends_no_tools_and_forcing_is_refused() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    adapter = recorder.adapter()
    await adapter.complete(ask(tools=[WEATHER], tool_choice=ToolChoice(mode="none")))
    assert "tools" not in recorder.body
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(ask(tools=[WEATHER], tool_choice=ToolChoice(mode="specific", names=["get.weather"])))
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(ask(tools=[WEATHER], tool_choice=ToolChoice(mode="required")))
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(ask(tools=[WEATHER], parallel_tool_calls=False))
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("reasoning", "think"),
    [
        (Reasoning(effort="high"), "high"),
        (Reasoning(effort="max"), "max"),
        (Reasoning(effort="none"), False),
        (Reasoning(effort="xhigh"), True),
    ],
)
async def test_think(reasoning: Reasoning, think: Any) -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok", thinking="because")))
    response = await recorder.adapter().complete(ask(model="qwen3", reasoning=reasoning))
    assert recorder.body["think"] == think
    assert response.thinking[0].text == "because"
    assert response.thinking[0].provider == "ollama"


async def test_think_refuses_a_token_budget_and_image_urls() -> None:
    adapter = Recorder(lambda r: httpx.Response(200, json=final())).adapter()
    with pytest.raises(UnsupportedFeatureError):
        await adapter.complete(ask(model="qwen3", reasoning=Reasoning(budget_tokens=100)))
    with pytest.raises(UnsupportedFeatureError, match="base64"):
        await adapter.complete(
            Request(model="llava", messages=[Message.user([ImagePart(url="https://x.example/a.png")])])
        )


async def test_native_output_is_the_format_schema() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final('{"a": 1}')))
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    response = await recorder.adapter().send(ask(), NativeOutput(name="out", schema=schema, strict=True))
    assert recorder.body["format"] == schema
    assert response.text == '{"a": 1}'


# --- response mapping ----------------------------------------------------------------------------------------


async def test_tool_calls_as_objects_deduped_and_finish_mapped() -> None:
    call = {"function": {"name": "get.weather", "arguments": {"city": "Oslo"}}}
    recorder = Recorder(lambda r: httpx.Response(200, json=final("", tool_calls=[call, call])))
    response = await recorder.adapter().complete(ask(tools=[WEATHER]))
    assert [c.arguments for c in response.tool_calls] == [{"city": "Oslo"}]
    assert response.tool_calls[0].id == "call_0"
    assert response.finish_reason == "tool_calls"
    assert response.provider_finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 5)
    assert response.provider.extra == {"total_duration": 1000}


def test_finish_map() -> None:
    assert map_finish("stop", False) == "stop"
    assert map_finish(None, True) == "tool_calls"
    assert map_finish("length", True) == "length"
    assert map_finish("load", False) == "other"
    assert map_finish("something-new", False) == "other"


async def test_string_arguments_and_given_ids() -> None:
    calls = [{"id": "abc", "function": {"name": "get.weather", "arguments": '{"city": "Rome"}'}}]
    recorder = Recorder(lambda r: httpx.Response(200, json=final("", tool_calls=calls)))
    response = await recorder.adapter().complete(ask(tools=[WEATHER]))
    assert response.tool_calls[0].id == "abc"
    assert response.tool_calls[0].arguments == {"city": "Rome"}


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", 7])
async def test_bad_tool_arguments_are_a_parse_error(arguments: Any) -> None:
    calls = [{"function": {"name": "get.weather", "arguments": arguments}}]
    recorder = Recorder(lambda r: httpx.Response(200, json=final("", tool_calls=calls)))
    with pytest.raises(ResponseParseError):
        await recorder.adapter().complete(ask(tools=[WEATHER]))


async def test_not_a_chat_answer() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json={"unexpected": True}))
    with pytest.raises(ResponseParseError):
        await recorder.adapter().complete(ask())
    recorder = Recorder(lambda r: httpx.Response(200, json={"error": "model crashed"}))
    with pytest.raises(ServerError, match="model crashed"):
        await recorder.adapter().complete(ask())


# --- streaming -----------------------------------------------------------------------------------------------

STREAM = [
    {"model": "qwen3", "message": {"role": "assistant", "content": "", "thinking": "Hmm, "}, "done": False},
    {"model": "qwen3", "message": {"role": "assistant", "content": "", "thinking": "ünïcode"}, "done": False},
    {"model": "qwen3", "message": {"role": "assistant", "content": "Héllo"}, "done": False},
    {"model": "qwen3", "message": {"role": "assistant", "content": " wörld"}, "done": False},
    {
        "model": "qwen3",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get.weather", "arguments": {"city": "Köln"}}}],
        },
        "done": False,
    },
    {
        "model": "qwen3",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get.weather", "arguments": {"city": "Köln"}}}],
        },
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 20,
        "eval_count": 8,
    },
]


def _decode(raw: bytes, cuts: list[int]) -> list[Any]:
    adapter = OllamaAdapter()
    ctx = adapter._context(ask(model="qwen3", tools=[WEATHER]), None, streaming=True)
    decoder = ChatStreamDecoder(adapter, ctx, {})
    events: list[Any] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(raw)]:
        events.extend(decoder.feed(raw[start:cut]))
        start = cut
    events.extend(decoder.close())
    return events


RAW = b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in STREAM)


@given(st.lists(st.integers(min_value=0, max_value=len(RAW)), max_size=12))
def test_any_chunk_split_gives_the_same_response(cuts: list[int]) -> None:
    events = _decode(RAW, cuts)
    end = events[-1]
    assert isinstance(end, StreamEnd)
    response = end.response
    assert response.text == "Héllo wörld"
    assert response.thinking[0].text == "Hmm, ünïcode"
    assert [c.arguments for c in response.tool_calls] == [{"city": "Köln"}]
    assert response.finish_reason == "tool_calls"
    assert response.usage.input_tokens == 20
    assert sum(isinstance(e, ToolCallEnd) for e in events) == 1


async def test_stream_through_the_adapter_with_tiny_chunks() -> None:
    recorder = Recorder(ndjson(*STREAM, split=7))
    response, events = await collect(recorder.adapter(), ask(model="qwen3", tools=[WEATHER]))
    assert recorder.body["stream"] is True
    assert response.text == "Héllo wörld"
    assert isinstance(events[-1], StreamEnd)


async def test_error_line_inside_a_stream() -> None:
    recorder = Recorder(
        ndjson(
            {"message": {"role": "assistant", "content": "par"}, "done": False},
            {"error": "an error was encountered while running the model"},
        )
    )
    with pytest.raises(ServerError) as info:
        await collect(recorder.adapter(), ask())
    assert info.value.in_stream


async def test_error_line_after_some_output_keeps_the_partial() -> None:
    class Split(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b'{"message": {"role": "assistant", "content": "par"}, "done": false}\n'
            yield b'{"error": "boom"}\n'

    recorder = Recorder(lambda r: httpx.Response(200, stream=Split()))
    with pytest.raises(ServerError) as info:
        await collect(recorder.adapter(), ask())
    assert info.value.partial is not None
    assert info.value.partial.text == "par"


async def test_stream_without_done_is_interrupted() -> None:
    recorder = Recorder(ndjson({"message": {"role": "assistant", "content": "cut"}, "done": False}))
    with pytest.raises(StreamInterruptedError) as info:
        await collect(recorder.adapter(), ask())
    assert info.value.partial is not None
    assert info.value.partial.text == "cut"


@pytest.mark.parametrize("line", [b"not json\n", b"[1]\n", b"\xff\xfe\n"])
async def test_bad_stream_lines(line: bytes) -> None:
    recorder = Recorder(lambda r: httpx.Response(200, stream=Lines([line])))
    with pytest.raises(ResponseParseError):
        await collect(recorder.adapter(), ask())


def test_lines_after_done_are_ignored() -> None:
    raw = RAW + b'{"message": {"content": "late"}, "done": false}\n'
    events = _decode(raw, [])
    assert events[-1].response.text == "Héllo wörld"


def test_last_line_without_newline() -> None:
    events = _decode(RAW.rstrip(b"\n"), [5])
    assert events[-1].response.finish_reason == "tool_calls"


# --- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"error": "model 'nope' not found, try pulling it first"}, NotFoundError),
        (400, {"error": "registry.ollama.ai/library/gemma3 does not support tools"}, InvalidRequestError),
        (401, {"error": {"message": "unauthorized", "type": "auth"}}, AuthenticationError),
        (502, "Bad Gateway", ServerError),
    ],
)
async def test_error_statuses(status: int, body: Any, expected: type[Exception]) -> None:
    recorder = Recorder(
        lambda r: httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)
    )
    with pytest.raises(expected) as info:
        await recorder.adapter().complete(ask())
    assert type(info.value) is expected


def test_error_details_fallbacks() -> None:
    assert error_details({}, "HTTP 500").message == "HTTP 500"
    assert error_details("", "HTTP 500").message == "HTTP 500"


# --- configuration and discovery -----------------------------------------------------------------------------


async def test_base_url_from_ollama_host_and_cloud_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:11434")
    monkeypatch.setenv("OLLAMA_API_KEY", "cloud-key")
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    await recorder.adapter().complete(ask())
    assert str(recorder.requests[0].url) == "http://gpu-box:11434/api/chat"
    assert recorder.requests[0].headers["authorization"] == "Bearer cloud-key"


async def test_connect_with_a_tag_in_the_model_id() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    model = connect("ollama:llama3.2:3b", http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)))
    await model.complete("hi")
    assert recorder.body["model"] == "llama3.2:3b"


async def test_a_local_server_costs_nothing_per_token() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    response = await recorder.adapter().complete(ask(model="llama3.2:3b"))
    assert response.usage.input_tokens == 12
    assert response.cost == 0.0


async def test_ollama_cloud_bills_by_subscription_so_its_cost_is_unknown() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    response = await recorder.adapter(base_url="https://ollama.com", api_key="k").complete(ask(model="gpt-oss:120b"))
    assert response.usage.output_tokens == 5
    assert response.cost is None


async def test_a_price_the_user_sets_wins_on_ollama_cloud() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=final("ok")))
    priced = ModelProfile(pricing={"input": 1.0, "output": 2.0})
    adapter = recorder.adapter(base_url="https://ollama.com", api_key="k", profile=priced)
    response = await adapter.complete(ask())
    assert response.cost == pytest.approx((12 * 1.0 + 5 * 2.0) / 1_000_000)


TAGS = {"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}, {"name": "qwen3:8b"}, {"size": 1}, "junk"]}
SHOW = {
    "capabilities": ["completion", "tools", "thinking"],
    "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960},
}


def discovery(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/tags":
        return httpx.Response(200, json=TAGS)
    if request.url.path == "/api/show":
        if json.loads(request.content)["model"] == "missing":
            return httpx.Response(404, json={"error": "model 'missing' not found"})
        return httpx.Response(200, json=SHOW)
    return httpx.Response(200, json=[1])


async def test_discovery_functions() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(discovery))
    assert await list_models(client) == ["llama3.2:latest", "qwen3:8b"]
    profile = await show_profile(client, "qwen3:8b")
    assert profile.supports_tools is True
    assert profile.supports_reasoning is True
    assert profile.supports_vision is False
    assert profile.max_context == 40960
    assert profile.model_fields_set >= {"supports_tools", "supports_vision", "max_context"}
    with pytest.raises(NotFoundError):
        await show_profile(client, "missing")
    with pytest.raises(ResponseParseError):
        await list_models(client, "http://localhost:11434/other")


async def test_discovery_through_the_adapter_layers_over_the_catalog() -> None:
    recorder = Recorder(discovery)
    adapter = recorder.adapter(api_key="k")
    assert await adapter.list_models() == ["llama3.2:latest", "qwen3:8b"]
    layer = await adapter.show_profile("qwen3:8b")
    merged = adapter.profile("qwen3:8b").merged_with(layer)
    assert merged.max_context == 40960
    assert merged.schema_dialect == "ollama"  # catalog facts the layer does not state survive
    assert recorder.requests[0].headers["authorization"] == "Bearer k"


def test_profile_from_show_without_facts_sets_nothing() -> None:
    layer = profile_from_show("m", {"model_info": {"x.context_length": "big"}})
    assert layer.model_fields_set == {"provider", "model"}
