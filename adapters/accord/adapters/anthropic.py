"""Anthropic Messages (`/v1/messages`): request and response mapping, the SSE event decoder, error details."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from accord.contracts import (
    DocumentPart,
    FinishReason,
    ImagePart,
    InvalidRequestError,
    Message,
    Part,
    ProviderInfo,
    QuotaExceededError,
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
from ._dialects.anthropic import StrictLoad, over_limits, strict_load
from ._errors import ErrorDetails, ErrorRule
from ._shape import json_object, merge_options, token_count, tool_name, typed
from ._sse import SSEDecoder
from ._toolnames import TOOL_NAME_RULES, ToolNameRule

PROVIDER = "anthropic"
API_VERSION = "2023-06-01"
_log = logging.getLogger("accord")

# --- finish reasons ------------------------------------------------------------------------------------------

FINISH_REASONS: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "refusal",
    "pause_turn": "other",
}


def map_finish(raw: str | None) -> FinishReason:
    return FINISH_REASONS.get(raw or "", "other") if raw else "stop"


# --- request mapping -----------------------------------------------------------------------------------------

# Effort levels `output_config.effort` accepts (adaptive thinking); others have no Anthropic equivalent.
_EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})
_USER_PARTS = (TextPart, ImagePart, DocumentPart)
_CALL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_CALL_ID_BAD = re.compile(r"[^a-zA-Z0-9_-]")


def _unsupported(what: str, feature: str, model: str | None = None) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{PROVIDER}: {what}", feature=feature, provider=PROVIDER, model=model)


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": part.media_type, "data": part.data}}


def _document_block(part: DocumentPart) -> dict[str, Any]:
    source: dict[str, Any]
    if part.url is not None:
        source = {"type": "url", "url": part.url}
    elif part.media_type == "text/plain":
        # Plain-text documents travel as text, not base64.
        source = {"type": "text", "media_type": "text/plain", "data": (part.raw or b"").decode("utf-8")}
    elif part.media_type == "application/pdf":
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    else:
        raise _unsupported(f"documents of type {part.media_type!r} (only PDF and plain text)", "document_type")
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.name:
        block["title"] = part.name
    return block


def _media_block(part: TextPart | ImagePart | DocumentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return _image_block(part)
    return _document_block(part)


def wire_call_id(call_id: str) -> str:
    """A tool-use id Anthropic accepts (`^[a-zA-Z0-9_-]+$`). Ids from other providers' histories (Bedrock
    `a.b:c`, ...) are rewritten deterministically, so a call and its result still pair up."""
    if _CALL_ID.match(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:8]
    return f"{_CALL_ID_BAD.sub('_', call_id)}_{digest}"


def _tool_result_block(result: ToolResult) -> dict[str, Any]:
    content: str | list[dict[str, Any]]
    content = result.content if isinstance(result.content, str) else [_media_block(p) for p in result.content]
    return {
        "type": "tool_result",
        "tool_use_id": wire_call_id(result.call_id),
        "content": content,
        "is_error": result.is_error,
    }


def _thinking_block(part: ThinkingPart) -> dict[str, Any] | None:
    """A thinking block to send back, or None when Anthropic must not see it.

    Only thinking that Anthropic produced carries a signature Anthropic can verify; it is sent back unchanged.
    Another provider's reasoning (or unsigned reasoning) is left out: Anthropic rejects foreign or missing
    signatures, and the text was that other model's private reasoning, not part of the conversation.
    """
    if part.provider != PROVIDER or not part.signature:
        return None
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.signature}
    return {"type": "thinking", "thinking": part.text, "signature": part.signature}


def _assistant_blocks(message: Message, ctx: WireContext) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, ThinkingPart):
            if (block := _thinking_block(part)) is not None:
                blocks.append(block)
        elif isinstance(part, TextPart):
            if part.text:  # Anthropic rejects empty text blocks
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ToolCall):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": wire_call_id(part.id),
                    "name": ctx.names.wire(part.name),
                    "input": part.arguments,
                }
            )
    return blocks


def _messages(request: Request, ctx: WireContext) -> tuple[list[str], list[dict[str, Any]]]:
    """System texts (hoisted: Anthropic has no system role) and the alternating user/assistant messages."""
    system: list[str] = [request.system] if request.system else []
    wire: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            system.append(message.text)
            continue
        if message.role == "assistant":
            role, blocks = "assistant", _assistant_blocks(message, ctx)
        elif message.role == "tool":
            role, blocks = "user", [_tool_result_block(r) for r in message.tool_results]
        else:
            # A user message holds only text, images and documents (the message validator guarantees it).
            role, blocks = "user", [_media_block(p) for p in message.parts if isinstance(p, _USER_PARTS)]
        if not blocks:
            continue
        if wire and wire[-1]["role"] == role:
            # Tool results and the user's next words form one user turn.
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return system, wire


def _tool_choice(choice: ToolChoice | None, parallel: bool | None, ctx: WireContext) -> dict[str, Any] | None:
    wire: dict[str, Any]
    if choice is None:
        if parallel is None or parallel:
            return None
        wire = {"type": "auto"}
    elif choice.mode == "required":
        wire = {"type": "any"}
    elif choice.mode == "specific":
        if len(choice.names) > 1:
            raise _unsupported("tool_choice can force one named tool, not several", "tool_choice_names", ctx.model)
        wire = {"type": "tool", "name": ctx.names.wire(choice.names[0])}
    else:
        wire = {"type": choice.mode}
    if parallel is False and wire["type"] != "none":
        wire["disable_parallel_tool_use"] = True
    return wire


def _thinking(request: Request, ctx: WireContext, output_config: dict[str, Any]) -> dict[str, Any] | None:
    reasoning = request.reasoning
    if reasoning is None:
        return None
    if reasoning.effort == "none":
        return {"type": "disabled"}
    if reasoning.budget_tokens is not None:
        if reasoning.effort is not None:
            output_config["effort"] = _effort(reasoning.effort, ctx)
        return {"type": "enabled", "budget_tokens": reasoning.budget_tokens}
    if reasoning.effort is not None:
        output_config["effort"] = _effort(reasoning.effort, ctx)
    return {"type": "adaptive"}


def _effort(effort: str, ctx: WireContext) -> str:
    if effort not in _EFFORTS:
        raise _unsupported(f"reasoning effort {effort!r} (accepted: {', '.join(sorted(_EFFORTS))})", "reasoning")
    return effort


# Anthropic compiles every strict schema of a request into one grammar and answers 400 when the request exceeds
# its structured-output limits (20 strict tools; 24 optional and 16 union parameters across all strict schemas).
# They are checked here, before any network call. `output_config.format` is always constrained, so an output schema
# over the limits on its own cannot be sent at all: UnsupportedFeatureError (the output engine plans such a schema
# non-strict and prefers tool mode in `auto`). Strict tools are an optional guarantee: when they overflow the
# budget, all of them go without `strict` (not a subset that would depend on tool order), the request still works,
# and the reason is logged on the `accord` logger in the "(strict not applied)" wording of `SchemaPlan.reasons`.


def _native_load(ctx: WireContext) -> StrictLoad:
    """What `output_config.format` takes from the request's strict budgets; raises when it alone is over them."""
    native = ctx.native_output
    if native is None or native.json_mode:
        return StrictLoad()
    load = strict_load(native.schema)
    problems = over_limits(load)
    if problems:
        raise _unsupported(
            f"the output schema cannot be constrained by output_config.format: {'; '.join(problems)}; "
            'use output mode "tool" or "prompted"',
            "native_output",
            ctx.model,
        )
    return load


