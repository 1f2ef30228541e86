"""OpenAI Responses API (`/responses`): input items, output items and the typed stream events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from accord.contracts import (
    ContentFilterError,
    DocumentPart,
    FinishReason,
    ImagePart,
    InvalidRequestError,
    Message,
    ModelProfile,
    Part,
    ProviderError,
    ProviderInfo,
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
from accord.contracts.profile import SamplingParam

from ._assemble import StreamAssembler, parse_arguments
from ._base import HTTPAdapter, StreamDecoder, WireContext
from ._errors import ErrorDetails, ErrorRule, openai_style_details
from ._shape import json_object, token_count, tool_name, typed
from ._sse import SSEDecoder

# The protocol name reasoning items carry: their encrypted content is only meaningful to this API.
WIRE = "openai-responses"

# --- finish reasons ------------------------------------------------------------------------------------------

INCOMPLETE_REASONS: Mapping[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
STATUS_FINISH: Mapping[str, FinishReason] = {
    "completed": "stop",
    "failed": "error",
    "cancelled": "other",
    "in_progress": "other",
    "queued": "other",
}


def map_finish(payload: Mapping[str, Any], has_calls: bool, refused: bool) -> tuple[FinishReason, str | None]:
    """(finish reason, raw value): `completed` → tool_calls/stop; `incomplete` → by `incomplete_details.reason`."""
    status = payload.get("status")
    if status == "incomplete":
        reason = (payload.get("incomplete_details") or {}).get("reason")
        return INCOMPLETE_REASONS.get(reason or "", "other"), reason or status
    if status == "completed":
        if has_calls:
            return "tool_calls", status
        return ("refusal" if refused else "stop"), status
    return STATUS_FINISH.get(status or "", "other"), status


# --- request mapping -----------------------------------------------------------------------------------------


def _data_url(media_type: str | None, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def _input_content(parts: list[Part]) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url if part.url is not None else _data_url(part.media_type, part.data or "")
            content.append({"type": "input_image", "image_url": url, "detail": part.detail or "auto"})
        elif isinstance(part, DocumentPart):
            file: dict[str, Any] = {"type": "input_file"}
            if part.url is not None:
                file["file_url"] = part.url
            else:
                file["file_data"] = _data_url(part.media_type, part.data or "")
                file["filename"] = part.name or "document"
            content.append(file)
    return content


def encode_reasoning_signature(item_id: str, encrypted: str | None) -> str:
    """A reasoning item's id and encrypted content as one opaque `ThinkingPart.signature` (`id` or `id:content`)."""
    return item_id if not encrypted else f"{item_id}:{encrypted}"


def decode_reasoning_signature(signature: str) -> tuple[str, str | None]:
    item_id, sep, encrypted = signature.partition(":")
    return item_id, (encrypted if sep else None)


def _assistant_items(message: Message, ctx: WireContext) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, ThinkingPart):
            # Reasoning items are only accepted back by this API, and only with the id they came with.
            if part.provider != WIRE or not part.signature:
                continue
            item_id, encrypted = decode_reasoning_signature(part.signature)
            summary = [{"type": "summary_text", "text": part.text}] if part.text else []
            item: dict[str, Any] = {"type": "reasoning", "id": item_id, "summary": summary}
            if encrypted:
                item["encrypted_content"] = encrypted
            items.append(item)
        elif isinstance(part, TextPart):
            if part.text:
                items.append({"type": "message", "role": "assistant", "content": part.text})
        elif isinstance(part, ToolCall):
            arguments = (
                part.raw_arguments if part.raw_arguments is not None else json.dumps(part.arguments, ensure_ascii=False)
            )
            items.append(
                {"type": "function_call", "call_id": part.id, "name": ctx.names.wire(part.name), "arguments": arguments}
            )
    return items


def _tool_output(result: ToolResult) -> str | list[dict[str, Any]]:
    if isinstance(result.content, str):
        text = result.content
    elif all(isinstance(p, TextPart) for p in result.content):
        text = result.text
    else:
        return _input_content(list(result.content))
    # Function outputs have no error flag: say it in the output, where the model reads it.
    return f"Error: {text}" if result.is_error else text


