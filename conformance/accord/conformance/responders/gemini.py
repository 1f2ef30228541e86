"""The Gemini generateContent responder: documented response bodies, `alt=sse` chunk streams and rpc errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cassette import body_value
from ..oracles import Oracle, OracleInput
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, json_reply, sse_reply, tool_name_at

# accord finish reason → the finishReason Gemini sends (a tool call ends with STOP; there is no refusal reason).
FINISH_REASONS: Mapping[str, str] = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
    "refusal": "SAFETY",
    "error": "MALFORMED_FUNCTION_CALL",
    "other": "OTHER",
}

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


@dataclass(frozen=True)
class ErrorShape:
    """One `google.rpc.Status` as the Generative Language API sends it."""

    code: int
    status: str
    message: str
    details: tuple[dict[str, Any], ...] = ()


GEMINI_ERRORS: Mapping[ErrorKind, ErrorShape] = {
    "auth": ErrorShape(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        (
            {
                "@type": _ERROR_INFO,
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
        ),
    ),
    "permission": ErrorShape(403, "PERMISSION_DENIED", "The caller does not have permission"),
    "not_found": ErrorShape(
        404,
        "NOT_FOUND",
        "models/gemini-nonexistent is not found for API version v1beta, or is not supported for generateContent. "
        "Call ModelService.ListModels to see the list of available models and their supported methods.",
    ),
    "invalid": ErrorShape(
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Unknown name \"foo\" at 'generation_config': Cannot find field.",
    ),
    "context_window": ErrorShape(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    ),
    "rate_limit": ErrorShape(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details. For more information on this "
        "error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        (
            {
                "@type": _QUOTA_FAILURE,
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "10",
                    }
                ],
            },
        ),
    ),
    "quota": ErrorShape(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota."),
    "overloaded": ErrorShape(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "server": ErrorShape(
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
}


def _duration(seconds: float) -> str:
    """google.protobuf.Duration in JSON: `37s`, `1.500s`."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.3f}s"


