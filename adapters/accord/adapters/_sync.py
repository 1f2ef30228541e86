"""Sync twins: run coroutines on a private event-loop thread, so they work even inside a running loop (Jupyter)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from accord.contracts import Response, StreamEvent

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _private_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="accord-sync-loop", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from synchronous code, whether or not this thread already runs a loop."""
    return asyncio.run_coroutine_threadsafe(coro, _private_loop()).result()


class SyncStream:
    """A stream for synchronous code: iterate it for events, then read `.response`. Use it as a context manager
    (or iterate it to the end) so the connection is released."""

    def __init__(self, opener: AbstractAsyncContextManager[Any]) -> None:
        self._opener = opener
        self._stream: Any = None
        self._iterator: AsyncIterator[StreamEvent] | None = None
        self._closed = False

    def __enter__(self) -> SyncStream:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        if self._stream is None:
            self._stream = run_sync(self._opener.__aenter__())
            self._iterator = aiter(self._stream)

    def __iter__(self) -> Iterator[StreamEvent]:
        # The stream is its own iterator: `next(iter(s))` then `for e in s` continues the same stream (a throwaway
        # generator here would close the connection when garbage-collected).
        self._open()
        return self

    def __next__(self) -> StreamEvent:
        self._open()
        if self._closed or self._iterator is None:
            raise StopIteration
        try:
            return run_sync(_next(self._iterator))
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._stream is not None and not self._closed:
            self._closed = True
            run_sync(self._opener.__aexit__(None, None, None))

    @property
    def response(self) -> Response:
        if self._stream is None:
            raise RuntimeError("the stream was never opened")
        response: Response = self._stream.response
        return response


async def _next(iterator: AsyncIterator[StreamEvent]) -> StreamEvent:
    return await anext(iterator)
