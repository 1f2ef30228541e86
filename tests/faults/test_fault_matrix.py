"""The fault matrix: every wire protocol against a misbehaving loopback server, typed errors and bounded retries."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from faultkit_harness import FAST, build, busy_connections, request, server_for, tasks_now
from faultkit_server import (
    FaultServer,
    endless,
    refused_url,
    reset_before_headers,
    reset_mid_body,
    respond,
    stall_before_headers,
    stream,
)
from faultkit_wires import JSON_CT, ROWS, WireRow

from accord.contracts import (
    ConnectError,
    OverloadedError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ResponseParseError,
    ServerError,
    StreamEnd,
    StreamInterruptedError,
    TextDelta,
    TransportError,
)

# Every wire on httpx's own transport; one wire per framing also on the
# aiohttp transport (SSE, NDJSON, event-stream), so the typed errors hold whichever transport is used.
_AIOHTTP_ROWS = ("openai", "ollama", "bedrock")
WIRES = [pytest.param(row, id=row.id) for row in ROWS] + [
    pytest.param(replace(row, transport="aiohttp"), id=f"{row.provider}-aiohttp")
    for row in ROWS
    if row.provider in _AIOHTTP_ROWS
]
TEXTS = ("Hel", "lo, ", "wor", "ld", "!")
FULL = "".join(TEXTS)


@asynccontextmanager
async def rig(
    row: WireRow, script: list[Any], monkeypatch: pytest.MonkeyPatch, **options: Any
) -> AsyncIterator[tuple[FaultServer, Any, Any]]:
    """Server + adapter; on exit: no busy pooled connection, every socket closed, no task left behind."""
    before = tasks_now()
    async with server_for(row, script) as server:
        adapter, rec = build(row, server.url, monkeypatch=monkeypatch, **options)
        try:
            yield server, adapter, rec
            assert busy_connections(adapter) == 0, "a pooled connection is still in use"
        finally:
            await adapter.aclose()
        assert await server.idle(), "the client left a connection open"
    # Abandoned async generators are finalized in tasks of their own: give those a moment, then nothing may remain.
    extra = tasks_now() - before
    if extra:
        await asyncio.wait(extra, timeout=1.0)
    assert tasks_now() <= before, f"leaked tasks: {tasks_now() - before}"


async def consume(adapter: Any, row: WireRow) -> tuple[list[Any], Any]:
    events: list[Any] = []
    async with adapter.stream(request(row)) as s:
        async for event in s:
            events.append(event)
        return events, s.response


async def collect(adapter: Any, row: WireRow, events: list[Any]) -> None:
    """Read a stream into `events` (kept by the caller when the stream raises)."""
    async with adapter.stream(request(row)) as s:
        async for event in s:
            events.append(event)


def text_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- the rows themselves are right -----------------------------------------------------------------------------


@pytest.mark.parametrize("row", WIRES)
async def test_success_complete_and_stream(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(TEXTS)
    script = [respond(200, row.success(FULL)), stream(shape.frames, row.content_type)]
    async with rig(row, script, monkeypatch) as (server, adapter, rec):
        response = await adapter.complete(request(row))
        assert response.text == FULL
        assert response.attempts == 1
        events, streamed = await consume(adapter, row)
        assert text_of(events) == FULL == streamed.text
        assert isinstance(events[-1], StreamEnd)
        assert streamed.attempts == 1
        assert server.requests == 2
        assert rec.sleeps == []


# --- connection-level faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("row", WIRES)
async def test_refused_connection_is_retried_then_connect_error(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter, rec = build(row, refused_url(), max_retries=2, monkeypatch=monkeypatch)
    try:
        with pytest.raises(ConnectError) as info:
            await adapter.complete(request(row))
        assert info.value.retryable
        assert rec.attempts == 3
        assert len(rec.sleeps) == 2
        with pytest.raises(ConnectError):
            async with adapter.stream(request(row)):
                pass
        assert rec.attempts == 6
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("row", WIRES)
async def test_reset_before_headers_retried_until_success(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    script = [reset_before_headers(), reset_before_headers(), respond(200, row.success(FULL))]
    async with rig(row, script, monkeypatch, max_retries=2) as (server, adapter, rec):
        response = await adapter.complete(request(row))
        assert response.text == FULL
        assert response.attempts == 3 == server.requests
        assert len(rec.sleeps) == 2


@pytest.mark.parametrize("row", WIRES)
async def test_reset_before_headers_exhausts_retries(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(row, [reset_before_headers()] * 3, monkeypatch, max_retries=2) as (server, adapter, rec):
        with pytest.raises(TransportError):
            await adapter.complete(request(row))
        assert server.requests == 3
        assert rec.attempts == 3
        assert len(rec.sleeps) == 2


@pytest.mark.parametrize("row", WIRES)
async def test_reset_mid_body_is_transport_error(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    body = row.success(FULL * 50)
    async with rig(row, [reset_mid_body(body, keep=len(body) // 2)], monkeypatch, max_retries=0) as (server, a, _):
        with pytest.raises(TransportError):
            await a.complete(request(row))
        assert server.requests == 1


@pytest.mark.parametrize("row", WIRES)
async def test_stall_before_first_byte_times_out(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    script = [stall_before_headers(), stall_before_headers()]
    async with rig(row, script, monkeypatch, max_retries=1, timeout=FAST) as (server, adapter, rec):
        started = time.perf_counter()
        with pytest.raises(RequestTimeoutError):
            await adapter.complete(request(row))
        assert time.perf_counter() - started < 4.0  # the server stalls 5 s: only the read timeout ends it sooner
        assert server.requests == 2
        assert len(rec.sleeps) == 1


# --- bad bodies ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", WIRES)
@pytest.mark.parametrize(
    "kind",
    ["truncated", "not_json", "wrong_shape", "invalid_utf8"],
)
async def test_bad_body_is_response_parse_error_not_retried(
    row: WireRow, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = row.success(FULL)
    body = {
        "truncated": good[: len(good) // 2],
        "not_json": b"<html>502 Bad Gateway</html>",
        "wrong_shape": b'{"unexpected": [1, 2, 3]}',
        "invalid_utf8": good.replace(FULL.encode(), b"Hel\xff\xfelo"),
    }[kind]
    async with rig(row, [respond(200, body)], monkeypatch) as (server, adapter, rec):
        with pytest.raises(ResponseParseError):
            await adapter.complete(request(row))
        assert server.requests == 1
        assert rec.sleeps == []


@pytest.mark.parametrize("row", WIRES)
async def test_corrupt_gzip_is_typed(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    bad = gzip.compress(row.success(FULL))[:-12] + b"garbage!" * 4
    async with rig(row, [respond(200, bad, headers)] * 3, monkeypatch, max_retries=2) as (server, adapter, rec):
        # The body arrived whole: it is not the documented format, and sending the request again cannot help.
        with pytest.raises(ResponseParseError):
            await adapter.complete(request(row))
        assert server.requests == 1
        assert rec.sleeps == []


@pytest.mark.parametrize("row", WIRES)
async def test_good_gzip_is_decoded(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    async with rig(row, [respond(200, gzip.compress(row.success(FULL)), headers)], monkeypatch) as (_, adapter, _r):
        assert (await adapter.complete(request(row))).text == FULL


@pytest.mark.parametrize("row", WIRES)
async def test_oversized_body_and_frame_are_assembled_whole(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    big = "x" * (1024 * 1024)  # one 1 MiB text: larger than any socket or decoder buffer
    shape = row.stream(("a", big, "b"))
    script = [respond(200, row.success(big)), stream(shape.frames, row.content_type)]
    async with rig(row, script, monkeypatch) as (_, adapter, _r):
        assert (await adapter.complete(request(row))).text == big
        events, response = await consume(adapter, row)
        assert response.text == "a" + big + "b" == text_of(events)


# --- statuses and retry hints ----------------------------------------------------------------------------------


def _http_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


HEADER_HINTS = [
    pytest.param((("Retry-After", "3"),), 3.0, 0.0, id="retry-after-seconds"),
    pytest.param((("Retry-After", "1.5"),), 1.5, 0.0, id="retry-after-decimal"),
    pytest.param((("retry-after-ms", "1500"), ("Retry-After", "9")), 1.5, 0.0, id="retry-after-ms-first"),
    pytest.param(None, 30.0, 2.0, id="retry-after-http-date"),
]


@pytest.mark.parametrize("row", WIRES)
@pytest.mark.parametrize(("hint_headers", "expected", "tolerance"), HEADER_HINTS)
async def test_429_header_hint_is_honoured(
    row: WireRow, hint_headers: Any, expected: float, tolerance: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, headers = row.error(429, "Rate limit reached for requests")
    hint = hint_headers if hint_headers is not None else (("Retry-After", _http_date(30)),)
    script = [respond(429, body, headers + hint), respond(200, row.success(FULL))]
    async with rig(row, script, monkeypatch) as (server, adapter, rec):
        response = await adapter.complete(request(row))
        assert response.text == FULL
        assert response.attempts == 2 == server.requests
        assert len(rec.sleeps) == 1
        assert abs(rec.sleeps[0] - expected) <= tolerance


@pytest.mark.parametrize("row", WIRES)
async def test_429_body_hint_is_honoured(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    if row.body_hint is None:
        pytest.skip(f"{row.provider} documents no retry hint inside its error body")
    body, seconds = row.body_hint
    script = [respond(429, body, JSON_CT), respond(200, row.success(FULL))]
    async with rig(row, script, monkeypatch) as (_, adapter, rec):
        response = await adapter.complete(request(row))
        assert response.attempts == 2
        assert rec.sleeps == [pytest.approx(seconds)]


@pytest.mark.parametrize("row", WIRES)
async def test_429_hint_beyond_cap_is_not_waited_for(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = row.error(429, "Rate limit reached for requests")
    script = [respond(429, body, (*headers, ("Retry-After", "3600")))]
    async with rig(row, script, monkeypatch) as (server, adapter, rec):
        with pytest.raises(RateLimitError) as info:
            await adapter.complete(request(row))
        assert info.value.retry_after == 3600
        assert info.value.retryable
        assert server.requests == 1
        assert rec.sleeps == []


@pytest.mark.parametrize("row", WIRES)
@pytest.mark.parametrize("failures", [1, 2])
async def test_500_k_times_then_200(row: WireRow, failures: int, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = row.error(500, "The server had an error while processing your request")
    script = [respond(500, body, headers)] * failures + [respond(200, row.success(FULL))]
    async with rig(row, script, monkeypatch, max_retries=2) as (server, adapter, rec):
        response = await adapter.complete(request(row))
        assert response.text == FULL
        assert response.attempts == failures + 1 == server.requests
        assert len(rec.sleeps) == failures
        assert all(0 <= d <= 8.0 for d in rec.sleeps)


@pytest.mark.parametrize("row", WIRES)
async def test_500_beyond_max_retries_raises_server_error(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = row.error(500, "The server had an error while processing your request")
    async with rig(row, [respond(500, body, headers)] * 3, monkeypatch, max_retries=2) as (server, adapter, rec):
        with pytest.raises(ServerError) as info:
            await adapter.complete(request(row))
        assert info.value.status == 500
        assert info.value.retryable
        assert server.requests == 3
        assert len(rec.sleeps) == 2


@pytest.mark.parametrize("row", WIRES)
async def test_529_is_overloaded_and_retried(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = row.error(529, "Overloaded")
    script = [respond(529, body, headers), respond(529, body, headers)]
    async with rig(row, script, monkeypatch, max_retries=1) as (server, adapter, rec):
        with pytest.raises(OverloadedError) as info:
            await adapter.complete(request(row))
        assert info.value.retryable
        assert server.requests == 2
        assert len(rec.sleeps) == 1


@pytest.mark.parametrize("row", WIRES)
async def test_stream_error_status_before_first_event_is_retried(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = row.error(503, "Service Unavailable")
    shape = row.stream(TEXTS)
    script = [respond(503, body, headers), stream(shape.frames, row.content_type)]
    async with rig(row, script, monkeypatch) as (server, adapter, rec):
        _events, response = await consume(adapter, row)
        assert response.text == FULL
        assert response.attempts == 2 == server.requests
        assert len(rec.sleeps) == 1


# --- broken streams --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", WIRES)
@pytest.mark.parametrize("how", ["cut", "reset"])
@pytest.mark.parametrize("delivered", [1, 3])
async def test_broken_stream_keeps_partial(
    row: WireRow, how: str, delivered: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = row.stream(TEXTS)
    frames = shape.prelude + shape.deltas[:delivered]
    async with rig(row, [stream(frames, row.content_type, then=how)], monkeypatch) as (server, adapter, rec):
        events: list[Any] = []
        with pytest.raises(StreamInterruptedError) as info:
            await collect(adapter, row, events)
        expected = "".join(TEXTS[:delivered])
        assert text_of(events) == expected == info.value.partial.text
        assert isinstance(info.value.cause, TransportError)
        assert server.requests == 1
        assert rec.sleeps == []


@pytest.mark.parametrize("row", WIRES)
async def test_stall_mid_stream_times_out_with_partial(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(TEXTS)
    frames = shape.prelude + shape.deltas[:2]
    script = [stream(frames, row.content_type, then="stall")]
    async with rig(row, script, monkeypatch, timeout=FAST) as (server, adapter, _rec):
        with pytest.raises(StreamInterruptedError) as info:
            await consume(adapter, row)
        assert info.value.partial.text == "".join(TEXTS[:2])
        assert isinstance(info.value.cause, RequestTimeoutError)
        assert server.requests == 1


@pytest.mark.parametrize("row", WIRES)
async def test_stall_before_first_event_is_retried(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(TEXTS)
    script = [stream((), row.content_type, then="stall"), stream(shape.frames, row.content_type)]
    async with rig(row, script, monkeypatch, max_retries=1, timeout=FAST) as (server, adapter, _rec):
        _events, response = await consume(adapter, row)
        assert response.text == FULL
        assert response.attempts == 2 == server.requests


@pytest.mark.parametrize("row", WIRES)
async def test_stream_cut_before_any_event_is_retried(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(TEXTS)
    script = [stream((), row.content_type, then="reset"), stream(shape.frames, row.content_type)]
    async with rig(row, script, monkeypatch) as (server, adapter, _rec):
        _, response = await consume(adapter, row)
        assert response.text == FULL
        assert response.attempts == 2 == server.requests


@pytest.mark.parametrize("row", WIRES)
async def test_error_inside_200_stream_is_typed_and_keeps_partial(
    row: WireRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = row.stream(TEXTS)
    frames = shape.prelude + shape.deltas[:2] + (row.in_stream_error,)
    # A gap between frames: the deltas reach the reader before the error (not coalesced into one read).
    async with rig(row, [stream(frames, row.content_type, gap=0.005)], monkeypatch) as (server, adapter, rec):
        events: list[Any] = []
        with pytest.raises(ProviderError) as info:
            await collect(adapter, row, events)
        assert text_of(events) == "".join(TEXTS[:2])
        assert info.value.partial is not None
        assert info.value.partial.text == "".join(TEXTS[:2])
        assert server.requests == 1
        assert rec.sleeps == []


@pytest.mark.parametrize("row", WIRES)
async def test_invalid_utf8_in_stream_is_typed(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(TEXTS)
    bad = shape.deltas[1].replace(TEXTS[1].encode(), b"\xff\xfe\xfd")
    frames = shape.prelude + shape.deltas[:1] + (bad,) + shape.deltas[2:] + shape.epilogue
    async with rig(row, [stream(frames, row.content_type)], monkeypatch) as (_server, adapter, _rec):
        with pytest.raises((ResponseParseError, StreamInterruptedError)) as info:
            await consume(adapter, row)
        if isinstance(info.value, StreamInterruptedError):
            assert isinstance(info.value.cause, ResponseParseError)


@pytest.mark.parametrize("row", WIRES)
async def test_garbage_frame_in_stream_is_response_parse_error(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(TEXTS)
    garbage = {
        "text/event-stream": b"data: {not json\n\n",
        "application/x-ndjson": b"{not json\n",
        "application/vnd.amazon.eventstream": b"\x00\x00\x00\x20" + b"\x00" * 28,  # bad prelude CRC
    }[row.content_type]
    frames = shape.prelude + shape.deltas[:1] + (garbage,)
    async with rig(row, [stream(frames, row.content_type)], monkeypatch) as (server, adapter, _rec):
        with pytest.raises(ResponseParseError):
            await consume(adapter, row)
        assert server.requests == 1


# --- endless streams and cancellation --------------------------------------------------------------------------


@pytest.mark.parametrize("row", WIRES)
async def test_endless_stream_closes_when_the_reader_stops(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = row.stream(("x",))
    script = [endless(b"".join(shape.prelude) + shape.deltas[0] * 50, row.content_type)]
    async with rig(row, script, monkeypatch) as (server, adapter, _rec):
        seen = 0
        async with adapter.stream(request(row)) as s:
            async for event in s:
                seen += isinstance(event, TextDelta)
                if seen >= 500:
                    break
        assert seen == 500
        assert busy_connections(adapter) == 0
        assert await server.idle(), "leaving the stream must close its connection"


@pytest.mark.parametrize("row", WIRES)
async def test_cancel_during_stalled_stream_propagates_and_closes(
    row: WireRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = row.stream(TEXTS)
    script = [stream(shape.prelude + shape.deltas[:2], row.content_type, then="stall")]
    async with rig(row, script, monkeypatch) as (server, adapter, rec):
        got_delta = asyncio.Event()

        async def reader() -> None:
            async with adapter.stream(request(row)) as s:
                async for event in s:
                    if isinstance(event, TextDelta):
                        got_delta.set()

        task = asyncio.create_task(reader())
        await asyncio.wait_for(got_delta.wait(), 2.0)
        await asyncio.sleep(0.02)
        task.cancel()
        started = time.perf_counter()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.perf_counter() - started < 1.0
        assert await server.idle(), "a cancelled stream must close its connection"
        assert server.requests == 1
        assert rec.sleeps == []


@pytest.mark.parametrize("row", WIRES)
async def test_cancel_during_complete_is_not_retried(row: WireRow, monkeypatch: pytest.MonkeyPatch) -> None:
    async with rig(row, [stall_before_headers()], monkeypatch) as (server, adapter, rec):
        task = asyncio.create_task(adapter.complete(request(row)))
        await asyncio.wait_for(server.got_request.wait(), 2.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1.0)
        assert rec.attempts == 1
        assert rec.sleeps == []
        assert await server.idle()


async def test_fault_server_stops_itself_and_answers_exhausted_scripts() -> None:
    import httpx

    async with FaultServer(script=[]) as server, httpx.AsyncClient() as client:
        answer = await client.post(server.url + "/x", json={})
        assert answer.status_code == 418
        assert server.requests == 1
    assert server.open_connections == 0