def _strict_tool_names(request: Request, ctx: WireContext, native: StrictLoad) -> set[str]:
    """The tools sent with `strict: true`: every tool whose plan holds strictly, or none when they overflow."""
    strict = [tool for tool in request.tools if ctx.tool_strict(tool)]
    if not strict:
        return set()
    load = sum((strict_load(ctx.tool_parameters(tool)) for tool in strict), native)
    problems = over_limits(load, strict_tools=len(strict))
    if not problems:
        return {tool.name for tool in strict}
    _log.warning(
        "%s:%s: tools %s sent without strict: %s (strict not applied)",
        PROVIDER,
        ctx.model,
        ", ".join(tool.name for tool in strict),
        "; ".join(problems),
    )
    return set()


def to_wire(request: Request, ctx: WireContext) -> dict[str, Any]:
    """The Messages API request body for `request`."""
    rules = ctx.profile.parameters
    native_load = _native_load(ctx)
    system, messages = _messages(request, ctx)
    max_tokens = request.max_tokens or rules.default_max_tokens or ctx.profile.max_output or 4096
    body: dict[str, Any] = {"model": ctx.model, "max_tokens": max_tokens, "messages": messages}
    if system:
        body["system"] = "\n\n".join(system)
    if request.tools:
        strict_names = _strict_tool_names(request, ctx, native_load)
        tools: list[dict[str, Any]] = []
        for tool in request.tools:
            wire_tool: dict[str, Any] = {
                "name": ctx.names.wire(tool.name),
                "description": tool.description,
                "input_schema": ctx.tool_parameters(tool),
            }
            if tool.name in strict_names:
                wire_tool["strict"] = True
            tools.append(wire_tool)
        body["tools"] = tools
    if (choice := _tool_choice(request.tool_choice, request.parallel_tool_calls, ctx)) is not None:
        body["tool_choice"] = choice
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = request.stop
    if request.seed is not None:
        raise _unsupported("the Messages API has no seed", "seed", ctx.model)
    output_config: dict[str, Any] = {}
    if (thinking := _thinking(request, ctx, output_config)) is not None:
        body["thinking"] = thinking
    if ctx.native_output is not None:
        if ctx.native_output.json_mode:
            raise _unsupported("the Messages API has no schema-less JSON mode", "json_mode", ctx.model)
        output_config["format"] = {"type": "json_schema", "schema": ctx.native_output.schema}
    if output_config:
        body["output_config"] = output_config
    if ctx.streaming:
        body["stream"] = True
    merge_options(body, request.provider_options.get(PROVIDER, {}))
    return body


