"""OpenAI Chat Completions (`/chat/completions`) — and, through `VendorSpec` data, every server that imitates it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from accord.contracts import (
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    Part,
    ProviderError,
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

from ._assemble import StreamAssembler, parse_arguments
from ._base import HTTPAdapter, StreamDecoder, WireContext
from ._errors import ErrorDetails, ErrorRule, openai_style_details
from ._shape import json_object, token_count
from ._sse import SSEDecoder
from ._toolnames import TOOL_NAME_RULES, ToolNameRule

# --- finish reasons ------------------------------------------------------------------------------------------

FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "model_length": "length",
    "error": "error",
}


def map_finish(raw: str | None) -> FinishReason:
    return FINISH_REASONS.get(raw or "", "other") if raw else "stop"


# --- vendors as data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorSpec:
    """One server that speaks Chat Completions, as data: where it lives, how it authenticates, its quirks."""

    name: str
    base_url: str
    env_var: str | None
    requires_key: bool = True
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer "
    chat_path: str = "/chat/completions"
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    # Where a reasoning trace arrives (message / delta field names), in order of preference.
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    # A usage object found at this dotted path in a stream chunk wins over the chunk's `usage` (Groq `x_groq`).
    stream_usage_path: tuple[str, ...] = ()
    send_stream_usage: bool = True
    tool_name_rule: ToolNameRule = TOOL_NAME_RULES["openai"]
    error_rules: tuple[ErrorRule, ...] = ()
    catalog_provider: str | None = None
    # Reads an error body (`body, fallback message` → details): the vendor's error-body shape.
    error_details: Callable[[Any, str], ErrorDetails] = openai_style_details
    # A status that becomes another class when the answer carries a retry hint (OpenRouter 402 + Retry-After).
    retry_hint_classes: Mapping[int, type[ProviderError]] = field(default_factory=dict)
    # Request-body renames applied before provider_options (Mistral `seed` → `random_seed`).
    param_renames: Mapping[str, str] = field(default_factory=dict)
    # Where the reasoning effort / token budget go in the body (OpenRouter nests both under `reasoning`).
    reasoning_effort_path: tuple[str, ...] = ("reasoning_effort",)
    # Effort values the server names differently (Mistral takes only "high" / "none"); unlisted values pass as-is.
    reasoning_effort_map: Mapping[str, str] = field(default_factory=dict)
    reasoning_budget_path: tuple[str, ...] = ()
    # Tool-call ids the server accepts are exactly this many alphanumerics (Mistral: 9); others are remapped.
    tool_call_id_length: int | None = None
    # A content-list chunk type that holds a reasoning trace (Mistral `{"type": "thinking", "thinking": [...]}`).
    thinking_chunk_type: str | None = None
    # Top-level response fields kept in `Response.provider.extra` (Perplexity `citations`, `search_results`).
    kept_fields: tuple[str, ...] = ()
    # At most this many tools per request (Databricks: 32); more raise UnsupportedFeatureError.
    max_tools: int | None = None
    # Read by `providers.vendor_adapter`: the base URL's env var, and options sent as headers (option → header, env).
    base_url_env: str | None = None
    option_headers: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)


OPENAI = VendorSpec(name="openai", base_url="https://api.openai.com/v1", env_var="OPENAI_API_KEY")


# --- request mapping -----------------------------------------------------------------------------------------


def _data_url(media_type: str | None, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def _user_content(parts: list[Part], provider: str) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url if part.url is not None else _data_url(part.media_type, part.data or "")
            image: dict[str, Any] = {"url": url}
            if part.detail:
                image["detail"] = part.detail
            content.append({"type": "image_url", "image_url": image})
        elif isinstance(part, DocumentPart):
            if part.data is None:
                raise UnsupportedFeatureError(
                    f"{provider}: documents must be sent as data, not URL",
                    feature="document_url",
                    provider=provider,
                )
            file: dict[str, Any] = {"file_data": _data_url(part.media_type, part.data)}
            if part.name:
                file["filename"] = part.name
            content.append({"type": "file", "file": file})
    return content


def _tool_result_content(result: ToolResult) -> str:
    # Chat Completions has no error flag on tool results: say it in the content, where the model reads it.
    text = result.content if isinstance(result.content, str) else result.text
    return f"Error: {text}" if result.is_error else text


def _messages(request: Request, ctx: WireContext, vendor: VendorSpec) -> list[dict[str, Any]]:
    system_role = ctx.profile.parameters.system_role
    wire: list[dict[str, Any]] = []
    if request.system:
        wire.append({"role": system_role, "content": request.system})
    for message in request.messages:
        wire.extend(_message(message, ctx, system_role, vendor))
    return wire


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def wire_call_id(call_id: str, vendor: VendorSpec) -> str:
    """`call_id` in the form the vendor accepts; a remapped id is derived from the original, so a call and its
    result (and every later request replaying them) agree without any stored state."""
    length = vendor.tool_call_id_length
    if length is None or re.fullmatch(f"[A-Za-z0-9]{{{length}}}", call_id):
        return call_id
    number = int.from_bytes(hashlib.sha256(call_id.encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def _message(message: Message, ctx: WireContext, system_role: str, vendor: VendorSpec) -> list[dict[str, Any]]:
    provider = vendor.name
    if message.role == "system":
        return [{"role": system_role, "content": message.text}]
    if message.role == "user":
        return [{"role": "user", "content": _user_content(message.parts, provider)}]
    if message.role == "tool":
        return [
            {"role": "tool", "tool_call_id": wire_call_id(r.call_id, vendor), "content": _tool_result_content(r)}
            for r in message.tool_results
        ]
    # Assistant. Reasoning traces are not sent back: Chat Completions has no field for them, and servers that
    # return `reasoning_content` reject it in input.
    calls = message.tool_calls
    # `null` content is only valid beside tool calls; an empty answer replayed as history is "".
    out: dict[str, Any] = {"role": "assistant", "content": message.text or (None if calls else "")}
    if calls:
        out["tool_calls"] = [
            {
                "id": wire_call_id(c.id, vendor),
                "type": "function",
                "function": {
                    "name": ctx.names.wire(c.name),
                    "arguments": c.raw_arguments
                    if c.raw_arguments is not None
                    else json.dumps(c.arguments, ensure_ascii=False),
                },
            }
            for c in calls
        ]
    return [out]


def _tool_choice(choice: ToolChoice, ctx: WireContext) -> Any:
    if choice.mode != "specific":
        return choice.mode
    if len(choice.names) == 1:
        return {"type": "function", "function": {"name": ctx.names.wire(choice.names[0])}}
    return {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": ctx.names.wire(n)}} for n in choice.names],
        },
    }


def to_wire(request: Request, ctx: WireContext, vendor: VendorSpec) -> dict[str, Any]:
    """The Chat Completions request body for `request`."""
    rules = ctx.profile.parameters
    body: dict[str, Any] = {"model": ctx.model, "messages": _messages(request, ctx, vendor)}
    if vendor.max_tools is not None and len(request.tools) > vendor.max_tools:
        raise UnsupportedFeatureError(
            f"{vendor.name}: at most {vendor.max_tools} tools per request ({len(request.tools)} given)",
            feature="tools",
            provider=vendor.name,
            model=ctx.model,
        )
    if request.tools:
        body["tools"] = []
        for tool in request.tools:
            function: dict[str, Any] = {
                "name": ctx.names.wire(tool.name),
                "parameters": ctx.tool_parameters(tool),
            }
            if tool.description:
                function["description"] = tool.description
            strict = ctx.tool_strict(tool)
            if strict is not None:
                function["strict"] = strict
            body["tools"].append({"type": "function", "function": function})
    # Without tools both are no-ops, and OpenAI rejects them ("... is only allowed when 'tools' are specified").
    if request.tool_choice is not None and request.tools:
        body["tool_choice"] = _tool_choice(request.tool_choice, ctx)
    if request.parallel_tool_calls is not None and request.tools:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.max_tokens is not None:
        body[rules.max_tokens_field] = request.max_tokens
    for name in ("temperature", "top_p", "seed"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.stop:
        body["stop"] = request.stop
    if request.reasoning is not None:
        budget = request.reasoning.budget_tokens
        if budget is not None and request.reasoning.effort is None:
            if not vendor.reasoning_budget_path:
                raise UnsupportedFeatureError(
                    f"{vendor.name}: Chat Completions takes a reasoning effort, not a token budget",
                    feature="reasoning_budget",
                    provider=vendor.name,
                    model=ctx.model,
                )
            _put(body, vendor.reasoning_budget_path, budget)
        if request.reasoning.effort is not None:
            effort = request.reasoning.effort
            _put(body, vendor.reasoning_effort_path, vendor.reasoning_effort_map.get(effort, effort))
    if ctx.native_output is not None and ctx.native_output.json_mode:
        body["response_format"] = {"type": "json_object"}
    elif ctx.native_output is not None:
        schema_spec: dict[str, Any] = {
            "name": ctx.native_output.name,
            "schema": ctx.native_output.schema,
            "strict": ctx.native_output.strict,
        }
        if ctx.native_output.description:
            schema_spec["description"] = ctx.native_output.description
        body["response_format"] = {"type": "json_schema", "json_schema": schema_spec}
    if ctx.streaming:
        body["stream"] = True
        if vendor.send_stream_usage and ctx.profile.supports_streaming_usage:
            body["stream_options"] = {"include_usage": True}
    for old, new in vendor.param_renames.items():
        if old in body:
            body[new] = body.pop(old)
    body.update(request.provider_options.get(vendor.name, {}))
    return body


def _put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    holder = body
    for key in path[:-1]:
        holder = holder.setdefault(key, {})
    holder[path[-1]] = value


# --- response mapping ----------------------------------------------------------------------------------------


def usage_from_wire(raw: Mapping[str, Any]) -> Usage:
    """OpenAI usage: `prompt_tokens` already includes cached tokens, `completion_tokens` reasoning tokens."""
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    input_tokens = token_count(raw.get("prompt_tokens"))
    output_tokens = token_count(raw.get("completion_tokens"))
    cache_read = min(token_count(prompt.get("cached_tokens") or raw.get("prompt_cache_hit_tokens")), input_tokens)
    cache_write = min(token_count(prompt.get("cache_write_tokens")), input_tokens - cache_read)
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=min(token_count(completion.get("reasoning_tokens")), output_tokens),
    )


def _reasoning_text(holder: Mapping[str, Any], vendor: VendorSpec) -> str:
    for name in vendor.reasoning_fields:
        value = holder.get(name)
        if isinstance(value, str) and value:
            return value
    content = holder.get("content")
    if vendor.thinking_chunk_type is None or not isinstance(content, list):
        return ""
    # Thinking chunks: `{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}` (or a plain string).
    texts: list[str] = []
    for chunk in content:
        if isinstance(chunk, dict) and chunk.get("type") == vendor.thinking_chunk_type:
            inner = chunk.get(vendor.thinking_chunk_type)
            texts.append(inner if isinstance(inner, str) else _content_text(inner))
    return "".join(texts)


def _content_text(content: Any) -> str:
    """`content` as text: a string, or a list of `{type: text, text}` parts (some compatible servers).

    Any other shape is not Chat Completions: a typed error rather than an answer whose text silently vanished.
    """
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content if p.get("type") == "text"]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)
    raise ResponseParseError("message content is neither text nor a list of text parts", raw=json.dumps(content)[:4000])


def _not_chat(adapter: OpenAIChatAdapter, what: str, raw: Any) -> ResponseParseError:
    return ResponseParseError(f"{adapter.name}: {what}", raw=json.dumps(raw)[:4000], provider=adapter.name)


def _function_name(call: Any, adapter: OpenAIChatAdapter) -> tuple[Mapping[str, Any], str]:
    """A tool call's `function` object and its (wire) name; a call without a name cannot be answered."""
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(function, dict) or not isinstance(name, str) or not name:
        raise _not_chat(adapter, "a tool call has no function name", call)
    return function, name


