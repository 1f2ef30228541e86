"""Ollama's native `/api/chat` (NDJSON streaming), and model discovery from `/api/tags` and `/api/show`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from accord.contracts import (
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    ModelProfile,
    Pricing,
    Request,
    Response,
    ResponseParseError,
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
from ._shape import json_object, token_count, tool_name, typed
from ._sse import NDJSONDecoder
from ._toolnames import TOOL_NAME_RULES

DEFAULT_BASE_URL = "http://localhost:11434"
# Hosts that bill by subscription rather than per token: there a model's price is unknown, not the catalog's 0
# (the catalog prices Ollama at 0 because a server you run yourself charges nothing per token).
SUBSCRIPTION_HOSTS = frozenset({"ollama.com"})
_UNKNOWN_PRICES = ModelProfile(pricing=Pricing.model_validate(dict.fromkeys(Pricing.model_fields.keys() - {"tiers"})))

# --- finish reasons ------------------------------------------------------------------------------------------

# `stop` with tool calls in the message becomes `tool_calls` (see `map_finish`); `load`/`unload` answer no prompt.
FINISH_REASONS: Mapping[str, FinishReason] = {"stop": "stop", "length": "length", "load": "other", "unload": "other"}


def map_finish(raw: str | None, has_tool_calls: bool) -> FinishReason:
    if raw in (None, "", "stop") and has_tool_calls:
        return "tool_calls"
    return FINISH_REASONS.get(raw or "stop", "other")


# --- request mapping -----------------------------------------------------------------------------------------

# Request fields that Ollama takes inside `options` (`max_tokens` is `num_predict` there).
_OPTION_FIELDS = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop"}


def _refuse(feature: str, why: str, model: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"ollama: {why}", feature=feature, provider="ollama", model=model)


def _images(parts: list[Any], model: str) -> list[str]:
    images: list[str] = []
    for part in parts:
        if isinstance(part, ImagePart):
            if part.data is None:
                raise _refuse("image_url", "images must be sent as base64 data, not URL", model)
            images.append(part.data)
        elif isinstance(part, DocumentPart):
            raise _refuse("documents", "/api/chat takes no documents", model)
    return images


def _user(message: Message, model: str) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "user", "content": message.text}
    if images := _images(message.parts, model):
        out["images"] = images
    return out


def _assistant(message: Message, ctx: WireContext) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message.text}
    # Only Ollama's own thinking goes back: another provider's trace (or signature) means nothing to it.
    thinking = "".join(p.text for p in message.parts if isinstance(p, ThinkingPart) and p.provider == "ollama")
    if thinking:
        out["thinking"] = thinking
    calls = message.tool_calls
    if calls:
        out["tool_calls"] = [
            {"function": {"name": ctx.names.wire(c.name), "arguments": _call_arguments(c)}} for c in calls
        ]
    return out


def _call_arguments(call: ToolCall) -> dict[str, Any]:
    # Arguments travel as an object; a raw fragment kept from a truncated call is parsed if it can be.
    if call.raw_arguments is not None:
        try:
            parsed = json.loads(call.raw_arguments)
        except ValueError:
            return call.arguments
        return parsed if isinstance(parsed, dict) else call.arguments
    return call.arguments


def _tool_result(result: ToolResult, names: Mapping[str, str], ctx: WireContext) -> dict[str, Any]:
    text = result.content if isinstance(result.content, str) else result.text
    out: dict[str, Any] = {"role": "tool", "content": f"Error: {text}" if result.is_error else text}
    if result.call_id in names:
        out["tool_name"] = ctx.names.wire(names[result.call_id])
    if not isinstance(result.content, str) and (images := _images(list(result.content), ctx.model)):
        out["images"] = images
    return out


def _messages(request: Request, ctx: WireContext) -> list[dict[str, Any]]:
    # Ollama tool messages carry the tool's name, not a call id: find it from the call the result answers.
    call_names = {c.id: c.name for m in request.messages for c in m.tool_calls}
    wire: list[dict[str, Any]] = []
    if request.system:
        wire.append({"role": "system", "content": request.system})
    for message in request.messages:
        if message.role == "system":
            wire.append({"role": "system", "content": message.text})
        elif message.role == "user":
            wire.append(_user(message, ctx.model))
        elif message.role == "assistant":
            wire.append(_assistant(message, ctx))
        else:
            wire.extend(_tool_result(r, call_names, ctx) for r in message.tool_results)
    return wire


def _think(request: Request, model: str) -> bool | str | None:
    reasoning = request.reasoning
    if reasoning is None:
        return None
    if reasoning.effort is None:
        if reasoning.budget_tokens is not None:
            raise _refuse("reasoning_budget", "`think` takes an effort, not a token budget", model)
        return True
    if reasoning.effort == "none":
        return False
    # Ollama names four levels (`think` in the spec); the others ask for thinking without a level.
    return reasoning.effort if reasoning.effort in ("low", "medium", "high", "max") else True


def to_wire(request: Request, ctx: WireContext) -> dict[str, Any]:
    """The `/api/chat` body for `request`."""
    body: dict[str, Any] = {"model": ctx.model, "messages": _messages(request, ctx), "stream": ctx.streaming}
    choice = request.tool_choice
    if choice is not None and choice.mode in ("required", "specific"):
        raise _refuse("tool_choice", f"/api/chat cannot force a tool call (tool_choice={choice.mode})", ctx.model)
    if request.parallel_tool_calls is False:
        raise _refuse("parallel_tool_calls", "/api/chat cannot forbid parallel tool calls", ctx.model)
    # `tool_choice: none` has no field: not declaring the tools is how the model is kept from calling them.
    if request.tools and not (choice is not None and choice.mode == "none"):
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": ctx.names.wire(tool.name),
                    "description": tool.description,
                    "parameters": ctx.tool_parameters(tool),
                },
            }
            for tool in request.tools
        ]
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    for name, wire_name in _OPTION_FIELDS.items():
        value = getattr(request, name)
        if value is not None:
            options[wire_name] = value
    think = _think(request, ctx.model)
    if think is not None:
        body["think"] = think
    if ctx.native_output is not None:
        # JSON mode too: `format` takes a schema, and the prompted plan's (non-strict) schema is the best JSON hint.
        body["format"] = ctx.native_output.schema
    passthrough = dict(request.provider_options.get("ollama", {}))
    extra_options = passthrough.pop("options", None)
    if isinstance(extra_options, dict):
        options.update(extra_options)
    elif extra_options is not None:
        passthrough["options"] = extra_options
    if options:
        body["options"] = options
    body.update(passthrough)
    return body


# --- response mapping ----------------------------------------------------------------------------------------


def usage_from_wire(payload: Mapping[str, Any]) -> Usage:
    return Usage(
        input_tokens=token_count(payload.get("prompt_eval_count")), output_tokens=token_count(payload.get("eval_count"))
    )


def _function(call: Any, path: str) -> tuple[dict[str, Any], str]:
    """A tool call's `function` and its (wire) name; the spec requires the name, and a call without one cannot be
    routed."""
    call = typed(call, dict, path, "ollama") or {}
    function = typed(call.get("function"), dict, f"{path}.function", "ollama", raw=call) or {}
    return function, tool_name(function.get("name"), f"{path}.function.name", "ollama", raw=call)


def _tool_key(function: Mapping[str, Any]) -> str:
    return json.dumps([function.get("name"), function.get("arguments")], sort_keys=True, default=str)


def _message_text(message: Mapping[str, Any], field: str) -> str:
    return typed(message.get(field), str, f"message.{field}", "ollama", raw=message) or ""


def _wire_arguments(raw: Any, provider: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):  # some models' templates produce a JSON string
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ResponseParseError(f"{provider}: tool arguments are not JSON", raw=raw, provider=provider) from exc
        if isinstance(parsed, dict):
            return parsed
    raise ResponseParseError(f"{provider}: tool arguments are not an object", raw=str(raw), provider=provider)


def _call_id(call: Mapping[str, Any], position: int) -> str:
    # The spec's ToolCall has no id; newer servers send one. Synthesized ids are positional, so deterministic.
    given = call.get("id")
    return given if isinstance(given, str) and given else f"call_{position}"


def response_id(payload: Mapping[str, Any]) -> str:
    """Ollama answers carry no id: the creation timestamp names the answer (stable for a recorded answer)."""
    created = payload.get("created_at")
    return f"ollama-{created}" if isinstance(created, str) and created else "ollama"


def _timings(payload: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
    return {k: payload[k] for k in keys if k in payload}


def from_wire(payload: Any, ctx: WireContext, adapter: OllamaAdapter, headers: Mapping[str, str]) -> Response:
    """A `Response` from a non-streaming `/api/chat` answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), dict):
        if isinstance(payload, dict) and payload.get("error") is not None:
            raise adapter.stream_error(payload, ctx.model)
        raise ResponseParseError(
            "ollama: a chat answer needs a `message` object", raw=json.dumps(payload)[:4000], provider="ollama"
        )
    message = payload["message"]
    parts: list[Any] = []
    if thinking := _message_text(message, "thinking"):
        parts.append(ThinkingPart(text=thinking, provider="ollama"))
    if content := _message_text(message, "content"):
        parts.append(TextPart(text=content))
    seen: set[str] = set()
    calls = typed(message.get("tool_calls"), list, "message.tool_calls", "ollama", raw=message) or []
    for position, call in enumerate(calls):
        function, wire_name = _function(call, f"message.tool_calls[{position}]")
        key = _tool_key(function)
        if key in seen:
            continue
        seen.add(key)
        name = ctx.names.restore(wire_name)
        arguments = ctx.restore_arguments(name, _wire_arguments(function.get("arguments"), "ollama"))
        parts.append(ToolCall(id=_call_id(call, len(seen) - 1), name=name, arguments=arguments))
    raw = payload.get("done_reason")
    return Response(
        id=response_id(payload),
        model=str(payload.get("model") or ctx.model),
        parts=parts,
        finish_reason=map_finish(raw, bool(seen)),
        provider_finish_reason=raw,
        usage=usage_from_wire(payload),
        provider=adapter.provider_info(headers, extra=_timings(payload)),
    )


