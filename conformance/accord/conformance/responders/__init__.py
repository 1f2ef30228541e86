"""Responders: per wire protocol, answer the adapter's real request in the vendor's documented format.

Each module in this package (`responders/<wire>.py`, one per wire protocol) exports:

- `RESPONDERS`: the `Responder` objects it defines (one per wire name),
- `TARGETS`: the `Target` entries of the adapters that speak it,
- `ORACLES` (optional): `Oracle` checks built on the vendor's SDK or spec.

Modules are discovered, never listed here; third-party packages add theirs through the `accord.conformance`
entry-point group (each entry point names a module with the same three names).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import httpx

from ..oracles import Oracle
from ..scenario import Answer, Failure, ToolCallSpec
from ..targets import Target

ENTRY_POINT_GROUP = "accord.conformance"


@dataclass(frozen=True)
class SentRequest:
    """The request the adapter really sent."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    content: bytes

    @classmethod
    def of(cls, request: httpx.Request) -> SentRequest:
        return cls(method=request.method, url=request.url, headers=request.headers, content=request.content)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None."""
        try:
            return json.loads(self.content) if self.content else None
        except ValueError:
            return None


@dataclass(frozen=True)
class WireReply:
    """What the responder answers: status, headers, and the body as the chunks it is delivered in."""

    status: int
    headers: Mapping[str, str]
    chunks: tuple[bytes, ...] = ()
    cut: bool = False  # drop the connection after the chunks (a stream cut mid-way)

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks)


@runtime_checkable
class Responder(Protocol):
    """Answers one wire protocol. Stateless: everything it needs is in the step and the request."""

    wire: str

    def is_streaming(self, request: SentRequest) -> bool:
        """Whether the adapter asked for a stream (a body flag, a path, a query parameter...)."""
        ...

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        """A successful answer: a JSON body, or the documented stream events (honouring `answer.cut` and
        `answer.stream_error`)."""
        ...

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        """An HTTP error in the vendor's error format and wording, with `failure.retry_hint` rendered."""
        ...


# --- helpers for responder modules ---------------------------------------------------------------------------


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_reply(payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> WireReply:
    return WireReply(status, {"content-type": "application/json", **(headers or {})}, (dumps(payload).encode(),))


def sse_reply(
    events: Iterable[tuple[str | None, Any]],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    cut: bool = False,
) -> WireReply:
    """`(event name or None, data)` pairs as SSE frames; data that is not a string is JSON-encoded."""
    chunks: list[bytes] = []
    for name, data in events:
        text = data if isinstance(data, str) else dumps(data)
        head = f"event: {name}\n" if name else ""
        chunks.append(f"{head}data: {text}\n\n".encode())
    return WireReply(status, {"content-type": "text/event-stream", **(headers or {})}, tuple(chunks), cut)


def ndjson_reply(
    lines: Iterable[Any], *, status: int = 200, headers: Mapping[str, str] | None = None, cut: bool = False
) -> WireReply:
    chunks = tuple((dumps(line) + "\n").encode() for line in lines)
    return WireReply(status, {"content-type": "application/x-ndjson", **(headers or {})}, chunks, cut)


def bytes_reply(
    frames: Sequence[bytes],
    content_type: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    cut: bool = False,
) -> WireReply:
    """Binary frames (e.g. AWS event-stream messages), one chunk each."""
    return WireReply(status, {"content-type": content_type, **(headers or {})}, tuple(frames), cut)


def split_text(text: str, parts: int = 3) -> list[str]:
    """`text` in up to `parts` pieces (how a stream delivers a tool call's JSON arguments)."""
    if not text:
        return []
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def arguments_json(call: ToolCallSpec) -> str:
    return dumps(call.arguments)


def retry_headers(failure: Failure) -> dict[str, str]:
    """The header form of a retry hint (`retry-after` seconds or HTTP-date, `retry-after-ms`); body forms are the
    wire's."""
    if failure.retry_after is None:
        return {}
    if failure.retry_hint == "retry-after":
        seconds = failure.retry_after
        return {"retry-after": str(int(seconds)) if float(seconds).is_integer() else str(seconds)}
    if failure.retry_hint == "retry-after-date":
        # A fixed server clock, so the recording is the same every time it is authored.
        sent = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
        come_back = sent + timedelta(seconds=failure.retry_after)
        return {"date": format_datetime(sent, usegmt=True), "retry-after": format_datetime(come_back, usegmt=True)}
    if failure.retry_hint == "retry-after-ms":
        return {"retry-after-ms": str(int(failure.retry_after * 1000))}
    return {}


def tool_name_at(names: Sequence[str], call: ToolCallSpec) -> str:
    """The wire name of the tool a call spec points at (the request's `tools[call.tool]`)."""
    if not names:
        raise LookupError("the answer calls a tool, but the request declared none")
    return names[min(call.tool, len(names) - 1)]


# --- discovery -----------------------------------------------------------------------------------------------


@dataclass
class Registry:
    """Everything the responder modules export, plus modules that failed to import (reported, not hidden)."""

    responders: dict[str, Responder] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    oracles: dict[str, list[Oracle]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    def add_module(self, module: ModuleType) -> None:
        for responder in getattr(module, "RESPONDERS", ()):
            self.responders[responder.wire] = responder
        for target in getattr(module, "TARGETS", ()):
            self.targets[target.name] = target
        for oracle in getattr(module, "ORACLES", ()):
            self.oracles.setdefault(oracle.wire, []).append(oracle)


def _modules() -> list[str]:
    names = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    names += [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return names


@cache
def registry() -> Registry:
    found = Registry()
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # one broken responder module must not hide every other adapter
            found.broken[name] = f"{type(exc).__name__}: {exc}"
            continue
        found.add_module(module)
    return found


def responder_for(wire: str) -> Responder:
    found = registry().responders.get(wire)
    if found is None:
        known = ", ".join(sorted(registry().responders)) or "none"
        raise LookupError(f"no responder for wire {wire!r} (known: {known})")
    return found


def targets() -> dict[str, Target]:
    return dict(registry().targets)


def oracles_for(wire: str) -> list[Oracle]:
    """The oracles registered for `wire`, plus those registered for every wire (`"*"`: they pick their
    interactions themselves, e.g. any `/chat/completions` exchange)."""
    found = registry().oracles
    return [*found.get(wire, ()), *(o for o in found.get("*", ()) if wire != "*")]


__all__ = [
    "Registry",
    "Responder",
    "SentRequest",
    "WireReply",
    "arguments_json",
    "bytes_reply",
    "dumps",
    "json_reply",
    "ndjson_reply",
    "oracles_for",
    "registry",
    "responder_for",
    "retry_headers",
    "split_text",
    "sse_reply",
    "targets",
    "tool_name_at",
]
