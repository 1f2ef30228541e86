"""Gemini generateContent (Generative Language API): request and response mapping, SSE decoding, rpc errors."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr

from accord.contracts import (
    AuthenticationError,
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    ProviderInfo,
    RateLimitError,
    Request,
    Response,
    ResponseParseError,
    StreamEvent,
    StreamInterruptedError,
    TextPart,
    ThinkingPart,
    ToolCall,
    ToolChoice,
    ToolResult,
    UnsupportedFeatureError,
    Usage,
)

from ._assemble import StreamAssembler
from ._base import HTTPAdapter, StreamDecoder, WireContext
from ._errors import ErrorDetails, ErrorRule
from ._retry import parse_proto_duration
from ._shape import json_object, merge_options, token_count, tool_name, typed
from ._sse import SSEDecoder
from ._toolnames import TOOL_NAME_RULES, ToolNameRule

PROVIDER = "gemini"

# --- finish reasons ------------------------------------------------------------------------------------------

FINISH_REASONS: Mapping[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "IMAGE_OTHER": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "MALFORMED_RESPONSE": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
}


def map_finish(raw: str | None, has_calls: bool) -> FinishReason:
    mapped = FINISH_REASONS.get(raw or "", "other") if raw else "stop"
    return "tool_calls" if mapped == "stop" and has_calls else mapped


# --- request mapping -----------------------------------------------------------------------------------------

# `reasoning.effort` → `thinkingConfig.thinkingLevel` (Gemini 3; the enum of google-genai's `ThinkingLevel`).
_THINKING_LEVELS: Mapping[str, str] = {
    "minimal": "MINIMAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "xhigh": "XHIGH",
}
_USER_PARTS = (TextPart, ImagePart, DocumentPart)


def _unsupported(what: str, feature: str, model: str | None = None) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{PROVIDER}: {what}", feature=feature, provider=PROVIDER, model=model)


def _media_part(part: TextPart | ImagePart | DocumentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if part.url is not None:
        file: dict[str, Any] = {"fileUri": part.url}
        if part.media_type:
            file["mimeType"] = part.media_type
        return {"fileData": file}
    return {"inlineData": {"mimeType": part.media_type, "data": part.data}}


def _function_response(result: ToolResult, names: Mapping[str, str], ctx: WireContext) -> list[dict[str, Any]]:
    """A `functionResponse` (named after the call it answers) plus any media the result carries, as parts."""
    name = names.get(result.call_id)
    if name is None:
        raise _unsupported(f"tool result {result.call_id!r} answers no tool call in the history", "tool_result")
    media = [] if isinstance(result.content, str) else [p for p in result.content if not isinstance(p, TextPart)]
    # The response must be an object: the text goes under `result`, or `error` when the tool failed.
    payload = {"error" if result.is_error else "result": result.text}
    parts: list[dict[str, Any]] = [
        {"functionResponse": {"id": result.call_id, "name": ctx.names.wire(name), "response": payload}}
    ]
    parts.extend(_media_part(p) for p in media)
    return parts


def _model_parts(message: Message, ctx: WireContext) -> list[dict[str, Any]]:
    """The assistant's parts, with Gemini's own thought signatures put back where they came from.

    A signature-only `ThinkingPart` stands for the `thoughtSignature` Gemini put on the part that follows it
    (a function call or text), so it goes back onto that part. Thinking from another provider is left out: its
    signature means nothing here and its text was that model's private reasoning.
    """
    parts: list[dict[str, Any]] = []
    pending: str | None = None
    for part in message.parts:
        if isinstance(part, ThinkingPart):
            if part.provider != PROVIDER or part.redacted:
                continue
            if part.text:
                thought: dict[str, Any] = {"text": part.text, "thought": True}
                if part.signature:
                    thought["thoughtSignature"] = part.signature
                parts.append(thought)
            elif part.signature:
                pending = part.signature
            continue
        wire: dict[str, Any]
        if isinstance(part, ToolCall):
            wire = {"functionCall": {"id": part.id, "name": ctx.names.wire(part.name), "args": part.arguments}}
        elif isinstance(part, TextPart):
            wire = {"text": part.text}
        else:
            continue  # assistant messages hold nothing else
        if pending is not None:
            wire["thoughtSignature"] = pending
            pending = None
        parts.append(wire)
    if pending is not None:  # the signature came last (streams send it on an empty text part)
        parts.append({"text": "", "thoughtSignature": pending})
    return parts


def _contents(request: Request, ctx: WireContext) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = [request.system] if request.system else []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}  # call id → tool name, for the functionResponse that answers it
    for message in request.messages:
        if message.role == "system":
            system.append(message.text)
            continue
        if message.role == "assistant":
            for call in message.tool_calls:
                call_names[call.id] = call.name
            role, parts = "model", _model_parts(message, ctx)
        elif message.role == "tool":
            role, parts = "user", [p for r in message.tool_results for p in _function_response(r, call_names, ctx)]
        else:
            role, parts = "user", [_media_part(p) for p in message.parts if isinstance(p, _USER_PARTS)]
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return system, contents


def _function_calling(request: Request, ctx: WireContext) -> dict[str, Any] | None:
    choice: ToolChoice | None = request.tool_choice
    if request.parallel_tool_calls is False:
        raise _unsupported("Gemini cannot be told to call tools one at a time", "parallel_tool_calls", ctx.model)
    if choice is None or choice.mode == "auto":
        # Strict tools: VALIDATED constrains arguments to the schemas; only when every tool asked and got strict.
        if request.tools and all(ctx.tool_strict(t) for t in request.tools):
            return {"mode": "VALIDATED"}
        return None if choice is None else {"mode": "AUTO"}
    if choice.mode == "none":
        return {"mode": "NONE"}
    if choice.mode == "required":
        return {"mode": "ANY"}
    return {"mode": "ANY", "allowedFunctionNames": [ctx.names.wire(n) for n in choice.names]}


def _thinking_config(request: Request, ctx: WireContext) -> dict[str, Any] | None:
    reasoning = request.reasoning
    if reasoning is None:
        return None
    if reasoning.effort == "none":
        return {"thinkingBudget": 0}
    config: dict[str, Any] = {"includeThoughts": True}
    if reasoning.budget_tokens is not None:
        config["thinkingBudget"] = reasoning.budget_tokens
    elif reasoning.effort is not None:
        if reasoning.effort not in _THINKING_LEVELS:
            raise _unsupported(f"reasoning effort {reasoning.effort!r} has no thinking level", "reasoning", ctx.model)
        config["thinkingLevel"] = _THINKING_LEVELS[reasoning.effort]
    return config


def to_wire(request: Request, ctx: WireContext) -> dict[str, Any]:
    """The `GenerateContentRequest` body for `request` (the model and the streaming choice are in the URL)."""
    system, contents = _contents(request, ctx)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if request.tools:
        declarations: list[dict[str, Any]] = []
        for tool in request.tools:
            declaration: dict[str, Any] = {
                "name": ctx.names.wire(tool.name),
                "description": tool.description,
                "parametersJsonSchema": ctx.tool_parameters(tool),
            }
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
    if (calling := _function_calling(request, ctx)) is not None:
        body["toolConfig"] = {"functionCallingConfig": calling}
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = request.stop
    if request.seed is not None:
        config["seed"] = request.seed
    if (thinking := _thinking_config(request, ctx)) is not None:
        config["thinkingConfig"] = thinking
    if ctx.native_output is not None and not ctx.native_output.json_mode:
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = ctx.native_output.schema
    elif ctx.native_output is not None and not request.tools:
        # JSON mode (prompted output): the mime type alone; Gemini rejects it next to function tools before
        # Gemini 3, so with tools the instructions alone ask for JSON.
        config["responseMimeType"] = "application/json"
    if config:
        body["generationConfig"] = config
    merge_options(body, request.provider_options.get(PROVIDER, {}))
    return body


# --- response mapping ----------------------------------------------------------------------------------------


def usage_from_wire(raw: Mapping[str, Any]) -> Usage:
    """`promptTokenCount` includes cached tokens; output is candidates plus thoughts (reported apart)."""
    prompt = token_count(raw.get("promptTokenCount"))
    thoughts = token_count(raw.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=prompt,
        output_tokens=token_count(raw.get("candidatesTokenCount")) + thoughts,
        cache_read_tokens=min(token_count(raw.get("cachedContentTokenCount")), prompt),
        reasoning_tokens=thoughts,
    )


def call_id(response_id: str, ordinal: int, call: Mapping[str, Any]) -> str:
    """Gemini's own id when it sent one, else a deterministic id from the response id and the call's position."""
    given = call.get("id")
    if isinstance(given, str) and given:
        return given
    if response_id:
        return f"call_{response_id}_{ordinal}"
    digest = hashlib.sha256(json.dumps(call, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    return f"call_{digest}_{ordinal}"


class ChunkReader:
    """Maps `GenerateContentResponse` objects onto a `StreamAssembler`: one for a whole response, many for a stream.

    Consecutive text parts of one kind (answer or thought) join into one part; a `thoughtSignature` on a non-thought
    part becomes a signature-only `ThinkingPart` right before it, which `to_wire` puts back on that part.
    """

    def __init__(self, adapter: GeminiAdapter, ctx: WireContext) -> None:
        self.adapter = adapter
        self.ctx = ctx
        self.asm = StreamAssembler(
            provider=PROVIDER,
            model=ctx.model,
            names=ctx.names,
            thinking_provider=PROVIDER,
            restore=ctx.restore_arguments,
        )
        self.segment = 0
        self.last_kind = ""
        self.calls = 0
        self.raw_finish: str | None = None
        self.extra: dict[str, Any] = {}

    def _key(self, kind: str) -> tuple[str, int]:
        if kind != self.last_kind or kind == "call":
            self.segment += 1
            self.last_kind = kind
        return kind, self.segment

    def read(self, obj: Mapping[str, Any]) -> list[StreamEvent]:
        if obj.get("error") is not None:
            raise self.adapter.stream_error(obj, self.ctx.model)
        events: list[StreamEvent] = []
        self.asm.response_id = self.asm.response_id or str(obj.get("responseId") or "")
        if obj.get("modelVersion"):
            self.asm.model = str(obj["modelVersion"])
        feedback = obj.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            # The prompt itself was blocked: no candidates, the reason is in the feedback.
            self.raw_finish = str(feedback["blockReason"])
            self.asm.finish("content_filter", self.raw_finish)
            self.extra["prompt_feedback"] = feedback
        if candidates := typed(obj.get("candidates"), list, "candidates", PROVIDER, raw=obj):
            events.extend(self._candidate(typed(candidates[0], dict, "candidates[0]", PROVIDER, raw=obj) or {}))
        usage = obj.get("usageMetadata")
        if isinstance(usage, dict):  # the last usage reported wins
            events.extend(self.asm.set_usage(usage_from_wire(usage)))
        return events

    def _candidate(self, candidate: Mapping[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        path = "candidates[0].content"
        content = typed(candidate.get("content"), dict, path, PROVIDER, raw=candidate) or {}
        for index, part in enumerate(typed(content.get("parts"), list, f"{path}.parts", PROVIDER, raw=content) or []):
            events.extend(self._part(typed(part, dict, f"{path}.parts[{index}]", PROVIDER, raw=content) or {}))
        if candidate.get("finishReason"):
            self.raw_finish = str(candidate["finishReason"])
            self.asm.finish(map_finish(self.raw_finish, self.calls > 0), self.raw_finish)
        for name in ("safetyRatings", "citationMetadata", "finishMessage"):
            if candidate.get(name):
                self.extra[name] = candidate[name]
        return events

    def _part(self, part: Mapping[str, Any]) -> list[StreamEvent]:
        signature = part.get("thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        text = typed(part.get("text"), str, "part.text", PROVIDER, raw=part) or ""
        if part.get("thought"):
            return self.asm.thinking(self._key("thought"), text, signature=signature)
        events: list[StreamEvent] = []
        if signature is not None:
            events.extend(self.asm.thinking(self._key("signature"), signature=signature))
            self.last_kind = "signature"  # a signature slot never takes more text
        if "functionCall" in part:
            call = typed(part.get("functionCall"), dict, "part.functionCall", PROVIDER, raw=part) or {}
            name = tool_name(call.get("name"), "part.functionCall.name", PROVIDER, raw=part)
            args = call.get("args") or {}
            if not isinstance(args, dict):
                raise ResponseParseError(
                    f"{PROVIDER}: functionCall.args is not an object", raw=json.dumps(part), provider=PROVIDER
                )
            key = self._key("call")
            ident = call_id(self.asm.response_id, self.calls, call)
            self.calls += 1
            events.extend(self.asm.tool_start(key, ident, name))
            events.extend(self.asm.tool_end(key, args))
        elif "text" in part:
            events.extend(self.asm.text(self._key("text"), text))
        elif signature is None:
            # Code execution, inline images and the like: no contract part holds them; keep them, visibly.
            self.extra.setdefault("other_content", []).append(dict(part))
        return events

    def info(self, headers: Mapping[str, str]) -> ProviderInfo:
        return self.adapter.provider_info(headers, extra=dict(self.extra))


def from_wire(payload: Any, ctx: WireContext, adapter: GeminiAdapter, headers: Mapping[str, str]) -> Response:
    """A `Response` from a `GenerateContentResponse` body."""
    if not isinstance(payload, dict):
        raise ResponseParseError(f"{PROVIDER}: a response must be an object", raw=json.dumps(payload)[:4000])
    reader = ChunkReader(adapter, ctx)
    reader.read(payload)
    if not payload.get("candidates") and reader.raw_finish is None:
        raise ResponseParseError(
            f"{PROVIDER}: a response needs candidates or a prompt block reason",
            raw=json.dumps(payload)[:4000],
            provider=PROVIDER,
        )
    return reader.asm.response(reader.info(headers))


# --- stream decoding -----------------------------------------------------------------------------------------


class GenerateStreamDecoder(StreamDecoder):
    """`data: {GenerateContentResponse}` frames with no terminator: the end of the body ends the stream.

    A stream that ends with no finish reason (and no blocked prompt) was cut off.
    """

    def __init__(self, adapter: GeminiAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        self.headers = headers
        self.sse = SSEDecoder()
        self.reader = ChunkReader(adapter, ctx)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.feed(chunk):
            events.extend(self._on_data(sse.data))
        return events

    def _on_data(self, data: str) -> list[StreamEvent]:
        obj = json_object(data, PROVIDER, "stream frame")
        return self.reader.read(obj)

    def close(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.flush():
            events.extend(self._on_data(sse.data))
        if self.reader.asm.finish_reason is None:
            raise StreamInterruptedError(
                f"{PROVIDER}: the stream ended without a finish reason", partial=self.partial()
            )
        return events + self.reader.asm.end(self.reader.info(self.headers))

    def partial(self) -> Response:
        return self.reader.asm.response(self.reader.info(self.headers), partial=True)


# --- errors and the adapter ----------------------------------------------------------------------------------

_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def error_details(body: Any, status: int | None) -> ErrorDetails:
    """`google.rpc.Status` in `{"error": {code, message, status, details[]}}` (a list of them on some paths).

    The `ErrorInfo.reason` (e.g. `API_KEY_INVALID`) is the code when present, else the rpc status name; the rpc
    status name is the type. `RetryInfo.retryDelay` is the retry hint.
    """
    if isinstance(body, list) and body:
        body = body[0]
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        if isinstance(body, str) and body.strip():
            return ErrorDetails(message=body.strip()[:2000])
        return ErrorDetails(message=f"HTTP {status}")
    reason: str | None = None
    retry_after: float | None = None
    for detail in err.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("@type") == _ERROR_INFO and detail.get("reason"):
            reason = str(detail["reason"])
        elif detail.get("@type") == _RETRY_INFO and isinstance(detail.get("retryDelay"), str):
            retry_after = parse_proto_duration(detail["retryDelay"])
    rpc_status = err.get("status")
    code = err.get("code")
    return ErrorDetails(
        message=str(err.get("message") or f"HTTP {status}"),
        code=reason or (None if rpc_status is None else str(rpc_status)),
        type=None if rpc_status is None else str(rpc_status),
        status=code if isinstance(code, int) else None,
        retry_after=retry_after,
    )


ERROR_RULES: tuple[ErrorRule, ...] = (
    # A bad key is a 400 INVALID_ARGUMENT on this API: the ErrorInfo reason says what it is.
    ErrorRule(AuthenticationError, code="API_KEY_INVALID"),
    # Quota exhaustion (QuotaFailure details, "You exceeded your current quota") is a retryable rate limit here.
    ErrorRule(RateLimitError, type="RESOURCE_EXHAUSTED"),
)


class GeminiAdapter(HTTPAdapter):
    """The Generative Language API; the key goes in `x-goog-api-key` (never `?key=`, which would end up in logs).

    The key comes from `GEMINI_API_KEY`, or `GOOGLE_API_KEY` when that is unset (what Google's SDK also reads).
    """

    name: ClassVar[str] = PROVIDER
    env_var: ClassVar[str | None] = "GEMINI_API_KEY"
    fallback_env_var: ClassVar[str] = "GOOGLE_API_KEY"
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com/v1beta"
    tool_name_rule: ClassVar[ToolNameRule] = TOOL_NAME_RULES["gemini"]
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ERROR_RULES

    def _resolve_key(self, api_key: str | SecretStr | None) -> SecretStr | None:
        if not api_key and not os.environ.get(self.env_var or "") and os.environ.get(self.fallback_env_var):
            api_key = os.environ[self.fallback_env_var]
        return super()._resolve_key(api_key)

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if self.api_key is not None:
            headers["x-goog-api-key"] = self.api_key.get_secret_value()
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        model = ctx.model.removeprefix("models/")
        method = "streamGenerateContent" if ctx.streaming else "generateContent"
        return f"{self.base_url}/models/{model}:{method}"

    def _wire_params(self, ctx: WireContext) -> dict[str, str] | None:
        return {"alt": "sse"} if ctx.streaming else None

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return GenerateStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return error_details(body, status)
