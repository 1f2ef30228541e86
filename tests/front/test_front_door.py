"""The front door: connect, model references, the registry and plugins, ask, and the sync twins."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import accord.adapters as adapters_pkg
from accord.adapters import _front, _registry
from accord.adapters._front import Model, ask, ask_sync, connect
from accord.adapters._registry import BUILTIN, ProviderEntry, adapter_factory, provider_names, split_ref
from accord.adapters._sync import SyncStream, run_sync
from accord.adapters.openai_chat import OpenAIChatAdapter, VendorSpec
from accord.contracts import ConfigurationError, Message, Request, StreamEnd, StreamInterruptedError, TextDelta

KEY = "sk-test-" + "f" * 32


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }


def stream_body(*texts: str) -> bytes:
    frames = [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in texts]
    frames.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return ("".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n").encode()


def answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    prompt = body["messages"][-1]["content"]
    if body.get("stream"):
        return httpx.Response(200, content=stream_body("echo: ", prompt))
    return httpx.Response(200, json=completion(f"echo: {prompt}"))


@pytest.fixture(autouse=True)
def fresh_front(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_front, "_SHARED", {})
    _registry._plugins.cache_clear()
    yield
    _registry._plugins.cache_clear()


def mock_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


# --- references and connect --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("openai/gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0", ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0")),
        ("openrouter:meta-llama/llama-3-70b", ("openrouter", "meta-llama/llama-3-70b")),
        ("openrouter/meta-llama/llama-3-70b:free", ("openrouter", "meta-llama/llama-3-70b:free")),
        ("ollama:llama3.2:3b", ("ollama", "llama3.2:3b")),
    ],
)
def test_split_ref(ref: str, expected: tuple[str, str]) -> None:
    assert split_ref(ref) == expected


@pytest.mark.parametrize(
    ("ref", "match"), [("gpt-4o", "needs a provider"), (":x", "needs a provider"), ("openai:", "names no model")]
)
def test_bad_refs(ref: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        split_ref(ref)


async def test_connect_both_spellings_and_complete() -> None:
    for ref in ("openai:gpt-4o-mini", "openai/gpt-4o-mini"):
        model = connect(ref, api_key=KEY, http_client=mock_client())
        assert isinstance(model, Model)
        assert model.provider == "openai"
        assert model.model == "gpt-4o-mini"
        assert repr(model) == "Model(openai:gpt-4o-mini)"
        assert KEY not in repr(model)
        assert model.profile.model == "gpt-4o-mini"
        response = await model.complete("hello", max_tokens=5)
        assert response.text == "echo: hello"
        await model.aclose()


def test_missing_key_names_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        connect("openai:gpt-4o-mini")


def test_env_key_and_shared_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    a = connect("openai:gpt-4o-mini")
    b = connect("openai:gpt-4o")
    assert a.adapter is b.adapter  # one pool per (provider, base URL, key)
    assert connect("openai:gpt-4o", base_url="http://127.0.0.1:1/v1").adapter is not a.adapter
    assert connect("openai:gpt-4o", api_key="other").adapter is not a.adapter
    assert connect("openai:gpt-4o", max_retries=0).adapter is not a.adapter  # own options: own adapter
    assert isinstance(a.adapter, OpenAIChatAdapter)
    assert a.adapter.api_key is not None
    assert a.adapter.api_key.get_secret_value() == KEY


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown provider 'nope'; known providers: .*openai"):
        connect("nope:model")
    assert {"openai", "anthropic", "gemini", "bedrock", "groq"} <= set(provider_names())


async def test_model_request_building() -> None:
    model = connect("openai:gpt-4o-mini", api_key=KEY, http_client=mock_client())
    built = model.request("hi", temperature=0.1)
    assert built.model == "gpt-4o-mini"
    assert built.temperature == 0.1
    assert built.messages == [Message.user("hi")]
    from_messages = model.request([Message.system("s"), Message.user("u")])
    assert [m.role for m in from_messages.messages] == ["system", "user"]
    given = Request(messages=[Message.user("x")])
    assert model.request(given).model == "gpt-4o-mini"
    pinned = Request(model="gpt-4o", messages=[Message.user("x")])
    assert model.request(pinned) is pinned
    assert model.request(pinned, max_tokens=3).max_tokens == 3
    async with model.stream("streamed") as stream:
        texts = [e.text async for e in stream if isinstance(e, TextDelta)]
    assert "".join(texts) == "echo: streamed" == stream.response.text


# --- plugins -----------------------------------------------------------------------------------------------


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name = name
        self.target = target
        self.loaded = 0

    def load(self) -> Any:
        self.loaded += 1
        return self.target


def plugin_factory(**options: Any) -> OpenAIChatAdapter:
    vendor = VendorSpec(name="acme", base_url="https://acme.test/v1", env_var="ACME_KEY", requires_key=False)
    return OpenAIChatAdapter(vendor=vendor, http_client=mock_client(), **options)


async def test_entry_point_plugins_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [FakeEntryPoint("acme", plugin_factory), FakeEntryPoint("broken", 42), FakeEntryPoint("openai", None)]
    groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return points

    monkeypatch.setattr(_registry, "entry_points", fake_entry_points)
    assert "acme" in provider_names()
    assert groups == ["accord.adapters"]
    model = connect("acme:some/model:v1")
    assert model.provider == "acme"
    assert model.model == "some/model:v1"
    assert (await model.complete("ping")).text == "echo: ping"
    with pytest.raises(ConfigurationError, match="does not name an adapter class or factory"):
        connect("broken:m")
    # a plugin cannot replace a built-in
    assert adapter_factory("openai") is OpenAIChatAdapter
    assert points[2].loaded == 0


def test_provider_entry_presets_options() -> None:
    entry = ProviderEntry("accord.adapters.openai_chat:OpenAIChatAdapter", {"base_url": "http://127.0.0.1:9/v1"})
    adapter = entry.load()(api_key=KEY)
    assert isinstance(adapter, OpenAIChatAdapter)
    assert adapter.base_url == "http://127.0.0.1:9/v1"
    assert set(BUILTIN) >= {"openai", "openai-responses", "azure", "anthropic", "gemini", "bedrock", "ollama"}


# --- ask and the sync twins --------------------------------------------------------------------------------


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "entry_points", lambda *, group: [FakeEntryPoint("acme", plugin_factory)])


async def test_ask(acme: None) -> None:
    assert await ask("acme:m", "what?") == "echo: what?"


def test_sync_twins_outside_a_loop(acme: None) -> None:
    model = connect("acme:m")
    assert model.complete_sync("one").text == "echo: one"
    assert ask_sync("acme:m", "two") == "echo: two"
    with model.stream_sync("three") as stream:
        events = list(stream)
    assert isinstance(events[-1], StreamEnd)
    assert stream.response.text == "echo: three"


async def test_sync_twins_inside_a_running_loop(acme: None) -> None:
    # the Jupyter case: a loop is already running in this thread
    asyncio.get_running_loop()
    model = connect("acme:m")
    assert model.complete_sync("in loop").text == "echo: in loop"
    assert ask_sync("acme:m", "also") == "echo: also"
    stream = model.stream_sync("iterated")
    texts = [e.text for e in stream if isinstance(e, TextDelta)]
    assert "".join(texts) == "echo: iterated"
    assert stream.response.text == "echo: iterated"
    stream.close()  # already closed by the iteration: a no-op


def test_sync_stream_edges(acme: None) -> None:
    model = connect("acme:m")
    unopened = model.stream_sync("never")
    with pytest.raises(RuntimeError, match="never opened"):
        _ = unopened.response
    unopened.close()
    with model.stream_sync("partial") as stream:
        first = next(iter(stream))
    assert isinstance(first, TextDelta)

    async def boom() -> None:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        run_sync(boom())
    assert isinstance(SyncStream, type)


# --- import cost -------------------------------------------------------------------------------------------


def test_import_accord_adapters_loads_no_wire_module_or_optional_dependency() -> None:
    code = "import sys, json, accord.adapters; print(json.dumps(sorted(m for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(json.loads(out))
    loaded_accord = {m for m in modules if m.startswith("accord.")}
    assert loaded_accord <= {"accord.adapters"}, loaded_accord
    for heavy in ("aiohttp", "botocore", "opentelemetry", "rich", "boto3"):
        assert not any(m == heavy or m.startswith(heavy + ".") for m in modules), heavy


def test_lazy_names() -> None:
    assert adapters_pkg.connect is connect
    assert "connect" in dir(adapters_pkg)
    assert "__version__" in adapters_pkg.__all__
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = adapters_pkg.nope  # type: ignore[attr-defined]


class SlowSSE(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        frames = [{"choices": [{"index": 0, "delta": {"content": t}}]} for t in ("a", "b", "c")]
        frames.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        with contextlib.suppress(OSError):
            for frame in frames:
                self.wfile.write(f"data: {json.dumps(frame)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


def test_sync_stream_resumes_after_next_iter_over_a_real_connection() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SlowSSE)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        model = connect("openai:gpt-4o-mini", api_key=KEY, base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1")
        stream = model.stream_sync("x")
        first = next(iter(stream))  # the throwaway iterator must not close the connection
        rest = list(stream)
        assert isinstance(first, TextDelta)
        assert first.text == "a"
        assert [type(e) for e in rest] == [TextDelta, TextDelta, StreamEnd]
        assert stream.response.text == "abc"
        assert list(stream) == []  # exhausted and closed
        run_sync(model.aclose())
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_sync_stream_error_closes_and_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    cut = b'data: {"choices": [{"index": 0, "delta": {"content": "half"}}]}\n\n'

    def factory(**options: Any) -> OpenAIChatAdapter:
        client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=cut)))
        return OpenAIChatAdapter(api_key=KEY, http_client=client, **options)

    monkeypatch.setattr(_registry, "entry_points", lambda *, group: [FakeEntryPoint("cut", factory)])
    stream = connect("cut:m").stream_sync("x")
    events: list[Any] = []
    with pytest.raises(StreamInterruptedError) as caught:
        events.extend(stream)
    assert caught.value.partial.text == "half"
    assert [type(e) for e in events] == [TextDelta]
    assert list(stream) == []  # closed after the error
