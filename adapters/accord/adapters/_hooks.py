"""Hook events: typed notifications of what a call does (start, attempts, retries, first chunk, end, error).

A hook is any callable taking one event: `connect("openai:gpt-4o", hooks=[print])`. Subclass `Hooks` to get one
method per event type instead. Hooks run synchronously, in the task making the call; a hook that raises is logged
and never breaks the call it observes. `call_id` ties the events of one call together (0 when the emitter
does not number calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from accord.contracts import AccordError, Request, Response, Usage


@dataclass(frozen=True, slots=True)
class RequestStart:
    """A call begins (before the first attempt). `request` is what was asked, when the emitter passes it."""

    provider: str
    model: str
    streaming: bool
    operation: str = "chat"
    call_id: int = 0
    request: Request | None = None
    server_address: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptStart:
    """One HTTP attempt begins (1 for the first try, 2 for the first retry...)."""

    provider: str
    model: str
    attempt: int
    call_id: int = 0


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """Attempt `attempt` failed with `cause`; the next one starts after `delay` seconds."""

    provider: str
    model: str
    attempt: int
    delay: float
    cause: AccordError
    call_id: int = 0


@dataclass(frozen=True, slots=True)
class FirstChunk:
    """A stream delivered its first event, `seconds` after the call began."""

    provider: str
    model: str
    seconds: float
    call_id: int = 0


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """The call finished: the response with usage and cost, total latency and (streams) time to first chunk."""

    provider: str
    model: str
    response: Response
    seconds: float
    time_to_first_chunk: float | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    call_id: int = 0


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The call failed for good (after any retries) or was cancelled."""

    provider: str
    model: str
    error: BaseException
    seconds: float
    call_id: int = 0


HookEvent = RequestStart | AttemptStart | RetryScheduled | FirstChunk | ResponseDone | RequestFailed
Hook = Callable[[HookEvent], None]


class Hooks:
    """A hook with one method per event; override the ones you need. An instance is a `Hook`."""

    def __call__(self, event: HookEvent) -> None:
        if isinstance(event, RequestStart):
            self.on_request_start(event)
        elif isinstance(event, AttemptStart):
            self.on_attempt(event)
        elif isinstance(event, RetryScheduled):
            self.on_retry(event)
        elif isinstance(event, FirstChunk):
            self.on_first_chunk(event)
        elif isinstance(event, ResponseDone):
            self.on_response(event)
        else:
            self.on_error(event)

    def on_request_start(self, event: RequestStart) -> None:
        """A call begins."""

    def on_attempt(self, event: AttemptStart) -> None:
        """An HTTP attempt begins."""

    def on_retry(self, event: RetryScheduled) -> None:
        """A retry is scheduled."""

    def on_first_chunk(self, event: FirstChunk) -> None:
        """A stream delivered its first event."""

    def on_response(self, event: ResponseDone) -> None:
        """The call succeeded."""

    def on_error(self, event: RequestFailed) -> None:
        """The call failed."""


def emit(hooks: Sequence[Hook], event: HookEvent) -> None:
    """Call every hook; a failing hook must not break the call it observes."""
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logging.getLogger("accord").exception("hook %r failed on %s", hook, type(event).__name__)