# --- response mapping ----------------------------------------------------------------------------------------


def usage_from_wire(raw: Mapping[str, Any]) -> Usage:
    """Anthropic `input_tokens` excludes cache reads and writes: accord's input is the sum of all three."""
    cache_read = token_count(raw.get("cache_read_input_tokens"))
    cache_write = token_count(raw.get("cache_creation_input_tokens"))
    creation = raw.get("cache_creation")
    long_writes = token_count(creation.get("ephemeral_1h_input_tokens")) if isinstance(creation, dict) else 0
    output = token_count(raw.get("output_tokens"))
    details = raw.get("output_tokens_details")
    thinking = token_count(details.get("thinking_tokens")) if isinstance(details, dict) else 0
    return Usage(
        input_tokens=token_count(raw.get("input_tokens")) + cache_read + cache_write,
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_long_tokens=min(long_writes, cache_write),
        reasoning_tokens=min(thinking, output),
    )


def _parse_error(message: str, raw: Any) -> ResponseParseError:
    return ResponseParseError(f"{PROVIDER}: {message}", raw=json.dumps(raw)[:4000], provider=PROVIDER)


def _text(block: Mapping[str, Any], field: str, path: str) -> str:
    """A documented string field of a block or delta: anything but a string (or null) is a typed error."""
    return typed(block.get(field), str, f"{path}.{field}", PROVIDER, raw=block) or ""


def _call_id(block: Mapping[str, Any], index: int, path: str) -> str:
    # The id is a plain string in the spec (empty is valid JSON); a positional id still pairs call and result.
    return _text(block, "id", path) or f"toolu_{index}"


def _block_part(block: Mapping[str, Any], ctx: WireContext, index: int) -> Part | None:
    path = f"content[{index}]"
    kind = block.get("type")
    if kind == "text":
        return TextPart(text=_text(block, "text", path))
    if kind == "thinking":
        return ThinkingPart(
            text=_text(block, "thinking", path), signature=_text(block, "signature", path) or None, provider=PROVIDER
        )
    if kind == "redacted_thinking":
        return ThinkingPart(signature=_text(block, "data", path), redacted=True, provider=PROVIDER)
    if kind == "tool_use":
        arguments = block.get("input")
        if not isinstance(arguments, dict):
            raise _parse_error("tool_use.input is not an object", block)
        name = ctx.names.restore(tool_name(block.get("name"), f"{path}.name", PROVIDER, raw=block))
        arguments = ctx.restore_arguments(name, arguments)
        return ToolCall(id=_call_id(block, index, path), name=name, arguments=arguments)
    return None


