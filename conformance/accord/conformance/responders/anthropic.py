"""The Anthropic Messages responder: documented message bodies, SSE event sequences and error bodies."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cassette import body_value
from ..oracles import Oracle, OracleInput
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, arguments_json, json_reply, retry_headers, split_text, sse_reply, tool_name_at

# accord finish reason → the stop_reason Anthropic sends for it (no content filter: a refusal is how it says no).
STOP_REASONS: Mapping[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "refusal": "refusal",
    "content_filter": "refusal",
    "error": "end_turn",
    "other": "pause_turn",
}


@dataclass(frozen=True)
class ErrorShape:
    status: int
    type: str
    message: str


# docs.anthropic.com/en/api/errors: status, `error.type`, and the wording the API uses.
ANTHROPIC_ERRORS: Mapping[ErrorKind, ErrorShape] = {
    "auth": ErrorShape(401, "authentication_error", "invalid x-api-key"),
    "permission": ErrorShape(
        403, "permission_error", "Your API key does not have permission to use the specified resource."
    ),
    "not_found": ErrorShape(404, "not_found_error", "model: claude-nonexistent"),
    "invalid": ErrorShape(400, "invalid_request_error", "max_tokens: Input should be greater than or equal to 1"),
    "context_window": ErrorShape(400, "invalid_request_error", "prompt is too long: 215304 tokens > 200000 maximum"),
    "rate_limit": ErrorShape(
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 30,000 input tokens per minute. "
        "For details, refer to: https://docs.claude.com/en/api/rate-limits.",
    ),
    "quota": ErrorShape(
        402,
        "billing_error",
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
    ),
    "overloaded": ErrorShape(529, "overloaded_error", "Overloaded"),
    "server": ErrorShape(500, "api_error", "Internal server error"),
}


def _signature(answer: Answer) -> str:
    """A deterministic stand-in for the opaque thinking signature."""
    return base64.b64encode(f"accord-synthetic-signature:{answer.id}".encode()).decode()


@dataclass(frozen=True)
class AnthropicResponder:
    """The Messages API as Anthropic documents it (`/v1/messages`, JSON and `event:`-named SSE)."""

    wire: str = "anthropic"
    errors: Mapping[ErrorKind, ErrorShape] = field(default_factory=lambda: dict(ANTHROPIC_ERRORS))
    headers: Mapping[str, str] = field(
        default_factory=lambda: {
            "request-id": "req_011CSYNTHETIC000000000000",
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
        }
    )

    def is_streaming(self, request: SentRequest) -> bool:
        body = request.json
        return isinstance(body, dict) and body.get("stream") is True

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        """accord's normalized usage in Anthropic's convention: `input_tokens` excludes cache reads and writes."""
        u = answer.usage
        usage: dict[str, Any] = {
            "input_tokens": u.input_tokens - u.cache_read_tokens - u.cache_write_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cache_read_tokens,
            "output_tokens": u.output_tokens,
            "service_tier": "standard",
        }
        if u.reasoning_tokens:
            usage["output_tokens_details"] = {"thinking_tokens": u.reasoning_tokens}
        return usage

    @staticmethod
    def _tool_names(request: SentRequest) -> list[str]:
        body = request.json if isinstance(request.json, dict) else {}
        return [str(t.get("name", "")) for t in body.get("tools") or []]

    def _message(self, answer: Answer, request: SentRequest) -> dict[str, Any]:
        body = request.json if isinstance(request.json, dict) else {}
        return {
            "id": "msg_" + answer.id,
            "type": "message",
            "role": "assistant",
            "model": answer.model or body.get("model", ""),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
        }

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        names = self._tool_names(request)
        content: list[dict[str, Any]] = []
        if answer.thinking:
            content.append({"type": "thinking", "thinking": "".join(answer.thinking), "signature": _signature(answer)})
        if answer.full_text:
            content.append({"type": "text", "text": answer.full_text})
        for call in answer.tool_calls:
            content.append(
                {"type": "tool_use", "id": call.id, "name": tool_name_at(names, call), "input": call.arguments}
            )
        payload = {
            **self._message(answer, request),
            "content": content,
            "stop_reason": STOP_REASONS[answer.finish],
            "usage": self.usage(answer),
        }
        return json_reply(payload, headers=self.headers)

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        names = self._tool_names(request)
        start_usage = {**self.usage(answer), "output_tokens": 1}
        start_usage.pop("output_tokens_details", None)
        events: list[tuple[str | None, Any]] = [
            (
                "message_start",
                {"type": "message_start", "message": {**self._message(answer, request), "usage": start_usage}},
            ),
            ("ping", {"type": "ping"}),
        ]
        index = 0

        def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
            nonlocal index
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            )
            for delta in deltas:
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1

        if answer.thinking:
            block(
                {"type": "thinking", "thinking": "", "signature": ""},
                [{"type": "thinking_delta", "thinking": piece} for piece in answer.thinking]
                + [{"type": "signature_delta", "signature": _signature(answer)}],
            )
        if answer.text:
            block({"type": "text", "text": ""}, [{"type": "text_delta", "text": piece} for piece in answer.text])
        for call in answer.tool_calls:
            block(
                {"type": "tool_use", "id": call.id, "name": tool_name_at(names, call), "input": {}},
                [{"type": "input_json_delta", "partial_json": p} for p in split_text(arguments_json(call))],
            )
        if answer.cut:
            return sse_reply(events, headers=self.headers, cut=True)
        if answer.stream_error is not None:
            shape = self.errors[answer.stream_error.kind]
            events.append(("error", {"type": "error", "error": self._error_object(shape, answer.stream_error)}))
            return sse_reply(events, headers=self.headers)
        # message_delta usage is cumulative: it restates the input side and carries the final output count.
        final_usage = self.usage(answer)
        final_usage.pop("service_tier")
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": STOP_REASONS[answer.finish], "stop_sequence": None},
                    "usage": final_usage,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return sse_reply(events, headers=self.headers)

    # --- errors -----------------------------------------------------------------------------------------------

    @staticmethod
    def _error_object(shape: ErrorShape, failure: Failure) -> dict[str, Any]:
        return {"type": shape.type, "message": failure.message or shape.message}

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        shape = self.errors[failure.kind]
        # Anthropic has no in-body retry hint: the `body` form is rendered as the `retry-after` header it sends.
        hint = failure
        if failure.retry_hint == "body":
            hint = Failure(failure.kind, failure.status, "retry-after", failure.retry_after, failure.message)
        headers = {**self.headers, **retry_headers(hint)}
        body = {"type": "error", "error": self._error_object(shape, failure), "request_id": self.headers["request-id"]}
        return json_reply(body, status=shape.status, headers=headers)


# --- oracles: the official SDK's types and its stream accumulator ---------------------------------------------


def _is_messages(data: OracleInput) -> bool:
    return data.interaction.request.path.endswith("/v1/messages")


def _events(data: OracleInput) -> list[Any] | None:
    response = data.interaction.response
    if response is None or "sse" not in response.body:
        return None
    return [e.get("data") for e in response.body["sse"]]


def check_sdk_types(data: OracleInput) -> list[str]:
    """The request against the SDK's `MessageCreateParams`; answers and stream events through its pydantic types."""
    if not _is_messages(data):
        return []
    from anthropic.types import Message, RawMessageStreamEvent
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from pydantic import TypeAdapter, ValidationError

    problems: list[str] = []
    body = body_value(data.interaction.request.body)
    try:
        TypeAdapter(MessageCreateParamsNonStreaming).validate_python(
            {k: v for k, v in body.items() if k != "stream"} if isinstance(body, dict) else body
        )
    except ValidationError as exc:
        problems.append(f"request: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    response = data.interaction.response
    if response is None or response.status != 200:
        return problems
    events = _events(data)
    try:
        if events is None:
            Message.model_validate(body_value(response.body))
        else:
            parse = TypeAdapter(RawMessageStreamEvent).validate_python
            for event in events:
                if isinstance(event, dict) and event.get("type") not in ("ping", "error"):
                    parse(event)
    except ValidationError as exc:
        problems.append(f"response: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    return problems


def check_stream_accumulator(data: OracleInput) -> list[str]:
    """Differential: the SDK's `accumulate_event` and accord's aggregate agree on text, thinking, calls, finish."""
    events = _events(data)
    accord = data.accord_response
    if not _is_messages(data) or events is None or accord is None:
        return []
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    parse = TypeAdapter(RawMessageStreamEvent).validate_python
    snapshot: Any = None
    bufs: dict[int, bytes] = {}
    for event in events:
        if isinstance(event, dict) and event.get("type") not in ("ping", "error"):
            snapshot = accumulate_event(event=parse(event), current_snapshot=snapshot, json_bufs=bufs)
    if snapshot is None:
        return []
    problems: list[str] = []
    text = "".join(b.text for b in snapshot.content if b.type == "text")
    if text != accord.text:
        problems.append(f"text: sdk {text!r} != accord {accord.text!r}")
    thinking = [(b.thinking, b.signature) for b in snapshot.content if b.type == "thinking"]
    if thinking != [(t.text, t.signature) for t in accord.thinking if not t.redacted]:
        problems.append("thinking differs from the SDK accumulator")
    calls = [(b.id, b.input) for b in snapshot.content if b.type == "tool_use"]
    if calls != [(c.id, c.arguments) for c in accord.tool_calls]:
        problems.append(f"tool calls: sdk {calls!r} != accord {[(c.id, c.arguments) for c in accord.tool_calls]!r}")
    if snapshot.stop_reason != accord.provider_finish_reason:
        problems.append(f"finish: sdk {snapshot.stop_reason!r} != accord {accord.provider_finish_reason!r}")
    if snapshot.usage.output_tokens != accord.usage.output_tokens:
        problems.append(f"output tokens: sdk {snapshot.usage.output_tokens} != accord {accord.usage.output_tokens}")
    return problems


RESPONDERS = [AnthropicResponder()]

TARGETS = [
    Target(
        name="anthropic",
        adapter="accord.adapters.anthropic:AnthropicAdapter",
        model="claude-sonnet-4-5",
        wire="anthropic",
        # An effort (not a budget) maps to adaptive thinking, which Opus 4.6 and later take.
        case_models={"completion.reasoning": "claude-opus-4-6"},
        live_credentials={"api_key": "ANTHROPIC_API_KEY"},
    ),
]

ORACLES = [
    Oracle("anthropic-sdk-types", "anthropic", check_sdk_types, requires=("anthropic",)),
    Oracle("anthropic-sdk-stream-accumulator", "anthropic", check_stream_accumulator, requires=("anthropic",)),
]
