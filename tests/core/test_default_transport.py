"""The default transport: aiohttp's pool when installed, httpx's on request or without aiohttp; one SSL context."""

from __future__ import annotations

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