@dataclass(frozen=True)
class GeminiResponder:
    """generateContent / streamGenerateContent as the Generative Language API documents them."""

    wire: str = "gemini"
    errors: Mapping[ErrorKind, ErrorShape] = field(default_factory=lambda: dict(GEMINI_ERRORS))
    headers: Mapping[str, str] = field(default_factory=lambda: {"x-goog-request-id": "synthetic-0001"})

    def is_streaming(self, request: SentRequest) -> bool:
        return request.url.path.endswith(":streamGenerateContent")

    @staticmethod
    def usage(answer: Answer, *, final: bool = True) -> dict[str, Any]:
        """accord's usage in Gemini's convention: candidates exclude thoughts; the prompt includes cached tokens."""
        u = answer.usage
        usage: dict[str, Any] = {"promptTokenCount": u.input_tokens}
        if u.cache_read_tokens:
            usage["cachedContentTokenCount"] = u.cache_read_tokens
        if final:
            usage["candidatesTokenCount"] = u.output_tokens - u.reasoning_tokens
            usage["totalTokenCount"] = u.total_tokens
            if u.reasoning_tokens:
                usage["thoughtsTokenCount"] = u.reasoning_tokens
        return usage

    @staticmethod
    def _model(answer: Answer, request: SentRequest) -> str:
        if answer.model:
            return answer.model
        return request.url.path.rsplit("/", 1)[-1].split(":", 1)[0]

    @staticmethod
    def _tool_names(request: SentRequest) -> list[str]:
        body = request.json if isinstance(request.json, dict) else {}
        names: list[str] = []
        for tool in body.get("tools") or []:
            names += [str(d.get("name", "")) for d in tool.get("functionDeclarations") or []]
        return names

    def _calls(self, answer: Answer, request: SentRequest) -> list[dict[str, Any]]:
        names = self._tool_names(request)
        return [
            {"functionCall": {"id": call.id, "name": tool_name_at(names, call), "args": call.arguments}}
            for call in answer.tool_calls
        ]

    def _chunk(
        self, answer: Answer, request: SentRequest, parts: list[dict[str, Any]], *, finish: bool, final: bool
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = FINISH_REASONS[answer.finish]
        return {
            "candidates": [candidate],
            "usageMetadata": self.usage(answer, final=final),
            "modelVersion": self._model(answer, request),
            "responseId": answer.id,
        }

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        parts: list[dict[str, Any]] = []
        if answer.thinking:
            parts.append({"text": "".join(answer.thinking), "thought": True})
        if answer.full_text:
            parts.append({"text": answer.full_text})
        parts += self._calls(answer, request)
        return json_reply(self._chunk(answer, request, parts, finish=True, final=True), headers=self.headers)

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        pieces: list[list[dict[str, Any]]] = [[{"text": t, "thought": True}] for t in answer.thinking]
        pieces += [[{"text": t}] for t in answer.text]
        if answer.tool_calls:
            pieces.append(self._calls(answer, request))  # function calls arrive whole, in one chunk
        if not pieces:
            pieces.append([{"text": ""}])
        events: list[tuple[str | None, Any]] = []
        last = len(pieces) - 1
        for i, parts in enumerate(pieces):
            # Only the last chunk carries the finish reason and the complete usage (the last usage wins).
            done = i == last and not answer.cut and answer.stream_error is None
            events.append((None, self._chunk(answer, request, parts, finish=done, final=done)))
        if answer.cut:
            return sse_reply(events, headers=self.headers, cut=True)
        if answer.stream_error is not None:
            shape = self.errors[answer.stream_error.kind]
            events.append((None, {"error": self._status(shape, answer.stream_error)}))
        return sse_reply(events, headers=self.headers)

    # --- errors -----------------------------------------------------------------------------------------------

    @staticmethod
    def _status(shape: ErrorShape, failure: Failure) -> dict[str, Any]:
        details = list(shape.details)
        if failure.retry_after is not None:
            # Gemini's only retry hint is `RetryInfo` in the body (it sends no Retry-After header), so every hint
            # form of the scenario is rendered as that.
            details.append({"@type": _RETRY_INFO, "retryDelay": _duration(failure.retry_after)})
        status: dict[str, Any] = {
            "code": shape.code,
            "message": failure.message or shape.message,
            "status": shape.status,
        }
        if details:
            status["details"] = details
        return status

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        shape = self.errors[failure.kind]
        return json_reply({"error": self._status(shape, failure)}, status=shape.code, headers=self.headers)


# --- oracles: google-genai's types, chunk by chunk ------------------------------------------------------------


def _is_generate(data: OracleInput) -> bool:
    return data.interaction.request.path.endswith(("GenerateContent", ":generateContent"))


def _events(data: OracleInput) -> list[Any] | None:
    response = data.interaction.response
    if response is None or "sse" not in response.body:
        return None
    return [e.get("data") for e in response.body["sse"]]


def check_sdk_types(data: OracleInput) -> list[str]:
    """Every piece of the request through google-genai's types (extra fields forbidden); answers and chunks too."""
    if not _is_generate(data):
        return []
    from google.genai import types
    from pydantic import ValidationError

    problems: list[str] = []
    body = body_value(data.interaction.request.body)
    pieces: list[tuple[str, Any, Any]] = []
    if isinstance(body, dict):
        pieces += [("contents", types.Content, c) for c in body.get("contents") or []]
        if "systemInstruction" in body:
            pieces.append(("systemInstruction", types.Content, body["systemInstruction"]))
        pieces += [("tools", types.Tool, t) for t in body.get("tools") or []]
        if "toolConfig" in body:
            pieces.append(("toolConfig", types.ToolConfig, body["toolConfig"]))
        if "generationConfig" in body:
            pieces.append(("generationConfig", types.GenerationConfig, body["generationConfig"]))
        known = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings"}
        unknown = sorted(set(body) - known - {"cachedContent"})
        if unknown:
            problems.append(f"request: fields GenerateContentRequest does not have: {unknown}")
    for where, model, value in pieces:
        try:
            model.model_validate(value)
        except ValidationError as exc:
            problems.append(f"request {where}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    response = data.interaction.response
    if response is None or response.status != 200:
        return problems
    events = _events(data)
    answers = [body_value(response.body)] if events is None else [e for e in events if "error" not in e]
    for answer in answers:
        try:
            types.GenerateContentResponse.model_validate(answer)
        except ValidationError as exc:
            problems.append(f"response: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    return problems


def check_stream_chunks(data: OracleInput) -> list[str]:
    """Differential: the chunks parsed by google-genai, joined, agree with accord's aggregate."""
    events = _events(data)
    accord = data.accord_response
    if not _is_generate(data) or events is None or accord is None:
        return []
    from google.genai import types

    chunks = [types.GenerateContentResponse.model_validate(e) for e in events if isinstance(e, dict)]
    parts = [p for c in chunks for cand in (c.candidates or [])[:1] if cand.content for p in cand.content.parts or []]
    problems: list[str] = []
    text = "".join(p.text or "" for p in parts if not p.thought)
    if text != accord.text:
        problems.append(f"text: sdk {text!r} != accord {accord.text!r}")
    calls = [(p.function_call.name, p.function_call.args or {}) for p in parts if p.function_call]
    accord_calls = [(c.name, c.arguments) for c in accord.tool_calls]
    if [args for _, args in calls] != [args for _, args in accord_calls]:
        problems.append(f"tool calls: sdk {calls!r} != accord {accord_calls!r}")
    usage = next((c.usage_metadata for c in reversed(chunks) if c.usage_metadata), None)
    if usage is not None and (usage.prompt_token_count or 0) != accord.usage.input_tokens:
        problems.append(f"input tokens: sdk {usage.prompt_token_count} != accord {accord.usage.input_tokens}")
    return problems


RESPONDERS = [GeminiResponder()]

TARGETS = [
    Target(
        name="gemini",
        adapter="accord.adapters.gemini:GeminiAdapter",
        model="gemini-2.5-flash",
        wire="gemini",
        live_credentials={"api_key": "GEMINI_API_KEY"},
        waivers={
            "errors.quota": "the Generative Language API has no non-retryable quota or billing error: an exhausted "
            "quota is 429 RESOURCE_EXHAUSTED (with QuotaFailure and RetryInfo details), which accord classifies "
            "as a retryable RateLimitError as documented in ARCHITECTURE.md",
        },
    ),
]

ORACLES = [
    Oracle("google-genai-types", "gemini", check_sdk_types, requires=("google.genai",)),
    Oracle("google-genai-stream-chunks", "gemini", check_stream_chunks, requires=("google.genai",)),
]
