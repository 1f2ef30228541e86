"""The live llama.cpp tier's model assembly (hash-checked) and server lifecycle."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import types
from pathlib import Path

import httpx
import pytest

from accord.adapters._catalog import CatalogEntry, discover_openai
from accord.conformance import llamacpp_live as live


def _fake_parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunks: list[bytes]) -> str:
    names = []
    for i, data in enumerate(chunks):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(data)
        module = types.ModuleType(f"fake_part_{i}")
        module.get_part_path = lambda p=path: str(p)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
        names.append(module.__name__)
    monkeypatch.setattr(live, "PART_MODULES", tuple(names))
    whole = b"".join(chunks)
    monkeypatch.setattr(live, "MODEL_BYTES", len(whole))
    return hashlib.sha256(whole).hexdigest()


def test_model_is_assembled_in_order_and_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    digest = _fake_parts(monkeypatch, tmp_path, [b"abc", b"def", b"g"])
    monkeypatch.setattr(live, "MODEL_SHA256", digest)
    target = live.model_path(tmp_path / "cache")
    assert target.read_bytes() == b"abcdefg"
    (tmp_path / "part0.bin").unlink()  # a verified cached file is used without the parts
    assert live.model_path(tmp_path / "cache") == target


def test_wrong_hash_is_refused_and_nothing_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_parts(monkeypatch, tmp_path, [b"abc", b"def"])
    monkeypatch.setattr(live, "MODEL_SHA256", "0" * 64)
    with pytest.raises(live.LiveServerUnavailable, match="SHA-256"):
        live.model_path(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_tampered_cache_is_rebuilt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    digest = _fake_parts(monkeypatch, tmp_path, [b"abc", b"def"])
    monkeypatch.setattr(live, "MODEL_SHA256", digest)
    target = live.model_path(tmp_path / "cache")
    target.write_bytes(b"abcdeX")
    assert live.model_path(tmp_path / "cache").read_bytes() == b"abcdef"


def test_missing_model_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(live, "PART_MODULES", ("accord_no_such_model_part",))
    with pytest.raises(live.LiveServerUnavailable, match=r"live/requirements\.txt"):
        live.model_path(tmp_path / "empty")


def test_missing_server_package_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(live.LiveServerUnavailable, match="xllamacpp"):
        live.LlamaCppServer(model=tmp_path / "m.gguf").start()


def test_cache_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ACCORD_CACHE_DIR", str(tmp_path))
    assert live.cache_dir() == tmp_path


async def _discover(base_url: str) -> list[CatalogEntry]:
    async with httpx.AsyncClient() as client:
        return await discover_openai(client, base_url=base_url, provider="llamacpp")


def test_real_server_starts_answers_and_stops() -> None:
    try:
        server = live.LlamaCppServer().start()
    except live.LiveServerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        models = httpx.get(f"{server.base_url}/v1/models", timeout=10).json()
        assert models["data"][0]["id"] == live.MODEL_ALIAS
        # discovery reads the served context size off the real server's /v1/models
        discovered = asyncio.run(_discover(f"{server.base_url}/v1"))
        assert [(e.model, e.profile.max_context) for e in discovered] == [(live.MODEL_ALIAS, server.n_ctx)]
        base = server.base_url
    finally:
        server.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/health", timeout=2)
