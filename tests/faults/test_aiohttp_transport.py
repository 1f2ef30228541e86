"""accord's aiohttp-backed httpx transport: httpx semantics kept (redirects, encodings, errors, pool release)."""

from __future__ import annotations

import gzip
import sys

import httpx
import pytest
from faultkit_server import FaultServer, refused_url, respond, stream

from accord.contracts import ConfigurationError

pytest.importorskip("aiohttp")

from accord.adapters._aiohttp import AiohttpTransport


def test_missing_aiohttp_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(ConfigurationError, match="aiohttp"):
        AiohttpTransport()


async def test_answers_redirects_and_encodings_like_httpx() -> None:
    body = b'{"ok": true}'
    script = [
        respond(301, b"", (("Location", "/elsewhere"),)),
        respond(200, gzip.compress(body), (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))),
        stream((b"a" * 10, b"b" * 10), "text/plain", then="stall"),
    ]
    transport = AiohttpTransport(verify=False, trust_env=False)
    assert transport.busy() == 0
    async with FaultServer(script=script) as server, httpx.AsyncClient(transport=transport) as client:
        moved = await client.post(server.url + "/x", json={"q": 1})
        assert moved.status_code == 301  # not followed: the caller decides, as with httpx's own transport
        assert moved.headers["location"] == "/elsewhere"
        decoded = await client.get(server.url + "/y", headers={"X-Probe": "1"})
        assert decoded.json() == {"ok": True}
        assert server.received[1].headers["x-probe"] == "1"
        assert server.received[0].body == b'{"q":1}'
        async with client.stream("GET", server.url + "/z") as streamed:
            first = await anext(streamed.aiter_raw())
            assert b"a" * 10 in first
            assert transport.busy() == 1  # the body is still open: its connection is lent out
        assert transport.busy() == 0  # left half-read: the connection is dropped, not pooled
        assert await server.idle()
    assert transport.busy() == 0


async def test_connection_refused_is_httpx_connect_error() -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport(trust_env=False)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(refused_url())


async def test_read_timeout_is_httpx_read_timeout() -> None:
    from faultkit_server import stall_before_headers

    async with FaultServer(script=[stall_before_headers()]) as server:
        transport = AiohttpTransport(trust_env=False)
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(2.0, read=0.1)) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url)


async def test_vcr_cassettes_record_and_replay_through_it(tmp_path: object) -> None:
    """vcrpy intercepts aiohttp under this transport, so cassette replay keeps working if it becomes the default."""
    vcr = pytest.importorskip("vcr")
    from pathlib import Path

    from faultkit_wires import ROWS

    row = ROWS[0]
    cassette = str(Path(str(tmp_path)) / "aiohttp.yaml")
    shape = row.stream(("a", "b"))

    async def calls(url: str) -> tuple[str, bytes]:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            answer = await client.post(url + "/v1/chat/completions", json={"n": 1})
            async with client.stream("POST", url + "/v1/chat/completions", json={"n": 2}) as streamed:
                body = b"".join([chunk async for chunk in streamed.aiter_bytes()])
            return answer.json()["choices"][0]["message"]["content"], body

    script = [respond(200, row.success("hello")), stream(shape.frames, row.content_type)]
    async with FaultServer(script=script) as server:
        with vcr.use_cassette(cassette, record_mode="all"):
            recorded = await calls(server.url)
        url = server.url
    with vcr.use_cassette(cassette, record_mode="none"):
        replayed = await calls(url)  # the server is gone: only the cassette can answer
    assert recorded == replayed
    assert replayed[0] == "hello"
    assert replayed[1] == b"".join(shape.frames)
