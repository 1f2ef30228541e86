"""The typed hook API: `Hooks` dispatch, events of a real call in order, a failing hook never breaks the call."""

from __future__ import annotations

import logging

import httpx
import pytest

from accord.adapters import connect
from accord.adapters._hooks import (
    AttemptStart,
    FirstChunk,
    HookEvent,
    Hooks,
    RequestFailed,
    RequestStart,
    ResponseDone,
    RetryScheduled,
)
from accord.adapters._retry import RetryPolicy
from accord.contracts import RateLimitError

COMPLETION = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
}


class Recorder(Hooks):
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.events: list[HookEvent] = []

    def on_request_start(self, event: RequestStart) -> None:
        self.seen.append("start")
        self.events.append(event)

    def on_attempt(self, event: AttemptStart) -> None:
        self.seen.append(f"attempt{event.attempt}")

    def on_retry(self, event: RetryScheduled) -> None:
        self.seen.append(f"retry({type(event.cause).__name__}, {event.delay})")

    def on_first_chunk(self, event: FirstChunk) -> None:
        self.seen.append("first_chunk")

    def on_response(self, event: ResponseDone) -> None:
        self.seen.append("response")
        self.events.append(event)

    def on_error(self, event: RequestFailed) -> None:
        self.seen.append(f"error({type(event.error).__name__})")


def test_base_hooks_ignore_everything() -> None:
    Hooks()(RequestStart("p", "m", streaming=False))  # no method overridden: nothing happens


async def test_events_of_a_call_with_a_retry() -> None:
    answers = [httpx.Response(429, json={"error": {"message": "slow"}}, headers={"retry-after": "1"})]

    async def sleep(seconds: float) -> None:
        return None

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=COMPLETION)

    recorder = Recorder()
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    model = connect(
        "openai:gpt-4o-mini",
        api_key="sk-t",
        http_client=client,
        hooks=[recorder],
        retry_policy=RetryPolicy(sleep=sleep),
    )
    response = await model.complete("hi")
    assert recorder.seen == ["start", "attempt1", f"retry({RateLimitError.__name__}, 1.0)", "attempt2", "response"]
    done = recorder.events[-1]
    assert isinstance(done, ResponseDone)
    assert done.usage.input_tokens == 1000
    # gpt-4o-mini: 1000 * 0.15 + 100 * 0.6 = 210 per 1M
    assert done.cost == pytest.approx(0.00021)
    assert done.cost == response.cost
    assert done.seconds >= 0
    assert done.time_to_first_chunk is None


async def test_a_failing_hook_is_logged_and_the_call_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: HookEvent) -> None:
        raise ValueError("boom")

    recorder = Recorder()
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=COMPLETION)))
    model = connect("openai:gpt-4o-mini", api_key="sk-t", http_client=client, hooks=[broken, recorder])
    with caplog.at_level(logging.ERROR, logger="accord"):
        response = await model.complete("hi")
    assert response.text == "ok"
    assert recorder.seen[-1] == "response"
    assert "hook" in caplog.text
    assert "boom" in caplog.text


async def test_stream_events_and_errors() -> None:
    body = (
        b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"o"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    recorder = Recorder()
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))
    model = connect("openai:gpt-4o-mini", api_key="sk-t", http_client=client, hooks=[recorder])
    async with model.stream("hi") as stream:
        async for _ in stream:
            pass
    assert recorder.seen == ["start", "attempt1", "first_chunk", "response"]
    done = recorder.events[-1]
    assert isinstance(done, ResponseDone)
    assert done.time_to_first_chunk is not None

    failing = Recorder()
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(401, json={"error": {}})))
    model = connect("openai:gpt-4o-mini", api_key="sk-t", http_client=client, hooks=[failing])
    with pytest.raises(Exception, match="401"):
        await model.complete("hi")
    assert failing.seen == ["start", "attempt1", "error(AuthenticationError)"]