def _input(request: Request, ctx: WireContext) -> list[dict[str, Any]]:
    # Message items always say `type: message`: optional for OpenAI, required by other servers (llama.cpp).
    system_role = ctx.profile.parameters.system_role
    items: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            items.append({"type": "message", "role": system_role, "content": message.text})
        elif message.role == "user":
            parts = message.parts
            if len(parts) == 1 and isinstance(parts[0], TextPart):
                items.append({"type": "message", "role": "user", "content": parts[0].text})
            else:
                items.append({"type": "message", "role": "user", "content": _input_content(parts)})
        elif message.role == "tool":
            items.extend(
                {"type": "function_call_output", "call_id": r.call_id, "output": _tool_output(r)}
                for r in message.tool_results
            )
        else:
            items.extend(_assistant_items(message, ctx))
    return items


def _tool_choice(choice: ToolChoice, ctx: WireContext) -> Any:
    if choice.mode != "specific":
        return choice.mode
    if len(choice.names) == 1:
        return {"type": "function", "name": ctx.names.wire(choice.names[0])}
    return {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": ctx.names.wire(n)} for n in choice.names],
    }


def _unsupported(provider: str, model: str, why: str, feature: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"{provider}:{model} {why}", feature=feature, provider=provider, model=model)


def to_wire(request: Request, ctx: WireContext, provider: str = WIRE) -> dict[str, Any]:
    """The `/responses` request body for `request` (stateless: reasoning comes back encrypted, nothing stored)."""
    body: dict[str, Any] = {"model": ctx.model, "input": _input(request, ctx)}
    if request.system:
        body["instructions"] = request.system
    if request.tools:
        tools = []
        for tool in request.tools:
            spec: dict[str, Any] = {
                "type": "function",
                "name": ctx.names.wire(tool.name),
                "parameters": ctx.tool_parameters(tool),
            }
            if tool.description:
                spec["description"] = tool.description
            # Always said: with `strict` left out, the Responses API normalizes the schema into strict mode.
            spec["strict"] = bool(ctx.tool_strict(tool))
            tools.append(spec)
        body["tools"] = tools
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice, ctx)
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    for name in ("temperature", "top_p"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.stop:
        raise _unsupported(provider, ctx.model, "takes no stop sequences (Responses API)", "stop")
    if request.seed is not None:
        raise _unsupported(provider, ctx.model, "takes no seed (Responses API)", "seed")
    reasoning = request.reasoning
    if reasoning is not None:
        if reasoning.budget_tokens is not None and reasoning.effort is None:
            raise _unsupported(provider, ctx.model, "takes a reasoning effort, not a token budget", "reasoning_budget")
        spec_r: dict[str, Any] = {}
        if reasoning.effort is not None:
            spec_r["effort"] = reasoning.effort
        if reasoning.summary is not None:
            spec_r["summary"] = reasoning.summary
        body["reasoning"] = spec_r
    if ctx.profile.supports_reasoning:
        # Keep no state on the server; the encrypted reasoning comes back to be replayed on the next turn.
        body["store"] = False
        body["include"] = ["reasoning.encrypted_content"]
    if ctx.native_output is not None:
        fmt: dict[str, Any] = {
            "type": "json_schema",
            "name": ctx.native_output.name,
            "schema": ctx.native_output.schema,
            "strict": ctx.native_output.strict,
        }
        if ctx.native_output.description:
            fmt["description"] = ctx.native_output.description
        body["text"] = {"format": fmt}
    if ctx.streaming:
        body["stream"] = True
    body.update(request.provider_options.get(provider, {}))
    return body


# --- response mapping ----------------------------------------------------------------------------------------


class ResponsesHost(Protocol):
    """What the mapping needs from the adapter that serves it (OpenAI itself or Azure)."""

    @property
    def name(self) -> str: ...

    def provider_info(self, headers: Mapping[str, str] | None, **fields: Any) -> ProviderInfo: ...

    def stream_error(self, body: Any, model: str, *, status: int | None = None) -> ProviderError: ...


def usage_from_wire(raw: Mapping[str, Any]) -> Usage:
    """Responses usage: `input_tokens` includes cached tokens, `output_tokens` reasoning tokens."""
    input_details = raw.get("input_tokens_details") or {}
    output_details = raw.get("output_tokens_details") or {}
    input_tokens = token_count(raw.get("input_tokens"))
    output_tokens = token_count(raw.get("output_tokens"))
    cache_read = min(token_count(input_details.get("cached_tokens")), input_tokens)
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=min(token_count(input_details.get("cache_write_tokens")), input_tokens - cache_read),
        reasoning_tokens=min(token_count(output_details.get("reasoning_tokens")), output_tokens),
    )


