"""An httpx transport over aiohttp's connection pool: the httpx API, aiohttp's throughput under concurrency."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx

from accord.contracts import ConfigurationError

from ._http import DEFAULT_LIMITS

if TYPE_CHECKING:
    import aiohttp

# Hop-by-hop framing headers: aiohttp computes them from the body it sends.
_SKIPPED_REQUEST_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def _aiohttp() -> object:
    try:
        import aiohttp
    except ImportError as exc:  # an optional dependency: say how to get it
        raise ConfigurationError("the aiohttp transport needs aiohttp: pip install 'accord[aiohttp]'") from exc
    return aiohttp


def _mapped(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception for an aiohttp failure, so accord's error mapping sees one vocabulary."""
    import aiohttp

    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, TimeoutError):  # aiohttp's socket read timeout subclasses it
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


class _Body(httpx.AsyncByteStream):
    """A response body read from aiohttp as it arrives; closing it early drops the connection.

    An iterator class, not an async generator: an abandoned generator is finalized in a task of its own.
    """

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        import aiohttp

        try:
            chunk = await self._response.content.readany()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, self._request) from exc
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()  # read to the end: the connection goes back to the pool
        else:
            self._response.close()  # a half-read body cannot be reused


class AiohttpTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=AiohttpTransport())`: httpx requests and responses, aiohttp sockets.

    Bodies reach httpx undecoded (`auto_decompress=False`) so httpx decodes gzip/br as it does with its own
    transport. Timeouts come from each request's httpx timeout (connect, read). The aiohttp session opens on the
    first request, inside the running event loop. Proxies: `proxy=` for every request; `trust_env=True` reads the
    proxy variables and netrc instead, but aiohttp does that on every request (measured: +0.56 ms CPU each).
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | bool = True,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        _aiohttp()
        self._limits = limits
        self._verify = verify
        self._proxy = proxy
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        ssl_option: ssl.SSLContext | bool = self._verify
        if self._verify is True:
            ssl_option = ssl.create_default_context()
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
            ssl=ssl_option,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, trust_env=self._trust_env, cookie_jar=aiohttp.DummyCookieJar()
        )
        return self._session

    def busy(self) -> int:
        """Connections currently lent to a request (diagnostics; 0 when idle)."""
        if self._session is None or self._session.closed:
            return 0
        connector = self._session.connector
        return len(getattr(connector, "_acquired", ()))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        session = self._session if self._session is not None and not self._session.closed else self._open()
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _SKIPPED_REQUEST_HEADERS]
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy,
                compress=False,
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
