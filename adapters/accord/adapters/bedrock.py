"""AWS Bedrock Converse and ConverseStream, signed with botocore's SigV4 or a Bedrock API key."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    NotFoundError,
    OverloadedError,
    Part,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
    Request,
    Response,
    ResponseParseError,
    ServerError,
    StreamEvent,
    StreamInterruptedError,
    TextPart,
    ThinkingPart,
    ToolCall,
    ToolResult,
    UnsupportedFeatureError,
    Usage,
)

from ._assemble import StreamAssembler
from ._base import HTTPAdapter, StreamDecoder, WireContext
from ._errors import ErrorDetails, ErrorRule, build_error, parse_body
from ._shape import token_count, tool_name, typed
from ._toolnames import TOOL_NAME_RULES, ToolNameRule

PROVIDER = "bedrock"

# --- finish reasons ------------------------------------------------------------------------------------------

FINISH_REASONS: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
}


def map_finish(raw: str | None) -> FinishReason:
    return FINISH_REASONS.get(raw or "", "other") if raw else "stop"


# --- request mapping -----------------------------------------------------------------------------------------

IMAGE_FORMATS: Mapping[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
DOCUMENT_FORMATS: Mapping[str, str] = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}

# Where each model vendor takes reasoning settings inside `additionalModelRequestFields` (Converse has no
# common field). Keyed by the vendor segment of the model id (`us.anthropic.claude-…` → `anthropic`).
_NOVA_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}


def _anthropic_reasoning(effort: str | None, budget: int | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def _openai_reasoning(effort: str | None, budget: int | None) -> dict[str, Any] | None:
    return None if effort is None else {"reasoning_effort": effort}


def _nova_reasoning(effort: str | None, budget: int | None) -> dict[str, Any] | None:
    if effort is None or effort not in _NOVA_EFFORT:
        return None
    return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": _NOVA_EFFORT[effort]}}


REASONING_FIELDS: Mapping[str, Callable[[str | None, int | None], dict[str, Any] | None]] = {
    "anthropic": _anthropic_reasoning,
    "openai": _openai_reasoning,
    "amazon": _nova_reasoning,
}
# Cross-region inference-profile prefixes that come before the vendor segment.
_GEO_PREFIXES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})
# accord's own key inside provider_options["bedrock"]: where to put cachePoint markers. Not sent.
CACHE_POINTS_OPTION = "cache_points"
_CACHE_POINT = {"cachePoint": {"type": "default"}}


def model_vendor(model: str) -> str:
    """`us.anthropic.claude-…` → `anthropic`; ARNs (application inference profiles) have no visible vendor."""
    if model.startswith("arn:"):
        return ""
    segments = model.split(".")
    if len(segments) > 2 and segments[0] in _GEO_PREFIXES:
        return segments[1]
    return segments[0] if len(segments) > 1 else ""


def _unsupported(why: str, feature: str, model: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{PROVIDER}:{model} {why}", feature=feature, provider=PROVIDER, model=model)


def _image_block(part: ImagePart, model: str) -> dict[str, Any]:
    if part.url is not None:
        if part.url.startswith("s3://"):
            fmt = IMAGE_FORMATS.get(part.media_type or "", "")
            if not fmt:
                raise _unsupported("needs the media_type of an S3 image", "image_format", model)
            return {"image": {"format": fmt, "source": {"s3Location": {"uri": part.url}}}}
        raise _unsupported("takes images as bytes or s3:// locations, not URLs", "image_url", model)
    data_format = IMAGE_FORMATS.get(part.media_type or "")
    if data_format is None:
        raise _unsupported(f"does not accept images of type {part.media_type}", "image_format", model)
    return {"image": {"format": data_format, "source": {"bytes": part.data}}}


def _document_block(part: DocumentPart, model: str, position: int) -> dict[str, Any]:
    fmt = DOCUMENT_FORMATS.get(part.media_type or "")
    if fmt is None:
        raise _unsupported(f"does not accept documents of type {part.media_type}", "document_format", model)
    if part.url is not None and not part.url.startswith("s3://"):
        raise _unsupported("takes documents as bytes or s3:// locations, not URLs", "document_url", model)
    source: dict[str, Any] = {"bytes": part.data} if part.url is None else {"s3Location": {"uri": part.url}}
    # Bedrock requires a name (letters, digits, single spaces, hyphens, brackets) and rejects duplicates.
    return {"document": {"format": fmt, "name": part.name or f"document-{position}", "source": source}}


def _user_blocks(parts: list[Part], model: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for position, part in enumerate(parts):
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image_block(part, model))
        elif isinstance(part, DocumentPart):
            blocks.append(_document_block(part, model, position))
    return blocks


def _tool_result_block(result: ToolResult, model: str) -> dict[str, Any]:
    if isinstance(result.content, str):
        content: list[dict[str, Any]] = [{"text": result.content}]
    else:
        content = _user_blocks(list(result.content), model) or [{"text": ""}]
    block: dict[str, Any] = {"toolUseId": result.call_id, "content": content}
    if result.is_error:
        block["status"] = "error"
    return {"toolResult": block}


def _assistant_blocks(message: Message, ctx: WireContext) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, ThinkingPart):
            # Reasoning is only meaningful to the protocol that signed it; other providers' traces are not sent.
            if part.provider != PROVIDER:
                continue
            if part.redacted:
                blocks.append({"reasoningContent": {"redactedContent": part.signature or ""}})
            else:
                text: dict[str, Any] = {"text": part.text}
                if part.signature:
                    text["signature"] = part.signature
                blocks.append({"reasoningContent": {"reasoningText": text}})
        elif isinstance(part, TextPart):
            if part.text:
                blocks.append({"text": part.text})
        elif isinstance(part, ToolCall):
            if part.raw_arguments is not None:
                raise _unsupported("cannot replay a tool call whose arguments were cut off", "tool_call_raw", ctx.model)
            blocks.append(
                {"toolUse": {"toolUseId": part.id, "name": ctx.names.wire(part.name), "input": part.arguments}}
            )
    return blocks


def _messages(request: Request, ctx: WireContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, messages); consecutive turns of one role are merged, as Converse requires alternation."""
    system: list[dict[str, Any]] = [{"text": request.system}] if request.system else []
    wire: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            if message.text:
                system.append({"text": message.text})
            continue
        if message.role == "assistant":
            role, blocks = "assistant", _assistant_blocks(message, ctx)
        elif message.role == "tool":
            role, blocks = "user", [_tool_result_block(r, ctx.model) for r in message.tool_results]
        else:
            role, blocks = "user", _user_blocks(message.parts, ctx.model)
        if not blocks:
            continue
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return system, wire


