"""Hook events carry a call id per call, the request and server address; a stream closed early is reported."""

from __future__ import annotations

import httpx
import pytest

from accord.adapters import connect
from accord.adapters._hooks import HookEvent, RequestFailed, RequestStart, ResponseDone
from accord.contracts import TextDelta

SSE = (
    b'data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)
BODY = {
    "id": "c",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}


def _handler(request: httpx.Request) -> httpx.Response:
    if b'"stream":true' in request.content:
        return httpx.Response(200, content=SSE, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=BODY)


def _model(events: list[HookEvent]) -> object:
    client = httpx.AsyncClient(transport=httpx.MockTransport(_handler))
    return connect(
        "openai:gpt-4o-mini",
        api_key="sk-x",
        http_client=client,
        hooks=[events.append],
        base_url="https://api.example.test/v1",
    )


async def test_each_call_gets_its_own_id_and_start_carries_request_and_host() -> None:
    events: list[HookEvent] = []
    model = _model(events)
    await model.complete("one")  # type: ignore[attr-defined]
    await model.complete("two")  # type: ignore[attr-defined]
    starts = [e for e in events if isinstance(e, RequestStart)]
    assert [s.call_id for s in starts] == [1, 2]
    assert starts[0].request is not None
    assert starts[0].request.messages[0].text == "one"
    assert starts[0].server_address == "api.example.test"
    assert {e.call_id for e in events} == {1, 2}
    assert [e.call_id for e in events if isinstance(e, ResponseDone)] == [1, 2]


async def test_a_stream_closed_before_its_end_reports_a_failure() -> None:
    events: list[HookEvent] = []
    model = _model(events)
    async with model.stream("hi") as stream:  # type: ignore[attr-defined]
        async for event in stream:
            assert isinstance(event, TextDelta)
            break
    failed = [e for e in events if isinstance(e, RequestFailed)]
    assert len(failed) == 1
    assert isinstance(failed[0].error, GeneratorExit)
    assert not [e for e in events if isinstance(e, ResponseDone)]


async def test_a_stream_read_to_the_end_reports_no_failure() -> None:
    events: list[HookEvent] = []
    model = _model(events)
    async with model.stream("hi") as stream:  # type: ignore[attr-defined]
        async for _ in stream:
            pass
    assert not [e for e in events if isinstance(e, RequestFailed)]
    assert [type(e).__name__ for e in events][-1] == "ResponseDone"


async def test_an_error_in_the_first_chunk_of_a_200_stream_keeps_the_partial_response() -> None:
    from accord.contracts import ServerError

    first_chunk = (
        b'data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
        b'data: {"error":{"message":"boom","type":"server_error","code":null}}\n\n'
    )
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, content=first_chunk, headers={"content-type": "text/event-stream"})
        )
    )
    model = connect("openai:gpt-4o-mini", api_key="sk-x", http_client=client, max_retries=0)

    async def read_all() -> None:
        async with model.stream("hi") as stream:
            async for _ in stream:
                pass

    with pytest.raises(ServerError) as caught:
        await read_all()
    assert caught.value.partial is not None
    assert caught.value.partial.text == "par"