def _reasoning_text(item: Mapping[str, Any]) -> str:
    """Summaries joined by a blank line; the raw reasoning text when there is no summary (open-weight models)."""
    summary = [s.get("text") or "" for s in item.get("summary") or [] if isinstance(s, dict)]
    if any(summary):
        return "\n\n".join(summary)
    return "".join(c.get("text") or "" for c in item.get("content") or [] if isinstance(c, dict))


# A `message` item's content part type -> the field holding its text.
_CONTENT_TEXT: Mapping[str, str] = {"output_text": "text", "refusal": "refusal"}


def _content_texts(item: Mapping[str, Any], path: str, provider: str) -> list[tuple[str, str]]:
    """(type, text) of each text-bearing content part of a `message` output item; a wrong shape is a typed error."""
    texts: list[tuple[str, str]] = []
    for index, content in enumerate(typed(item.get("content"), list, f"{path}.content", provider, raw=item) or []):
        where = f"{path}.content[{index}]"
        content = typed(content, dict, where, provider, raw=item) or {}
        kind = str(content.get("type"))
        if field := _CONTENT_TEXT.get(kind):
            texts.append((kind, typed(content.get(field), str, f"{where}.{field}", provider, raw=item) or ""))
    return texts


def _failure(payload: Mapping[str, Any], host: ResponsesHost, model: str) -> ProviderError:
    error = payload.get("error")
    body = {"error": error} if isinstance(error, dict) else {"error": {"message": "the response failed"}}
    return host.stream_error(body, model)


def from_wire(payload: Any, ctx: WireContext, host: ResponsesHost, headers: Mapping[str, str]) -> Response:
    """A `Response` from a Responses API response object."""
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), list):
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            raise host.stream_error(payload, ctx.model)
        raise ResponseParseError(
            f"{host.name}: a response object needs an `output` list",
            raw=json.dumps(payload)[:4000],
            provider=host.name,
        )
    if payload.get("status") == "failed":
        raise _failure(payload, host, ctx.model)
    parts: list[Part] = []
    unmapped: list[Any] = []
    refused = False
    truncated = (payload.get("incomplete_details") or {}).get("reason") == "max_output_tokens"
    for position, item in enumerate(payload["output"]):
        path = f"output[{position}]"
        item = typed(item, dict, path, host.name, raw=payload) or {}
        kind = item.get("type")
        if kind == "message":
            for content_kind, text in _content_texts(item, path, host.name):
                refused = refused or (content_kind == "refusal" and bool(text))
                if text:
                    parts.append(TextPart(text=text))
        elif kind == "function_call":
            name = ctx.names.restore(tool_name(item.get("name"), f"{path}.name", host.name, raw=item))
            raw_args = typed(item.get("arguments"), str, f"{path}.arguments", host.name, raw=item) or ""
            arguments, raw = parse_arguments(raw_args, truncated=truncated, provider=host.name)
            if raw is None:
                arguments = ctx.restore_arguments(name, arguments)
            call_id = str(item.get("call_id") or item.get("id") or f"call_{position}")
            parts.append(ToolCall(id=call_id, name=name, arguments=arguments, raw_arguments=raw))
        elif kind == "reasoning":
            parts.append(
                ThinkingPart(
                    text=_reasoning_text(item),
                    signature=encode_reasoning_signature(item.get("id") or "", item.get("encrypted_content")),
                    provider=WIRE,
                )
            )
        else:
            unmapped.append(item)
    finish, raw_finish = map_finish(payload, any(isinstance(p, ToolCall) for p in parts), refused)
    usage_raw = payload.get("usage")
    extra: dict[str, Any] = {"unmapped_output": unmapped} if unmapped else {}
    return Response(
        id=str(payload.get("id") or ""),
        model=str(payload.get("model") or ctx.model),
        parts=parts,
        finish_reason=finish,
        provider_finish_reason=raw_finish,
        usage=usage_from_wire(usage_raw) if isinstance(usage_raw, dict) else Usage(),
        provider=host.provider_info(headers, extra=extra) if extra else host.provider_info(headers),
    )


