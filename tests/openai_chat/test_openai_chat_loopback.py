"""The OpenAI Chat adapter against a real HTTP server on 127.0.0.1 that each test starts and stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from accord.adapters._retry import RetryPolicy
from accord.adapters.openai_chat import OpenAIChatAdapter
from accord.contracts import (
    ConnectError,
    Message,
    RateLimitError,
    Request,
    RequestTimeoutError,
    StreamInterruptedError,
    TextDelta,
    Tool,
    ToolCall,
)

from .helpers_openai_chat import KEY, Sleeps, chunk, completion, sse


@dataclass
class Script:
    """One scripted answer: a status line and headers, then body pieces, each after an optional pause."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    pieces: list[bytes] = field(default_factory=list)
    pause: float = 0.0  # before the head is sent
    chunked: bool = False  # Transfer-Encoding: chunked (else Connection: close delimits the body)
    cut: bool = False  # close the socket in the middle of the (chunked) body


class Loopback:
    def __init__(self) -> None:
        self.scripts: list[Script] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((lines[0], headers, json.loads(body or b"{}")))
            script = self.scripts.pop(0) if len(self.scripts) > 1 else self.scripts[0]
            await asyncio.sleep(script.pause)
            out = [f"HTTP/1.1 {script.status} X"]
            out += [f"{k}: {v}" for k, v in script.headers.items()]
            out.append("Transfer-Encoding: chunked" if script.chunked else "Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode())
            for piece in script.pieces:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if script.chunked else piece)
                await writer.drain()
                await asyncio.sleep(0.01)
            if script.cut:
                writer.transport.abort()
                return
            if script.chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Loopback]:
    loopback = Loopback()
    loopback.server = await asyncio.start_server(loopback.handle, "127.0.0.1", 0)
    try:
        yield loopback
    finally:
        loopback.server.close()
        await loopback.server.wait_closed()


def make(server: Loopback, **options: Any) -> tuple[OpenAIChatAdapter, Sleeps]:
    sleeps = Sleeps()
    options.setdefault("retry_policy", RetryPolicy(sleep=sleeps, rng=lambda: 0.0))
    return OpenAIChatAdapter(api_key=KEY, base_url=server.url, **options), sleeps


async def drain(a: OpenAIChatAdapter) -> None:
    async with a.stream(req()) as stream:
        async for _ in stream:
            pass


def req(**fields: Any) -> Request:
    return Request(model="gpt-4o-mini", messages=[Message.user("hi")], **fields)


async def test_complete_over_real_http(server: Loopback) -> None:
    payload = json.dumps(completion("Hi there")).encode()
    server.scripts.append(Script(headers={"content-type": "application/json", "x-request-id": "r1"}, pieces=[payload]))
    a, _ = make(server)
    try:
        response = await a.complete(req())
        again = await a.complete(req())
    finally:
        await a.aclose()
    line, headers, body = server.requests[0]
    assert line == "POST /v1/chat/completions HTTP/1.1"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["content-type"] == "application/json"
    assert body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert response.text == "Hi there"
    assert response.provider.request_id == "r1"
    assert again.text == "Hi there"


async def test_streaming_sse_in_many_reads(server: Loopback) -> None:
    data = sse(
        chunk({"content": "Hel"}),
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
        chunk({"content": "lo"}, finish="tool_calls"),
        chunk(None, usage={"prompt_tokens": 4, "completion_tokens": 3}),
        chunk(None, usage=None),
    )
    # split at awkward places, including inside a multi-byte character free region and across \n\n
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    server.scripts.append(Script(headers={"content-type": "text/event-stream"}, pieces=pieces, chunked=True))
    a, _ = make(server)
    try:
        async with a.stream(req(tools=[Tool(name="f")])) as stream:
            texts = [e.text async for e in stream if isinstance(e, TextDelta)]
        response = stream.response
    finally:
        await a.aclose()
    assert server.requests[0][2]["stream"] is True
    assert "".join(texts) == "Hello" == response.text
    assert response.tool_calls == [ToolCall(id="c1", name="f", arguments={"a": 1})]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (4, 3)


async def test_stream_cut_midway_gives_partial(server: Loopback) -> None:
    pieces = [sse(chunk({"content": "Once "}), done=False), sse(chunk({"content": "upon"}), done=False)]
    server.scripts.append(Script(headers={"content-type": "text/event-stream"}, pieces=pieces, chunked=True, cut=True))
    a, _ = make(server)
    try:
        with pytest.raises(StreamInterruptedError) as caught:
            await drain(a)
    finally:
        await a.aclose()
    assert caught.value.partial.text == "Once upon"
    assert len(server.requests) == 1


async def test_connection_closed_without_done_gives_partial(server: Loopback) -> None:
    pieces = [sse(chunk({"content": "half"}), done=False)]
    server.scripts.append(Script(headers={"content-type": "text/event-stream"}, pieces=pieces))
    a, _ = make(server)
    try:
        with pytest.raises(StreamInterruptedError, match=r"before \[DONE\]") as caught:
            await drain(a)
    finally:
        await a.aclose()
    assert caught.value.partial.text == "half"


async def test_read_timeout(server: Loopback) -> None:
    server.scripts.append(Script(pause=0.6, pieces=[b"{}"]))
    a, _ = make(server, timeout=httpx.Timeout(5.0, read=0.1), max_retries=0)
    try:
        with pytest.raises(RequestTimeoutError):
            await a.complete(req())
    finally:
        await a.aclose()


async def test_rate_limit_then_success_over_http(server: Loopback) -> None:
    limited = json.dumps({"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}})
    server.scripts += [
        Script(status=429, headers={"retry-after": "2", "content-type": "application/json"}, pieces=[limited.encode()]),
        Script(headers={"content-type": "application/json"}, pieces=[json.dumps(completion("ok")).encode()]),
    ]
    a, sleeps = make(server)
    try:
        response = await a.complete(req())
    finally:
        await a.aclose()
    assert response.text == "ok"
    assert response.attempts == 2
    assert sleeps.calls == [2.0]
    server.scripts[:] = [Script(status=429, headers={"retry-after": "1"}, pieces=[limited.encode()])]
    b, _ = make(server, max_retries=0)
    try:
        with pytest.raises(RateLimitError) as caught:
            await b.complete(req())
    finally:
        await b.aclose()
    assert caught.value.retry_after == 1.0
    assert caught.value.status == 429


async def test_connect_refused_is_a_connect_error() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    a = OpenAIChatAdapter(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    try:
        with pytest.raises(ConnectError):
            await a.complete(req())
    finally:
        await a.aclose()
