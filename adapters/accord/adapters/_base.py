"""The shared adapter skeleton: request checks, sending, retries, streaming; wire modules fill in the mapping."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import SecretStr

from accord.contracts import (
    AccordError,
    ConfigurationError,
    ModelProfile,
    ProviderError,
    ProviderInfo,
    Request,
    RequestTimeoutError,
    Response,
    ResponseParseError,
    StreamEnd,
    StreamEvent,
    StreamInterruptedError,
    Tool,
)

from ._capabilities import check_request
from ._catalog import catalog_profile
from ._errors import ErrorDetails, ErrorRule, build_error, parse_body
from ._hooks import FirstChunk, Hook, RequestFailed, RequestStart, ResponseDone, emit
from ._http import AttemptLog, HTTPCore, TransportFactory, monotonic, transport_error
from ._pricing import cost_of
from ._retry import RetryPolicy
from ._toolnames import TOOL_NAME_RULES, ToolNameMap, ToolNameRule, sanitize_names

# Response headers worth keeping in `Response.provider.headers` (rate-limit state, processing time).
_KEPT_HEADER_PREFIXES = (
    "x-ratelimit-",
    "anthropic-ratelimit-",
    "openai-processing-ms",
    "x-request-id",
    "request-id",
    "openai-version",
    "x-amzn-requestid",
    "apim-request-id",
)


@dataclass(frozen=True)
class NativeOutput:
    """Structured output for the provider's own field (the schema already in its dialect)."""

    name: str
    schema: dict[str, Any]
    strict: bool
    description: str = ""
    # Prompted mode on a model with JSON mode: ask only for "some JSON" (e.g. OpenAI `json_object`); `schema` is
    # then the non-strict plan, for wire formats whose JSON mode takes one.
    json_mode: bool = False


@dataclass(frozen=True)
class WireContext:
    """Everything a wire mapping needs beyond the request itself.

    `tool_plans` holds each tool's parameters planned in the model's schema dialect: wire modules send
    `tool_parameters(tool)` and tool-call arguments come back through `restore_arguments`.
    """

    model: str
    profile: ModelProfile
    names: ToolNameMap
    native_output: NativeOutput | None
    streaming: bool
    tool_plans: Mapping[str, Any] = field(default_factory=dict)

    def tool_parameters(self, tool: Tool) -> dict[str, Any]:
        plan = self.tool_plans.get(tool.name)
        return tool.parameters if plan is None else plan.transformed

    def tool_strict(self, tool: Tool) -> bool | None:
        """The `strict` flag to send: what the plan could honour, or None when the tool did not ask."""
        if tool.strict is None:
            return None
        plan = self.tool_plans.get(tool.name)
        return bool(plan.strict_applied) if plan is not None else tool.strict

    def restore_arguments(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Arguments produced under the transformed schema, mapped back to the tool's original schema."""
        plan = self.tool_plans.get(name)
        if plan is None:
            return arguments
        restored = plan.restore(arguments)
        return restored if isinstance(restored, dict) else arguments


class StreamDecoder(Protocol):
    """A wire protocol's stream state machine: raw bytes in, contract events out."""

    def feed(self, chunk: bytes) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]:
        """End of input: the closing events (ending with `StreamEnd`), or raise if the stream was cut."""
        ...

    def partial(self) -> Response:
        """What has been assembled so far, for `StreamInterruptedError`."""
        ...


# What a wire mapping raises when a provider's answer does not have the documented shape (a field of the wrong
# type, a missing key, a value pydantic rejects): reported as `ResponseParseError`, never as an untyped crash.
_MALFORMED = (AttributeError, TypeError, KeyError, IndexError, ValueError)


def _malformed(provider: str, exc: Exception, raw: bytes | str | None) -> ResponseParseError:
    return ResponseParseError(
        f"{provider}: the answer is not in the documented format ({type(exc).__name__}: {exc})",
        raw=raw[:4000] if raw is not None else None,
        provider=provider,
    )


