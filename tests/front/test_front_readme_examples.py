"""Runs every Python example of the README's Quick start against a mock OpenAI server: the docs stay true."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from accord.adapters import _front, _registry
from accord.adapters._registry import ProviderEntry

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start() -> str:
    """The README from `## Quick start` up to the next second-level heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Quick start")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


BLOCKS = re.findall(r"```python\n(.*?)```", _quick_start(), re.DOTALL)


def _answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    last = body["messages"][-1]
    if body.get("tools") and last["role"] != "tool":
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        }
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": f"answer to: {last['content']}"}
        finish = "stop"
    usage = {"prompt_tokens": 9, "completion_tokens": 4}
    if body.get("stream"):
        frames = [
            {"choices": [{"index": 0, "delta": {"content": "one "}}]},
            {"choices": [{"index": 0, "delta": {"content": "two"}, "finish_reason": "stop"}]},
            {"choices": [], "usage": usage},
        ]
        text = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
        return httpx.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})
    return httpx.Response(
        200,
        json={
            "id": "c",
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        },
    )


def _rate_limited(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        429,
        json={"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
        headers={"retry-after-ms": "5"},
    )


def test_the_quick_start_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    code = BLOCKS[index]
    calls: list[httpx.Request] = []
    handler = _rate_limited if "RateLimitError" in code else _answer

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return handler(request)

    entry = ProviderEntry(
        "accord.adapters.openai_chat:OpenAIChatAdapter", {"transport_factory": lambda: httpx.MockTransport(record)}
    )
    monkeypatch.setitem(_registry.BUILTIN, "openai", entry)
    monkeypatch.setattr(_front, "_SHARED", {})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-" + "d" * 30)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md quick start [{index}]", "exec"), {"__name__": "__docs__"})
    printed = out.getvalue()
    assert calls, "the example made no request"
    if handler is _rate_limited:
        assert len(calls) == 4
        assert "still rate limited" in printed
        assert "0.005" in printed
    elif "tool_calls" in code:
        assert "answer to: Sunny in Paris" in printed
    else:
        assert "answer to:" in printed or "one two" in printed
