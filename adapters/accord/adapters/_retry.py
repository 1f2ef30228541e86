"""Retry policy: full-jitter exponential backoff, capped, honouring the provider's own retry hints."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Sleep = Callable[[float], Awaitable[None]]

# "Please try again in 1.5s", "try again in 94ms", "try again in 6m0s" (OpenAI bodies).
_TRY_AGAIN = re.compile(r"\btry again in (?P<value>(?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# google.protobuf.Duration in JSON: "37s", "1.500s".
_PROTO_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def parse_go_duration(text: str) -> float | None:
    """`1.5s`, `94ms`, `6m0s`, `1h2m` → seconds; None when the text is not such a duration."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def parse_retry_after_header(value: str, *, now: datetime | None = None) -> float | None:
    """`Retry-After`: delay seconds (integer or decimal) or an HTTP-date; None when unparseable."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_proto_duration(value: str) -> float | None:
    """Gemini `RetryInfo.retryDelay` ("37s") → seconds."""
    match = _PROTO_DURATION.match(value)
    return float(match.group(1)) if match else None


def parse_try_again(message: str) -> float | None:
    """ "... Please try again in 1.5s." inside an error message → seconds."""
    match = _TRY_AGAIN.search(message)
    return parse_go_duration(match.group("value")) if match else None


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms` first (more precise), then `retry-after`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            pass
        else:
            if value >= 0:
                return value
    if (seconds := lowered.get("retry-after")) is not None:
        return parse_retry_after_header(seconds, now=_server_now(lowered.get("date")))
    return None


def _server_now(date: str | None) -> datetime | None:
    """The response's own `Date`: an HTTP-date `Retry-After` is measured against the server's clock, so a skewed
    local clock (or a replayed recording) does not stretch or shrink the wait."""
    if date is None:
        return None
    try:
        when = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait. `max_retries=0` disables retrying."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_hint: float = 60.0  # a provider asking for longer than this is not waited for
    sleep: Sleep = field(default=asyncio.sleep, compare=False)
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry_number: int, hint: float | None) -> float | None:
        """Seconds to wait before retry `retry_number` (1-based); None means give up (hint beyond `max_hint`)."""
        if hint is not None:
            return hint if hint <= self.max_hint else None
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry_number - 1))
        return float(self.rng()) * ceiling
