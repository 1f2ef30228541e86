"""Structured output end to end through the real OpenAI Chat adapter over httpx.MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel

from accord.adapters.openai_chat import OpenAIChatAdapter
from accord.contracts import Message, ModelProfile, OutputSpec, Request


class City(BaseModel):
    name: str
    population: int | None = None
    districts: dict[str, int] = {}


def chat(message: dict[str, Any], *, finish: str = "stop", prompt: int = 10) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": 5, "total_tokens": prompt + 5},
    }


class Server:
    def __init__(self, *replies: dict[str, Any]) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json=self.replies.pop(0))


def adapter(server: Server, profile: ModelProfile | None = None) -> OpenAIChatAdapter:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return OpenAIChatAdapter(api_key="sk-test", http_client=client, profile=profile)


def ask(output: Any) -> Request:
    return Request(model="gpt-4o", messages=[Message.user("Tell me about Paris")], output=output)


async def test_native_json_schema_with_map_field_restored() -> None:
    content = {"name": "Paris", "population": None, "districts": [{"key": "Louvre", "value": 1}]}
    server = Server(chat({"content": json.dumps(content)}))
    response = await adapter(server).complete(ask(City))
    assert response.output == City(name="Paris", population=None, districts={"Louvre": 1})
    fmt = server.bodies[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["name", "population", "districts"]
    assert schema["properties"]["districts"]["type"] == ["array", "null"]


async def test_tool_mode_through_the_adapter() -> None:
    arguments = {"name": "Paris", "population": 2, "districts": [{"key": "Marais", "value": 4}]}
    call = {"id": "call_1", "type": "function", "function": {"name": "City", "arguments": json.dumps(arguments)}}
    server = Server(chat({"content": None, "tool_calls": [call]}, finish="tool_calls"))
    response = await adapter(server).complete(ask(OutputSpec.of(City, mode="tool")))
    assert response.output == City(name="Paris", population=2, districts={"Marais": 4})
    body = server.bodies[0]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "City"}}
    assert body["tools"][0]["function"]["strict"] is True
    assert "response_format" not in body


async def test_prompted_mode_uses_json_object() -> None:
    server = Server(chat({"content": '{"name": "Lyon"}'}))
    response = await adapter(server).complete(ask(OutputSpec.of(City, mode="prompted")))
    assert response.output == City(name="Lyon")
    body = server.bodies[0]
    assert body["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in body["messages"][0]["content"]


async def test_invalid_then_valid_retry_sums_usage() -> None:
    server = Server(
        chat({"content": '{"population": 3}'}, prompt=10),
        chat({"content": '{"name": "Nice", "population": 3, "districts": null}'}, prompt=30),
    )
    response = await adapter(server).complete(ask(City))
    assert response.output == City(name="Nice", population=3)
    assert response.attempts == 2
    assert response.usage.input_tokens == 40
    assert response.usage.output_tokens == 10
    assert response.cost is not None
    second = server.bodies[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"population": 3}'}
    assert "name" in second[-1]["content"]


async def test_streaming_partial_output_through_the_adapter() -> None:
    pieces = ['{"name": "Pa', 'ris", "population": 5, "districts": null}']
    lines = [
        {"id": "c", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
        for p in pieces
    ]
    lines.append({"id": "c", "model": "gpt-4o", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    sse = "".join(f"data: {json.dumps(line)}\n\n" for line in lines) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with OpenAIChatAdapter(api_key="sk-test", http_client=client).stream(ask(City)) as stream:
        partials = [e.partial_output async for e in stream if e.type == "output_delta"]
    assert partials[0] == {"name": "Pa"}
    assert stream.response.output == City(name="Paris", population=5)
