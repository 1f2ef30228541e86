"""Hypothesis: model_dump → model_validate (and JSON) is the identity for messages, requests, responses, events."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from accord.contracts import (
    ImagePart,
    Message,
    ProviderInfo,
    Request,
    Response,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolChoice,
    ToolResult,
    Usage,
    UsageUpdate,
)

text = st.text(max_size=20)
ident = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
json_leaf = st.none() | st.booleans() | st.integers(-1000, 1000) | text
arguments = st.dictionaries(ident, st.recursive(json_leaf, lambda c: st.lists(c, max_size=3), max_leaves=5), max_size=3)


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    inp = draw(st.integers(0, 10_000))
    out = draw(st.integers(0, 10_000))
    read = draw(st.integers(0, inp))
    write = draw(st.integers(0, inp - read))
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=draw(st.integers(0, out)),
    )


images = st.builds(
    ImagePart, url=st.just("https://example.com/a.png"), detail=st.sampled_from([None, "low"])
) | st.builds(lambda b: ImagePart(data=base64.b64encode(b).decode(), media_type="image/png"), st.binary(max_size=16))
tool_calls = st.builds(ToolCall, id=ident, name=ident, arguments=arguments)
user_messages = st.lists(st.builds(TextPart, text=text) | images, min_size=1, max_size=3).map(
    lambda parts: Message(role="user", parts=parts)
)
assistant_parts = (
    st.builds(TextPart, text=text) | tool_calls | st.builds(ThinkingPart, text=text, signature=st.none() | text)
)


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    messages: list[Message] = [draw(user_messages)]
    for _ in range(draw(st.integers(0, 3))):
        parts = draw(st.lists(assistant_parts, min_size=1, max_size=3, unique_by=lambda p: getattr(p, "id", id(p))))
        messages.append(Message(role="assistant", parts=parts))
        calls = [p for p in parts if isinstance(p, ToolCall)]
        if calls:
            messages.append(Message(role="tool", parts=[ToolResult(call_id=c.id, content=draw(text)) for c in calls]))
        messages.append(draw(user_messages))
    return messages


@st.composite
def requests(draw: st.DrawFn) -> Request:
    names = draw(st.lists(ident, unique=True, max_size=3))
    tools = [Tool(name=n, description=draw(text)) for n in names]
    choice = draw(st.sampled_from([None, ToolChoice.auto(), ToolChoice.none()]))
    if names and draw(st.booleans()):
        choice = draw(st.sampled_from([ToolChoice.required(), ToolChoice.named(names[0])]))
    return Request(
        model=draw(st.none() | ident),
        messages=draw(conversations()),
        system=draw(st.none() | text),
        tools=tools,
        tool_choice=choice,
        max_tokens=draw(st.none() | st.integers(1, 10_000)),
        temperature=draw(st.none() | st.floats(0, 2)),
        stop=draw(st.none() | st.lists(text, max_size=2)),
        reasoning=draw(st.none() | st.sampled_from(["low", "high", 1024])),
        parallel_tool_calls=draw(st.none() | st.booleans()),
        metadata=draw(st.dictionaries(ident, text, max_size=2)),
        provider_options=draw(st.dictionaries(ident, st.dictionaries(ident, json_leaf, max_size=2), max_size=2)),
    )


@st.composite
def responses(draw: st.DrawFn) -> Response:
    return Response(
        id=draw(text),
        model=draw(ident),
        parts=draw(st.lists(assistant_parts, max_size=4)),
        finish_reason=draw(st.sampled_from(["stop", "length", "tool_calls", "content_filter", "refusal", "error"])),
        provider_finish_reason=draw(st.none() | text),
        usage=draw(usages()),
        cost=draw(st.none() | st.floats(0, 100)),
        attempts=draw(st.integers(1, 5)),
        provider=ProviderInfo(name=draw(ident), request_id=draw(st.none() | text), headers={"x-a": "b"}),
    )


events = st.one_of(
    st.builds(TextDelta, index=st.integers(0, 5), text=text),
    st.builds(ThinkingDelta, index=st.integers(0, 5), text=text),
    st.builds(ToolCallStart, index=st.integers(0, 5), id=ident, name=ident),
    st.builds(ToolCallDelta, index=st.integers(0, 5), arguments_fragment=text),
    st.builds(ToolCallEnd, index=st.integers(0, 5), call=tool_calls),
    st.builds(UsageUpdate, usage=usages()),
    st.builds(StreamEnd, response=responses()),
)
EVENT = TypeAdapter(StreamEvent)


def _identity(model: Any) -> None:
    cls = type(model)
    assert cls.model_validate(model.model_dump()) == model
    assert cls.model_validate_json(model.model_dump_json()) == model


@given(conversations())
def test_messages_round_trip(messages: list[Message]) -> None:
    for message in messages:
        _identity(message)


@given(requests())
def test_requests_round_trip(request: Request) -> None:
    _identity(request)


@given(responses())
def test_responses_round_trip(response: Response) -> None:
    _identity(response)
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


@given(events)
def test_events_round_trip_through_the_union(event: Any) -> None:
    assert EVENT.validate_python(EVENT.dump_python(event)) == event
    assert EVENT.validate_json(EVENT.dump_json(event)) == event


@given(usages(), usages())
def test_usage_sum_keeps_invariants(a: Usage, b: Usage) -> None:
    total = a + b
    assert total.total_tokens == a.total_tokens + b.total_tokens
    assert total == b + a
    _identity(total)
