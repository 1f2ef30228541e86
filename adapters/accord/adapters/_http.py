"""The HTTP core: one pooled client per adapter and event loop (unless injected), timeouts, the retry loop."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import ssl
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import certifi
import httpx

from accord.contracts import (
    AccordError,
    ConnectError,
    ProviderError,
    RequestTimeoutError,
    TransportError,
)

from ._hooks import AttemptStart, Hook, RetryScheduled, emit
from ._retry import RetryPolicy

T = TypeVar("T")

# Connect fast, but let slow reasoning models think before the first byte; never hours.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30.0)

ErrorFactory = Callable[[int, Mapping[str, str], bytes], ProviderError]
TransportFactory = Callable[[], httpx.AsyncBaseTransport]


_DEFAULT_SSL: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    """One verified SSL context for every pool: building one costs tens of milliseconds."""
    global _DEFAULT_SSL
    if _DEFAULT_SSL is None:
        _DEFAULT_SSL = ssl.create_default_context(cafile=certifi.where())
    return _DEFAULT_SSL


def default_transport() -> httpx.AsyncBaseTransport | None:
    """aiohttp's pool when aiohttp is installed (measured: httpx's own pool collapses at 64 concurrent requests),
    else httpx's. `ACCORD_TRANSPORT=httpx` keeps httpx's pool (and its proxy handling from the environment)."""
    if os.environ.get("ACCORD_TRANSPORT", "").lower() == "httpx" or importlib.util.find_spec("aiohttp") is None:
        return None
    from ._aiohttp import AiohttpTransport

    return AiohttpTransport(limits=DEFAULT_LIMITS, verify=_ssl_context())


def transport_error(exc: httpx.HTTPError, provider: str, model: str | None) -> TransportError:
    """The typed error for an httpx failure that produced no HTTP answer."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectError(message, provider=provider, model=model)
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(message, provider=provider, model=model)
    return TransportError(message, provider=provider, model=model)


@dataclass
class AttemptLog:
    """How many attempts a call took, for `Response.attempts`."""

    attempts: int = 0


class HTTPCore:
    """Sends requests for one adapter: owns its pooled clients (one per event loop) and the retry loop."""

    def __init__(
        self,
        *,
        provider: str,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float | None = None,
        policy: RetryPolicy | None = None,
        transport_factory: TransportFactory | None = None,
        hooks: Sequence[Hook] = (),
    ) -> None:
        self.provider = provider
        self.policy = policy or RetryPolicy()
        self.hooks = tuple(hooks)
        self._injected = http_client
        self._timeout = DEFAULT_TIMEOUT if timeout is None else httpx.Timeout(timeout)
        self._transport_factory = transport_factory
        # A client's connections belong to the loop that opened them, so each loop gets its own pool.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        # One started async generator per loop, whose `finally` closes that loop's pool when the loop shuts down.
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )

    def client(self) -> httpx.AsyncClient:
        if self._injected is not None:
            return self._injected
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            transport = self._transport_factory() if self._transport_factory else default_transport()
            client = httpx.AsyncClient(
                timeout=self._timeout, limits=DEFAULT_LIMITS, transport=transport, verify=_ssl_context()
            )
            self._clients[loop] = client
            self._closers[loop] = _close_with_loop(loop, client)
        return client

    async def aclose(self) -> None:
        """Close the pools this core opened (an injected client belongs to its owner). A pool is also closed when
        its event loop shuts down (`asyncio.run` returning), so a long-lived adapter leaks no sockets across runs."""
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()

    async def retrying(
        self, model: str, attempt: Callable[[], Awaitable[T]], log: AttemptLog, *, call_id: int = 0
    ) -> T:
        """Run `attempt` until it succeeds, fails for good, or retries run out."""
        retry = 0
        while True:
            log.attempts += 1
            emit(self.hooks, AttemptStart(self.provider, model, log.attempts, call_id=call_id))
            try:
                return await attempt()
            except AccordError as exc:
                if not exc.retryable or retry >= self.policy.max_retries:
                    raise
                hint = exc.retry_after if isinstance(exc, ProviderError) else None
                delay = self.policy.delay(retry + 1, hint)
                if delay is None:
                    raise
                retry += 1
                emit(self.hooks, RetryScheduled(self.provider, model, log.attempts, delay, exc, call_id=call_id))
                await self.policy.sleep(delay)

    async def post(
        self,
        url: str,
        *,
        model: str,
        body: Any,
        headers: Mapping[str, str],
        on_error: ErrorFactory,
        log: AttemptLog,
        total_timeout: float | None = None,
        params: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        call_id: int = 0,
    ) -> httpx.Response:
        """POST JSON and return the read 2xx response; error statuses raise typed errors (retried if allowed)."""

        async def attempt() -> httpx.Response:
            try:
                async with asyncio.timeout(total_timeout):
                    response = await self.client().send(
                        self.client().build_request("POST", url, json=body, headers=dict(headers), params=params),
                        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                    )
            except TimeoutError as exc:
                raise RequestTimeoutError(
                    f"no answer within {total_timeout} s", provider=self.provider, model=model
                ) from exc
            except httpx.HTTPError as exc:
                raise transport_error(exc, self.provider, model) from exc
            if response.status_code >= 400:
                raise on_error(response.status_code, response.headers, response.content)
            return response

        return await self.retrying(model, attempt, log, call_id=call_id)

    @asynccontextmanager
    async def open_stream(
        self,
        url: str,
        *,
        model: str,
        body: Any,
        headers: Mapping[str, str],
        on_error: ErrorFactory,
        params: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open one streaming POST (no retries here: the caller retries until the first event arrives)."""
        client = self.client()
        request = client.build_request("POST", url, json=body, headers=dict(headers), params=params)
        try:
            response = await client.send(
                request, stream=True, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.provider, model) from exc
        try:
            if response.status_code >= 400:
                try:
                    content = await response.aread()
                except httpx.HTTPError as exc:
                    raise transport_error(exc, self.provider, model) from exc
                raise on_error(response.status_code, response.headers, content)
            yield response
        finally:
            await response.aclose()


def monotonic() -> float:
    return time.perf_counter()


def _close_with_loop(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Close `client` when `loop` shuts down. Loops finalize the async generators they started before closing
    (`shutdown_asyncgens`, which `asyncio.run` calls), so a generator started here and left suspended runs its
    `finally` inside the loop, where the pool's connections can still be closed properly."""

    async def closer() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await client.aclose()

    generator = closer()

    async def start() -> None:
        await anext(generator)

    loop.create_task(start())
    return generator  # the caller keeps it: the loop only holds its generators weakly