def from_wire(payload: Any, ctx: WireContext, adapter: AnthropicAdapter, headers: Mapping[str, str]) -> Response:
    """A `Response` from a Messages API response body."""
    if not isinstance(payload, dict):
        raise _parse_error("a message response must be an object", payload)
    if payload.get("type") == "error":
        raise adapter.stream_error(payload, ctx.model)
    content = payload.get("content")
    if not isinstance(content, list):
        raise _parse_error("a message needs a `content` list", payload)
    parts: list[Part] = []
    # Server-tool and other blocks accord has no part for are kept in provider metadata, never dropped silently.
    other: list[Any] = []
    for index, block in enumerate(content):
        part = _block_part(typed(block, dict, f"content[{index}]", PROVIDER, raw=payload) or {}, ctx, index)
        if part is None:
            other.append(block)
        else:
            parts.append(part)
    raw_finish = payload.get("stop_reason")
    usage = payload.get("usage")
    extra: dict[str, Any] = {"other_content": other} if other else {}
    if payload.get("stop_sequence"):
        extra["stop_sequence"] = payload["stop_sequence"]
    return Response(
        id=str(payload.get("id") or ""),
        model=str(payload.get("model") or ctx.model),
        parts=parts,
        finish_reason=map_finish(raw_finish),
        provider_finish_reason=raw_finish,
        usage=usage_from_wire(usage) if isinstance(usage, dict) else Usage(),
        provider=adapter.provider_info(headers, extra=extra),
    )


# --- stream decoding -----------------------------------------------------------------------------------------


