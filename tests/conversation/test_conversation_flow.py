"""Conversation: turns across providers with tool calls (ids made portable), usage and cost totals, JSON, sync."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from accord.adapters import Conversation, connect
from accord.adapters._conversation import CALL_ID_RULES, portable_messages
from accord.adapters._front import Model
from accord.contracts import InvalidRequestError, Message, TextPart, Tool, ToolCall, Usage

WEATHER = Tool(name="weather", description="weather in a city", parameters={"type": "object", "properties": {}})
# An id that breaks Anthropic's and Mistral's rules (a Gemini-style synthesized id with a dot and a slash).
ODD_ID = "call_resp.1/x_0"

Handler = Callable[[httpx.Request], httpx.Response]


def _model(ref: str, handler: Handler, seen: list[dict[str, Any]]) -> Model:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return handler(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return connect(ref, api_key="sk-test-key", http_client=client)


def _openai(message: dict[str, Any], finish: str, usage: tuple[int, int]) -> Handler:
    payload = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }
    return lambda request: httpx.Response(200, json=payload)


def _anthropic(text: str) -> Handler:
    payload = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 200, "output_tokens": 20},
    }
    return lambda request: httpx.Response(200, json=payload)


def _tool_call_message() -> dict[str, Any]:
    call = {"id": ODD_ID, "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
    return {"content": None, "tool_calls": [call]}


async def test_tool_round_trip_across_providers_with_portable_ids_and_totals() -> None:
    openai_bodies: list[dict[str, Any]] = []
    anthropic_bodies: list[dict[str, Any]] = []
    mistral_bodies: list[dict[str, Any]] = []
    gpt = _model("openai:gpt-4o-mini", _openai(_tool_call_message(), "tool_calls", (1000, 50)), openai_bodies)
    claude = _model("anthropic:claude-sonnet-4-5", _anthropic("Sunny."), anthropic_bodies)
    mistral = _model("mistral:mistral-small-latest", _openai({"content": "Oui."}, "stop", (300, 10)), mistral_bodies)

    chat = Conversation(gpt, system="Be brief.", tools=[WEATHER], max_tokens=100)
    first = await chat.send("Weather in Paris?")
    assert first.tool_calls[0].id == ODD_ID
    assert [c.id for c in chat.pending_tool_calls] == [ODD_ID]
    chat.add_tool_result(ODD_ID, "22C, sunny")
    assert chat.pending_tool_calls == []

    second = await chat.send(model=claude)
    assert second.text == "Sunny."
    body = anthropic_bodies[-1]
    use = next(b for m in body["messages"] for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_use")
    result = next(
        b for m in body["messages"] for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_result"
    )
    assert use["id"] == result["tool_use_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", use["id"])
    assert chat.messages[1].tool_calls[0].id == ODD_ID  # the history keeps the original id

    third = await chat.send("In French?", model=mistral)
    assert third.text == "Oui."
    sent = mistral_bodies[-1]["messages"]
    call_ids = [c["id"] for m in sent for c in m.get("tool_calls") or []]
    result_ids = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert call_ids == result_ids
    assert re.fullmatch(r"[A-Za-z0-9]{9}", call_ids[0])
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert openai_bodies[0]["max_tokens"] == 100  # conversation-wide request fields go with every turn

    assert [m.role for m in chat.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [t.provider for t in chat.turns] == ["openai", "anthropic", "mistral"]
    assert chat.usage == Usage(input_tokens=1500, output_tokens=80)
    # gpt-4o-mini 1000 * 0.15 + 50 * 0.6 = 180; claude-sonnet-4-5 200 * 3 + 20 * 15 = 900; per 1M
    assert chat.turns[0].cost == pytest.approx(0.00018)
    assert chat.turns[1].cost == pytest.approx(0.0009)
    mistral_cost = chat.turns[2].cost
    if mistral_cost is None:
        assert chat.cost is None  # one unknown price: the total is unknown, not a partial sum
    else:
        assert chat.cost == pytest.approx(0.00108 + mistral_cost)
    assert chat.model_ref == "mistral:mistral-small-latest"


async def test_save_and_load_round_trip(tmp_path: Path) -> None:
    bodies: list[dict[str, Any]] = []
    gpt = _model("openai:gpt-4o-mini", _openai({"content": "Hello!"}, "stop", (10, 2)), bodies)
    chat = Conversation(gpt, system="Be brief.", tools=[WEATHER])
    await chat.send([TextPart(text="Hi")])
    path = tmp_path / "chat.json"
    chat.save(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["model"] == "openai:gpt-4o-mini"
    assert saved["turns"][0]["usage"]["input_tokens"] == 10

    loaded = Conversation.load(path, model=gpt)
    assert loaded.messages == chat.messages
    assert loaded.turns == chat.turns
    assert loaded.tools == [WEATHER]
    assert loaded.cost == chat.cost
    await loaded.send("Again")
    assert len(bodies[-1]["messages"]) == 4  # system + the 3 earlier/new messages

    lazy = Conversation.from_json(chat.to_json())
    assert lazy.model_ref == "openai:gpt-4o-mini"  # connected only when it sends
    with pytest.raises(ValueError, match="unsupported conversation format"):
        Conversation.from_json(json.dumps({"format": 99}))


async def test_failed_send_leaves_the_conversation_unchanged() -> None:
    bad = _model("openai:gpt-4o-mini", lambda r: httpx.Response(400, json={"error": {"message": "no"}}), [])
    chat = Conversation(bad)
    with pytest.raises(InvalidRequestError):
        await chat.send("hi")
    assert chat.messages == []
    assert chat.turns == []
    assert chat.cost == 0.0


def test_send_sync() -> None:
    gpt = _model("openai:gpt-4o-mini", _openai({"content": "ok"}, "stop", (5, 1)), [])
    chat = Conversation(gpt)
    assert chat.send_sync("hi").text == "ok"
    assert len(chat.turns) == 1
    assert "messages=2" in repr(chat)


async def test_stream_appends_the_answer_once_read_to_the_end() -> None:
    body = (
        b'data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},'
        b'"finish_reason":"stop"}]}\n\n'
        b'data: {"id":"c","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
        b"data: [DONE]\n\n"
    )
    gpt = _model("openai:gpt-4o-mini", lambda r: httpx.Response(200, content=body), [])
    chat = Conversation(gpt)
    async with chat.stream("hello") as stream:
        async for _ in stream:
            pass
    assert [m.text for m in chat.messages] == ["hello", "Hi"]
    assert chat.usage.input_tokens == 3

    async with chat.stream("again"):
        pass  # never read: nothing complete to record
    assert len(chat.messages) == 2


def test_tool_results_need_a_pending_call_and_a_model_is_needed() -> None:
    chat = Conversation(messages=[Message.user("hi")])
    with pytest.raises(ValueError, match="no pending tool call"):
        chat.add_tool_result("nope", "x")
    with pytest.raises(ValueError, match="no model"):
        chat.send_sync()
    chat.add(Message.assistant("plain"))
    assert chat.pending_tool_calls == []
    request = chat.request("next", temperature=0.5)
    assert request.temperature == 0.5
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]


def test_portable_ids_are_deterministic_and_collision_free() -> None:
    calls = [ToolCall(id="a.b", name="f"), ToolCall(id="Zz0123456", name="f"), ToolCall(id="x" * 50, name="f")]
    messages = [
        Message.user("q"),
        Message.assistant(tool_calls=calls),
        *[Message.tool(c.id, "r") for c in calls],
    ]
    for provider, rule in CALL_ID_RULES.items():
        out = portable_messages(messages, provider)
        ids = [c.id for c in out[1].tool_calls]
        assert all(rule.accepts(i) for i in ids), provider
        assert len(set(ids)) == 3
        assert [m.parts[0].call_id for m in out[2:]] == ids  # type: ignore[union-attr]
        assert portable_messages(messages, provider) == out  # the same every time
    assert portable_messages(messages, "gemini") == messages  # no id rules: untouched
    clean = [Message.user("q"), Message.assistant(tool_calls=[ToolCall(id="abcdefghi", name="f")])]
    assert portable_messages(clean, "mistral") == clean
    rule = CALL_ID_RULES["mistral"]
    taken = rule.make("a.b")
    clash = [Message.assistant(tool_calls=[ToolCall(id=taken, name="f"), ToolCall(id="a.b", name="f")])]
    remapped = [c.id for c in portable_messages(clash, "mistral")[0].tool_calls]
    assert remapped[0] == taken
    assert remapped[1] == rule.make("a.b", 1)
