"""Per wire protocol: how to build its adapter, a valid answer (body and stream), and its error bodies.

Rows are written from the vendors' documented formats (`shared/research/wire_formats.md`), not from accord's
code, so a row exists before its module lands; a row whose module is not importable yet is skipped.
"""

from __future__ import annotations

import binascii
import importlib.util
import json
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Headers = tuple[tuple[str, str], ...]
JSON_CT: Headers = (("Content-Type", "application/json"),)
MODEL = "test-model"
USAGE_IN, USAGE_OUT = 5, 3


def _j(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def sse(data: Any, event: str | None = None, *, sep: bytes = b"\n\n", event_id: str | None = None) -> bytes:
    head = b""
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    if event is not None:
        head += b"event: " + event.encode() + b"\n"
    payload = data if isinstance(data, bytes) else _j(data)
    return head + b"data: " + payload + sep


def ndjson(obj: Any) -> bytes:
    return _j(obj) + b"\n"


# --- AWS event-stream framing (test-side encoder; accord decodes with botocore) ----------------------------------


def _es_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", 7, len(raw_value)) + raw_value


def eventstream_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One `application/vnd.amazon.eventstream` message: prelude, prelude CRC, headers, payload, message CRC."""
    raw_headers = b"".join(_es_header(k, v) for k, v in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def bedrock_event(event_type: str, body: Any) -> bytes:
    return eventstream_frame(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, _j(body)
    )


def bedrock_exception(exception_type: str, message: str) -> bytes:
    return eventstream_frame(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        _j({"message": message}),
    )


# --- the table -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamShape:
    """A valid stream for a list of text deltas: frames before, one frame per delta, frames after."""

    prelude: tuple[bytes, ...]
    deltas: tuple[bytes, ...]
    epilogue: tuple[bytes, ...]

    @property
    def frames(self) -> tuple[bytes, ...]:
        return self.prelude + self.deltas + self.epilogue


@dataclass(frozen=True)
class WireRow:
    provider: str  # the provider name `connect()` knows
    module: str
    content_type: str  # of a stream
    success: Callable[[str], bytes]
    stream: Callable[[Sequence[str]], StreamShape]
    error: Callable[[int, str], tuple[bytes, Headers]]  # status, message → body, headers
    in_stream_error: bytes  # an error object inside a 200 stream
    # extra constructor options, tried in order until one is accepted (modules not seen yet)
    options: tuple[dict[str, Any], ...] = ({},)
    env: Mapping[str, str] = field(default_factory=dict)
    # a retry hint the wire carries in its error body: (body for a 429, seconds it asks for)
    body_hint: tuple[bytes, float] | None = None
    aux_token_path: str | None = None  # a token-exchange route the fault server answers on the side
    model: str = MODEL
    transport: str = "httpx"  # which httpx transport the adapter's client uses: "httpx" or "aiohttp"

    @property
    def id(self) -> str:
        return self.provider if self.transport == "httpx" else f"{self.provider}-{self.transport}"

    def available(self) -> str | None:
        """None when the module can be imported, else why not."""
        try:
            found = importlib.util.find_spec(self.module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"{self.module} is not in the tree yet"
        if self.transport == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
            return "aiohttp is not installed"
        return None


# OpenAI Chat Completions and the servers that imitate it.
def _chat_body(text: str) -> bytes:
    return _j(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT, "total_tokens": USAGE_IN + USAGE_OUT},
        }
    )


def _chat_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        **extra,
    }


def _chat_stream(texts: Sequence[str]) -> StreamShape:
    usage = {"prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT, "total_tokens": USAGE_IN + USAGE_OUT}
    return StreamShape(
        prelude=(sse(_chat_chunk({"role": "assistant", "content": ""})),),
        deltas=tuple(sse(_chat_chunk({"content": t})) for t in texts),
        epilogue=(
            sse(_chat_chunk({}, "stop")),
            sse({**_chat_chunk({}), "choices": [], "usage": usage}),
            b"data: [DONE]\n\n",
        ),
    )


_OPENAI_TYPES = {429: "rate_limit_exceeded", 500: "server_error", 503: "server_error", 529: "server_error"}


def _openai_error(status: int, message: str) -> tuple[bytes, Headers]:
    kind = _OPENAI_TYPES.get(status, "invalid_request_error")
    return _j({"error": {"message": message, "type": kind, "param": None, "code": kind}}), JSON_CT


_OPENAI_HINT = (
    _j({"error": {"message": "Rate limit reached. Please try again in 1.5s.", "type": "requests", "code": None}}),
    1.5,
)
_CHAT_IN_STREAM_ERROR = sse({"error": {"message": "The server had an error", "type": "server_error", "code": None}})


# OpenAI Responses.
def _responses_object(status: str, text: str | None) -> dict[str, Any]:
    output = (
        []
        if text is None
        else [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    )
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": MODEL,
        "output": output,
        "error": None,
        "incomplete_details": None,
        "parallel_tool_calls": True,
        "tools": [],
        "tool_choice": "auto",
        "usage": None
        if text is None
        else {
            "input_tokens": USAGE_IN,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": USAGE_OUT,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": USAGE_IN + USAGE_OUT,
        },
    }


def _responses_stream(texts: Sequence[str]) -> StreamShape:
    seq = iter(range(10_000))

    def ev(kind: str, **body: Any) -> bytes:
        return sse({"type": kind, "sequence_number": next(seq), **body}, kind)

    full = "".join(texts)
    loc = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    prelude = (
        ev("response.created", response=_responses_object("in_progress", None)),
        ev("response.in_progress", response=_responses_object("in_progress", None)),
        ev(
            "response.output_item.added",
            output_index=0,
            item={"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant", "content": []},
        ),
        ev("response.content_part.added", **loc, part={"type": "output_text", "text": "", "annotations": []}),
    )
    deltas = tuple(ev("response.output_text.delta", **loc, delta=t, logprobs=[]) for t in texts)
    final = _responses_object("completed", full)
    epilogue = (
        ev("response.output_text.done", **loc, text=full, logprobs=[]),
        ev("response.content_part.done", **loc, part={"type": "output_text", "text": full, "annotations": []}),
        ev("response.output_item.done", output_index=0, item=final["output"][0]),
        ev("response.completed", response=final),
    )
    return StreamShape(prelude, deltas, epilogue)


# Anthropic Messages.
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def _anthropic_body(text: str) -> bytes:
    return _j(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": USAGE_IN, "output_tokens": USAGE_OUT},
        }
    )


def _anthropic_stream(texts: Sequence[str]) -> StreamShape:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": USAGE_IN, "output_tokens": 1},
        },
    }
    return StreamShape(
        prelude=(
            sse(start, "message_start"),
            sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            ),
        ),
        deltas=tuple(
            sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
                "content_block_delta",
            )
            for t in texts
        ),
        epilogue=(
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": USAGE_OUT},
                },
                "message_delta",
            ),
            sse({"type": "message_stop"}, "message_stop"),
        ),
    )


def _anthropic_error(status: int, message: str) -> tuple[bytes, Headers]:
    kind = _ANTHROPIC_TYPES.get(status, "invalid_request_error")
    return _j({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}), JSON_CT


# Gemini generateContent.
_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_GEMINI_USAGE = {"promptTokenCount": USAGE_IN, "candidatesTokenCount": USAGE_OUT, "totalTokenCount": 8}


def _gemini_chunk(text: str, finish: str | None = None, usage: bool = False) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": MODEL, "responseId": "r1"}
    if usage:
        out["usageMetadata"] = _GEMINI_USAGE
    return out


def _gemini_stream(texts: Sequence[str]) -> StreamShape:
    return StreamShape(
        prelude=(),
        deltas=tuple(sse(_gemini_chunk(t), sep=b"\r\n\r\n") for t in texts),
        epilogue=(sse(_gemini_chunk("", "STOP", usage=True), sep=b"\r\n\r\n"),),
    )


def _gemini_error(status: int, message: str) -> tuple[bytes, Headers]:
    return _j({"error": {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "UNKNOWN")}}), JSON_CT


_GEMINI_HINT = (
    _j(
        {
            "error": {
                "code": 429,
                "message": "You exceeded your current quota.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
            }
        }
    ),
    37.0,
)


# Bedrock Converse.
_BEDROCK_TYPES = {
    400: "ValidationException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
    529: "ServiceUnavailableException",
}


def _bedrock_body(text: str) -> bytes:
    return _j(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": USAGE_IN, "outputTokens": USAGE_OUT, "totalTokens": USAGE_IN + USAGE_OUT},
            "metrics": {"latencyMs": 10},
        }
    )


def _bedrock_stream(texts: Sequence[str]) -> StreamShape:
    return StreamShape(
        prelude=(bedrock_event("messageStart", {"role": "assistant"}),),
        deltas=tuple(bedrock_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in texts),
        epilogue=(
            bedrock_event("contentBlockStop", {"contentBlockIndex": 0}),
            bedrock_event("messageStop", {"stopReason": "end_turn"}),
            bedrock_event(
                "metadata",
                {
                    "usage": {"inputTokens": USAGE_IN, "outputTokens": USAGE_OUT, "totalTokens": 8},
                    "metrics": {"latencyMs": 10},
                },
            ),
        ),
    )


def _bedrock_error(status: int, message: str) -> tuple[bytes, Headers]:
    kind = _BEDROCK_TYPES.get(status, "ValidationException")
    return _j({"message": message}), (
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    )


# Ollama /api/chat.
def _ollama_line(text: str, done: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": MODEL,
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": done,
    }
    if done:
        out.update(done_reason="stop", prompt_eval_count=USAGE_IN, eval_count=USAGE_OUT, total_duration=1)
    return out


def _ollama_stream(texts: Sequence[str]) -> StreamShape:
    return StreamShape((), tuple(ndjson(_ollama_line(t, False)) for t in texts), (ndjson(_ollama_line("", True)),))


# watsonx.ai text/chat.
def _watsonx_body(text: str) -> bytes:
    return _j(
        {
            "id": "chat-1",
            "model_id": MODEL,
            "created": 1,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT, "total_tokens": 8},
        }
    )


def _watsonx_stream(texts: Sequence[str]) -> StreamShape:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "id": "chat-1",
            "model_id": MODEL,
            "created": 1,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }

    usage = {"prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT, "total_tokens": 8}
    return StreamShape(
        prelude=(sse(chunk({"role": "assistant", "content": ""}), "message", event_id="1"),),
        deltas=tuple(sse(chunk({"content": t}), "message", event_id=str(i + 2)) for i, t in enumerate(texts)),
        epilogue=(sse(chunk({}, "stop", usage=usage), "message", event_id="999"),),
    )


def _watsonx_error(status: int, message: str) -> tuple[bytes, Headers]:
    code = {429: "rate_limit_exceeded", 500: "internal_error"}.get(status, "bad_request")
    return _j({"errors": [{"code": code, "message": message}], "trace": "t1", "status_code": status}), JSON_CT


_COMMON_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "WATSONX_PROJECT_ID": "project-1",
}

ROWS: tuple[WireRow, ...] = (
    WireRow(
        "openai",
        "accord.adapters.openai_chat",
        "text/event-stream",
        _chat_body,
        _chat_stream,
        _openai_error,
        _CHAT_IN_STREAM_ERROR,
        body_hint=_OPENAI_HINT,
    ),
    WireRow(
        "openai-responses",
        "accord.adapters.openai_responses",
        "text/event-stream",
        lambda text: _j(_responses_object("completed", text)),
        _responses_stream,
        _openai_error,
        sse(
            {"type": "error", "code": "server_error", "message": "boom", "param": None, "sequence_number": 99}, "error"
        ),
        body_hint=_OPENAI_HINT,
    ),
    WireRow(
        "azure",
        "accord.adapters.azure",
        "text/event-stream",
        _chat_body,
        _chat_stream,
        _openai_error,
        _CHAT_IN_STREAM_ERROR,
        options=({"api_version": "2024-10-21"}, {}),
        body_hint=_OPENAI_HINT,
    ),
    WireRow(
        "anthropic",
        "accord.adapters.anthropic",
        "text/event-stream",
        _anthropic_body,
        _anthropic_stream,
        _anthropic_error,
        sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"),
    ),
    WireRow(
        "gemini",
        "accord.adapters.gemini",
        "text/event-stream",
        lambda text: _j(_gemini_chunk(text, "STOP", usage=True)),
        _gemini_stream,
        _gemini_error,
        sse({"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}, sep=b"\r\n\r\n"),
        body_hint=_GEMINI_HINT,
    ),
    WireRow(
        "bedrock",
        "accord.adapters.bedrock",
        "application/vnd.amazon.eventstream",
        _bedrock_body,
        _bedrock_stream,
        _bedrock_error,
        bedrock_exception("throttlingException", "Too many requests"),
        options=({"region": "us-east-1"}, {}),
        env=_COMMON_ENV,
        model="anthropic.claude-test-v1:0",
    ),
    WireRow(
        "ollama",
        "accord.adapters.ollama",
        "application/x-ndjson",
        lambda text: _j(_ollama_line(text, True)),
        _ollama_stream,
        lambda status, message: (_j({"error": message}), JSON_CT),
        ndjson({"error": "model runner has unexpectedly stopped"}),
    ),
    WireRow(
        "watsonx",
        "accord.adapters.watsonx",
        "text/event-stream",
        _watsonx_body,
        _watsonx_stream,
        _watsonx_error,
        sse({"errors": [{"code": "internal_error", "message": "boom"}], "trace": "t", "status_code": 500}, "error"),
        options=(
            {"project_id": "project-1", "iam_url": "{url}/identity/token"},
            {"project_id": "project-1"},
            {},
        ),
        env=_COMMON_ENV,
        aux_token_path="/identity/token",
    ),
    WireRow(
        "groq",
        "accord.adapters.providers",
        "text/event-stream",
        _chat_body,
        _chat_stream,
        _openai_error,
        _CHAT_IN_STREAM_ERROR,
        body_hint=_OPENAI_HINT,
    ),
    WireRow(
        "mistral",
        "accord.adapters.providers",
        "text/event-stream",
        _chat_body,
        _chat_stream,
        _openai_error,
        _CHAT_IN_STREAM_ERROR,
    ),
)

IAM_TOKEN = _j(
    {"access_token": "tok", "refresh_token": "r", "token_type": "Bearer", "expires_in": 3600, "expiration": 4102444800}
)