class MessagesStreamDecoder(StreamDecoder):
    """`message_start` → content blocks (start/delta/stop, keyed by index) → `message_delta` → `message_stop`."""

    def __init__(self, adapter: AnthropicAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        self.adapter = adapter
        self.ctx = ctx
        self.headers = headers
        self.sse = SSEDecoder()
        self.asm = StreamAssembler(
            provider=PROVIDER,
            model=ctx.model,
            names=ctx.names,
            thinking_provider=PROVIDER,
            restore=ctx.restore_arguments,
        )
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}  # open blocks by wire index: their start and whether args came
        self.other: list[Any] = []
        self.stopped = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.feed(chunk):
            events.extend(self._on_event(sse.data))
        return events

    def _on_event(self, data: str) -> list[StreamEvent]:
        obj = json_object(data, PROVIDER, "stream event")
        kind = obj.get("type")
        if kind == "error":
            raise self.adapter.stream_error(obj, self.ctx.model)
        if kind == "message_start":
            message = self._object(obj, "message")
            self.asm.response_id = str(message.get("id") or "")
            self.asm.model = str(message.get("model") or self.ctx.model)
            return self._usage(message.get("usage"))
        if kind == "content_block_start":
            return self._block_start(obj.get("index", 0), self._object(obj, "content_block"))
        if kind == "content_block_delta":
            return self._block_delta(obj.get("index", 0), self._object(obj, "delta"))
        if kind == "content_block_stop":
            return self._block_stop(obj.get("index", 0))
        if kind == "message_delta":
            delta = self._object(obj, "delta")
            if "stop_reason" in delta:
                raw = delta.get("stop_reason")
                self.asm.finish(map_finish(raw), raw)
            return self._usage(obj.get("usage"))
        if kind == "message_stop":
            self.stopped = True
        return []  # ping and event types added later

    def _object(self, obj: Mapping[str, Any], field: str) -> dict[str, Any]:
        return typed(obj.get(field), dict, f"{obj.get('type')}.{field}", PROVIDER, raw=obj) or {}

    def _usage(self, raw: Any) -> list[StreamEvent]:
        if not isinstance(raw, dict):
            return []
        # `message_delta` usage is cumulative and may restate input and cache fields: the last value per field wins.
        self.usage.update({k: v for k, v in raw.items() if v is not None})
        return self.asm.set_usage(usage_from_wire(self.usage))

    def _block_start(self, index: int, block: Mapping[str, Any]) -> list[StreamEvent]:
        kind = block.get("type")
        key = ("block", index)
        self.blocks[index] = {"type": kind, "input": block.get("input"), "json": []}
        path = "content_block"
        if kind == "text":
            return self.asm.text(key, _text(block, "text", path))
        if kind == "thinking":
            signature = _text(block, "signature", path) or None
            return self.asm.thinking(key, _text(block, "thinking", path), signature=signature)
        if kind == "redacted_thinking":
            return self.asm.thinking(key, signature=_text(block, "data", path), redacted=True)
        if kind == "tool_use":
            name = tool_name(block.get("name"), f"{path}.name", PROVIDER, raw=block)
            return self.asm.tool_start(key, _call_id(block, index, path), name)
        self.other.append(dict(block))
        return []

    def _block_delta(self, index: int, delta: Mapping[str, Any]) -> list[StreamEvent]:
        key = ("block", index)
        kind = delta.get("type")
        if kind == "text_delta":
            return self.asm.text(key, _text(delta, "text", "delta"))
        if kind == "thinking_delta":
            return self.asm.thinking(key, _text(delta, "thinking", "delta"))
        if kind == "signature_delta":
            return self.asm.thinking(key, signature=_text(delta, "signature", "delta"))
        if kind == "input_json_delta" and self.asm.has_tool(key):
            fragment = _text(delta, "partial_json", "delta")
            self.blocks[index]["json"].append(fragment)
            return self.asm.tool_args(key, fragment)
        return []  # citations and server-tool deltas carry nothing accord's parts hold

    def _block_stop(self, index: int) -> list[StreamEvent]:
        key = ("block", index)
        block = self.blocks.pop(index, None)
        if block is None or block["type"] != "tool_use":
            return []
        text = "".join(block["json"])
        if not text:
            start_input = block["input"]
            return self.asm.tool_end(key, start_input if isinstance(start_input, dict) else {})
        try:
            json.loads(text)
        except ValueError:
            # Cut off (max_tokens) or broken: the stop reason, still to come, decides; `end()` closes it then.
            return []
        return self.asm.tool_end(key)

    def close(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.flush():
            events.extend(self._on_event(sse.data))
        if not self.stopped:
            raise StreamInterruptedError(f"{PROVIDER}: the stream ended before message_stop", partial=self.partial())
        return events + self.asm.end(self._info())

    def partial(self) -> Response:
        return self.asm.response(self._info(), partial=True)

    def _info(self) -> ProviderInfo:
        return self.adapter.provider_info(self.headers, extra={"other_content": self.other} if self.other else {})


# --- errors and the adapter ----------------------------------------------------------------------------------


def error_details(body: Any, status: int | None) -> ErrorDetails:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}`; the error type is also the code."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            kind = err.get("type")
            return ErrorDetails(
                message=str(err.get("message") or f"HTTP {status}"),
                code=None if kind is None else str(kind),
                type=None if kind is None else str(kind),
            )
    if isinstance(body, str) and body.strip():
        return ErrorDetails(message=body.strip()[:2000])
    return ErrorDetails(message=f"HTTP {status}")


ERROR_RULES: tuple[ErrorRule, ...] = (
    # 413 is the edge's body-size limit, not the context window, whatever the message says.
    ErrorRule(InvalidRequestError, type="request_too_large"),
    ErrorRule(InvalidRequestError, status=413),
    ErrorRule(QuotaExceededError, type="billing_error"),
)


class AnthropicAdapter(HTTPAdapter):
    """The Messages API with `x-api-key` and a pinned `anthropic-version`."""

    name: ClassVar[str] = PROVIDER
    env_var: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    tool_name_rule: ClassVar[ToolNameRule] = TOOL_NAME_RULES["anthropic"]
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ERROR_RULES

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION, **self.extra_headers}
        if self.api_key is not None:
            headers["x-api-key"] = self.api_key.get_secret_value()
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        return self.base_url + "/v1/messages"

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return MessagesStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return error_details(body, status)