def _tool_config(request: Request, ctx: WireContext) -> dict[str, Any] | None:
    if not request.tools:
        return None
    choice = request.tool_choice
    if choice is not None and choice.mode == "none":
        # Converse has no "none": leaving the tools out says it, unless the history already holds tool blocks,
        # which Converse only accepts alongside a toolConfig.
        if any(m.tool_calls or m.tool_results for m in request.messages):
            raise _unsupported(
                "has no tool_choice 'none' once the conversation holds tool calls", "tool_choice_none", ctx.model
            )
        return None
    tools: list[dict[str, Any]] = []
    for tool in request.tools:
        spec: dict[str, Any] = {"name": ctx.names.wire(tool.name), "inputSchema": {"json": ctx.tool_parameters(tool)}}
        if tool.description:
            spec["description"] = tool.description
        strict = ctx.tool_strict(tool)
        if strict is not None:
            spec["strict"] = strict
        tools.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": tools}
    if choice is not None:
        if choice.mode == "auto":
            config["toolChoice"] = {"auto": {}}
        elif choice.mode == "required":
            config["toolChoice"] = {"any": {}}
        elif choice.mode == "specific" and len(choice.names) == 1:
            config["toolChoice"] = {"tool": {"name": ctx.names.wire(choice.names[0])}}
        else:
            raise _unsupported("can force one named tool, not several", "tool_choice_names", ctx.model)
    return config


