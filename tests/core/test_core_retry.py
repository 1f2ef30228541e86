"""Retry hints, backoff bounds and the retry loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.adapters._http import AttemptLog, HTTPCore
from accord.adapters._retry import (
    RetryPolicy,
    parse_go_duration,
    parse_proto_duration,
    parse_retry_after_header,
    parse_try_again,
    retry_after_from_headers,
)
from accord.contracts import (
    AuthenticationError,
    ConnectError,
    InvalidRequestError,
    OverloadedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)

# --- hint parsers ------------------------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after_header("30") == 30.0
    assert parse_retry_after_header(" 1.5 ") == 1.5
    assert parse_retry_after_header("-3") is None
    assert parse_retry_after_header("soon") is None
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after_header(later, now=now) == 90.0
    past = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after_header(past, now=now) == 0.0
    assert parse_retry_after_header("Wed, 01 Jan 2025 12:01:00", now=now) == 60.0  # no zone: read as UTC


def test_retry_after_ms_wins_over_seconds() -> None:
    assert retry_after_from_headers({"Retry-After-Ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after-ms": "bad", "retry-after": "9"}) == 9.0
    assert retry_after_from_headers({"retry-after-ms": "-5", "retry-after": "2"}) == 2.0
    assert retry_after_from_headers({"retry-after-ms": "-5"}) is None
    assert retry_after_from_headers({}) is None


def test_an_http_date_retry_after_is_measured_against_the_response_date() -> None:
    # The server says Date 12:00:00 and Retry-After 12:00:45: 45 s, whatever the local clock says (it is 2026 here).
    headers = {"Date": "Wed, 01 Jan 2025 12:00:00 GMT", "Retry-After": "Wed, 01 Jan 2025 12:00:45 GMT"}
    assert retry_after_from_headers(headers) == 45.0
    assert retry_after_from_headers({**headers, "Date": "Wed, 01 Jan 2025 12:00:00"}) == 45.0  # no zone: UTC
    # Without a usable Date the local clock is the reference: a date long past means "now".
    assert retry_after_from_headers({"Retry-After": headers["Retry-After"]}) == 0.0
    assert retry_after_from_headers({**headers, "Date": "garbage"}) == 0.0


def test_proto_duration() -> None:
    assert parse_proto_duration("37s") == 37.0
    assert parse_proto_duration("1.500s") == 1.5
    assert parse_proto_duration("37") is None
    assert parse_proto_duration("1m") is None


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Rate limit reached. Please try again in 1.5s. Visit ...", 1.5),
        ("Please try again in 94ms.", 0.094),
        ("Please try again in 6m0s.", 360.0),
        ("TRY AGAIN IN 1h2m3s", 3723.0),
        ("try again in a moment", None),
        ("retry later", None),
    ],
)
def test_try_again_phrases(message: str, seconds: float | None) -> None:
    result = parse_try_again(message)
    assert result == pytest.approx(seconds) if seconds is not None else result is None


def test_go_duration_rejects_garbage() -> None:
    assert parse_go_duration("1.5s") == 1.5
    assert parse_go_duration("1.5sx") is None
    assert parse_go_duration("") is None
    assert parse_go_duration("abc") is None


durations = st.lists(st.tuples(st.integers(0, 500), st.sampled_from(["h", "m", "s", "ms"])), min_size=1, max_size=4)
UNIT = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


@given(durations)
def test_go_duration_property(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{u}" for n, u in parts)
    assert parse_go_duration(text) == pytest.approx(sum(n * UNIT[u] for n, u in parts))
    assert parse_try_again(f"Limit hit. Please try again in {text}. Thanks") == pytest.approx(parse_go_duration(text))


@given(st.integers(0, 10**6))
def test_retry_after_integer_property(n: int) -> None:
    assert parse_retry_after_header(str(n)) == n
    assert retry_after_from_headers({"retry-after-ms": str(n)}) == pytest.approx(n / 1000)


@given(st.floats(0, 10**5, allow_nan=False))
def test_proto_duration_property(x: float) -> None:
    assert parse_proto_duration(f"{x:.3f}s") == pytest.approx(round(x, 3))


@given(st.text(max_size=40))
def test_hint_parsers_never_raise(text: str) -> None:
    for parse in (parse_retry_after_header, parse_proto_duration, parse_try_again, parse_go_duration):
        result = parse(text)
        assert result is None or result >= 0


# --- backoff -----------------------------------------------------------------------------------------------


@given(st.integers(1, 30), st.floats(0, 1, exclude_max=True))
def test_full_jitter_bounds(retry: int, r: float) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, rng=lambda: r)
    delay = policy.delay(retry, None)
    assert delay is not None
    assert 0 <= delay <= min(8.0, 0.5 * 2 ** (retry - 1))
    assert delay == pytest.approx(r * min(8.0, 0.5 * 2 ** (retry - 1)))


def test_hint_honoured_until_max_hint() -> None:
    policy = RetryPolicy(max_hint=60.0, rng=lambda: 0.99)
    assert policy.delay(1, 12.5) == 12.5
    assert policy.delay(1, 0.0) == 0.0
    assert policy.delay(1, 61.0) is None


# --- the retry loop ----------------------------------------------------------------------------------------


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _core(max_retries: int = 2) -> tuple[HTTPCore, Sleeps]:
    sleeps = Sleeps()
    return HTTPCore(provider="p", policy=RetryPolicy(max_retries=max_retries, sleep=sleeps, rng=lambda: 0.5)), sleeps


def _failing(errors: list[Exception], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    async def attempt() -> str:
        calls["n"] += 1
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


async def test_retries_retryable_then_succeeds() -> None:
    core, sleeps = _core()
    attempt, calls = _failing([ServerError("x", provider="p", status=500), ConnectError("refused")])
    log = AttemptLog()
    assert await core.retrying("m", attempt, log) == "ok"
    assert calls["n"] == 3
    assert log.attempts == 3
    assert sleeps.calls == [0.25, 0.5]  # rng 0.5 x min(8, 0.5 * 2^(n-1))


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequestError("bad", provider="p", status=400),
        AuthenticationError("key", provider="p", status=401),
        QuotaExceededError("pay", provider="p", status=429, code="insufficient_quota"),
        ServerError("no", provider="p", retryable=False),
    ],
)
async def test_non_retryable_raise_at_once(error: Exception) -> None:
    core, sleeps = _core()
    attempt, calls = _failing([error])
    with pytest.raises(type(error)):
        await core.retrying("m", attempt, AttemptLog())
    assert calls["n"] == 1
    assert sleeps.calls == []


async def test_gives_up_after_max_retries_and_zero_disables() -> None:
    core, sleeps = _core(max_retries=2)
    attempt, calls = _failing([OverloadedError("busy", provider="p")] * 5)
    with pytest.raises(OverloadedError):
        await core.retrying("m", attempt, AttemptLog())
    assert calls["n"] == 3
    assert len(sleeps.calls) == 2
    core0, sleeps0 = _core(max_retries=0)
    attempt0, calls0 = _failing([RateLimitError("slow", provider="p")])
    with pytest.raises(RateLimitError):
        await core0.retrying("m", attempt0, AttemptLog())
    assert calls0["n"] == 1
    assert sleeps0.calls == []


async def test_provider_hint_is_honoured_and_too_long_hint_gives_up() -> None:
    core, sleeps = _core()
    attempt, _ = _failing([RateLimitError("slow", provider="p", retry_after=7.0)])
    assert await core.retrying("m", attempt, AttemptLog()) == "ok"
    assert sleeps.calls == [7.0]
    core2, sleeps2 = _core()
    attempt2, calls2 = _failing([RateLimitError("slow", provider="p", retry_after=3600.0)])
    with pytest.raises(RateLimitError):
        await core2.retrying("m", attempt2, AttemptLog())
    assert calls2["n"] == 1
    assert sleeps2.calls == []


async def test_cancelled_error_propagates_and_is_not_retried() -> None:
    core, sleeps = _core()
    attempt, calls = _failing([asyncio.CancelledError()])
    with pytest.raises(asyncio.CancelledError):
        await core.retrying("m", attempt, AttemptLog())
    assert calls["n"] == 1
    assert sleeps.calls == []


async def test_cancellation_during_backoff_sleep_propagates() -> None:
    started = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        started.set()
        await asyncio.sleep(3600)

    core = HTTPCore(provider="p", policy=RetryPolicy(sleep=slow_sleep))
    attempt, calls = _failing([ServerError("x", provider="p")] * 3)
    task = asyncio.create_task(core.retrying("m", attempt, AttemptLog()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls["n"] == 1
