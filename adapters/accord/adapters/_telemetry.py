"""OpenTelemetry GenAI spans and metrics (`gen_ai.*` semantic conventions) as a hook; needs `opentelemetry-api`.

    from accord.adapters._telemetry import OpenTelemetryHook
    model = connect("openai:gpt-4o-mini", hooks=[OpenTelemetryHook()])

One CLIENT span per call, named `{gen_ai.operation.name} {gen_ai.request.model}`, from the start of the call until
the response is complete (for streams: until the stream ends, not the first chunk). Metrics:
`gen_ai.client.token.usage` (per token type), `gen_ai.client.operation.duration` and, for streams,
`gen_ai.client.operation.time_to_first_chunk`. Message content is recorded only with `capture_content=True`.
"""

from __future__ import annotations

import contextvars
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from accord.contracts import (
    ConfigurationError,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    Request,
    Response,
    TextPart,
    ThinkingPart,
    ToolCall,
    ToolResult,
)

from ._hooks import AttemptStart, FirstChunk, Hooks, RequestFailed, RequestStart, ResponseDone, RetryScheduled

# accord provider name → the `gen_ai.provider.name` value the conventions define (others pass through unchanged).
PROVIDER_NAMES: Mapping[str, str] = {
    "openai": "openai",
    "openai-responses": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock",
    "watsonx": "ibm.watsonx.ai",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
}

# Bucket boundaries the conventions recommend for the two client histograms.
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


@dataclass
class _Call:
    span: Any
    attributes: dict[str, Any]  # the low-cardinality attributes metrics are recorded with
    streaming: bool
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


_local_ids = itertools.count(-1, -1)


def _part(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "content": part.text}
    if isinstance(part, ToolCall):
        return {"type": "tool_call", "id": part.id, "name": part.name, "arguments": part.arguments}
    if isinstance(part, ToolResult):
        return {"type": "tool_call_response", "id": part.call_id, "response": part.text}
    if isinstance(part, ThinkingPart):
        return {"type": "reasoning", "content": part.text}
    assert isinstance(part, ImagePart | DocumentPart)
    modality = "image" if isinstance(part, ImagePart) else "document"
    if part.url is not None:
        return {"type": "uri", "modality": modality, "uri": part.url}
    return {"type": "blob", "modality": modality, "mime_type": part.media_type, "content": part.data}


def _messages(messages: Sequence[Message]) -> str:
    return json.dumps([{"role": m.role, "parts": [_part(p) for p in m.parts]} for m in messages])


