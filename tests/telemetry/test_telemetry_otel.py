"""OpenTelemetry GenAI spans and metrics through real adapter calls on httpx.MockTransport, read back with the SDK's
in-memory span exporter and metric reader."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from accord.adapters import connect
from accord.adapters._front import Model
from accord.adapters._hooks import RequestStart, ResponseDone
from accord.adapters._retry import RetryPolicy
from accord.adapters._telemetry import OpenTelemetryHook
from accord.contracts import (
    ConfigurationError,
    ImagePart,
    InvalidRequestError,
    Message,
    ProviderInfo,
    RateLimitError,
    Request,
    Response,
    TextPart,
    Tool,
    ToolCall,
)

USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 10},
}


def _completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-42",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
        "usage": USAGE,
    }


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def _stream_body() -> bytes:
    base = {"id": "chatcmpl-7", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18"}
    return _sse(
        [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Par"}}]},
            {**base, "choices": [{"index": 0, "delta": {"content": "is."}, "finish_reason": "stop"}]},
            {**base, "choices": [], "usage": USAGE},
        ]
    )


class Telemetry:
    def __init__(self, **options: Any) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.hook = OpenTelemetryHook(
            tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[self.reader]), **options
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        data = self.reader.get_metrics_data()
        found: list[tuple[dict[str, Any], Any]] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend((dict(p.attributes or {}), p) for p in metric.data.data_points)
        return found


Handler = Callable[[httpx.Request], httpx.Response]


def _model(handler: Handler, telemetry: Telemetry, **options: Any) -> Model:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return connect("openai:gpt-4o-mini", api_key="sk-test", http_client=client, hooks=[telemetry.hook], **options)


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


async def test_completion_span_and_metrics(telemetry: Telemetry) -> None:
    model = _model(lambda r: httpx.Response(200, json=_completion()), telemetry)
    response = await model.complete("Capital of France?", max_tokens=50, temperature=0.2)
    [span] = telemetry.finished()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.id"] == "chatcmpl-42"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 120
    assert attrs["gen_ai.usage.output_tokens"] == 30
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 10
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["accord.cost_usd"] == pytest.approx(response.cost)
    assert "gen_ai.system" not in attrs  # deprecated name: only on request
    assert not [k for k in attrs if k in ("gen_ai.input.messages", "gen_ai.output.messages")]  # content is opt-in
    assert span.status.status_code is StatusCode.UNSET

    tokens = {a["gen_ai.token.type"]: p for a, p in telemetry.points("gen_ai.client.token.usage")}
    assert (tokens["input"].sum, tokens["output"].sum) == (120, 30)
    [(attributes, duration)] = telemetry.points("gen_ai.client.operation.duration")
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert duration.count == 1
    assert duration.sum >= 0
    assert telemetry.points("gen_ai.client.operation.time_to_first_chunk") == []


async def test_stream_span_ends_with_the_stream_and_records_time_to_first_chunk(telemetry: Telemetry) -> None:
    model = _model(lambda r: httpx.Response(200, content=_stream_body()), telemetry)
    async with model.stream("Capital of France?") as stream:
        first = True
        async for _ in stream:
            if first:
                assert telemetry.finished() == []  # the span is still open after the first chunk
                first = False
    [span] = telemetry.finished()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == "chatcmpl-7"
    ttfc_attribute = attrs["gen_ai.response.time_to_first_chunk"]
    assert isinstance(ttfc_attribute, float)
    assert ttfc_attribute >= 0
    assert attrs["gen_ai.usage.output_tokens"] == 30
    [(attributes, ttfc)] = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"


async def test_error_span_and_duration_carry_error_type(telemetry: Telemetry) -> None:
    body = {"error": {"message": "bad", "type": "invalid_request_error", "code": None, "param": None}}
    model = _model(lambda r: httpx.Response(400, json=body), telemetry)
    with pytest.raises(InvalidRequestError):
        await model.complete("hi")
    [span] = telemetry.finished()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "InvalidRequestError"
    assert [e.name for e in span.events] == ["exception"]
    [(attributes, _)] = telemetry.points("gen_ai.client.operation.duration")
    assert attributes["error.type"] == "InvalidRequestError"
    assert telemetry.points("gen_ai.client.token.usage") == []


async def test_retry_becomes_a_span_event(telemetry: Telemetry) -> None:
    answers = [httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "2"})]
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=_completion())

    model = _model(handler, telemetry, retry_policy=RetryPolicy(sleep=sleep))
    response = await model.complete("hi")
    assert response.attempts == 2
    [span] = telemetry.finished()
    retry, attempt = span.events
    assert retry.name == "accord.retry"
    assert dict(retry.attributes or {}) == {
        "accord.attempt": 1,
        "accord.retry.delay": 2.0,
        "error.type": RateLimitError.__qualname__,
    }
    assert attempt.name == "accord.attempt"
    assert dict(span.attributes or {})["accord.attempts"] == 2
    assert delays == [2.0]


async def test_content_capture_is_opt_in() -> None:
    telemetry = Telemetry(capture_content=True, legacy_system_attribute=True)
    model = _model(lambda r: httpx.Response(200, json=_completion()), telemetry)
    await model.complete("Capital of France?")
    [span] = telemetry.finished()
    attrs = dict(span.attributes or {})
    output = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output == [{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}], "finish_reason": "stop"}]
    assert attrs["gen_ai.system"] == "openai"


def test_request_attributes_and_input_content_from_the_request_start_event() -> None:
    telemetry = Telemetry(capture_content=True)
    request = Request(
        model="claude-x",
        system="Be brief.",
        messages=[
            Message.user([TextPart(text="look"), ImagePart(url="https://x/img.png")]),
            Message.assistant(tool_calls=[ToolCall(id="c1", name="f", arguments={"a": 1})]),
            Message.tool("c1", "42"),
            Message.user([ImagePart.from_bytes(b"\x89PNG", "image/png")]),
        ],
        tools=[Tool(name="f", description="does f")],
        max_tokens=10,
        top_p=0.5,
        seed=3,
        stop="END",
        metadata={"conversation_id": "conv-1"},
    )
    telemetry.hook(RequestStart("anthropic", "claude-x", streaming=False, request=request, server_address="api.x"))
    response = Response(
        id="r1",
        model="claude-x",
        finish_reason="stop",
        parts=[TextPart(text="ok")],
        provider=ProviderInfo(name="anthropic"),
    )
    telemetry.hook(ResponseDone("anthropic", "claude-x", response, 0.5))
    [span] = telemetry.finished()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["server.address"] == "api.x"
    assert (attrs["gen_ai.request.max_tokens"], attrs["gen_ai.request.top_p"], attrs["gen_ai.request.seed"]) == (
        10,
        0.5,
        3,
    )
    assert attrs["gen_ai.request.stop_sequences"] == ("END",)
    assert attrs["gen_ai.conversation.id"] == "conv-1"
    assert attrs["gen_ai.output.type"] == "text"
    assert "accord.cost_usd" not in attrs  # unknown cost is not recorded as 0
    messages = json.loads(str(attrs["gen_ai.input.messages"]))
    assert messages[0]["parts"][1] == {"type": "uri", "modality": "image", "uri": "https://x/img.png"}
    assert messages[1]["parts"][0] == {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"a": 1}}
    assert messages[2]["parts"][0] == {"type": "tool_call_response", "id": "c1", "response": "42"}
    assert messages[3]["parts"][0]["type"] == "blob"
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(str(attrs["gen_ai.tool.definitions"]))[0]["name"] == "f"


def test_call_ids_keep_interleaved_calls_apart() -> None:
    telemetry = Telemetry()
    info = ProviderInfo(name="openai")
    telemetry.hook(RequestStart("openai", "a", streaming=True, call_id=1))
    telemetry.hook(RequestStart("openai", "b", streaming=True, call_id=2))
    done_a = Response(id="ra", model="a", finish_reason="stop", provider=info)
    telemetry.hook(ResponseDone("openai", "a", done_a, 1.0, call_id=1))
    [span] = telemetry.finished()
    assert span.name == "chat a"
    assert dict(span.attributes or {})["gen_ai.response.id"] == "ra"
    # events of calls the hook never saw start are ignored
    telemetry.hook(ResponseDone("openai", "z", done_a, 1.0, call_id=99))
    telemetry.hook(ResponseDone("openai", "z", done_a, 1.0))
    assert len(telemetry.finished()) == 1


def test_missing_opentelemetry_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match="accord\\[otel\\]"):
        OpenTelemetryHook()


def test_importing_accord_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, accord.adapters; from accord.adapters import connect, find_models, cost_of;"
        "assert 'opentelemetry' not in sys.modules, 'opentelemetry imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_events_without_an_open_call_are_ignored_and_thinking_is_captured() -> None:
    from accord.adapters._hooks import AttemptStart, FirstChunk, RequestFailed, RetryScheduled
    from accord.contracts import ThinkingPart

    telemetry = Telemetry(capture_content=True)
    cause = RateLimitError("slow", provider="openai")
    for event in (
        AttemptStart("openai", "m", 1),
        AttemptStart("openai", "m", 1, call_id=5),
        RetryScheduled("openai", "m", 1, 0.5, cause),
        FirstChunk("openai", "m", 0.1),
        RequestFailed("openai", "m", cause, 0.2),
        RequestFailed("openai", "m", cause, 0.2, call_id=5),
    ):
        telemetry.hook(event)
    assert telemetry.finished() == []

    request = Request(model="m", messages=[Message.user("q")], output={"type": "object", "properties": {}})
    telemetry.hook(RequestStart("openai", "m", streaming=True, request=request))
    telemetry.hook(FirstChunk("openai", "m", 0.1))
    response = Response(
        id="r",
        model="m",
        finish_reason="stop",
        parts=[ThinkingPart(text="hmm"), TextPart(text="{}")],
        provider=ProviderInfo(name="openai"),
    )
    telemetry.hook(ResponseDone("openai", "m", response, 0.3, time_to_first_chunk=0.1))
    [span] = telemetry.finished()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["gen_ai.response.time_to_first_chunk"] == 0.1
    assert "gen_ai.system_instructions" not in attrs
    output = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output[0]["parts"][0] == {"type": "reasoning", "content": "hmm"}
