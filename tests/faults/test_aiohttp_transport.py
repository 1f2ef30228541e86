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
