"""IBM watsonx.ai chat (`/ml/v1/text/chat`, `/ml/v1/text/chat_stream`), authorised by an IAM token exchange."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from accord.contracts import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    DocumentPart,
    FinishReason,
    ImagePart,
    Message,
    Part,
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

from ._assemble import StreamAssembler, parse_arguments
from ._base import HTTPAdapter, StreamDecoder, WireContext
from ._errors import ErrorDetails, ErrorRule, build_error, parse_body
from ._shape import token_count, tool_name, typed
from ._sse import SSEDecoder
from ._toolnames import TOOL_NAME_RULES

DEFAULT_BASE_URL = "https://us-south.ml.cloud.ibm.com"
DEFAULT_IAM_URL = "https://iam.cloud.ibm.com/identity/token"
DEFAULT_VERSION = "2024-05-31"

# --- finish reasons ------------------------------------------------------------------------------------------

FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "time_limit": "length",  # cut by the request's time limit: the answer is truncated like a token limit
    "cancelled": "other",
    "error": "error",
}


def map_finish(raw: str | None) -> FinishReason:
    return FINISH_REASONS.get(raw or "", "other") if raw else "stop"


# --- request mapping -----------------------------------------------------------------------------------------


def _refuse(feature: str, why: str, model: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(f"watsonx: {why}", feature=feature, provider="watsonx", model=model)


def _user_content(parts: list[Part], model: str) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url if part.url is not None else f"data:{part.media_type};base64,{part.data}"
            image: dict[str, Any] = {"url": url}
            if part.detail:
                image["detail"] = part.detail
            content.append({"type": "image_url", "image_url": image})
        elif isinstance(part, DocumentPart):
            raise _refuse("documents", "the chat API takes no documents", model)
    return content


def _tool_result(result: ToolResult) -> dict[str, Any]:
    text = result.content if isinstance(result.content, str) else result.text
    return {"role": "tool", "tool_call_id": result.call_id, "content": f"Error: {text}" if result.is_error else text}


def _message(message: Message, ctx: WireContext) -> list[dict[str, Any]]:
    if message.role == "system":
        return [{"role": "system", "content": message.text}]
    if message.role == "user":
        return [{"role": "user", "content": _user_content(message.parts, ctx.model)}]
    if message.role == "tool":
        return [_tool_result(r) for r in message.tool_results]
    out: dict[str, Any] = {"role": "assistant", "content": message.text}
    if calls := message.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": ctx.names.wire(c.name),
                    "arguments": c.raw_arguments if c.raw_arguments is not None else json.dumps(c.arguments),
                },
            }
            for c in calls
        ]
    return [out]


def _tool_choice(choice: ToolChoice, ctx: WireContext) -> dict[str, Any]:
    # `tool_choice_option` (a mode) and `tool_choice` (one named function) are mutually exclusive.
    if choice.mode != "specific":
        return {"tool_choice_option": choice.mode}
    if len(choice.names) > 1:
        raise _refuse("tool_choice_many", "tool_choice names at most one function", ctx.model)
    return {"tool_choice": {"type": "function", "function": {"name": ctx.names.wire(choice.names[0])}}}


def to_wire(request: Request, ctx: WireContext, scope: Mapping[str, str]) -> dict[str, Any]:
    """The chat body for `request`; `scope` is `{"project_id": ...}` or `{"space_id": ...}`."""
    body: dict[str, Any] = {"model_id": ctx.model, **scope, "messages": []}
    if request.system:
        body["messages"].append({"role": "system", "content": request.system})
    for message in request.messages:
        body["messages"].extend(_message(message, ctx))
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": ctx.names.wire(t.name),
                    "description": t.description,
                    "parameters": ctx.tool_parameters(t),
                },
            }
            for t in request.tools
        ]
    if request.tool_choice is not None:
        body.update(_tool_choice(request.tool_choice, ctx))
    if request.parallel_tool_calls is False:
        raise _refuse("parallel_tool_calls", "the chat API cannot forbid parallel tool calls", ctx.model)
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    for name in ("temperature", "top_p", "seed"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.stop:
        body["stop"] = request.stop
    if request.reasoning is not None:
        if request.reasoning.effort is None:
            raise _refuse("reasoning_budget", "reasoning takes an effort, not a token budget", ctx.model)
        body["reasoning_effort"] = request.reasoning.effort
    if ctx.native_output is not None and ctx.native_output.json_mode:
        body["response_format"] = {"type": "json_object"}
    elif ctx.native_output is not None:
        schema: dict[str, Any] = {
            "name": ctx.native_output.name,
            "schema": ctx.native_output.schema,
            "strict": ctx.native_output.strict,
        }
        if ctx.native_output.description:
            schema["description"] = ctx.native_output.description
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    # JSON mode (`{"response_format": {"type": "json_object"}}`), `time_limit` and the rest pass through here.
    body.update(request.provider_options.get("watsonx", {}))
    return body


# --- response mapping ----------------------------------------------------------------------------------------


def usage_from_wire(raw: Mapping[str, Any]) -> Usage:
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    input_tokens, output_tokens = token_count(raw.get("prompt_tokens")), token_count(raw.get("completion_tokens"))
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=min(token_count(prompt.get("cached_tokens")), input_tokens),
        reasoning_tokens=min(token_count(completion.get("reasoning_tokens")), output_tokens),
    )


def _extra(payload: Mapping[str, Any]) -> dict[str, Any]:
    system = payload.get("system")
    extra: dict[str, Any] = {}
    if isinstance(system, dict) and system.get("warnings"):
        extra["warnings"] = system["warnings"]
    if payload.get("model_version"):
        extra["model_version"] = payload["model_version"]
    return extra


def _text(message: Mapping[str, Any], field: str, path: str) -> str:
    return typed(message.get(field), str, f"{path}.{field}", "watsonx", raw=message) or ""


def _calls(message: Mapping[str, Any], path: str) -> list[Any]:
    return typed(message.get("tool_calls"), list, f"{path}.tool_calls", "watsonx", raw=message) or []


def _function(call: Any, path: str) -> dict[str, Any]:
    call = typed(call, dict, path, "watsonx") or {}
    return typed(call.get("function"), dict, f"{path}.function", "watsonx", raw=call) or {}


def from_wire(payload: Any, ctx: WireContext, adapter: WatsonxAdapter, headers: Mapping[str, str]) -> Response:
    """A `Response` from a `/ml/v1/text/chat` answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list) or not payload["choices"]:
        if isinstance(payload, dict) and payload.get("errors"):
            raise adapter.stream_error(payload, ctx.model)
        raise ResponseParseError(
            "watsonx: a chat answer needs a non-empty `choices` list",
            raw=json.dumps(payload)[:4000],
            provider="watsonx",
        )
    choice = typed(payload["choices"][0], dict, "choices[0]", "watsonx", raw=payload) or {}
    message = typed(choice.get("message"), dict, "choices[0].message", "watsonx", raw=payload) or {}
    raw_finish = choice.get("finish_reason")
    finish = map_finish(raw_finish)
    parts: list[Part] = []
    if reasoning := _text(message, "reasoning_content", "choices[0].message"):
        parts.append(ThinkingPart(text=reasoning, provider="watsonx"))
    if content := _text(message, "content", "choices[0].message"):
        parts.append(TextPart(text=content))
    for position, call in enumerate(_calls(message, "choices[0].message")):
        path = f"choices[0].message.tool_calls[{position}]"
        function = _function(call, path)
        name = ctx.names.restore(tool_name(function.get("name"), f"{path}.function.name", "watsonx", raw=call))
        raw_args = function.get("arguments")
        if isinstance(raw_args, dict):
            arguments, raw = raw_args, None
        else:
            arguments, raw = parse_arguments(raw_args or "", truncated=finish == "length", provider="watsonx")
        if raw is None:
            arguments = ctx.restore_arguments(name, arguments)
        call_id = call.get("id") or f"call_{position}"
        parts.append(ToolCall(id=call_id, name=name, arguments=arguments, raw_arguments=raw))
    usage = payload.get("usage")
    return Response(
        id=str(payload.get("id") or ""),
        model=str(payload.get("model_id") or payload.get("model") or ctx.model),
        parts=parts,
        finish_reason=finish,
        provider_finish_reason=raw_finish,
        usage=usage_from_wire(usage) if isinstance(usage, dict) else Usage(),
        provider=adapter.provider_info(headers, extra=_extra(payload)),
    )


