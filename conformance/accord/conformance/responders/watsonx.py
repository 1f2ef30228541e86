"""The watsonx.ai chat responder: `TextChatResponse` bodies, `id:`/`event: message` SSE streams, `errors[]` bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, arguments_json, dumps, json_reply, retry_headers, split_text, tool_name_at

CREATED = 1767225600  # fixed: cassettes are deterministic
CREATED_AT = "2026-01-01T00:00:00.000Z"
TRACE = "0123456789abcdef0123456789abcdef"
MORE_INFO = "https://cloud.ibm.com/apidocs/watsonx-ai"

FINISH: Mapping[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "stop",
    "refusal": "stop",
    "error": "error",
    "other": "stop",
}

# Status and `errors[0].code` per kind; the context-window wording is the one the service sends (400
# `invalid_input_argument`), the quota one its documented 403 `token_quota_reached`.
ERRORS: Mapping[ErrorKind, tuple[int, str, str]] = {
    "auth": (401, "authentication_token_not_valid", "Failed to authenticate the request due to invalid token"),
    "permission": (403, "authorization_rejected", "Failed to authorize the request: not a member of the project"),
    "not_found": (404, "model_not_supported", "Model 'nonexistent' is not supported"),
    "invalid": (400, "json_validation_error", "Json document validation error: 'max_tokens' must be >= 1"),
    "context_window": (
        400,
        "invalid_input_argument",
        "Invalid input argument for Model 'ibm/granite-3-3-8b-instruct': the number of input tokens 140000 cannot "
        "exceed the total tokens limit 131072 for this model",
    ),
    "rate_limit": (429, "too_many_requests", "Too many requests, please try again later"),
    "quota": (403, "token_quota_reached", "The token quota of the instance has been reached"),
    "overloaded": (503, "service_unavailable", "The service is temporarily unavailable, please try again later"),
    "server": (500, "internal_server_error", "Internal server error"),
}


def _frame(number: int, data: Any, event: str = "message") -> bytes:
    return f"id: {number}\nevent: {event}\ndata: {dumps(data)}\n\n".encode()


class WatsonxResponder:
    wire = "watsonx"

    def is_streaming(self, request: SentRequest) -> bool:
        return request.url.path.endswith("/chat_stream")

    @staticmethod
    def _body(request: SentRequest) -> dict[str, Any]:
        return request.json if isinstance(request.json, dict) else {}

    def _base(self, answer: Answer, request: SentRequest) -> dict[str, Any]:
        return {
            "id": "chat-" + answer.id,
            "model_id": answer.model or self._body(request).get("model_id", ""),
            "model_version": "3.3.0",
            "created": CREATED,
            "created_at": CREATED_AT,
        }

    def _names(self, request: SentRequest) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self._body(request).get("tools") or []]

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        u = answer.usage
        return {"prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens, "total_tokens": u.total_tokens}

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        names = self._names(request)
        message: dict[str, Any] = {"role": "assistant", "content": answer.full_text}
        if answer.thinking:
            message["reasoning_content"] = "".join(answer.thinking)
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
            **self._base(answer, request),
            "choices": [{"index": 0, "message": message, "finish_reason": FINISH[answer.finish]}],
            "usage": self.usage(answer),
        }
        return json_reply(payload)

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        base = self._base(answer, request)

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}

        objects = [chunk({"role": "assistant", "content": ""})]
        objects += [chunk({"reasoning_content": piece}) for piece in answer.thinking]
        objects += [chunk({"content": piece}) for piece in answer.text]
        names = self._names(request)
        for index, call in enumerate(answer.tool_calls):
            first = {"index": index, "id": call.id, "type": "function"}
            first["function"] = {"name": tool_name_at(names, call), "arguments": ""}
            objects.append(chunk({"tool_calls": [first]}))
            for fragment in split_text(arguments_json(call)):
                objects.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
        frames = [_frame(n + 1, obj) for n, obj in enumerate(objects)]
        headers = {"content-type": "text/event-stream"}
        if answer.cut:
            return WireReply(200, headers, tuple(frames), cut=True)
        if answer.stream_error is not None:
            frames.append(_frame(len(frames) + 1, self._error_body(answer.stream_error), event="error"))
            return WireReply(200, headers, tuple(frames))
        # The stream has no terminator: the chunk with the finish reason and usage is the last one.
        frames.append(_frame(len(frames) + 1, chunk({}, FINISH[answer.finish], usage=self.usage(answer))))
        return WireReply(200, headers, tuple(frames))

    @staticmethod
    def _error_body(failure: Failure) -> dict[str, Any]:
        status, code, message = ERRORS[failure.kind]
        error = {"code": code, "message": failure.message or message, "more_info": MORE_INFO}
        return {"errors": [error], "trace": TRACE, "status_code": status}

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        status = ERRORS[failure.kind][0]
        headers = retry_headers(failure)
        if failure.retry_hint == "body" and failure.retry_after is not None:
            # watsonx has no in-body retry hint: the wait rides in `Retry-After`.
            headers["retry-after"] = f"{failure.retry_after:g}"
        return json_reply(self._error_body(failure), status=status, headers=headers)


def _replay_token() -> str:
    # Replay authorises with a fixed token: the IAM exchange is another HTTP request, outside the case scenario.
    return "replay-token"


RESPONDERS = [WatsonxResponder()]
_VISION = "meta-llama/llama-4-maverick-17b-128e-instruct-fp8"

TARGETS = [
    Target(
        name="watsonx",
        adapter="accord.adapters.watsonx:WatsonxAdapter",
        model="ibm/granite-3-3-8b-instruct",
        wire="watsonx",
        case_models={"completion.image_url": _VISION, "completion.image_base64": _VISION},
        options={"project_id": "00000000-0000-4000-8000-000000000000"},
        replay_credentials={"token_provider": _replay_token},
        live_credentials={"api_key": "WATSONX_API_KEY", "project_id": "WATSONX_PROJECT_ID"},
        waivers={"completion.cached_usage": "watsonx usage documents no cached-token count (TextChatUsage)"},
    ),
]
