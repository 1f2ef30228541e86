"""Shared helpers for the OpenAI Chat adapter tests: SSE bodies, completions and a MockTransport-backed adapter."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from accord.adapters._retry import RetryPolicy
from accord.adapters.openai_chat import OpenAIChatAdapter

KEY = "sk-test-" + "k" * 32


class Recorder:
    """Answers each request with the next queued answer (or a handler) and keeps what was sent."""

    def __init__(self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.requests[-1].content)
        return body


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def adapter(recorder: Recorder, **options: Any) -> tuple[OpenAIChatAdapter, Sleeps]:
    sleeps = Sleeps()
    options.setdefault("retry_policy", RetryPolicy(sleep=sleeps, rng=lambda: 0.5))
    options.setdefault("api_key", KEY)
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return OpenAIChatAdapter(http_client=client, **options), sleeps


def completion(
    content: str | None = "Hello!",
    *,
    finish: str | None = "stop",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    **message: Any,
) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content, **message}
    if tool_calls is not None:
        msg["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
        "usage": usage if usage is not None else {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }


def call(id_: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def chunk(delta: dict[str, Any] | None = None, *, finish: str | None = None, **top: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": choices, **top}


def sse(*frames: dict[str, Any] | str, done: bool = True) -> bytes:
    out = "".join(f"data: {f if isinstance(f, str) else json.dumps(f)}\n\n" for f in frames)
    if done:
        out += "data: [DONE]\n\n"
    return out.encode()


class Pieces(httpx.AsyncByteStream):
    """A response body delivered as separate chunks (one network read each)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def sse_response(*frames: dict[str, Any] | str, done: bool = True, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "text/event-stream"}, content=sse(*frames, done=done))
