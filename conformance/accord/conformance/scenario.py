"""Scenarios: what the fake provider answers for a case, wire-neutral, one step per HTTP request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from accord.contracts import FinishReason, Usage

# The error situations every responder renders in its vendor's documented format and wording.
ErrorKind = Literal[
    "auth",  # 401: bad or missing key
    "permission",  # 403: key may not do this
    "not_found",  # 404: unknown model
    "invalid",  # 400: malformed request
    "context_window",  # 400: prompt longer than the context window (the vendor's own phrase)
    "rate_limit",  # 429: too many requests
    "quota",  # 402 / insufficient quota / billing
    "overloaded",  # 529 / 503 overloaded
    "server",  # 500
]

# How a 429 says when to come back: `Retry-After: 7`, `Retry-After: <HTTP-date>` (with the response's `Date` as
# the reference), `retry-after-ms: 1500`, or inside the body (OpenAI "try again in 1.5s", Gemini RetryInfo): the
# responder picks its vendor's in-body form.
RetryHint = Literal["retry-after", "retry-after-date", "retry-after-ms", "body"]


@dataclass(frozen=True)
class ToolCallSpec:
    """A tool call in an answer. `tool` is the index of the tool in the request (its wire name is read from
    the request the adapter sent, so sanitized names round-trip); `id` is the provider's call id."""

    arguments: dict[str, Any]
    tool: int = 0
    id: str = "call_0001"


@dataclass(frozen=True)
class Failure:
    """An HTTP error answer (or, as `Answer.stream_error`, an error event inside a 200 stream)."""

    kind: ErrorKind
    status: int
    retry_hint: RetryHint | None = None
    retry_after: float | None = None  # seconds the hint says
    message: str | None = None  # None: the responder's vendor wording for `kind`


@dataclass(frozen=True)
class Answer:
    """A successful model answer. Text and thinking are given as the chunks a stream delivers them in."""

    text: tuple[str, ...] = ()
    thinking: tuple[str, ...] = ()
    tool_calls: tuple[ToolCallSpec, ...] = ()
    finish: FinishReason = "stop"
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=12, output_tokens=5))
    id: str = "resp_0001"
    model: str | None = None  # None: the model the request named
    stream_error: Failure | None = None  # after the content, an error event inside the 200 stream
    cut: bool = False  # the connection drops after the content, before the stream's terminal event

    @property
    def full_text(self) -> str:
        return "".join(self.text)


@dataclass(frozen=True)
class Timeout:
    """The provider never answers: the transport raises a read timeout."""


Step = Answer | Failure | Timeout
Scenario = tuple[Step, ...]
