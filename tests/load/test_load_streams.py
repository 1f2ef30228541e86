"""1,000 concurrent streams through one `Model`: every one completes with its own answer, memory stays bounded."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc

import pytest
from faultkit_harness import API_KEY, TRANSPORTS, busy_connections, tasks_now
from faultkit_server import Conn, FaultServer, Received, stream
from faultkit_wires import ROWS

from accord.adapters import connect
from accord.contracts import StreamEnd, TextDelta

STREAMS = 1_000
# httpx's own pool slows down quadratically with queued requests (1,000 concurrent requests time out on it, see
# README, "Reliability and performance"); accord's aiohttp transport is what carries this load.
TRANSPORT = "aiohttp"
ROW = next(r for r in ROWS if r.provider == "openai")
# Bounds with room to spare (measured on 2 cores: ~29 KB per stream at peak, client and server side together;
# ~1.6 MB left after everything closed, mostly interpreter caches).
PEAK_PER_STREAM = 64 * 1024
RETAINED_AFTER = 4 * 1024 * 1024


async def echo(conn: Conn, req: Received) -> bool:
    """Stream the prompt back in three deltas, so a mixed-up stream shows as a wrong answer."""
    prompt = json.loads(req.body)["messages"][-1]["content"]
    thirds = (prompt[:3], prompt[3:7], prompt[7:])
    return await stream(ROW.stream(thirds).frames, ROW.content_type)(conn, req)


async def test_thousand_concurrent_streams_through_one_model() -> None:
    pytest.importorskip("aiohttp")
    before_tasks = tasks_now()
    async with FaultServer(script=[echo] * (STREAMS + 1)) as server:
        model = connect(
            "openai:test-model", api_key=API_KEY, base_url=server.url, transport_factory=TRANSPORTS[TRANSPORT]
        )

        async def one(i: int) -> tuple[str, str, str, int]:
            prompt = f"prompt number {i:04d}"
            deltas: list[str] = []
            ends = 0
            async with model.stream(prompt) as s:
                async for event in s:
                    if isinstance(event, TextDelta):
                        deltas.append(event.text)
                    ends += isinstance(event, StreamEnd)
                return prompt, "".join(deltas), s.response.text, ends

        try:
            await one(-1)  # warm up imports and the pool before measuring
            gc.collect()
            tracemalloc.start()
            baseline, _ = tracemalloc.get_traced_memory()
            started = time.perf_counter()
            results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(STREAMS))), 60)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            for prompt, streamed, final, ends in results:
                assert streamed == prompt == final
                assert ends == 1
            assert len({r[0] for r in results}) == STREAMS
            assert busy_connections(model.adapter) == 0
            del results
        finally:
            await model.aclose()
        assert await server.idle()
    # With the pool and the server's sockets closed, what the streams allocated must be gone.
    gc.collect()
    requests = server.requests
    server.received.clear()  # the test server's own log of the 1,000 requests is not accord's memory
    retained = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    assert requests == STREAMS + 1
    assert peak - baseline < PEAK_PER_STREAM * STREAMS, f"peak {peak - baseline} B for {STREAMS} streams"
    assert retained < RETAINED_AFTER, f"{retained} B still held after every stream ended"
    assert tasks_now() <= before_tasks
    print(f"{STREAMS} streams in {elapsed:.2f} s; peak {(peak - baseline) / STREAMS:.0f} B/stream; kept {retained} B")
