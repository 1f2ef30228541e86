"""The OpenAI Chat Completions responder: documented response bodies, chunk streams and error bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..oracles import Oracle
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, arguments_json, json_reply, retry_headers, split_text, sse_reply, tool_name_at

CREATED = 1767225600  # fixed: cassettes are deterministic
FINGERPRINT = "fp_0123456789"

FINISH: Mapping[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "stop",
    "error": "stop",
    "other": "stop",
}


@dataclass(frozen=True)
class ErrorShape:
    """One error as the vendor documents it: status, `error.type`, `error.code`, `error.param`, message."""

    status: int
    type: str | None
    code: str | None
    message: str
    param: str | None = None


# OpenAI's documented errors (platform.openai.com/docs/guides/error-codes), wording as the API sends it.
OPENAI_ERRORS: Mapping[ErrorKind, ErrorShape] = {
    "auth": ErrorShape(
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: test-key. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    "permission": ErrorShape(
        403, "request_forbidden", "unsupported_country_region_territory", "Country, region, or territory not supported"
    ),
    "not_found": ErrorShape(
        404,
        "invalid_request_error",
        "model_not_found",
        "The model `gpt-nonexistent` does not exist or you do not have access to it.",
    ),
    "invalid": ErrorShape(
        400,
        "invalid_request_error",
        "integer_below_min_value",
        "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
        "max_tokens",
    ),
    "context_window": ErrorShape(
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130532 tokens. Please reduce the length of the messages.",
        "messages",
    ),
    "rate_limit": ErrorShape(
        429,
        "tokens",
        "rate_limit_exceeded",
        "Rate limit reached for gpt-4o-mini in organization org-000000 on tokens per min "
        "(TPM): Limit 200000, Used 199000, Requested 2000.",
    ),
    "quota": ErrorShape(
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    ),
    "overloaded": ErrorShape(503, "server_error", None, "The engine is currently overloaded, please try again later."),
    "server": ErrorShape(
        500, "server_error", None, "The server had an error while processing your request. Sorry about that!"
    ),
}


def _duration(seconds: float) -> str:
    """OpenAI's hint format: `94ms`, `1.5s`, `7s`."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class OpenAIChatResponder:
    """Chat Completions as OpenAI documents it. Compatible vendors reuse it with their own `errors` table and
    `wire` name (e.g. `OpenAIChatResponder(wire="groq", errors={...})`)."""

    wire: str = "openai_chat"
    errors: Mapping[ErrorKind, ErrorShape] = field(default_factory=lambda: dict(OPENAI_ERRORS))
    id_prefix: str = "chatcmpl-"
    headers: Mapping[str, str] = field(
        default_factory=lambda: {"x-request-id": "req_0123456789abcdef", "openai-processing-ms": "321"}
    )

    def is_streaming(self, request: SentRequest) -> bool:
        body = request.json
        return isinstance(body, dict) and body.get("stream") is True

    # --- answers ----------------------------------------------------------------------------------------------

    def _base(self, answer: Answer, request: SentRequest, obj: str) -> dict[str, Any]:
        body = request.json if isinstance(request.json, dict) else {}
        return {
            "id": self.id_prefix + answer.id,
            "object": obj,
            "created": CREATED,
            "model": answer.model or body.get("model", ""),
            "system_fingerprint": FINGERPRINT,
        }

    @staticmethod
    def _tool_names(request: SentRequest) -> list[str]:
        body = request.json if isinstance(request.json, dict) else {}
        return [t.get("function", {}).get("name", "") for t in body.get("tools") or []]

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        u = answer.usage
        return {
            "prompt_tokens": u.input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.total_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": u.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        names = self._tool_names(request)
        message: dict[str, Any] = {"role": "assistant", "content": answer.full_text or None, "refusal": None}
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": tool_name_at(names, call), "arguments": arguments_json(call)},
                }
                for call in answer.tool_calls
            ]
        payload = {
            **self._base(answer, request, "chat.completion"),
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": FINISH[answer.finish]}],
            "usage": self.usage(answer),
            "service_tier": "default",
        }
        return json_reply(payload, headers=self.headers)

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        body = request.json if isinstance(request.json, dict) else {}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = self._base(answer, request, "chat.completion.chunk")
        extra: dict[str, Any] = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice], **extra}

        events: list[tuple[str | None, Any]] = [(None, chunk({"role": "assistant", "content": "", "refusal": None}))]
        events += [(None, chunk({"content": piece})) for piece in answer.text]
        names = self._tool_names(request)
        for index, call in enumerate(answer.tool_calls):
            first = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": tool_name_at(names, call), "arguments": ""},
            }
            events.append((None, chunk({"tool_calls": [first]})))
            for fragment in split_text(arguments_json(call)):
                events.append((None, chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})))
        if answer.cut:
            return sse_reply(events, headers=self.headers, cut=True)
        if answer.stream_error is not None:
            shape = self.errors[answer.stream_error.kind]
            events.append((None, {"error": self._error_object(shape, answer.stream_error)}))
            return sse_reply(events, headers=self.headers)
        events.append((None, chunk({}, FINISH[answer.finish])))
        if include_usage:
            events.append((None, {**base, "choices": [], "usage": self.usage(answer)}))
        events.append((None, "[DONE]"))
        return sse_reply(events, headers=self.headers)

    # --- errors -----------------------------------------------------------------------------------------------

    def _error_object(self, shape: ErrorShape, failure: Failure) -> dict[str, Any]:
        message = failure.message or shape.message
        if failure.retry_hint == "body" and failure.retry_after is not None:
            message = f"{message} Please try again in {_duration(failure.retry_after)}."
        return {"message": message, "type": shape.type, "param": shape.param, "code": shape.code}

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        shape = self.errors[failure.kind]
        headers = {**self.headers, **retry_headers(failure)}
        return json_reply({"error": self._error_object(shape, failure)}, status=shape.status, headers=headers)


RESPONDERS = [OpenAIChatResponder()]

TARGETS = [
    Target(
        name="openai",
        adapter="accord.adapters.openai_chat:OpenAIChatAdapter",
        model="gpt-4o-mini",
        wire="openai_chat",
        case_models={"completion.reasoning": "o4-mini"},
        live_credentials={"api_key": "OPENAI_API_KEY"},
    ),
]


def _oracles() -> list[Oracle]:
    from ..oracle_openai import ORACLES as openai_oracles

    return list(openai_oracles)


ORACLES = _oracles()