# --- stream decoding -----------------------------------------------------------------------------------------


class ResponsesStreamDecoder(StreamDecoder):
    """Typed SSE events (`response.*`), keyed by output item id; ends at completed, incomplete or failed."""

    def __init__(self, host: ResponsesHost, ctx: WireContext, headers: Mapping[str, str]) -> None:
        self.host = host
        self.ctx = ctx
        self.headers = headers
        self.sse = SSEDecoder()
        self.asm = StreamAssembler(
            provider=host.name, model=ctx.model, names=ctx.names, thinking_provider=WIRE, restore=ctx.restore_arguments
        )
        self.done = False
        self.refused = False
        self.has_calls = False
        self.with_fragments: set[str] = set()
        self.with_text: set[str] = set()
        self.summary_index: dict[str, int] = {}
        self.unmapped: list[Any] = []

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.feed(chunk):
            events.extend(self._on_data(sse.data))
        return events

    def _on_data(self, data: str) -> list[StreamEvent]:
        if self.done or data.strip() == "[DONE]":
            return []
        obj = json_object(data, self.host.name, "stream event")
        return self._on_event(str(obj.get("type") or ""), obj)

    def _on_event(self, kind: str, obj: dict[str, Any]) -> list[StreamEvent]:
        if kind == "error":
            # The spec shows the error flat; real traffic nests it under `error`.
            error = obj.get("error") if isinstance(obj.get("error"), dict) else obj
            raise self.host.stream_error({"error": error}, self.ctx.model)
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self._on_response(self._object(obj, "response"))
            return []
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            return self._on_terminal(self._object(obj, "response"))
        item_id = str(obj.get("item_id") or "")
        if kind == "response.output_text.delta":
            self.with_text.add(item_id)
            return self.asm.text(("text", item_id, obj.get("content_index", 0)), obj.get("delta") or "")
        if kind == "response.refusal.delta":
            self.refused = True
            self.with_text.add(item_id)
            return self.asm.text(("text", item_id, obj.get("content_index", 0)), obj.get("delta") or "")
        if kind == "response.function_call_arguments.delta":
            return self._on_arguments(item_id, obj.get("delta") or "")
        if kind == "response.function_call_arguments.done":
            # Some servers send the arguments only here, with no deltas before.
            if item_id not in self.with_fragments and self.asm.has_tool(("call", item_id)):
                return self._on_arguments(item_id, obj.get("arguments") or "")
            return []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._on_reasoning(item_id, obj.get("summary_index", 0), obj.get("delta") or "")
        if kind == "response.output_item.added":
            return self._on_item(self._object(obj, "item"), done=False)
        if kind == "response.output_item.done":
            return self._on_item(self._object(obj, "item"), done=True)
        return []  # content_part.*, *.done text events, annotations: nothing the contract holds

    def _object(self, obj: Mapping[str, Any], field: str) -> dict[str, Any]:
        return typed(obj.get(field), dict, f"{obj.get('type')}.{field}", self.host.name, raw=obj) or {}

    def _on_response(self, response: Mapping[str, Any]) -> None:
        self.asm.response_id = str(response.get("id") or self.asm.response_id)
        if response.get("model"):
            self.asm.model = str(response["model"])

    def _on_arguments(self, item_id: str, fragment: str) -> list[StreamEvent]:
        if not fragment:
            return []
        if not self.asm.has_tool(("call", item_id)):
            raise ResponseParseError(
                f"{self.host.name}: arguments for a function call that never started",
                raw=fragment,
                provider=self.host.name,
            )
        self.with_fragments.add(item_id)
        return self.asm.tool_args(("call", item_id), fragment)

    def _on_reasoning(self, item_id: str, index: Any, delta: str) -> list[StreamEvent]:
        key = ("reasoning", item_id)
        previous = self.summary_index.get(item_id)
        self.summary_index[item_id] = index if isinstance(index, int) else 0
        if previous is not None and previous != index and delta:
            delta = "\n\n" + delta  # summaries are joined by a blank line, as in `from_wire`
        self.with_text.add(item_id)
        return self.asm.thinking(key, delta)

    def _on_item(self, item: Mapping[str, Any], *, done: bool) -> list[StreamEvent]:
        kind = item.get("type")
        item_id = str(item.get("id") or "")
        events: list[StreamEvent] = []
        if kind == "function_call":
            self.has_calls = True
            key = ("call", item_id)
            if not self.asm.has_tool(key):
                name = tool_name(item.get("name"), "item.name", self.host.name, raw=item)
                events.extend(self.asm.tool_start(key, str(item.get("call_id") or item_id), name))
            if done:
                if item_id not in self.with_fragments:
                    events.extend(self._on_arguments(item_id, item.get("arguments") or ""))
                events.extend(self.asm.tool_end(key))
        elif kind == "reasoning" and done:
            key = ("reasoning", item_id)
            text = "" if item_id in self.with_text else _reasoning_text(item)
            signature = encode_reasoning_signature(item_id, item.get("encrypted_content"))
            events.extend(self.asm.thinking(key, text, signature=signature))
        elif kind == "message" and done and item_id not in self.with_text:
            for index, (content_kind, text) in enumerate(_content_texts(item, "item", self.host.name)):
                self.refused = self.refused or content_kind == "refusal"
                events.extend(self.asm.text(("text", item_id, index), text))
        elif kind not in ("function_call", "reasoning", "message") and done:
            self.unmapped.append(dict(item))
        return events

    def _on_terminal(self, response: Mapping[str, Any]) -> list[StreamEvent]:
        self._on_response(response)
        if response.get("status") == "failed":
            raise _failure(response, self.host, self.ctx.model)
        self.done = True
        events: list[StreamEvent] = []
        # A terminal event that carries output the stream never itemised still counts (background responses).
        for item in response.get("output") or []:
            if isinstance(item, dict) and item.get("type") == "function_call":
                self.has_calls = True
        finish, raw = map_finish(response, self.has_calls, self.refused)
        self.asm.finish(finish, raw)
        usage = response.get("usage")
        if isinstance(usage, dict):
            events.extend(self.asm.set_usage(usage_from_wire(usage)))
        return events

    def close(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.flush():
            events.extend(self._on_data(sse.data))
        if not self.done:
            raise StreamInterruptedError(
                f"{self.host.name}: the stream ended before response.completed", partial=self.partial()
            )
        return events + self.asm.end(self._info())

    def partial(self) -> Response:
        return self.asm.response(self._info(), partial=True)

    def _info(self) -> ProviderInfo:
        extra = {"unmapped_output": list(self.unmapped)} if self.unmapped else {}
        return self.host.provider_info(self.headers, extra=extra) if extra else self.host.provider_info(self.headers)


# --- errors and the adapter ----------------------------------------------------------------------------------

ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(InvalidRequestError, code="invalid_prompt"),
    ErrorRule(ContentFilterError, code="content_policy_violation"),
)


