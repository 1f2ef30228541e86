"""The front door: `connect("provider:model")` → `Model`, and the `ask` one-liner, async and sync."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from pydantic import SecretStr

from accord.contracts import Adapter, Message, ModelProfile, Request, Response, ResponseStream

from ._registry import adapter_factory, split_ref
from ._sync import SyncStream, run_sync

Prompt = str | Request | Sequence[Message]

# One adapter (and so one connection pool) per (provider, base URL, key) across `connect()` calls.
_SHARED: dict[tuple[str, str, str], Adapter] = {}
_SHAREABLE = frozenset({"api_key", "base_url"})


def _share_key(provider: str, options: dict[str, Any]) -> tuple[str, str, str] | None:
    if set(options) - _SHAREABLE:
        return None  # an injected client, timeouts, hooks...: this caller wants its own adapter
    key = options.get("api_key")
    secret = key.get_secret_value() if isinstance(key, SecretStr) else (key or "")
    return provider, str(options.get("base_url") or ""), hashlib.sha256(str(secret).encode()).hexdigest()


class Model:
    """A model bound to its adapter: cheap to create, shares the adapter's pool."""

    def __init__(self, adapter: Adapter, model: str, *, provider: str | None = None) -> None:
        self.adapter = adapter
        self.model = model
        self.provider = provider or adapter.name

    def __repr__(self) -> str:
        return f"Model({self.provider}:{self.model})"

    @property
    def profile(self) -> ModelProfile:
        return self.adapter.profile(self.model)

    def request(self, prompt: Prompt, **fields: Any) -> Request:
        """A `Request` for this model from a prompt string, a message list, or a request (fields override)."""
        if isinstance(prompt, Request):
            changes = dict(fields)
            if prompt.model is None:
                changes["model"] = self.model
            return prompt.with_(**changes) if changes else prompt
        messages = [Message.user(prompt)] if isinstance(prompt, str) else list(prompt)
        return Request(model=self.model, messages=messages, **fields)

    async def complete(self, prompt: Prompt, **fields: Any) -> Response:
        return await self.adapter.complete(self.request(prompt, **fields))

    def stream(self, prompt: Prompt, **fields: Any) -> AbstractAsyncContextManager[ResponseStream]:
        return self.adapter.stream(self.request(prompt, **fields))

    def complete_sync(self, prompt: Prompt, **fields: Any) -> Response:
        return run_sync(self.complete(prompt, **fields))

    def stream_sync(self, prompt: Prompt, **fields: Any) -> SyncStream:
        return SyncStream(self.stream(prompt, **fields))

    async def aclose(self) -> None:
        await self.adapter.aclose()


def connect(ref: str, **options: Any) -> Model:
    """A `Model` for `"provider:model"` (or `provider/model`). Options go to the adapter: `api_key`, `base_url`,
    `http_client`, `timeout`, `max_retries`, `profile`, `hooks`, ..."""
    provider, model = split_ref(ref)
    share = _share_key(provider, options)
    adapter = _SHARED.get(share) if share else None
    if adapter is None:
        adapter = adapter_factory(provider)(**options)
        if share:
            _SHARED[share] = adapter
    return Model(adapter, model, provider=provider)


async def ask(model_ref: str, prompt: Prompt, **fields: Any) -> str:
    """The one-liner: the text of one answer."""
    response = await connect(model_ref).complete(prompt, **fields)
    return response.text


def ask_sync(model_ref: str, prompt: Prompt, **fields: Any) -> str:
    return run_sync(ask(model_ref, prompt, **fields))
