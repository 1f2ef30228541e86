"""The structured-output engine with fake `send`/`open`: modes, retries, usage sums, streaming partial output."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import BaseModel

from accord.adapters._base import EventStream, NativeOutput
from accord.adapters._output import (
    complete_structured,
    extract_json,
    parse_partial,
    prepare,
    stream_structured,
    validate,
)
from accord.contracts import (
    ImagePart,
    Message,
    ModelProfile,
    OutputDelta,
    OutputSpec,
    OutputValidationError,
    ProviderInfo,
    Request,
    Response,
    StreamEnd,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolChoice,
    UnsupportedFeatureError,
    Usage,
)


class City(BaseModel):
    name: str
    population: int


FULL = ModelProfile(
    provider="fake",
    model="m",
    supports_native_output=True,
    supports_json_mode=True,
    supports_tools=True,
    supports_strict_tools=True,
)


def answer(text: str = "", *, calls: list[ToolCall] | None = None, finish: str = "stop", tokens: int = 10) -> Response:
    parts: list[Any] = [TextPart(text=text)] if text else []
    parts += calls or []
    return Response(
        id="r",
        model="m",
        parts=parts,
        finish_reason=finish,  # type: ignore[arg-type]
        usage=Usage(input_tokens=tokens, output_tokens=tokens // 2),
        cost=0.5,
        provider=ProviderInfo(name="fake"),
    )


class FakeSend:
    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Request, NativeOutput | None]] = []

    async def __call__(self, request: Request, native: NativeOutput | None) -> Response:
        assert request.output is None  # wire modules never see `output`
        self.calls.append((request, native))
        return self.answers.pop(0)


def req(output: Any, **kw: Any) -> Request:
    return Request(model="m", messages=[Message.user("Paris?")], output=output, **kw)


async def test_native_mode_validates_and_builds_the_model() -> None:
    send = FakeSend(answer('{"name": "Paris", "population": 2100000}'))
    response = await complete_structured(send, req(City), FULL)
    assert response.output == City(name="Paris", population=2100000)
    request, native = send.calls[0]
    assert native is not None
    assert native.strict
    assert native.schema["additionalProperties"] is False
    assert not request.tools


async def test_invalid_then_valid_retry_sums_usage_and_cost() -> None:
    send = FakeSend(answer('{"name": "Paris"}', tokens=10), answer('{"name": "Paris", "population": 1}', tokens=20))
    response = await complete_structured(send, req(City), FULL)
    assert response.attempts == 2
    assert response.usage.input_tokens == 30
    assert response.usage.output_tokens == 15
    assert response.cost == pytest.approx(1.0)
    retry_request = send.calls[1][0]
    feedback = retry_request.messages[-1].text
    assert "population" in feedback
    assert "failed validation" in feedback
    assert retry_request.messages[-2].role == "assistant"


async def test_exhausted_attempts_raise_with_errors_and_usage() -> None:
    send = FakeSend(answer("not json"), answer("{}"), answer('{"name": 1}'))
    with pytest.raises(OutputValidationError) as info:
        await complete_structured(send, req(City), FULL)
    assert info.value.attempts == 3
    assert info.value.usage.input_tokens == 30
    assert any("population" in e for e in info.value.errors)
    assert len(info.value.responses) == 3


async def test_output_retries_is_configurable_and_checked() -> None:
    send = FakeSend(answer("{}"))
    request = req(City, provider_options={"accord": {"output_retries": 0}})
    with pytest.raises(OutputValidationError) as info:
        await complete_structured(send, request, FULL)
    assert info.value.attempts == 1
    assert "accord" not in send.calls[0][0].provider_options
    with pytest.raises(UnsupportedFeatureError):
        prepare(req(City, provider_options={"accord": {"output_retries": -1}}), FULL)


async def test_refusal_is_not_retried() -> None:
    send = FakeSend(answer("I can't", finish="refusal"), answer('{"name": "x", "population": 1}'))
    with pytest.raises(OutputValidationError) as info:
        await complete_structured(send, req(City), FULL)
    assert info.value.attempts == 1


async def test_truncated_answer_is_a_retryable_failure() -> None:
    send = FakeSend(answer('{"name": "Pa', finish="length"), answer('{"name": "Paris", "population": 3}'))
    response = await complete_structured(send, req(City), FULL)
    assert response.attempts == 2
    assert "cut off" in send.calls[1][0].messages[-1].text


async def test_tool_mode_forces_the_output_tool_and_answers_failed_calls() -> None:
    profile = FULL.model_copy(update={"supports_native_output": False})
    bad = ToolCall(id="c1", name="City", arguments={"name": "Paris"})
    good = ToolCall(id="c2", name="City", arguments={"name": "Paris", "population": 5})
    send = FakeSend(answer(calls=[bad], finish="tool_calls"), answer(calls=[good], finish="tool_calls"))
    response = await complete_structured(send, req(City), profile)
    assert response.output == City(name="Paris", population=5)
    first, native = send.calls[0]
    assert native is None
    assert [t.name for t in first.tools] == ["City"]
    assert first.tool_choice == ToolChoice.named("City")
    retry = send.calls[1][0]
    # the failed call is answered with an error tool result, so the transcript stays valid
    assert retry.messages[-1].tool_results[0].call_id == "c1"
    assert retry.messages[-1].tool_results[0].is_error


async def test_tool_mode_text_answer_is_retried_not_crashed() -> None:
    profile = FULL.model_copy(update={"supports_native_output": False})
    good = ToolCall(id="c2", name="City", arguments={"name": "Paris", "population": 5})
    send = FakeSend(answer("Paris has 2M people"), answer(calls=[good], finish="tool_calls"))
    response = await complete_structured(send, req(City), profile)
    assert response.attempts == 2
    assert "Call the tool `City`" in send.calls[1][0].messages[-1].text


async def test_tool_mode_wraps_a_non_object_schema() -> None:
    profile = FULL.model_copy(update={"supports_native_output": False})
    schema = {"type": "array", "items": {"type": "integer"}}
    call = ToolCall(id="c", name="numbers", arguments={"response": [1, 2]})
    send = FakeSend(answer(calls=[call], finish="tool_calls"))
    response = await complete_structured(send, req(OutputSpec.of(schema, name="numbers")), profile)
    assert response.output == [1, 2]
    parameters = send.calls[0][0].tools[0].parameters
    assert parameters["properties"]["response"] == schema


async def test_prompted_mode_keeps_images_and_uses_json_mode() -> None:
    profile = ModelProfile(supports_json_mode=True, supports_system_prompt=False, supports_vision=True)
    image = ImagePart(url="https://example.com/a.png")
    request = Request(model="m", messages=[Message.user([TextPart(text="what city?"), image])], output=City)
    send = FakeSend(answer('```json\n{"name": "Rome", "population": 3}\n```'))
    request = request.with_(output=OutputSpec.of(City, mode="prompted"))
    response = await complete_structured(send, request, profile)
    assert response.output == City(name="Rome", population=3)
    sent, native = send.calls[0]
    assert native is not None
    assert native.json_mode
    last = sent.messages[-1]
    assert image in last.parts  # pitfall 22: the instructions are a separate part, images kept
    assert "JSON Schema" in last.parts[-1].text  # type: ignore[union-attr]


async def test_prompted_mode_puts_the_schema_in_the_system_prompt() -> None:
    send = FakeSend(answer('{"name": "Rome", "population": 3}'))
    profile = ModelProfile(supports_native_output=False, supports_tools=False)
    response = await complete_structured(send, req(City, system="Be brief."), profile)
    sent, native = send.calls[0]
    assert native is None
    assert sent.system is not None
    assert sent.system.startswith("Be brief.")
    assert '"population"' in sent.system
    assert response.output.population == 3


def test_auto_walks_native_tool_prompted() -> None:
    assert prepare(req(City), FULL).mode == "native"
    no_native = FULL.model_copy(update={"supports_native_output": False})
    assert prepare(req(City), no_native).mode == "tool"
    nothing = no_native.model_copy(update={"supports_tools": False})
    assert prepare(req(City), nothing).mode == "prompted"
    prefers_tool = FULL.model_copy(update={"default_output_mode": "tool"})
    assert prepare(req(City), prefers_tool).mode == "tool"
    prefers_prompted = FULL.model_copy(update={"default_output_mode": "prompted"})
    assert prepare(req(City), prefers_prompted).mode == "prompted"


def test_auto_skips_native_when_strict_cannot_hold() -> None:
    class Node(BaseModel):
        value: int
        children: list[Node] = []

    anthropic = FULL.model_copy(update={"schema_dialect": "anthropic"})
    setup = prepare(req(Node), anthropic)  # recursion blocks Anthropic strict: a forced tool instead
    assert setup.mode == "tool"
    thinking = req(Node, reasoning="high")
    # thinking forbids the forced tool, and Anthropic's always-enforced native field cannot take a schema strict
    # cannot express: the schema goes into the prompt instead
    assert prepare(thinking, anthropic.model_copy(update={"supports_reasoning": True})).mode == "prompted"
    # elsewhere the same request (no tools) still goes native
    openai = FULL.model_copy(update={"schema_dialect": "openai", "supports_tools": False})
    assert prepare(req(Node), openai).mode == "native"


def test_denied_modes_raise_before_any_call() -> None:
    no_native = FULL.model_copy(update={"supports_native_output": False})
    with pytest.raises(UnsupportedFeatureError):
        prepare(req(OutputSpec.of(City, mode="native")), no_native)
    with pytest.raises(UnsupportedFeatureError):
        prepare(req(OutputSpec.of(City, mode="tool")), FULL.model_copy(update={"supports_tools": False}))
    with pytest.raises(UnsupportedFeatureError):
        prepare(
            req(OutputSpec.of(City, mode="tool"), tools=[], tool_choice=None).with_(
                tool_choice="none", tools=[{"name": "t"}]
            ),
            FULL,
        )

    class Tree(BaseModel):
        kids: list[Tree] = []

    anthropic = FULL.model_copy(update={"schema_dialect": "anthropic"})
    with pytest.raises(UnsupportedFeatureError, match="strict"):
        prepare(req(OutputSpec.of(Tree, mode="native", strict=True)), anthropic)


def test_raw_schema_is_validated_with_jsonschema() -> None:
    spec = OutputSpec.of({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    assert validate(spec, {"n": 1}) == ({"n": 1}, [])
    value, errors = validate(spec, {"n": "x"})
    assert value is None
    assert errors == ["/n: 'x' is not of type 'integer'"]


def test_extract_json() -> None:
    assert extract_json('Here: ```json\n{"a": 1}\n``` done') == '{"a": 1}'
    assert extract_json("  [1, 2] ") == "[1, 2]"
    assert extract_json('The answer is {"a": {"b": 2}} ok') == '{"a": {"b": 2}}'
    assert extract_json("no json here") == "no json here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"name": "Par', {"name": "Par"}),
        ('{"name": "Paris", "pop', {"name": "Paris"}),
        ('{"name": "Paris", "population": 21', {"name": "Paris"}),
        ('{"name": "Paris", "population": 21,', {"name": "Paris", "population": 21}),
        ('{"a": [1, 2, {"b": tr', {"a": [1, 2, {}]}),
        ('{"a": [1, 2, {"b": true}]}', {"a": [1, 2, {"b": True}]}),
        ('```json\n{"s": "x\\u00', {"s": "x"}),
        ('{"s": "a\\"b', {"s": 'a"b'}),
        ("[", []),
    ],
)
def test_parse_partial(text: str, expected: Any) -> None:
    assert parse_partial(text) == expected


def test_parse_partial_without_json_is_missing() -> None:
    assert repr(parse_partial("thinking...")) == "MISSING"


def fake_open(*scripts: list[Any]) -> Any:
    remaining = list(scripts)

    @asynccontextmanager
    async def open_(request: Request, native: NativeOutput | None) -> AsyncIterator[EventStream]:
        assert request.output is None
        events = remaining.pop(0)

        async def gen() -> AsyncIterator[Any]:
            for event in events:
                yield event

        yield EventStream(gen())

    return open_


def text_stream(chunks: list[str], *, tokens: int = 10) -> list[Any]:
    events: list[Any] = [TextDelta(index=0, text=c) for c in chunks]
    return [*events, StreamEnd(response=answer("".join(chunks), tokens=tokens))]


async def test_stream_yields_partial_objects_then_the_validated_output() -> None:
    chunks = ['{"name": "Pa', 'ris", "popu', 'lation": 21', "00000}"]
    async with stream_structured(fake_open(text_stream(chunks)), req(City), FULL) as stream:
        events = [e async for e in stream]
    partials = [e.partial_output for e in events if isinstance(e, OutputDelta)]
    assert partials == [{"name": "Pa"}, {"name": "Paris"}, {"name": "Paris", "population": 2100000}]
    assert stream.response.output == City(name="Paris", population=2100000)
    assert isinstance(events[-1], StreamEnd)


async def test_stream_retries_after_invalid_output_and_sums_usage() -> None:
    first = text_stream(['{"name": "Paris"}'], tokens=10)
    second = text_stream(['{"name": "Paris", "population": 2}'], tokens=30)
    async with stream_structured(fake_open(first, second), req(City), FULL) as stream:
        events = [e async for e in stream]
    assert sum(isinstance(e, StreamEnd) for e in events) == 1
    assert stream.response.attempts == 2
    assert stream.response.usage.input_tokens == 40


async def test_stream_raises_when_attempts_run_out() -> None:
    request = req(City, provider_options={"accord": {"output_retries": 0}})
    async with stream_structured(fake_open(text_stream(["{}"])), request, FULL) as stream:
        with pytest.raises(OutputValidationError):
            _ = [e async for e in stream]


async def test_stream_tool_mode_follows_the_output_tool_arguments() -> None:
    profile = FULL.model_copy(update={"supports_native_output": False})
    call = ToolCall(id="c", name="City", arguments={"name": "Oslo", "population": 7})
    fragments = ['{"name": "Os', 'lo", "population": 7}']
    events = [
        ToolCallStart(index=0, id="c", name="City"),
        *[ToolCallDelta(index=0, arguments_fragment=f) for f in fragments],
        ToolCallEnd(index=0, call=call),
        ToolCallDelta(index=0, arguments_fragment="ignored"),
        StreamEnd(response=answer(calls=[call], finish="tool_calls")),
    ]
    async with stream_structured(fake_open(events), req(City), profile) as stream:
        seen = [e async for e in stream]
    assert [e.partial_output for e in seen if isinstance(e, OutputDelta)] == [
        {"name": "Os"},
        {"name": "Oslo", "population": 7},
    ]
    assert stream.response.output == City(name="Oslo", population=7)


async def test_stream_without_end_is_an_error() -> None:
    async with stream_structured(fake_open([TextDelta(index=0, text="{")]), req(City), FULL) as stream:
        with pytest.raises(RuntimeError):
            _ = [e async for e in stream]


def test_partial_output_json_round_trip() -> None:
    text = json.dumps({"a": [1, {"b": "c"}], "d": None})
    for cut in range(len(text) + 1):
        value = parse_partial(text[:cut])
        assert repr(value) == "MISSING" or isinstance(value, dict)
    assert parse_partial(text) == json.loads(text)


def test_a_model_that_cannot_stream_native_output_streams_another_mode() -> None:
    no_native_stream = FULL.model_copy(update={"supports_native_output_streaming": False})
    assert prepare(req(City), no_native_stream).mode == "native"  # not streamed: native as usual
    assert prepare(req(City), no_native_stream, streaming=True).mode == "tool"  # streamed: a forced tool instead
    no_tools = no_native_stream.model_copy(update={"supports_tools": False})
    assert prepare(req(City), no_tools, streaming=True).mode == "prompted"
    with pytest.raises(UnsupportedFeatureError, match="cannot be streamed"):
        prepare(req(OutputSpec.of(City, mode="native")), no_native_stream, streaming=True)
