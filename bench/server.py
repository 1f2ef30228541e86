"""A loopback OpenAI-compatible mock server for the benchmark: raw asyncio, keep-alive, canned answers.

Run as its own process: `python bench/server.py` prints the port it listens on, then serves until killed (or for
at most --lifetime seconds). `POST .../chat/completions` answers a completion, or an SSE stream of
`--chunks` deltas when the JSON body asks for `"stream": true`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the benchmark server.", "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    }
).encode()


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def stream_body(chunks: int) -> bytes:
    usage = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "bench-model",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": chunks, "total_tokens": 9 + chunks},
    }
    parts = [_chunk({"role": "assistant", "content": ""})]
    parts += [_chunk({"content": f"tok{i} "}) for i in range(chunks)]
    parts += [_chunk({}, "stop"), b"data: " + json.dumps(usage).encode() + b"\n\n", b"data: [DONE]\n\n"]
    return b"".join(parts)


class MockHTTP(asyncio.Protocol):
    """HTTP/1.1 with Content-Length request bodies and keep-alive; enough for every benchmarked client."""

    def __init__(self, stream: bytes) -> None:
        self.buffer = b""
        self.stream = stream
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.answer(body)

    def answer(self, body: bytes) -> None:
        assert self.transport is not None
        streaming = b'"stream":true' in body.replace(b" ", b"")
        payload, kind = (self.stream, b"text/event-stream") if streaming else (COMPLETION, b"application/json")
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: "
            + kind
            + b"\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\nx-request-id: req-bench\r\n\r\n"
            + payload
        )


async def serve(port: int, chunks: int, lifetime: float) -> None:
    stream = stream_body(chunks)
    server = await asyncio.get_running_loop().create_server(lambda: MockHTTP(stream), "127.0.0.1", port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await asyncio.sleep(lifetime)  # bounded: a forgotten server exits on its own


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--lifetime", type=float, default=1800.0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.chunks, args.lifetime))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