def _reasoning_fields(request: Request, ctx: WireContext) -> dict[str, Any]:
    reasoning = request.reasoning
    if reasoning is None or reasoning.effort == "none":
        return {}
    build = REASONING_FIELDS.get(model_vendor(ctx.model))
    fields = build(reasoning.effort, reasoning.budget_tokens) if build is not None else None
    if fields is None:
        raise _unsupported(
            "takes reasoning settings only through provider_options['bedrock']['additionalModelRequestFields']"
            " for this model family and setting",
            "reasoning",
            ctx.model,
        )
    return fields


def to_wire(request: Request, ctx: WireContext) -> dict[str, Any]:
    """The Converse request body (the model id goes in the URL path)."""
    options = dict(request.provider_options.get(PROVIDER, {}))
    cache_points = set(options.pop(CACHE_POINTS_OPTION, ()))
    unknown_points = cache_points - {"system", "tools", "messages"}
    if unknown_points:
        raise ConfigurationError(f"{PROVIDER}: unknown cache_points {sorted(unknown_points)}")
    if request.seed is not None:
        raise _unsupported("does not take a seed", "seed", ctx.model)
    if request.parallel_tool_calls is False:
        raise _unsupported("cannot turn off parallel tool calls", "parallel_tool_calls", ctx.model)
    system, messages = _messages(request, ctx)
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = system + ([_CACHE_POINT] if "system" in cache_points else [])
    inference: dict[str, Any] = {}
    if request.max_tokens is not None:
        inference["maxTokens"] = request.max_tokens
    elif ctx.profile.parameters.default_max_tokens is not None:
        inference["maxTokens"] = ctx.profile.parameters.default_max_tokens
    if request.temperature is not None:
        inference["temperature"] = request.temperature
    if request.top_p is not None:
        inference["topP"] = request.top_p
    if request.stop:
        inference["stopSequences"] = request.stop
    if inference:
        body["inferenceConfig"] = inference
    tool_config = _tool_config(request, ctx)
    if tool_config is not None:
        if "tools" in cache_points:
            tool_config["tools"].append(_CACHE_POINT)
        body["toolConfig"] = tool_config
    if "messages" in cache_points and messages:
        messages[-1]["content"].append(_CACHE_POINT)
    if ctx.native_output is not None:
        schema_def: dict[str, Any] = {
            "schema": json.dumps(ctx.native_output.schema, ensure_ascii=False),
            "name": ctx.native_output.name,
        }
        if ctx.native_output.description:
            schema_def["description"] = ctx.native_output.description
        body["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": schema_def}}}
    extra = _reasoning_fields(request, ctx)
    if extra or "additionalModelRequestFields" in options:
        # The caller's own fields win over what accord derived from `request.reasoning`.
        body["additionalModelRequestFields"] = {**extra, **options.pop("additionalModelRequestFields", {})}
    body.update(options)
    return body


# --- response mapping ----------------------------------------------------------------------------------------


