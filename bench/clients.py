"""The benchmarked clients: each makes the same OpenAI Chat call (complete and stream) against the mock server."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MODEL = "bench-model"
KEY = "sk-bench-not-a-real-key"
PROMPT = [{"role": "user", "content": "Say hello."}]


@dataclass
class Client:
    """`complete()` returns the answer text; `stream()` returns how many content deltas it read."""

    complete: Callable[[], Awaitable[str]]
    stream: Callable[[], Awaitable[int]]
    close: Callable[[], Awaitable[None]]


def _body(stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "messages": PROMPT}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


async def raw_httpx(base: str) -> Client:
    import httpx

    client = httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {KEY}"}, limits=httpx.Limits(max_connections=256)
    )

    async def complete() -> str:
        r = await client.post("/chat/completions", json=_body(False))
        return str(r.json()["choices"][0]["message"]["content"])

    async def stream() -> int:
        n = 0
        async with client.stream("POST", "/chat/completions", json=_body(True)) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    chunk = json.loads(line[6:])
                    n += bool(chunk["choices"] and chunk["choices"][0]["delta"].get("content"))
        return n

    return Client(complete, stream, client.aclose)


async def raw_aiohttp(base: str) -> Client:
    import aiohttp

    session = aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {KEY}"}, connector=aiohttp.TCPConnector(limit=256)
    )
    url = base + "/chat/completions"

    async def complete() -> str:
        async with session.post(url, json=_body(False)) as r:
            return str(json.loads(await r.read())["choices"][0]["message"]["content"])

    async def stream() -> int:
        n = 0
        async with session.post(url, json=_body(True)) as r:
            async for line in r.content:
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                    chunk = json.loads(line[6:])
                    n += bool(chunk["choices"] and chunk["choices"][0]["delta"].get("content"))
        return n

    return Client(complete, stream, session.close)


async def _accord(base: str, transport: str) -> Client:
    from accord.adapters import connect
    from accord.contracts import TextDelta

    options: dict[str, Any] = {"api_key": KEY, "base_url": base, "max_retries": 0}
    if transport == "aiohttp":
        from accord.adapters._aiohttp import AiohttpTransport

        options["transport_factory"] = AiohttpTransport
    else:
        import httpx

        # aiohttp's pool is the default when aiohttp is installed: ask for httpx's own pool explicitly.
        options["transport_factory"] = httpx.AsyncHTTPTransport
    model = connect(f"openai:{MODEL}", **options)

    async def complete() -> str:
        return (await model.complete("Say hello.")).text

    async def stream() -> int:
        n = 0
        async with model.stream("Say hello.") as s:
            async for event in s:
                n += isinstance(event, TextDelta)
        return n

    return Client(complete, stream, model.aclose)


async def accord_httpx(base: str) -> Client:
    return await _accord(base, "httpx")


async def accord_aiohttp(base: str) -> Client:
    return await _accord(base, "aiohttp")


async def openai_sdk(base: str) -> Client:
    import openai

    client = openai.AsyncOpenAI(base_url=base, api_key=KEY, max_retries=0)

    async def complete() -> str:
        r = await client.chat.completions.create(model=MODEL, messages=PROMPT)  # type: ignore[arg-type]
        return r.choices[0].message.content or ""

    async def stream() -> int:
        n = 0
        s = await client.chat.completions.create(
            model=MODEL,
            messages=PROMPT,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in s:
            n += bool(chunk.choices and chunk.choices[0].delta.content)
        return n

    return Client(complete, stream, client.close)


async def litellm_sdk(base: str) -> Client:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True

    async def complete() -> str:
        r = await litellm.acompletion(model=f"openai/{MODEL}", messages=PROMPT, api_base=base, api_key=KEY)
        return str(r.choices[0].message.content)

    async def stream() -> int:
        n = 0
        s = await litellm.acompletion(model=f"openai/{MODEL}", messages=PROMPT, api_base=base, api_key=KEY, stream=True)
        async for chunk in s:
            n += bool(chunk.choices and chunk.choices[0].delta.content)
        return n

    async def close() -> None:
        return None

    return Client(complete, stream, close)


async def pydantic_ai_agent(base: str) -> Client:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    agent = Agent(OpenAIChatModel(MODEL, provider=OpenAIProvider(base_url=base, api_key=KEY)))

    async def complete() -> str:
        return str((await agent.run("Say hello.")).output)

    async def stream() -> int:
        n = 0
        async with agent.run_stream("Say hello.") as r:
            async for _ in r.stream_text(delta=True, debounce_by=None):
                n += 1
        return n

    async def close() -> None:
        return None

    return Client(complete, stream, close)


CLIENTS: dict[str, tuple[str, Callable[[str], Awaitable[Client]]]] = {
    # name: (module whose presence means "installed", factory)
    "raw httpx": ("httpx", raw_httpx),
    "raw aiohttp": ("aiohttp", raw_aiohttp),
    "accord (httpx transport)": ("accord.adapters", accord_httpx),
    "accord (aiohttp transport)": ("aiohttp", accord_aiohttp),
    "openai SDK": ("openai", openai_sdk),
    "LiteLLM": ("litellm", litellm_sdk),
    "pydantic-ai": ("pydantic_ai", pydantic_ai_agent),
}

# What `import` each row costs, measured in a fresh interpreter.
IMPORTS: dict[str, str] = {
    "httpx": "import httpx",
    "httpx + pydantic": "import httpx, pydantic",
    "aiohttp": "import aiohttp",
    "accord (connect + OpenAI wire)": "import accord.adapters; from accord.adapters import connect; "
    "import accord.adapters.openai_chat",
    "openai SDK": "import openai",
    "LiteLLM": "import litellm",
    "pydantic-ai": "import pydantic_ai; import pydantic_ai.models.openai",
}
