"""The Adapter protocol: what every provider implementation offers, and the stream handle it returns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from .events import StreamEvent
from .profile import ModelProfile
from .request import Request
from .response import Response


@runtime_checkable
class ResponseStream(Protocol):
    """An open stream: iterate it for events; `response` is the final response once the stream has ended."""

    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...

    @property
    def response(self) -> Response: ...


@runtime_checkable
class Adapter(Protocol):
    """One wire protocol (or vendor) behind the contract.

    Constructed with `api_key` (a `SecretStr`, read from the provider's environment variable by default),
    `base_url`, `http_client`, `timeout` and `max_retries`. `request.model` must be set.
    """

    name: str

    def profile(self, model: str) -> ModelProfile: ...

    async def complete(self, request: Request) -> Response: ...

    def stream(self, request: Request) -> AbstractAsyncContextManager[ResponseStream]: ...

    async def aclose(self) -> None: ...
