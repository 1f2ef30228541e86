"""A wire mapping that trips over a malformed answer surfaces `ResponseParseError`, never an untyped crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from accord.adapters._base import StreamDecoder, WireContext
from accord.adapters.openai_chat import OpenAIChatAdapter
from accord.contracts import Message, Request, Response, ResponseParseError, StreamEvent

REQUEST = Request(model="gpt-4o-mini", messages=[Message.user("hi")])


class _Tripping(StreamDecoder):
    def __init__(self, where: str) -> None:
        self.where = where

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        if self.where == "feed":
            raise TypeError("'int' object is not subscriptable")
        return []

    def close(self) -> list[StreamEvent]:
        raise KeyError("choices")

    def partial(self) -> Response:
        raise AssertionError("not reached")


class _Adapter(OpenAIChatAdapter):
    where = "feed"

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return payload["choices"][0]["message"]  # type: ignore[no-any-return]  # wrong shape → TypeError

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return _Tripping(self.where)


def _adapter(where: str, body: bytes) -> _Adapter:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))
    adapter = _Adapter(api_key="sk-test", http_client=client, max_retries=0)
    adapter.where = where
    return adapter


async def test_a_mapping_error_on_a_body_is_a_parse_error_with_the_raw_text() -> None:
    adapter = _adapter("feed", b'{"choices": 5}')
    with pytest.raises(ResponseParseError, match="not in the documented format") as caught:
        await adapter.complete(REQUEST)
    assert caught.value.raw == b'{"choices": 5}'


@pytest.mark.parametrize("where", ["feed", "close"])
async def test_a_mapping_error_in_a_stream_is_a_parse_error(where: str) -> None:
    adapter = _adapter(where, b"data: {}\n\n")

    async def read() -> None:
        async with adapter.stream(REQUEST) as stream:
            async for _ in stream:
                pass

    with pytest.raises(ResponseParseError, match="not in the documented format"):
        await read()


async def test_request_timeout_bounds_the_wait_for_a_streams_first_event() -> None:
    import asyncio

    from accord.contracts import RequestTimeoutError

    class _Stalling(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            await asyncio.sleep(5)
            yield b""

    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=_Stalling())))
    adapter = OpenAIChatAdapter(api_key="sk-test", http_client=client, max_retries=0)

    async def read() -> None:
        async with adapter.stream(REQUEST.with_(timeout=0.05)) as stream:
            async for _ in stream:
                pass

    with pytest.raises(RequestTimeoutError, match="no first event"):
        await asyncio.wait_for(read(), 2)