def usage_from_wire(raw: Mapping[str, Any]) -> Usage:
    """Bedrock `inputTokens` excludes cache reads and writes: accord's input counts all three."""
    read = token_count(raw.get("cacheReadInputTokens"))
    write = token_count(raw.get("cacheWriteInputTokens"))
    return Usage(
        input_tokens=token_count(raw.get("inputTokens")) + read + write,
        output_tokens=token_count(raw.get("outputTokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _blob_text(value: Any) -> str:
    """A blob as the JSON wire carries it (base64 text)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value or "")


def _extra(payload: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: payload[k] for k in keys if payload.get(k) is not None}


_RESPONSE_EXTRAS = ("additionalModelResponseFields", "trace", "metrics", "performanceConfig", "serviceTier")


def _optional_text(holder: Mapping[str, Any], field: str, path: str) -> str | None:
    """A documented string member: anything but a string (or null) is a typed error, never dropped or coerced."""
    return typed(holder.get(field), str, f"{path}.{field}".lstrip("."), PROVIDER, raw=holder)


def _text(holder: Mapping[str, Any], field: str, path: str) -> str:
    return _optional_text(holder, field, path) or ""


def _member(holder: Mapping[str, Any], field: str, path: str) -> dict[str, Any]:
    return typed(holder.get(field), dict, f"{path}.{field}".lstrip("."), PROVIDER, raw=holder) or {}


def from_wire(payload: Any, ctx: WireContext, adapter: BedrockAdapter, headers: Mapping[str, str]) -> Response:
    """A `Response` from a Converse response body."""
    message = _member(_member(payload, "output", ""), "message", "output") if isinstance(payload, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise ResponseParseError(
            f"{PROVIDER}: a Converse response needs output.message.content",
            raw=json.dumps(payload)[:4000],
            provider=PROVIDER,
        )
    raw_finish = payload.get("stopReason")
    parts: list[Part] = []
    unmapped: list[Any] = []
    for index, content in enumerate(message["content"]):
        path = f"output.message.content[{index}]"
        block = typed(content, dict, path, PROVIDER, raw=message) or {}
        if "text" in block:
            if text := _text(block, "text", path):
                parts.append(TextPart(text=text))
        elif "toolUse" in block:
            use = _member(block, "toolUse", path)
            name = ctx.names.restore(tool_name(use.get("name"), f"{path}.toolUse.name", PROVIDER, raw=block))
            arguments = use.get("input")
            if not isinstance(arguments, dict):
                raise ResponseParseError(
                    f"{PROVIDER}: toolUse.input is not an object", raw=json.dumps(use), provider=PROVIDER
                )
            call_id = _text(use, "toolUseId", f"{path}.toolUse") or f"tooluse_{index}"
            parts.append(ToolCall(id=call_id, name=name, arguments=ctx.restore_arguments(name, arguments)))
        elif "reasoningContent" in block:
            reasoning = _member(block, "reasoningContent", path)
            if "redactedContent" in reasoning:
                parts.append(
                    ThinkingPart(signature=_blob_text(reasoning["redactedContent"]), redacted=True, provider=PROVIDER)
                )
            else:
                where = f"{path}.reasoningContent.reasoningText"
                reasoning_text = _member(reasoning, "reasoningText", f"{path}.reasoningContent")
                signature = _optional_text(reasoning_text, "signature", where)
                thought = _text(reasoning_text, "text", where)
                parts.append(ThinkingPart(text=thought, signature=signature, provider=PROVIDER))
        else:
            unmapped.append(block)
    extra = _extra(payload, _RESPONSE_EXTRAS)
    if unmapped:
        extra["unmapped_content"] = unmapped
    info = adapter.provider_info(headers, extra=extra)
    usage_raw = payload.get("usage")
    return Response(
        id=info.request_id or "",
        model=ctx.model,
        parts=parts,
        finish_reason=map_finish(raw_finish),
        provider_finish_reason=raw_finish,
        usage=usage_from_wire(usage_raw) if isinstance(usage_raw, dict) else Usage(),
        provider=info,
    )


# --- stream decoding -----------------------------------------------------------------------------------------


class ConverseStreamDecoder(StreamDecoder):
    """AWS event-stream frames (decoded by botocore) carrying ConverseStream events, keyed by content block."""

    def __init__(self, adapter: BedrockAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        from botocore.eventstream import EventStreamBuffer

        self.adapter = adapter
        self.ctx = ctx
        self.headers = headers
        self.buffer = EventStreamBuffer()
        self.asm = StreamAssembler(
            provider=PROVIDER,
            model=ctx.model,
            names=ctx.names,
            thinking_provider=PROVIDER,
            restore=ctx.restore_arguments,
        )
        self.stopped = False
        self.tools: set[int] = set()
        self.extra: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        from botocore.eventstream import ParserError

        self.buffer.add_data(chunk)
        events: list[StreamEvent] = []
        try:
            for message in self.buffer:
                events.extend(self._on_message(message.headers, message.payload))
        except ParserError as exc:
            raise ResponseParseError(f"{PROVIDER}: bad event-stream frame: {exc}", provider=PROVIDER) from exc
        return events

    def _on_message(self, headers: Mapping[str, Any], payload: bytes) -> list[StreamEvent]:
        kind = headers.get(":message-type")
        try:
            body = json.loads(payload) if payload else {}
        except ValueError as exc:
            raise ResponseParseError(
                f"{PROVIDER}: event payload is not JSON", raw=payload[:4000], provider=PROVIDER
            ) from exc
        if kind == "exception":
            name = str(headers.get(":exception-type") or "")
            raise self.adapter.exception_error(name, body, None, self.ctx.model, in_stream=True)
        if kind == "error":
            name = str(headers.get(":error-code") or "")
            message = str(headers.get(":error-message") or "")
            raise self.adapter.exception_error(name, {"message": message}, None, self.ctx.model, in_stream=True)
        event = str(headers.get(":event-type") or "")
        return self._on_event(event, typed(body, dict, event, PROVIDER, raw=body) or {})

    def _on_event(self, name: str, body: Mapping[str, Any]) -> list[StreamEvent]:
        index = body.get("contentBlockIndex", 0)
        key = ("block", index)
        if name == "contentBlockStart":
            use = typed(_member(body, "start", name).get("toolUse"), dict, f"{name}.start.toolUse", PROVIDER, raw=body)
            if use is not None:
                self.tools.add(index)
                call_id = _text(use, "toolUseId", f"{name}.start.toolUse") or f"tooluse_{index}"
                return self.asm.tool_start(key, call_id, tool_name(use.get("name"), "toolUse.name", PROVIDER, raw=use))
            return []
        if name == "contentBlockDelta":
            return self._on_delta(key, _member(body, "delta", name))
        if name == "contentBlockStop":
            return self.asm.tool_end(key) if index in self.tools else []
        if name == "messageStop":
            self.stopped = True
            raw = body.get("stopReason")
            self.asm.finish(map_finish(raw), raw)
            self.extra.update(_extra(body, ("additionalModelResponseFields",)))
            return []
        if name == "metadata":
            self.extra.update(_extra(body, ("trace", "metrics", "performanceConfig", "serviceTier")))
            usage = body.get("usage")
            return self.asm.set_usage(usage_from_wire(usage)) if isinstance(usage, dict) else []
        return []  # messageStart and events added later carry nothing the contract holds

    def _on_delta(self, key: tuple[str, int], delta: Mapping[str, Any]) -> list[StreamEvent]:
        if "text" in delta:
            return self.asm.text(key, _text(delta, "text", "delta"))
        if "toolUse" in delta:
            if not self.asm.has_tool(key):
                raise ResponseParseError(
                    f"{PROVIDER}: toolUse delta for a block that never started", raw=json.dumps(delta)
                )
            return self.asm.tool_args(key, _text(_member(delta, "toolUse", "delta"), "input", "delta.toolUse"))
        if "reasoningContent" in delta:
            reasoning = _member(delta, "reasoningContent", "delta")
            if "redactedContent" in reasoning:
                return self.asm.thinking(key, signature=_blob_text(reasoning["redactedContent"]), redacted=True)
            where = "delta.reasoningContent"
            signature = _optional_text(reasoning, "signature", where)
            return self.asm.thinking(key, _text(reasoning, "text", where), signature=signature)
        return []

    def close(self) -> list[StreamEvent]:
        if not self.stopped:
            raise StreamInterruptedError(f"{PROVIDER}: the stream ended before messageStop", partial=self.partial())
        return self.asm.end(self._info())

    def partial(self) -> Response:
        return self.asm.response(self._info(), partial=True)

    def _info(self) -> Any:
        info = self.adapter.provider_info(self.headers, extra=dict(self.extra))
        self.asm.response_id = info.request_id or ""
        return info


# --- errors --------------------------------------------------------------------------------------------------

ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(RateLimitError, type="ThrottlingException"),
    ErrorRule(OverloadedError, type="ModelNotReadyException"),
    ErrorRule(OverloadedError, type="ServiceUnavailableException"),
    ErrorRule(OverloadedError, type="ServiceUnavailable"),
    ErrorRule(ContextWindowExceededError, type="ValidationException", pattern=r"\binput is too long\b"),
    ErrorRule(ContextWindowExceededError, type="ValidationException", pattern=r"\bprompt is too long\b"),
    ErrorRule(AuthenticationError, type="UnrecognizedClientException"),
    ErrorRule(AuthenticationError, type="InvalidSignatureException"),
    ErrorRule(AuthenticationError, type="ExpiredTokenException"),
    ErrorRule(AuthenticationError, type="IncompleteSignatureException"),
    ErrorRule(PermissionDeniedError, type="AccessDeniedException"),
    ErrorRule(NotFoundError, type="ResourceNotFoundException"),
    ErrorRule(QuotaExceededError, type="ServiceQuotaExceededException"),
    ErrorRule(ServerError, type="InternalServerException"),
    ErrorRule(ServerError, type="ModelErrorException"),
    ErrorRule(ServerError, type="ModelStreamErrorException"),
    ErrorRule(ServerError, type="ModelTimeoutException"),
)
# In-stream exceptions name the type in lowerCamel (`throttlingException`); errors over HTTP in UpperCamel.
_IN_STREAM_STATUS: Mapping[str, int] = {"ValidationException": 400}


def error_type(header: str | None, body: Any) -> str | None:
    """`x-amzn-ErrorType: ThrottlingException:http://…` or a body `__type` (`com.amazon…#ValidationException`)."""
    raw = header or (body.get("__type") if isinstance(body, dict) else None)
    if not raw:
        return None
    name = str(raw).split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name[:1].upper() + name[1:] if name else None


def error_details(body: Any, status: int | None, kind: str | None) -> ErrorDetails:
    message = ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("Message") or "")
    elif isinstance(body, str):
        message = body.strip()[:2000]
    if not message:
        message = kind or (f"HTTP {status}" if status is not None else "error")
    return ErrorDetails(message=message, type=kind)


# --- SigV4 ---------------------------------------------------------------------------------------------------


class SigV4Auth(httpx.Auth):
    """Signs each final request with botocore's SigV4 signer (service `bedrock`), credentials resolved per call."""

    requires_request_body = True
    # Only these headers are signed: others (user-agent, accept-encoding) may be changed by proxies.
    _SIGNED = ("host", "content-type", "x-amz-target")

    def __init__(self, credentials: Callable[[], Any], region: str, service: str = "bedrock") -> None:
        self._credentials = credentials
        self.region = region
        self.service = service

    def __repr__(self) -> str:
        return f"SigV4Auth(region={self.region!r}, service={self.service!r})"

    def sign(self, request: httpx.Request, frozen: Any) -> None:
        from botocore.auth import SigV4Auth as BotoSigV4
        from botocore.awsrequest import AWSRequest

        headers = {name: request.headers[name] for name in self._SIGNED if name in request.headers}
        aws = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        BotoSigV4(frozen, self.service, self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = aws.headers.get(name)
            if value is not None:
                request.headers[name] = value

    def _frozen(self) -> Any:
        credentials = self._credentials()
        frozen = credentials.get_frozen_credentials() if hasattr(credentials, "get_frozen_credentials") else None
        return frozen if frozen is not None else credentials

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        self.sign(request, self._frozen())
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        # The credential chain may read files or call a metadata service: keep it off the event loop.
        frozen = await asyncio.to_thread(self._frozen)
        self.sign(request, frozen)
        yield request


# --- the adapter ---------------------------------------------------------------------------------------------


class BedrockAdapter(HTTPAdapter):
    """Bedrock Converse. SigV4 from botocore's credential chain, or a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`)."""

    name: ClassVar[str] = PROVIDER
    env_var: ClassVar[str | None] = "AWS_BEARER_TOKEN_BEDROCK"
    requires_key: ClassVar[bool] = False
    tool_name_rule: ClassVar[ToolNameRule] = TOOL_NAME_RULES["bedrock"]
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ERROR_RULES

    def __init__(
        self,
        *,
        region: str | None = None,
        aws_profile: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        base_url: str | None = None,
        **options: Any,
    ) -> None:
        self._aws_profile = aws_profile
        self._static = (aws_access_key_id, aws_secret_access_key, aws_session_token)
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise ConfigurationError(f"{PROVIDER}: give both aws_access_key_id and aws_secret_access_key, or neither")
        self._botocore_session: Any = None
        self._credential_source: Any = None
        self.region = region or self._default_region()
        endpoint = base_url or os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") or os.environ.get("AWS_ENDPOINT_URL")
        super().__init__(base_url=endpoint or f"https://bedrock-runtime.{self.region}.amazonaws.com", **options)
        self._sigv4 = SigV4Auth(self._credentials, self.region)

    def __repr__(self) -> str:
        return f"BedrockAdapter(region={self.region!r}, base_url={self.base_url!r})"

    def _session(self) -> Any:
        if self._botocore_session is None:
            try:
                import botocore.session
            except ImportError as exc:  # the `bedrock` extra is not installed
                raise ConfigurationError(
                    f"{PROVIDER}: SigV4 signing needs botocore: pip install 'accord[bedrock]'"
                ) from exc
            self._botocore_session = botocore.session.Session(profile=self._aws_profile)
        return self._botocore_session

    def _default_region(self) -> str:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            try:
                region = self._session().get_config_variable("region")
            except ConfigurationError:
                region = None
        if not region:
            raise ConfigurationError(f"{PROVIDER}: no AWS region; set AWS_REGION or pass region=...")
        return str(region)

    def _credentials(self) -> Any:
        """botocore credentials: the explicit keys, else the standard chain (env, profile, SSO, metadata...)."""
        if self._credential_source is None:
            access, secret, token = self._static
            if access is not None and secret is not None:
                from botocore.credentials import Credentials

                self._credential_source = Credentials(access, secret, token)
            else:
                found = self._session().get_credentials()
                if found is None:
                    raise ConfigurationError(
                        f"{PROVIDER}: no AWS credentials found (environment, shared config/profile, SSO or instance"
                        " role); or set AWS_BEARER_TOKEN_BEDROCK to use a Bedrock API key"
                    )
                self._credential_source = found
        return self._credential_source

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (*super()._secrets(), self._static[1], self._static[2]) if s)

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if ctx.streaming:
            headers.setdefault("Accept", "application/vnd.amazon.eventstream")
        if self.api_key is not None:
            headers["Authorization"] = "Bearer " + self.api_key.get_secret_value()
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        operation = "converse-stream" if ctx.streaming else "converse"
        return f"{self.base_url}/model/{quote(ctx.model, safe='')}/{operation}"

    def _wire_auth(self, ctx: WireContext) -> httpx.Auth | None:
        return None if self.api_key is not None else self._sigv4

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return ConverseStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return error_details(body, status, error_type(None, body))

    def _error(self, status: int, headers: Mapping[str, str], raw: bytes, model: str) -> ProviderError:
        body = parse_body(raw)
        lowered = {k.lower(): v for k, v in headers.items()}
        details = error_details(body, status, error_type(lowered.get("x-amzn-errortype"), body))
        return build_error(
            provider=PROVIDER,
            model=model,
            status=status,
            details=details,
            rules=self.error_rules,
            headers=headers,
            body=body,
            secrets=self._secrets(),
        )

    def exception_error(
        self, name: str, body: Any, status: int | None, model: str, *, in_stream: bool = False
    ) -> ProviderError:
        """The typed error for an exception frame inside a 200 stream (`throttlingException`...)."""
        kind = error_type(name, None)
        details = error_details(body, status, kind)
        return build_error(
            provider=PROVIDER,
            model=model,
            status=status if status is not None else _IN_STREAM_STATUS.get(kind or ""),
            details=details,
            rules=self.error_rules,
            body=body,
            secrets=self._secrets(),
            in_stream=in_stream,
        )
