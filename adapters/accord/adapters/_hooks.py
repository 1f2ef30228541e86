"""Hook events: typed notifications of what a call does (start, attempts, retries, first chunk, end, error)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from accord.contracts import AccordError, Response, Usage


@dataclass(frozen=True, slots=True)
class RequestStart:
    provider: str
    model: str
    streaming: bool
    operation: str = "chat"


@dataclass(frozen=True, slots=True)
class AttemptStart:
    provider: str
    model: str
    attempt: int


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    provider: str
    model: str
    attempt: int
    delay: float
    cause: AccordError


@dataclass(frozen=True, slots=True)
class FirstChunk:
    provider: str
    model: str
    seconds: float


@dataclass(frozen=True, slots=True)
class ResponseDone:
    provider: str
    model: str
    response: Response
    seconds: float
    time_to_first_chunk: float | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class RequestFailed:
    provider: str
    model: str
    error: BaseException
    seconds: float


HookEvent = RequestStart | AttemptStart | RetryScheduled | FirstChunk | ResponseDone | RequestFailed
Hook = Callable[[HookEvent], None]


def emit(hooks: Sequence[Hook], event: HookEvent) -> None:
    """Call every hook; a failing hook must not break the call it observes."""
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logging.getLogger("accord").exception("hook %r failed on %s", hook, type(event).__name__)
