"""The default transport: aiohttp's pool when installed, httpx's on request or without aiohttp; one SSL context."""

from __future__ import annotations

import asyncio
import importlib.util

import httpx
import pytest

from accord.adapters._http import HTTPCore, _ssl_context, default_transport


def test_aiohttp_is_the_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("aiohttp")
    monkeypatch.delenv("ACCORD_TRANSPORT", raising=False)
    from accord.adapters._aiohttp import AiohttpTransport

    assert isinstance(default_transport(), AiohttpTransport)


def test_httpx_pool_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_TRANSPORT", "httpx")
    assert default_transport() is None


def test_httpx_pool_without_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_TRANSPORT", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "aiohttp" else real(name))
    assert default_transport() is None


def test_one_ssl_context_is_shared() -> None:
    assert _ssl_context() is _ssl_context()


async def test_an_injected_transport_factory_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(204))
    core = HTTPCore(provider="p", transport_factory=lambda: transport)
    response = await core.client().get("http://example.invalid/")
    assert response.status_code == 204
    await core.aclose()


def test_a_pool_is_closed_when_its_event_loop_shuts_down() -> None:
    # A long-lived adapter used from several `asyncio.run` calls: each loop gets its own pool, and each pool is
    # closed (connections released inside its loop) when that loop shuts down, not left for the garbage collector.
    core = HTTPCore(provider="demo", transport_factory=lambda: httpx.MockTransport(lambda r: httpx.Response(204)))
    pools: list[httpx.AsyncClient] = []

    async def use() -> int:
        pool = core.client()
        pools.append(pool)
        assert core.client() is pool  # one pool per loop
        return (await pool.get("https://example.test/")).status_code

    assert asyncio.run(use()) == 204
    assert pools[0].is_closed
    assert asyncio.run(use()) == 204
    assert pools[1] is not pools[0]
    assert pools[1].is_closed


async def test_closing_the_core_first_leaves_nothing_for_the_loop_to_close() -> None:
    core = HTTPCore(provider="demo", transport_factory=lambda: httpx.MockTransport(lambda r: httpx.Response(204)))
    pool = core.client()
    await core.aclose()
    assert pool.is_closed
    assert core.client() is not pool  # a fresh pool after an explicit close
