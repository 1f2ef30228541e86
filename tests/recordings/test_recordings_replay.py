"""Replays every `/work/shared/recordings/<provider>/*.expected.json` sample through `connect()` and compares.

Follows the recordings README ("Using them in a test"): serve the recorded answer to whatever request arrives,
send a request declaring the recorded tools, compare text, tool calls, finish reason, usage or the error class.
A provider whose adapter module does not exist yet is expected to fail (not strict); OpenAI must pass.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from accord.adapters import connect
from accord.adapters._registry import BUILTIN
from accord.contracts import ERROR_CLASSES, AccordError, Message, Request, Tool

RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "recordings"  # = tests/conftest.py RECORDINGS

pytestmark = [
    pytest.mark.recordings,
    pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"{RECORDINGS} is absent"),
]

_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


def _missing_module(provider: str) -> str | None:
    """The adapter module `provider` needs, when it cannot be found (another issue still writes it)."""
    entry = BUILTIN.get(provider)
    if entry is None:
        return f"no built-in provider {provider!r}"
    module = entry.target.partition(":")[0]
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    return None if found else f"adapter module {module} does not exist yet"


def _samples() -> list[Any]:
    if not RECORDINGS.is_dir():
        return []
    params = []
    for path in sorted(RECORDINGS.glob("*/*.expected.json")):
        provider = path.parent.name
        sample_id = f"{provider}/{path.name.removesuffix('.expected.json')}"
        missing = _missing_module(provider)
        marks = [pytest.mark.xfail(reason=missing, strict=False)] if missing else []
        params.append(pytest.param(path, id=sample_id, marks=marks))
    return params


_CASSETTES: dict[Path, Any] = {}


def _interaction(doc: dict[str, Any], folder: Path) -> dict[str, Any]:
    path = folder / doc["cassette"]
    if path not in _CASSETTES:
        _CASSETTES[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
    interaction: dict[str, Any] = _CASSETTES[path]["interactions"][doc["interaction"]]
    return interaction


def _recorded_answer(interaction: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    response = interaction["response"]
    status = int(response["status"]["code"])
    headers = [
        (name, value)
        for name, values in (response.get("headers") or {}).items()
        if name.lower() not in _DROPPED_HEADERS
        for value in (values if isinstance(values, list) else [values])
    ]
    if "parsed_body" in response:
        body = json.dumps(response["parsed_body"]).encode("utf-8")
    else:
        raw = response["body"]["string"]
        body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return status, headers, body


def _load(path: Path) -> tuple[dict[str, Any], tuple[int, list[tuple[str, str]], bytes]]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc, _recorded_answer(_interaction(doc, path.parent))


def _json_schema(schema: Any) -> Any:
    """A recorded declaration as JSON Schema: Gemini records no schema as null and types in upper case (`OBJECT`)."""
    if isinstance(schema, dict):
        return {k: v.lower() if k == "type" and isinstance(v, str) else _json_schema(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_json_schema(v) for v in schema]
    return schema


def _request(doc: dict[str, Any]) -> Request:
    tools = [
        Tool(name=t["name"], description=t["description"] or "", parameters=_json_schema(t["parameters"] or {}))
        for t in doc["request"]["tools"]
    ]
    return Request(messages=[Message.user("replay")], tools=tools)


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEREPLAY000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "replay-secret-access-key")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.mark.parametrize("path", _samples())
async def test_recording_replays_to_expected(path: Path, fake_aws: None) -> None:
    doc, (status, headers, body) = _load(path)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, headers=headers, content=body)

    expected = doc["expected"]
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        model = connect(f"{doc['provider']}:{doc['model']}", api_key="test-key", http_client=client, max_retries=0)
        request = _request(doc)
        try:
            if expected["kind"] == "error":
                await _assert_error(model, request, doc)
            else:
                response = await _run(model, request, doc["request"]["streaming"])
                _assert_response(response, expected)
        finally:
            await model.aclose()
    assert len(seen) == 1, "max_retries=0: exactly one HTTP request"


async def _run(model: Any, request: Request, streaming: bool) -> Any:
    if streaming:
        async with model.stream(request) as stream:
            async for _ in stream:
                pass
        return stream.response
    return await model.complete(request)


def _assert_response(response: Any, expected: dict[str, Any]) -> None:
    assert response.text == expected["text"]
    calls = [(c.name, c.arguments) for c in response.tool_calls]
    assert calls == [(c["name"], c["arguments"]) for c in expected["tool_calls"]]
    assert response.finish_reason == expected["finish_reason"]
    usage = expected.get("usage") or {}
    for field, value in usage.items():
        if value is not None:
            assert getattr(response.usage, field) == value, f"usage.{field}"


async def _assert_error(model: Any, request: Request, doc: dict[str, Any]) -> None:
    expected = doc["expected"]
    allowed = tuple(ERROR_CLASSES[n] for n in [expected["error_class"], *expected.get("error_class_alternatives", [])])
    with pytest.raises(AccordError) as caught:
        await _run(model, request, doc["request"]["streaming"])
    error = caught.value
    assert isinstance(error, allowed), f"{type(error).__name__} is not one of {[c.__name__ for c in allowed]}"
    retry_after = getattr(error, "retry_after", None)
    if expected.get("retry_after") is None:
        assert retry_after is None
    else:
        assert retry_after is not None
        assert abs(retry_after - expected["retry_after"]) <= 1.0
    if expected.get("in_stream"):
        assert getattr(error, "in_stream", False) is True
    if expected.get("status") is not None and not expected.get("in_stream"):
        assert getattr(error, "status", None) == expected["status"]
    assert "test-key" not in str(error)
    assert "test-key" not in repr(error)