# --- stream decoding -----------------------------------------------------------------------------------------


class ChatStreamDecoder(StreamDecoder):
    """SSE `id:` / `event: message` / `data: {chunk}`; chunks are Chat Completions-like. The stream may end with
    `[DONE]` or simply close after the chunk carrying usage: both are a complete answer once a choice finished."""

    def __init__(self, adapter: WatsonxAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        self.adapter = adapter
        self.ctx = ctx
        self.headers = headers
        self.sse = SSEDecoder()
        self.asm = StreamAssembler(
            provider="watsonx",
            model=ctx.model,
            names=ctx.names,
            thinking_provider="watsonx",
            restore=ctx.restore_arguments,
        )
        self.done = False
        self.extra: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.feed(chunk):
            events.extend(self._on_event(sse.data))
        return events

    def _on_event(self, data: str) -> list[StreamEvent]:
        if not data.strip():
            return []
        if data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise ResponseParseError("watsonx: stream frame is not JSON", raw=data, provider="watsonx") from exc
        if not isinstance(obj, dict):
            raise ResponseParseError("watsonx: stream frame is not an object", raw=data, provider="watsonx")
        if obj.get("errors") or obj.get("error"):
            raise self.adapter.stream_error(obj, self.ctx.model)
        self.asm.response_id = self.asm.response_id or str(obj.get("id") or "")
        if obj.get("model_id"):
            self.asm.model = str(obj["model_id"])
        self.extra.update(_extra(obj))
        events: list[StreamEvent] = []
        for position, choice in enumerate(typed(obj.get("choices"), list, "choices", "watsonx", raw=obj) or []):
            choice = typed(choice, dict, f"choices[{position}]", "watsonx", raw=obj) or {}
            if choice.get("index", 0) != 0:
                continue
            events.extend(self._on_delta(typed(choice.get("delta"), dict, "delta", "watsonx", raw=obj) or {}))
            if choice.get("finish_reason"):
                self.asm.finish(map_finish(choice["finish_reason"]), choice["finish_reason"])
        usage = obj.get("usage")
        if isinstance(usage, dict):
            events.extend(self.asm.set_usage(usage_from_wire(usage)))
        return events

    def _on_delta(self, delta: Mapping[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if reasoning := _text(delta, "reasoning_content", "delta"):
            events.extend(self.asm.thinking("thinking", reasoning))
        if content := _text(delta, "content", "delta"):
            events.extend(self.asm.text("text", content))
        for position, call in enumerate(_calls(delta, "delta")):
            path = f"delta.tool_calls[{position}]"
            function = _function(call, path)
            key = ("tool", call.get("index", 0))
            if not self.asm.has_tool(key):  # the first fragment names the function
                call_id = call.get("id") or f"call_{call.get('index', 0)}"
                name = tool_name(function.get("name"), f"{path}.function.name", "watsonx", raw=call)
                events.extend(self.asm.tool_start(key, call_id, name))
            arguments = function.get("arguments")
            if isinstance(arguments, dict):
                events.extend(self.asm.tool_end(key, arguments))
            elif arguments:
                events.extend(self.asm.tool_args(key, arguments))
        return events

    def close(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self.sse.flush():
            events.extend(self._on_event(sse.data))
        if not self.done and self.asm.finish_reason is None:
            raise StreamInterruptedError("watsonx: the stream ended before any choice finished", partial=self.partial())
        return events + self.asm.end(self._info())

    def partial(self) -> Response:
        return self.asm.response(self._info(), partial=True)

    def _info(self) -> Any:
        return self.adapter.provider_info(self.headers, extra=self.extra)


# --- errors --------------------------------------------------------------------------------------------------


def error_details(body: Any, fallback: str) -> ErrorDetails:
    """`{"errors": [{"code", "message", "more_info"}], "trace", "status_code"}`."""
    if isinstance(body, dict):
        errors = body.get("errors")
        status = body.get("status_code")
        status = status if isinstance(status, int) and not isinstance(status, bool) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = first.get("code")
            return ErrorDetails(
                message=str(first.get("message") or fallback),
                code=None if code is None else str(code),
                param=None if first.get("target") is None else json.dumps(first["target"]),
                status=status,
            )
        error = body.get("error")
        if isinstance(error, dict):
            return ErrorDetails(message=str(error.get("message") or fallback), status=status)
        if isinstance(error, str):
            return ErrorDetails(message=error, status=status)
    if isinstance(body, str) and body.strip():
        return ErrorDetails(message=body.strip()[:2000])
    return ErrorDetails(message=fallback)


ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(QuotaExceededError, code="token_quota_reached"),
    # 400 invalid_input_argument: "...the number of input tokens 4098 cannot exceed the total tokens limit 4096..."
    ErrorRule(
        ContextWindowExceededError, pattern=r"\bthe number of input tokens \d+ cannot exceed the total tokens limit\b"
    ),
    ErrorRule(AuthenticationError, code="authentication_token_expired"),
)


# --- IAM token exchange --------------------------------------------------------------------------------------


class IAMTokenAuth(httpx.Auth):
    """Exchanges the API key for an IAM bearer token through the same client, caches it until shortly before it
    expires, and fetches a new one when it is about to expire or a request is refused with 401.

    Neither the key nor the token appears in `repr`, errors or logs.
    """

    # Refresh when less than this share of the token's lifetime remains (capped at five minutes).
    REFRESH_SHARE = 0.1
    REFRESH_CAP = 300.0

    def __init__(self, api_key: SecretStr, iam_url: str = DEFAULT_IAM_URL, clock: Callable[[], float] = time.time):
        self._api_key = api_key
        self.iam_url = iam_url
        self.clock = clock
        self._token: SecretStr | None = None
        self._refresh_at = 0.0
        self.exchanges = 0  # how many times a token was fetched (tests and telemetry read it)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"IAMTokenAuth(iam_url={self.iam_url!r})"

    def secrets(self) -> tuple[str, ...]:
        token = (self._token.get_secret_value(),) if self._token is not None else ()
        return (self._api_key.get_secret_value(), *token)

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.iam_url,
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": self._api_key.get_secret_value()},
            headers={"Accept": "application/json"},
        )

    def _store(self, response: httpx.Response) -> None:
        body = parse_body(response.content)
        if response.status_code >= 400:
            details = ErrorDetails(
                message=str(body.get("errorMessage") or f"HTTP {response.status_code}")
                if isinstance(body, dict)
                else f"HTTP {response.status_code}",
                code=str(body.get("errorCode")) if isinstance(body, dict) and body.get("errorCode") else None,
            )
            status = response.status_code
            rules = (ErrorRule(AuthenticationError, status=400),)  # IAM says 400 for an unknown key
            raise build_error(
                provider="watsonx",
                model=None,
                status=status,
                details=details,
                rules=rules,
                headers=response.headers,
                body=body,
                secrets=self.secrets(),
            )
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ResponseParseError("watsonx: the IAM answer holds no access_token", raw=b"", provider="watsonx")
        now = self.clock()
        expiration = body.get("expiration")
        lifetime = body.get("expires_in")
        if isinstance(expiration, int | float) and not isinstance(expiration, bool):
            expires_at = float(expiration)
        elif isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
            expires_at = now + float(lifetime)
        else:
            expires_at = now + 3600.0  # IAM's documented default lifetime
        margin = min(self.REFRESH_CAP, max(0.0, expires_at - now) * self.REFRESH_SHARE)
        self._token = SecretStr(body["access_token"])
        self._refresh_at = expires_at - margin
        self.exchanges += 1

    def _fresh(self) -> bool:
        return self._token is not None and self.clock() < self._refresh_at

    def _exchange_lock(self) -> asyncio.Lock:
        # One exchange at a time per event loop: concurrent first requests share the token the first one fetches.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for attempt in range(2):
            if attempt == 1 or not self._fresh():
                async with self._exchange_lock():
                    if attempt == 1 or not self._fresh():  # another request may have fetched one meanwhile
                        token_response = yield self._token_request()
                        await token_response.aread()
                        self._store(token_response)
            assert self._token is not None
            request.headers["Authorization"] = "Bearer " + self._token.get_secret_value()
            response = yield request
            if response.status_code != 401:
                return
            self._token = None  # refused: the cached token is dead, whatever its expiry said

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("accord adapters are async: IAMTokenAuth has no sync flow")


class TokenProviderAuth(httpx.Auth):
    """A bearer token from a caller's callable on every request (Cloud Pak for Data, or tokens minted elsewhere);
    the callable owns caching and refresh."""

    def __init__(self, provider: Callable[[], str | Awaitable[str]]) -> None:
        self.provider = provider

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self.provider()
        if not isinstance(token, str):
            token = await token
        request.headers["Authorization"] = "Bearer " + token
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("accord adapters are async: TokenProviderAuth has no sync flow")


# --- the adapter ---------------------------------------------------------------------------------------------


class WatsonxAdapter(HTTPAdapter):
    """watsonx.ai chat. Needs an API key (`WATSONX_API_KEY`) and a project or space (`WATSONX_PROJECT_ID`,
    `WATSONX_SPACE_ID`); the base URL is the region's (`WATSONX_URL`)."""

    name: ClassVar[str] = "watsonx"
    env_var: ClassVar[str | None] = "WATSONX_API_KEY"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    tool_name_rule = TOOL_NAME_RULES["watsonx"]
    error_rules = ERROR_RULES

    def __init__(
        self,
        *,
        project_id: str | None = None,
        space_id: str | None = None,
        api_version: str = DEFAULT_VERSION,
        iam_url: str | None = None,
        base_url: str | None = None,
        token_provider: Callable[[], str | Awaitable[str]] | None = None,
        **options: Any,
    ) -> None:
        # A token provider replaces the IAM exchange, so no API key is needed then.
        self.requires_key = token_provider is None  # type: ignore[misc]
        super().__init__(base_url=base_url or os.environ.get("WATSONX_URL"), **options)
        project_id = project_id or (None if space_id else os.environ.get("WATSONX_PROJECT_ID"))
        space_id = space_id or (None if project_id else os.environ.get("WATSONX_SPACE_ID"))
        if project_id and space_id:
            raise ConfigurationError("watsonx: pass project_id or space_id, not both")
        if not project_id and not space_id:
            raise ConfigurationError("watsonx: a project_id or space_id is required (or WATSONX_PROJECT_ID)")
        self.scope = {"project_id": project_id} if project_id else {"space_id": str(space_id)}
        self.api_version = api_version
        self.iam: IAMTokenAuth | None = None
        self.auth: httpx.Auth
        if token_provider is not None:
            self.auth = TokenProviderAuth(token_provider)
        else:
            assert self.api_key is not None  # requires_key: the base refused a missing key
            self.iam = IAMTokenAuth(self.api_key, iam_url or os.environ.get("WATSONX_IAM_URL") or DEFAULT_IAM_URL)
            self.auth = self.iam

    def _secrets(self) -> tuple[str, ...]:
        return self.iam.secrets() if self.iam is not None else super()._secrets()

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        return {**self.extra_headers, "Accept": "text/event-stream" if ctx.streaming else "application/json"}

    def _wire_url(self, ctx: WireContext) -> str:
        return self.base_url + ("/ml/v1/text/chat_stream" if ctx.streaming else "/ml/v1/text/chat")

    def _wire_params(self, ctx: WireContext) -> dict[str, str] | None:
        return {"version": self.api_version}

    def _wire_auth(self, ctx: WireContext) -> httpx.Auth | None:
        return self.auth

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        return to_wire(request, ctx, self.scope)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        return from_wire(payload, ctx, self, headers)

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        return ChatStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        return error_details(body, f"HTTP {status}")
