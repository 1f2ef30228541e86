"""Builds an adapter for a wire row pointed at a fault server, with fake sleep and attempt counting."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from faultkit_server import FaultServer, respond
from faultkit_wires import IAM_TOKEN, WireRow

from accord.adapters._hooks import AttemptStart, HookEvent
from accord.adapters._registry import adapter_factory
from accord.adapters._retry import RetryPolicy
from accord.contracts import ConfigurationError, Message, Request

API_KEY = "sk-test-0123456789abcdef"
FAST = httpx.Timeout(connect=2.0, read=0.15, write=2.0, pool=2.0)
NORMAL = httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=5.0)


_SSL = ssl.create_default_context()  # one context for every test client: building one per client costs ~20 ms


class LoopbackTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, refusing anything but loopback (no test may reach the network)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport(verify=_SSL)
        self._pool = self.inner._pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _loopback_only(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _loopback_only(request: httpx.Request) -> None:
    if request.url.host not in ("127.0.0.1", "localhost"):
        raise httpx.ConnectError(f"test guard: {request.url.host} is not loopback", request=request)


def loopback_aiohttp() -> httpx.AsyncBaseTransport:
    """accord's aiohttp transport, refusing anything but loopback."""
    from accord.adapters._aiohttp import AiohttpTransport

    class Guarded(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            _loopback_only(request)
            return await super().handle_async_request(request)

    return Guarded(verify=_SSL)


TRANSPORTS = {"httpx": LoopbackTransport, "aiohttp": loopback_aiohttp}


def network_guard_env() -> dict[str, str]:
    return {
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


@dataclass
class Recorder:
    """The fake sleep (records delays, never waits) and the attempt counter (from hooks)."""

    sleeps: list[float] = field(default_factory=list)
    attempts: int = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def hook(self, event: HookEvent) -> None:
        if isinstance(event, AttemptStart):
            self.attempts += 1


def skip_unavailable(row: WireRow) -> None:
    reason = row.available()
    if reason is not None:
        pytest.skip(reason)


def build(
    row: WireRow,
    url: str,
    *,
    max_retries: int = 2,
    timeout: httpx.Timeout = NORMAL,
    monkeypatch: pytest.MonkeyPatch | None = None,
    **extra: Any,
) -> tuple[Any, Recorder]:
    """The row's adapter on `url`, trying the row's option sets until the constructor accepts one."""
    skip_unavailable(row)
    if monkeypatch is not None:
        for key, value in row.env.items():
            monkeypatch.setenv(key, value)
    recorder = Recorder()
    factory = adapter_factory(row.provider)
    errors: list[str] = []
    for options in row.options:
        resolved = {k: v.format(url=url) if isinstance(v, str) else v for k, v in options.items()}
        try:
            adapter = factory(
                api_key=API_KEY,
                base_url=url,
                max_retries=max_retries,
                retry_policy=RetryPolicy(max_retries=max_retries, sleep=recorder.sleep, rng=lambda: 0.5),
                timeout=timeout,
                hooks=[recorder.hook],
                transport_factory=TRANSPORTS[row.transport],
                **resolved,
                **extra,
            )
        except (TypeError, ConfigurationError) as exc:
            errors.append(f"{options}: {exc}")
            continue
        return adapter, recorder
    raise AssertionError(f"{row.provider}: no option set builds the adapter: {errors}")


def request(row: WireRow, text: str = "hi") -> Request:
    return Request(model=row.model, messages=[Message.user(text)])


def server_for(row: WireRow, script: Sequence[Any]) -> FaultServer:
    server = FaultServer(script=list(script))
    if row.aux_token_path:
        server.aux[row.aux_token_path] = respond(200, IAM_TOKEN)
    return server


def busy_connections(adapter: Any) -> int:
    """Connections the adapter's pool holds in use (0 when every one is idle or closed)."""
    client = adapter.core.client()
    pool = getattr(client._transport, "_pool", None)
    if pool is None:  # another transport: it reports through its own `busy()` if it has one
        busy = getattr(client._transport, "busy", None)
        return int(busy()) if callable(busy) else 0
    return sum(1 for c in pool.connections if not (c.is_idle() or c.is_closed())) + len(pool._requests)


def tasks_now() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


def env_has(key: str) -> bool:
    return key in os.environ