class OpenTelemetryHook(Hooks):
    """Records each call as a GenAI span and metrics. Uses the global tracer/meter providers unless given."""

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        capture_content: bool = False,
        legacy_system_attribute: bool = False,
    ) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as exc:
            raise ConfigurationError("OpenTelemetryHook needs opentelemetry-api: pip install 'accord[otel]'") from exc
        from . import __version__

        self._trace = trace
        self._tracer = trace.get_tracer("accord", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("accord", __version__, meter_provider=meter_provider)
        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.capture_content = capture_content
        # `gen_ai.system` is the deprecated name of `gen_ai.provider.name`; some backends still read only it.
        self.legacy_system_attribute = legacy_system_attribute
        self._calls: dict[int, _Call] = {}
        # Calls opened in this task whose emitter gave no call_id: they end in LIFO order.
        self._stack: contextvars.ContextVar[tuple[int, ...]] = contextvars.ContextVar(
            f"accord_otel_{id(self)}", default=()
        )

    # --- correlation ---------------------------------------------------------------------------------------

    def _open(self, event: RequestStart) -> int:
        if event.call_id:
            return event.call_id
        key = next(_local_ids)
        self._stack.set((*self._stack.get(), key))
        return key

    def _current(self, call_id: int) -> _Call | None:
        if call_id:
            return self._calls.get(call_id)
        stack = self._stack.get()
        return self._calls.get(stack[-1]) if stack else None

    def _close(self, call_id: int) -> _Call | None:
        if call_id:
            return self._calls.pop(call_id, None)
        stack = self._stack.get()
        if not stack:
            return None
        self._stack.set(stack[:-1])
        return self._calls.pop(stack[-1], None)

    # --- events --------------------------------------------------------------------------------------------

    def on_request_start(self, event: RequestStart) -> None:
        provider = PROVIDER_NAMES.get(event.provider, event.provider)
        common: dict[str, Any] = {
            "gen_ai.operation.name": event.operation,
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": event.model,
        }
        if self.legacy_system_attribute:
            common["gen_ai.system"] = provider
        if event.server_address:
            common["server.address"] = event.server_address
        span_attributes = {**common, "gen_ai.request.stream": event.streaming}
        if event.request is not None:
            span_attributes.update(self._request_attributes(event.request))
        span = self._tracer.start_span(
            f"{event.operation} {event.model}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=span_attributes,
        )
        self._calls[self._open(event)] = _Call(span, common, event.streaming)

    def _request_attributes(self, request: Request) -> dict[str, Any]:
        found: dict[str, Any] = {
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
            "gen_ai.request.top_p": request.top_p,
            "gen_ai.request.seed": request.seed,
            "gen_ai.request.stop_sequences": list(request.stop) if request.stop else None,
            "gen_ai.output.type": "json" if request.output is not None else "text",
            "gen_ai.conversation.id": request.metadata.get("conversation_id"),
        }
        if self.capture_content:
            found["gen_ai.input.messages"] = _messages(request.messages)
            if request.system:
                found["gen_ai.system_instructions"] = json.dumps([{"type": "text", "content": request.system}])
            if request.tools:
                found["gen_ai.tool.definitions"] = json.dumps(
                    [
                        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
                        for t in request.tools
                    ]
                )
        return {k: v for k, v in found.items() if v is not None}

    def on_attempt(self, event: AttemptStart) -> None:
        call = self._current(event.call_id)
        if call is not None:
            call.attempts = event.attempt
            if event.attempt > 1:
                call.span.add_event("accord.attempt", {"accord.attempt": event.attempt})

    def on_retry(self, event: RetryScheduled) -> None:
        call = self._current(event.call_id)
        if call is not None:
            call.span.add_event(
                "accord.retry",
                {
                    "accord.attempt": event.attempt,
                    "accord.retry.delay": event.delay,
                    "error.type": type(event.cause).__qualname__,
                },
            )

    def on_first_chunk(self, event: FirstChunk) -> None:
        call = self._current(event.call_id)
        if call is not None:
            call.span.set_attribute("gen_ai.response.time_to_first_chunk", event.seconds)
            self._first_chunk.record(event.seconds, call.attributes)

    def on_response(self, event: ResponseDone) -> None:
        call = self._close(event.call_id)
        if call is None:
            return
        response = event.response
        usage = event.usage
        metric_attributes = {**call.attributes, "gen_ai.response.model": response.model}
        attributes: dict[str, Any] = {
            "gen_ai.response.id": response.id,
            "gen_ai.response.model": response.model,
            "gen_ai.response.finish_reasons": [response.finish_reason],
            "gen_ai.usage.input_tokens": usage.input_tokens,
            "gen_ai.usage.output_tokens": usage.output_tokens,
            "accord.attempts": response.attempts,
        }
        subsets = {
            "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
            "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
        }
        attributes.update({k: v for k, v in subsets.items() if v})
        if event.cost is not None:
            attributes["accord.cost_usd"] = event.cost
        if event.time_to_first_chunk is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = event.time_to_first_chunk
        if self.capture_content:
            attributes["gen_ai.output.messages"] = self._output(response)
        call.span.set_attributes(attributes)
        call.span.end()
        self._token_usage.record(usage.input_tokens, {**metric_attributes, "gen_ai.token.type": "input"})
        self._token_usage.record(usage.output_tokens, {**metric_attributes, "gen_ai.token.type": "output"})
        self._duration.record(event.seconds, metric_attributes)

    def _output(self, response: Response) -> str:
        parts = [_part(p) for p in response.parts]
        return json.dumps([{"role": "assistant", "parts": parts, "finish_reason": response.finish_reason}])

    def on_error(self, event: RequestFailed) -> None:
        call = self._close(event.call_id)
        if call is None:
            return
        error_type = type(event.error).__qualname__
        call.span.set_attribute("error.type", error_type)
        call.span.record_exception(event.error)
        call.span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(event.error)[:500]))
        call.span.end()
        self._duration.record(event.seconds, {**call.attributes, "error.type": error_type})