# Request parameters the Responses API has no field for, whatever the model: added to every profile.
WIRE_UNSUPPORTED: frozenset[SamplingParam] = frozenset({"stop", "seed"})


def responses_profile(profile: ModelProfile) -> ModelProfile:
    """A catalog profile (written for Chat Completions) as the Responses API serves that model."""
    rules = profile.parameters
    if rules.unsupported >= WIRE_UNSUPPORTED:
        return profile
    parameters = rules.model_copy(update={"unsupported": rules.unsupported | WIRE_UNSUPPORTED})
    return profile.model_copy(update={"parameters": parameters})


class OpenAIResponsesAdapter(HTTPAdapter):
    """The Responses API on api.openai.com; model facts come from the OpenAI catalog."""

    name: ClassVar[str] = WIRE
    env_var: ClassVar[str | None] = "OPENAI_API_KEY"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ERROR_RULES

    def __init__(self, **options: Any) -> None:
        options.setdefault("catalog_provider", "openai")
        super().__init__(**options)

    def profile(self, model: str) -> ModelProfile:
        return responses_profile(super().profile(model))

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if self.api_key is not None:
            headers["Authorization"] = "Bearer " + self.api_key.get_secret_value()
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        return self.base_url + "/responses"

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx, self.name)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return ResponsesStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return openai_style_details(body, fallback=f"HTTP {status}")
