"""Replay of the shared real Anthropic recordings (skipped when /work/shared is absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from accord.adapters import connect
from accord.contracts import Message, ProviderError, Request, Response, Tool

ROOT = Path(__file__).resolve().parents[3] / "shared" / "recordings"
PROVIDER = "anthropic"
SAMPLES = sorted((ROOT / PROVIDER).glob("*.expected.json")) if (ROOT / PROVIDER).is_dir() else []
DROP = {"content-length", "content-encoding", "transfer-encoding"}


def _json_schema(node: Any) -> Any:
    """Recorded Gemini tools may use the OpenAPI subset (`"type": "OBJECT"`): lower-case the type names."""
    if isinstance(node, dict):
        return {k: v.lower() if k == "type" and isinstance(v, str) else _json_schema(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    return node


def _served(path: Path) -> tuple[dict[str, Any], int, dict[str, str], bytes]:
    doc = json.loads(path.read_text())
    cassette = yaml.safe_load((ROOT / PROVIDER / doc["cassette"]).read_text())
    response = cassette["interactions"][doc["interaction"]]["response"]
    headers = {k: v[0] for k, v in (response.get("headers") or {}).items() if k.lower() not in DROP}
    if "parsed_body" in response:
        body = json.dumps(response["parsed_body"]).encode()
    else:
        raw = response["body"]["string"]
        body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return doc, response["status"]["code"], headers, body


async def _run(model: Any, req: Request, streaming: bool) -> Response:
    if not streaming:
        return await model.complete(req)  # type: ignore[no-any-return]
    async with model.stream(req) as s:
        async for _ in s:
            pass
    return s.response  # type: ignore[no-any-return]


@pytest.mark.skipif(not SAMPLES, reason="shared recordings absent")
@pytest.mark.parametrize("path", SAMPLES, ids=[p.name.removesuffix(".expected.json") for p in SAMPLES])
async def test_recording_replays(path: Path) -> None:
    doc, status, headers, body = _served(path)
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda req: httpx.Response(status, headers=headers, content=body))
    )
    model = connect(f"{PROVIDER}:{doc['model']}", api_key="test-key", http_client=client, max_retries=0)
    req = Request(
        messages=[Message.user("replay")],
        tools=[
            Tool(name=t["name"], description=t["description"] or "", parameters=_json_schema(t["parameters"] or {}))
            for t in doc["request"]["tools"]
        ],
    )
    expected = doc["expected"]
    if expected["kind"] == "error":
        allowed = [expected["error_class"], *(expected.get("error_class_alternatives") or [])]
        with pytest.raises(ProviderError) as info:
            await _run(model, req, doc["request"]["streaming"])
        assert type(info.value).__name__ in allowed
        if expected.get("retry_after") is None:
            assert info.value.retry_after is None
        else:
            assert abs((info.value.retry_after or 0) - expected["retry_after"]) <= 1
        return
    resp = await _run(model, req, doc["request"]["streaming"])
    assert resp.text == expected["text"]
    assert [(c.name, c.arguments) for c in resp.tool_calls] == [
        (c["name"], c["arguments"]) for c in expected["tool_calls"]
    ]
    assert resp.finish_reason == expected["finish_reason"]
    assert resp.provider_finish_reason == expected["provider_finish_reason"]
    for name, value in (expected["usage"] or {}).items():
        if value is not None:
            assert getattr(resp.usage, name) == value, name