class _GuardedDecoder:
    """A wire decoder whose shape errors surface as `ResponseParseError` (typed errors pass through)."""

    def __init__(self, inner: StreamDecoder, provider: str) -> None:
        self.inner = inner
        self.provider = provider

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        try:
            return self.inner.feed(chunk)
        except AccordError:
            raise
        except _MALFORMED as exc:
            raise _malformed(self.provider, exc, chunk) from exc

    def close(self) -> list[StreamEvent]:
        try:
            return self.inner.close()
        except AccordError:
            raise
        except _MALFORMED as exc:
            raise _malformed(self.provider, exc, None) from exc

    def partial(self) -> Response:
        return self.inner.partial()


async def _close_iterator(iterator: AsyncIterator[bytes]) -> None:
    """Close an async generator we stopped reading, instead of leaving it to a finalizer task."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(_KEPT_HEADER_PREFIXES)}


class EventStream:
    """An open stream: `async for event in stream`, then `stream.response`."""

    def __init__(self, events: AsyncIterator[StreamEvent]) -> None:
        self._events = events
        self._response: Response | None = None

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        async for event in self._events:
            if isinstance(event, StreamEnd):
                self._response = event.response
            yield event

    @property
    def response(self) -> Response:
        if self._response is None:
            raise RuntimeError("the stream has not ended yet: iterate it to the end before reading `.response`")
        return self._response


class HTTPAdapter:
    """Base of the built-in adapters. Subclasses set the class data and implement the `_wire_*` methods."""

    name: ClassVar[str] = ""
    env_var: ClassVar[str | None] = None
    default_base_url: ClassVar[str] = ""
    requires_key: ClassVar[bool] = True
    tool_name_rule: ClassVar[ToolNameRule] = TOOL_NAME_RULES["openai"]
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ()

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int = 2,
        profile: ModelProfile | None = None,
        hooks: Sequence[Hook] = (),
        retry_policy: RetryPolicy | None = None,
        transport_factory: TransportFactory | None = None,
        headers: Mapping[str, str] | None = None,
        catalog_provider: str | None = None,
    ) -> None:
        if max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        self.api_key = self._resolve_key(api_key)
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        if not self.base_url:
            raise ConfigurationError(f"{self.name}: a base_url is required")
        self.extra_headers = dict(headers or {})
        self.hooks = tuple(hooks)
        policy = retry_policy or RetryPolicy()
        if retry_policy is None or max_retries != 2:
            policy = RetryPolicy(
                max_retries=max_retries,
                base_delay=policy.base_delay,
                max_delay=policy.max_delay,
                max_hint=policy.max_hint,
                sleep=policy.sleep,
                rng=policy.rng,
            )
        self.core = HTTPCore(
            provider=self.name,
            http_client=http_client,
            timeout=timeout,
            policy=policy,
            transport_factory=transport_factory,
            hooks=self.hooks,
        )
        self._calls = itertools.count(1)  # numbers each call, so hooks can tie interleaved events together
        self._profile_override = profile
        self._catalog_provider = catalog_provider or self.name
        self._profiles: dict[str, ModelProfile] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # --- configuration ------------------------------------------------------------------------------------

    def _resolve_key(self, api_key: str | SecretStr | None) -> SecretStr | None:
        if isinstance(api_key, SecretStr):
            return api_key
        if api_key:
            return SecretStr(api_key)
        from_env = os.environ.get(self.env_var) if self.env_var else None
        if from_env:
            return SecretStr(from_env)
        if self.requires_key:
            where = f"set {self.env_var} or " if self.env_var else ""
            raise ConfigurationError(f"{self.name}: no API key; {where}pass api_key=...")
        return None

    def _secrets(self) -> tuple[str, ...]:
        return (self.api_key.get_secret_value(),) if self.api_key else ()

    def profile(self, model: str) -> ModelProfile:
        """Catalog facts for `model`, overridden by the profile given at construction (only fields it sets)."""
        cached = self._profiles.get(model)
        if cached is None:
            cached = catalog_profile(self._catalog_provider, model)
            if self._profile_override is not None:
                cached = cached.merged_with(self._profile_override)
            self._profiles[model] = cached
        return cached

    # --- the contract -------------------------------------------------------------------------------------

    async def complete(self, request: Request) -> Response:
        _, profile = self._prepare(request)
        if request.output is not None:
            from ._output import complete_structured

            return await complete_structured(self.send, request, profile)
        return await self.send(request, None)

    def stream(self, request: Request) -> AbstractAsyncContextManager[EventStream]:
        model, profile = self._prepare(request)
        if not profile.supports_streaming:
            from accord.contracts import UnsupportedFeatureError

            raise UnsupportedFeatureError(
                f"{self.name}:{model} does not stream", feature="streaming", provider=self.name, model=model
            )
        if request.output is not None:
            from ._output import stream_structured

            return stream_structured(self.open, request, profile)
        return self.open(request, None)

    async def aclose(self) -> None:
        await self.core.aclose()

    async def __aenter__(self) -> HTTPAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- building blocks (also used by the structured-output engine) ----------------------------------------

    def _prepare(self, request: Request) -> tuple[str, ModelProfile]:
        if not request.model:
            raise ConfigurationError(f"{self.name}: request.model is not set")
        profile = self.profile(request.model)
        check_request(request, profile, self.name)
        return request.model, profile

    def _context(self, request: Request, native_output: NativeOutput | None, streaming: bool) -> WireContext:
        assert request.model is not None
        names = sanitize_names((t.name for t in request.tools), self.tool_name_rule)
        profile = self.profile(request.model)
        return WireContext(
            model=request.model,
            profile=profile,
            names=names,
            native_output=native_output,
            streaming=streaming,
            tool_plans=self._tool_plans(request, profile),
        )

    def _tool_plans(self, request: Request, profile: ModelProfile) -> dict[str, Any]:
        """Each tool's parameters in the model's schema dialect (strict only when the tool asks for it)."""
        if not request.tools:
            return {}
        from ._schema import plan_schema

        return {t.name: plan_schema(t.parameters, profile.schema_dialect, strict=bool(t.strict)) for t in request.tools}

    async def send(self, request: Request, native_output: NativeOutput | None) -> Response:
        """One non-streaming call (with transport retries), mapped to a `Response` with cost."""
        ctx = self._context(request, native_output, streaming=False)
        body = self._wire_request(request, ctx)
        log = AttemptLog()
        started = monotonic()
        call_id = self._start(request, ctx)
        try:
            http_response = await self.core.post(
                self._wire_url(ctx),
                model=ctx.model,
                body=body,
                headers=self._headers(ctx),
                on_error=lambda s, h, b: self._error(s, h, b, ctx.model),
                log=log,
                total_timeout=request.timeout,
                params=self._wire_params(ctx),
                auth=self._wire_auth(ctx),
                call_id=call_id,
            )
            try:
                payload = http_response.json()
            except ValueError as exc:
                raise ResponseParseError(
                    f"{self.name}: response is not JSON", raw=http_response.content, provider=self.name
                ) from exc
            try:
                wire_response = self._wire_response(payload, ctx, http_response.headers)
            except AccordError:
                raise
            except _MALFORMED as exc:
                raise _malformed(self.name, exc, http_response.content) from exc
            response = self._finish(wire_response, ctx, log.attempts)
        except BaseException as exc:
            emit(self.hooks, RequestFailed(self.name, ctx.model, exc, monotonic() - started, call_id=call_id))
            raise
        emit(
            self.hooks,
            ResponseDone(
                self.name,
                ctx.model,
                response,
                monotonic() - started,
                usage=response.usage,
                cost=response.cost,
                call_id=call_id,
            ),
        )
        return response

    def _start(self, request: Request, ctx: WireContext) -> int:
        """Number a new call and announce it to the hooks."""
        call_id = next(self._calls)
        if self.hooks:
            host = httpx.URL(self.base_url).host or None
            event = RequestStart(
                self.name, ctx.model, streaming=ctx.streaming, call_id=call_id, request=request, server_address=host
            )
            emit(self.hooks, event)
        return call_id

    @asynccontextmanager
    async def open(self, request: Request, native_output: NativeOutput | None) -> AsyncIterator[EventStream]:
        """One streaming call. Retries happen only while no event has been delivered."""
        ctx = self._context(request, native_output, streaming=True)
        if native_output is not None and not ctx.profile.supports_native_output_streaming:
            from accord.contracts import UnsupportedFeatureError

            raise UnsupportedFeatureError(
                f"{self.name}:{ctx.model} cannot stream structured output",
                feature="native_output_stream",
                provider=self.name,
                model=ctx.model,
            )
        body = self._wire_request(request, ctx)
        log = AttemptLog()
        started = monotonic()
        call_id = self._start(request, ctx)
        async with AsyncExitStack() as exits:

            async def attempt() -> tuple[httpx.Response, StreamDecoder, list[StreamEvent], AsyncIterator[bytes]]:
                # Open the stream and read until the first event, so an error before any delta can be retried.
                stack = AsyncExitStack()
                await stack.__aenter__()
                decoder: StreamDecoder | None = None
                try:
                    http_response = await stack.enter_async_context(
                        self.core.open_stream(
                            self._wire_url(ctx),
                            model=ctx.model,
                            body=body,
                            headers=self._headers(ctx),
                            on_error=lambda s, h, b: self._error(s, h, b, ctx.model),
                            params=self._wire_params(ctx),
                            auth=self._wire_auth(ctx),
                        )
                    )
                    decoder = _GuardedDecoder(self._wire_decoder(ctx, http_response.headers), self.name)
                    chunks = http_response.aiter_bytes()
                    stack.push_async_callback(_close_iterator, chunks)
                    first: list[StreamEvent] = []
                    while not first:
                        try:
                            chunk = await anext(chunks)
                        except StopAsyncIteration:
                            first = decoder.close()
                            break
                        except httpx.HTTPError as exc:
                            raise transport_error(exc, self.name, ctx.model) from exc
                        first = decoder.feed(chunk)
                except ProviderError as exc:
                    # An error inside the 200 stream before any event: keep what was assembled, and let the
                    # retry loop decide (nothing was delivered yet).
                    if exc.partial is None and decoder is not None:
                        exc.partial = self._finish(decoder.partial(), ctx, log.attempts, http_response.headers)
                    await stack.aclose()
                    raise
                except BaseException:
                    await stack.aclose()
                    raise
                exits.push_async_callback(stack.aclose)
                return http_response, decoder, first, chunks

            async def timed_attempt() -> tuple[httpx.Response, StreamDecoder, list[StreamEvent], AsyncIterator[bytes]]:
                # `Request.timeout` bounds each attempt until the first event; a stream may then run as long as
                # it keeps sending (the read timeout still applies between chunks).
                try:
                    async with asyncio.timeout(request.timeout):
                        return await attempt()
                except TimeoutError as exc:
                    raise RequestTimeoutError(
                        f"{self.name}: no first event within {request.timeout} s", provider=self.name, model=ctx.model
                    ) from exc

            try:
                http_response, decoder, first, chunks = await self.core.retrying(
                    ctx.model, timed_attempt, log, call_id=call_id
                )
            except BaseException as exc:
                emit(self.hooks, RequestFailed(self.name, ctx.model, exc, monotonic() - started, call_id=call_id))
                raise
            ttfc = monotonic() - started
            emit(self.hooks, FirstChunk(self.name, ctx.model, ttfc, call_id=call_id))
            events = self._events(ctx, decoder, first, chunks, http_response.headers, log, started, ttfc, call_id)
            try:
                yield EventStream(events)
            finally:
                await events.aclose()  # a consumer that stopped early still ends the stream's bookkeeping

    async def _events(
        self,
        ctx: WireContext,
        decoder: StreamDecoder,
        first: list[StreamEvent],
        chunks: AsyncIterator[bytes],
        headers: httpx.Headers,
        log: AttemptLog,
        started: float,
        ttfc: float,
        call_id: int = 0,
    ) -> AsyncGenerator[StreamEvent, None]:
        pending = list(first)
        done = False
        failed = False
        try:
            while True:
                for event in pending:
                    if isinstance(event, StreamEnd):
                        response = self._finish(event.response, ctx, log.attempts, headers)
                        emit(
                            self.hooks,
                            ResponseDone(
                                self.name,
                                ctx.model,
                                response,
                                monotonic() - started,
                                time_to_first_chunk=ttfc,
                                usage=response.usage,
                                cost=response.cost,
                                call_id=call_id,
                            ),
                        )
                        done = True
                        yield StreamEnd(response=response)
                        return
                    yield event
                if done:
                    return
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    pending = decoder.close()
                    continue
                except httpx.HTTPError as exc:
                    cause = transport_error(exc, self.name, ctx.model)
                    raise StreamInterruptedError(
                        f"{self.name}: the stream broke: {cause}",
                        partial=self._finish(decoder.partial(), ctx, log.attempts, headers),
                        cause=cause,
                    ) from exc
                pending = decoder.feed(chunk)
        except AccordError as exc:
            failed = True
            if isinstance(exc, ProviderError) and exc.partial is None:
                exc.partial = self._finish(decoder.partial(), ctx, log.attempts, headers)
            emit(self.hooks, RequestFailed(self.name, ctx.model, exc, monotonic() - started, call_id=call_id))
            raise
        finally:
            if not done and not failed:
                # The consumer stopped reading (break, close, cancellation) before the stream ended.
                closed = GeneratorExit("the stream was closed before it ended")
                emit(self.hooks, RequestFailed(self.name, ctx.model, closed, monotonic() - started, call_id=call_id))

    def _finish(
        self, response: Response, ctx: WireContext, attempts: int, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Attach what every adapter adds the same way: attempts, cost, kept headers."""
        updates: dict[str, Any] = {
            "attempts": max(1, attempts),
            "cost": cost_of(response.usage, ctx.profile.pricing),
        }
        if headers is not None and not response.provider.headers:
            updates["provider"] = response.provider.model_copy(update={"headers": kept_headers(headers)})
        return response.model_copy(update=updates)

    def _error(self, status: int, headers: Mapping[str, str], raw: bytes, model: str) -> ProviderError:
        body = parse_body(raw)
        details = self._wire_error_details(body, status)
        return build_error(
            provider=self.name,
            model=model,
            status=status,
            details=details,
            rules=self.error_rules,
            headers=headers,
            body=body,
            secrets=self._secrets(),
        )

    def stream_error(self, body: Any, model: str, *, status: int | None = None) -> ProviderError:
        """The typed error for an error object found inside a 200 stream."""
        details = self._wire_error_details(body, status)
        return build_error(
            provider=self.name,
            model=model,
            status=status,
            details=details,
            rules=self.error_rules,
            body=body,
            secrets=self._secrets(),
            in_stream=True,
        )

    def provider_info(self, headers: Mapping[str, str] | None, **fields: Any) -> ProviderInfo:
        from ._errors import request_id_from

        hdrs = headers or {}
        return ProviderInfo(name=self.name, request_id=request_id_from(hdrs), headers=kept_headers(hdrs), **fields)

    # --- what each wire module provides --------------------------------------------------------------------

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        raise NotImplementedError

    def _wire_url(self, ctx: WireContext) -> str:
        raise NotImplementedError

    def _wire_params(self, ctx: WireContext) -> dict[str, str] | None:
        """Query parameters (Gemini `alt=sse`, Azure `api-version`)."""
        return None

    def _wire_auth(self, ctx: WireContext) -> httpx.Auth | None:
        """An httpx auth flow that signs or authorises the final request (SigV4, token providers, IAM)."""
        return None

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        raise NotImplementedError

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        raise NotImplementedError

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        raise NotImplementedError

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        raise NotImplementedError