def from_wire(payload: Any, ctx: WireContext, adapter: OpenAIChatAdapter, headers: Mapping[str, str]) -> Response:
    """A `Response` from a Chat Completions response body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list) or not payload["choices"]:
        if isinstance(payload, dict) and "error" in payload:
            raise adapter.stream_error(payload, ctx.model)
        raise ResponseParseError(
            f"{adapter.name}: a chat completion needs a non-empty `choices` list",
            raw=json.dumps(payload)[:4000],
            provider=adapter.name,
        )
    choice = payload["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or not isinstance(message, dict | None):
        raise _not_chat(adapter, "`choices[0].message` is not an object", payload)
    message = message or {}
    raw_finish = choice.get("finish_reason")
    finish = map_finish(raw_finish)
    parts: list[Part] = []
    if reasoning := _reasoning_text(message, adapter.vendor):
        parts.append(ThinkingPart(text=reasoning, provider=adapter.name))
    text = _content_text(message.get("content"))
    refusal = message.get("refusal")
    if text:
        parts.append(TextPart(text=text))
    elif isinstance(refusal, str) and refusal:
        parts.append(TextPart(text=refusal))
        finish = "refusal"
    for call in message.get("tool_calls") or []:
        function, wire_name = _function_name(call, adapter)
        raw_args = function.get("arguments")
        if isinstance(raw_args, dict):  # some compatible servers send an object
            arguments, raw = raw_args, None
        else:
            arguments, raw = parse_arguments(raw_args or "", truncated=finish == "length", provider=adapter.name)
        name = ctx.names.restore(wire_name)
        if raw is None:
            arguments = ctx.restore_arguments(name, arguments)
        parts.append(
            ToolCall(id=call.get("id") or f"call_{len(parts)}", name=name, arguments=arguments, raw_arguments=raw)
        )
    usage_raw = payload.get("usage")
    return Response(
        id=str(payload.get("id") or ""),
        model=str(payload.get("model") or ctx.model),
        parts=parts,
        finish_reason=finish,
        provider_finish_reason=raw_finish,
        usage=usage_from_wire(usage_raw) if isinstance(usage_raw, dict) else Usage(),
        provider=adapter.provider_info(
            headers,
            system_fingerprint=payload.get("system_fingerprint"),
            extra={k: payload[k] for k in adapter.vendor.kept_fields if k in payload},
        ),
    )


# --- stream decoding -----------------------------------------------------------------------------------------


def _dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = obj
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


class ChatStreamDecoder(StreamDecoder):
    """`data: {chunk}` frames until `data: [DONE]`; tool-call fragments keyed by their `index`."""

    def __init__(self, adapter: OpenAIChatAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        self.adapter = adapter
        self.ctx = ctx
        self.headers = headers
        self.sse = SSEDecoder()
        self.asm = StreamAssembler(
            provider=adapter.name,
            model=ctx.model,
            names=ctx.names,
            thinking_provider=adapter.name,
            restore=ctx.restore_arguments,
        )
        self.done = False
        self.refused = False
        self.content_seen = False
        self.fingerprint: str | None = None
        self.extra: dict[str, Any] = {}
        self.tool_ids: dict[str, tuple[str, int]] = {}
        self.tool_indexes: dict[int, tuple[str, int]] = {}
        self.last_tool: tuple[str, int] | None = None
        self.tools_opened = 0

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.feed(chunk):
            events.extend(self._on_event(sse.data))
        return events

    def _on_event(self, data: str) -> list[StreamEvent]:
        if data.strip() == "[DONE]":
            self.done = True
            return []
        if self.done:
            return []
        obj = json_object(data, self.adapter.name, "stream frame")
        if obj.get("error") is not None:
            raise self.adapter.stream_error(obj, self.ctx.model)
        events: list[StreamEvent] = []
        self.asm.response_id = self.asm.response_id or str(obj.get("id") or "")
        if obj.get("model"):
            self.asm.model = str(obj["model"])
        self.fingerprint = obj.get("system_fingerprint") or self.fingerprint
        self.extra.update((k, obj[k]) for k in self.adapter.vendor.kept_fields if k in obj)
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(choice, dict) or not isinstance(delta, dict | None):
                raise _not_chat(self.adapter, "a stream chunk's choice is not an object", obj)
            if choice.get("index", 0) != 0:
                continue
            events.extend(self._on_delta(delta or {}))
            if choice.get("finish_reason"):
                raw = choice["finish_reason"]
                self.asm.finish("refusal" if self.refused and not self.content_seen else map_finish(raw), raw)
        usage = _dig(obj, self.adapter.vendor.stream_usage_path) if self.adapter.vendor.stream_usage_path else None
        if not isinstance(usage, dict):
            usage = obj.get("usage")
        if isinstance(usage, dict):  # a later `"usage": null` never erases what arrived
            events.extend(self.asm.set_usage(usage_from_wire(usage)))
        return events

    def _on_delta(self, delta: Mapping[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if reasoning := _reasoning_text(delta, self.adapter.vendor):
            events.extend(self.asm.thinking("thinking", reasoning))
        content = _content_text(delta.get("content"))
        if content:
            self.content_seen = True
            events.extend(self.asm.text("text", content))
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self.refused = True
            events.extend(self.asm.text("text", refusal))
        for call in delta.get("tool_calls") or []:
            if not isinstance(call, dict):
                raise _not_chat(self.adapter, "a streamed tool call is not an object", call)
            key = self._tool_key(call)
            function = call.get("function") or {}
            if not isinstance(function, dict):
                raise _not_chat(self.adapter, "a streamed tool call's `function` is not an object", call)
            if not self.asm.has_tool(key):
                _, name = _function_name(call, self.adapter)  # the first fragment names the function
                call_id = call.get("id") or f"call_{key[1]}"
                events.extend(self.asm.tool_start(key, call_id, name))
            arguments = function.get("arguments")
            if isinstance(arguments, dict):
                events.extend(self.asm.tool_end(key, arguments))
            elif arguments:
                events.extend(self.asm.tool_args(key, arguments))
        return events

    def _tool_key(self, call: Mapping[str, Any]) -> tuple[str, int]:
        """Which call a fragment continues. OpenAI numbers calls by `index` and sends the id once; compatible
        servers may omit `index` or reuse one index for every call (each with its own id): a new id is a new call,
        a fragment without id continues the call at its index (or, with no index, the last call)."""
        call_id = call.get("id") or None
        index = call.get("index")
        if call_id is not None and call_id in self.tool_ids:
            key = self.tool_ids[call_id]
        elif call_id is None and isinstance(index, int) and index in self.tool_indexes:
            key = self.tool_indexes[index]
        elif call_id is None and index is None and self.last_tool is not None:
            key = self.last_tool
        else:
            key = ("tool", self.tools_opened)
            self.tools_opened += 1
            if call_id is not None:
                self.tool_ids[call_id] = key
            if isinstance(index, int):
                self.tool_indexes[index] = key
        self.last_tool = key
        return key

    def close(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.flush():
            events.extend(self._on_event(sse.data))
        if not self.done and self.asm.finish_reason is None:
            raise StreamInterruptedError(f"{self.adapter.name}: the stream ended before [DONE]", partial=self.partial())
        return events + self.asm.end(self._info())

    def partial(self) -> Response:
        return self.asm.response(self._info(), partial=True)

    def _info(self) -> Any:
        return self.adapter.provider_info(self.headers, system_fingerprint=self.fingerprint, extra=self.extra)


# --- errors and the adapter ----------------------------------------------------------------------------------


class OpenAIChatAdapter(HTTPAdapter):
    """Chat Completions. `vendor` selects the server; the default is OpenAI itself."""

    name: ClassVar[str] = "openai"
    env_var: ClassVar[str | None] = "OPENAI_API_KEY"
    default_base_url: ClassVar[str] = OPENAI.base_url

    def __init__(
        self, *, vendor: VendorSpec = OPENAI, token_provider: TokenProvider | None = None, **options: Any
    ) -> None:
        self.vendor = vendor
        self.token_provider = token_provider
        self.name = vendor.name  # type: ignore[misc]
        self.env_var = vendor.env_var  # type: ignore[misc]
        self.default_base_url = vendor.base_url  # type: ignore[misc]
        self.requires_key = vendor.requires_key and token_provider is None  # type: ignore[misc]
        self.tool_name_rule = vendor.tool_name_rule  # type: ignore[misc]
        self.error_rules = vendor.error_rules  # type: ignore[misc]
        options.setdefault("catalog_provider", vendor.catalog_provider or vendor.name)
        super().__init__(**options)

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        headers = {**self.vendor.extra_headers, **self.extra_headers}
        if self.api_key is not None:
            headers[self.vendor.auth_header] = self.vendor.auth_scheme + self.api_key.get_secret_value()
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        return self.base_url + self.vendor.chat_path.replace("{model}", quote(ctx.model, safe=""))

    def _wire_auth(self, ctx: WireContext) -> httpx.Auth | None:
        if self.token_provider is None:
            return None
        return TokenProviderAuth(self.token_provider, self.vendor.auth_header, self.vendor.auth_scheme)

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx, self.vendor)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return ChatStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return self.vendor.error_details(body, f"HTTP {status}")

    def _error(self, status: int, headers: Mapping[str, str], raw: bytes, model: str) -> ProviderError:
        error = super()._error(status, headers, raw, model)
        moved = self.vendor.retry_hint_classes.get(status)
        if moved is None or error.retry_after is None or isinstance(error, moved):
            return error
        return moved(
            error.message,
            provider=error.provider,
            model=error.model,
            status=error.status,
            code=error.code,
            type=error.type,
            param=error.param,
            request_id=error.request_id,
            body=error.body,
            retry_after=error.retry_after,
        )


# A callable giving a fresh bearer token (OAuth service principals); it may be async and do its own caching.
TokenProvider = Callable[[], str | Awaitable[str]]


class TokenProviderAuth(httpx.Auth):
    """Asks the token provider on every request, and once more after a 401 (the token may have just expired)."""

    def __init__(self, provider: TokenProvider, header: str, scheme: str) -> None:
        self.provider = provider
        self.header = header
        self.scheme = scheme

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        for attempt in range(2):
            token = self.provider()
            if not isinstance(token, str):
                token = await token
            request.headers[self.header] = self.scheme + token
            response = yield request
            if response.status_code != 401 or attempt == 1:
                return

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("accord adapters are async: TokenProviderAuth has no sync flow")