# --- stream decoding -----------------------------------------------------------------------------------------


class ChatStreamDecoder(StreamDecoder):
    """One JSON object per line: content and thinking deltas, whole tool calls, a last line with `done: true`."""

    def __init__(self, adapter: OllamaAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        self.adapter = adapter
        self.ctx = ctx
        self.headers = headers
        self.lines = NDJSONDecoder()
        self.asm = StreamAssembler(
            provider="ollama",
            model=ctx.model,
            names=ctx.names,
            thinking_provider="ollama",
            restore=ctx.restore_arguments,
        )
        self.calls: list[str] = []  # gpt-oss repeats its calls on the final line: dedupe by name + arguments
        self.done = False
        self.extra: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        try:
            lines = self.lines.feed(chunk)
        except UnicodeDecodeError as exc:
            raise ResponseParseError("ollama: stream is not UTF-8", raw=chunk, provider="ollama") from exc
        events: list[StreamEvent] = []
        for line in lines:
            events.extend(self._on_line(line))
        return events

    def _on_line(self, line: str) -> list[StreamEvent]:
        if self.done:
            return []
        obj = json_object(line, "ollama", "stream line")
        if obj.get("error") is not None:
            raise self.adapter.stream_error(obj, self.ctx.model)
        if obj.get("model"):
            self.asm.model = str(obj["model"])
        self.asm.response_id = self.asm.response_id or response_id(obj)
        events: list[StreamEvent] = []
        message = typed(obj.get("message"), dict, "message", "ollama", raw=obj) or {}
        if thinking := _message_text(message, "thinking"):
            events.extend(self.asm.thinking("thinking", thinking))
        if content := _message_text(message, "content"):
            events.extend(self.asm.text("text", content))
        calls = typed(message.get("tool_calls"), list, "message.tool_calls", "ollama", raw=message) or []
        for position, call in enumerate(calls):
            events.extend(self._on_call(call, f"message.tool_calls[{position}]"))
        if obj.get("done"):
            self.done = True
            raw = obj.get("done_reason")
            self.asm.finish(map_finish(raw, bool(self.calls)), raw)
            self.extra = _timings(obj)
            events.extend(self.asm.set_usage(usage_from_wire(obj)))
        return events

    def _on_call(self, call: Any, path: str) -> list[StreamEvent]:
        function, name = _function(call, path)
        key = _tool_key(function)
        if key in self.calls:
            return []
        self.calls.append(key)
        slot = ("tool", len(self.calls) - 1)
        events = self.asm.tool_start(slot, _call_id(call, len(self.calls) - 1), name)
        return events + self.asm.tool_end(slot, _wire_arguments(function.get("arguments"), "ollama"))

    def close(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for line in self.lines.flush():
            events.extend(self._on_line(line))
        if not self.done:
            raise StreamInterruptedError("ollama: the stream ended before `done: true`", partial=self.partial())
        return events + self.asm.end(self._info())

    def partial(self) -> Response:
        return self.asm.response(self._info(), partial=True)

    def _info(self) -> Any:
        return self.adapter.provider_info(self.headers, extra=self.extra)


# --- errors --------------------------------------------------------------------------------------------------


def error_details(body: Any, fallback: str) -> ErrorDetails:
    """Ollama errors are `{"error": "text"}` (an in-stream line too)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            return ErrorDetails(message=error)
        if isinstance(error, dict):  # the Ollama cloud proxies some OpenAI-shaped errors
            return ErrorDetails(message=str(error.get("message") or fallback), type=error.get("type"))
    if isinstance(body, str) and body.strip():
        return ErrorDetails(message=body.strip()[:2000])
    return ErrorDetails(message=fallback)


ERROR_RULES: tuple[ErrorRule, ...] = ()


# --- discovery -----------------------------------------------------------------------------------------------


def _host(value: str) -> str:
    """`OLLAMA_HOST` may be `host`, `host:port` or a URL."""
    url = value.strip().rstrip("/")
    return url if "://" in url else "http://" + url


async def list_models(
    client: httpx.AsyncClient, base_url: str = DEFAULT_BASE_URL, headers: Mapping[str, str] | None = None
) -> list[str]:
    """The models the server has pulled (`/api/tags`), by name (`llama3.2:latest`)."""
    response = await client.get(base_url.rstrip("/") + "/api/tags", headers=dict(headers or {}))
    payload = _discovery_payload(response)
    names: list[str] = []
    for entry in payload.get("models") or []:
        if isinstance(entry, dict):
            name = entry.get("model") or entry.get("name")
            if isinstance(name, str) and name:
                names.append(name)
    return names


# `/api/show` capability names → profile fields they switch on.
CAPABILITY_FIELDS: Mapping[str, str] = {
    "tools": "supports_tools",
    "vision": "supports_vision",
    "thinking": "supports_reasoning",
}


def profile_from_show(model: str, payload: Mapping[str, Any]) -> ModelProfile:
    """A profile layer from an `/api/show` answer: only what it states is set, so it layers over the catalog."""
    fields: dict[str, Any] = {}
    capabilities = payload.get("capabilities")
    if isinstance(capabilities, list):
        for capability, field_name in CAPABILITY_FIELDS.items():
            fields[field_name] = capability in capabilities
    info = payload.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if key.endswith(".context_length") and isinstance(value, int) and value > 0:
                fields["max_context"] = value
                break
    return ModelProfile.model_validate({"provider": "ollama", "model": model, **fields})


async def show_profile(
    client: httpx.AsyncClient,
    model: str,
    base_url: str = DEFAULT_BASE_URL,
    headers: Mapping[str, str] | None = None,
) -> ModelProfile:
    """What the server says `model` can do (`/api/show`), as a profile layer."""
    response = await client.post(base_url.rstrip("/") + "/api/show", json={"model": model}, headers=dict(headers or {}))
    return profile_from_show(model, _discovery_payload(response))


def _discovery_payload(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        body = parse_body(response.content)
        raise build_error(
            provider="ollama",
            model=None,
            status=response.status_code,
            details=error_details(body, f"HTTP {response.status_code}"),
            rules=ERROR_RULES,
            headers=response.headers,
            body=body,
        )
    payload = parse_body(response.content)
    if not isinstance(payload, dict):
        raise ResponseParseError("ollama: discovery answer is not an object", raw=response.content, provider="ollama")
    return payload


# --- the adapter ---------------------------------------------------------------------------------------------


class OllamaAdapter(HTTPAdapter):
    """Ollama's native chat API. No key locally; `OLLAMA_API_KEY` (Bearer) for Ollama's cloud."""

    name: ClassVar[str] = "ollama"
    env_var: ClassVar[str | None] = "OLLAMA_API_KEY"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    requires_key: ClassVar[bool] = False
    tool_name_rule = TOOL_NAME_RULES["ollama"]
    error_rules = ERROR_RULES

    def __init__(self, *, base_url: str | None = None, **options: Any) -> None:
        env = os.environ.get("OLLAMA_HOST") or os.environ.get("OLLAMA_BASE_URL")
        super().__init__(base_url=base_url or (_host(env) if env else None), **options)
        if urlsplit(self.base_url).hostname in SUBSCRIPTION_HOSTS:
            user = self._profile_override
            self._profile_override = _UNKNOWN_PRICES if user is None else _UNKNOWN_PRICES.merged_with(user)

    def _headers(self, ctx: WireContext | None) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if self.api_key is not None:
            headers["Authorization"] = "Bearer " + self.api_key.get_secret_value()
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        return self.base_url + "/api/chat"

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return ChatStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return error_details(body, f"HTTP {status}")

    async def list_models(self) -> list[str]:
        """`/api/tags` on this adapter's server."""
        return await list_models(self.core.client(), self.base_url, self._headers(None))

    async def show_profile(self, model: str) -> ModelProfile:
        """`/api/show` for `model` on this adapter's server, as a profile layer."""
        return await show_profile(self.core.client(), model, self.base_url, self._headers(None))
