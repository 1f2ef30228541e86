"""Error classification: status first, then code/type, then anchored phrases that never cross a status family."""

from __future__ import annotations

import pytest

from accord.adapters._errors import (
    ErrorDetails,
    ErrorRule,
    build_error,
    class_for_status,
    classify,
    openai_style_details,
    parse_body,
    request_id_from,
)
from accord.contracts import (
    AuthenticationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (402, QuotaExceededError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (408, ServerError),
        (409, ServerError),
        (413, InvalidRequestError),
        (418, InvalidRequestError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, OverloadedError),
        (529, OverloadedError),
        (302, ProviderError),
        (None, ProviderError),
    ],
)
def test_status_table(status: int | None, cls: type[ProviderError]) -> None:
    assert class_for_status(status) is cls
    if status is not None and status >= 400:
        assert classify(status, ErrorDetails(message="something went wrong"), ())[0] is cls


def test_400_echoing_429_or_max_tokens_stays_invalid_request() -> None:
    echo = ErrorDetails(message="Invalid value for 'max_tokens': 429 is too large; rate limit context window")
    assert classify(400, echo, ())[0] is InvalidRequestError
    limit = ErrorDetails(message="max_tokens is too large: 100000. This model supports at most 16384 completion tokens")
    assert classify(400, limit, ())[0] is InvalidRequestError


def test_context_window_phrases_refine_400() -> None:
    for message in (
        "This model's maximum context length is 128000 tokens. However, you requested 130000 tokens",
        "prompt is too long: 210000 tokens > 200000 maximum",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        "Please reduce the length of the messages or completion.",
        "input length exceeds the context window",
    ):
        assert classify(400, ErrorDetails(message=message), ())[0] is ContextWindowExceededError, message


def test_phrase_never_moves_a_status_family() -> None:
    # a 429 whose message happens to mention the context length stays a rate limit
    details = ErrorDetails(message="maximum context length is 8000 tokens per minute; slow down")
    assert classify(429, details, ())[0] is RateLimitError
    assert classify(500, ErrorDetails(message="prompt is too long"), ())[0] is ServerError


def test_codes_and_types_refine_and_may_move() -> None:
    quota = classify(429, ErrorDetails(message="You exceeded your current quota", code="insufficient_quota"), ())
    assert quota[0] is QuotaExceededError
    assert not QuotaExceededError.retryable
    ctx = classify(400, ErrorDetails(message="too long", code="context_length_exceeded"), ())
    assert ctx[0] is ContextWindowExceededError
    assert classify(400, ErrorDetails(message="bad", code="content_filter"), ())[0] is ContentFilterError
    assert classify(500, ErrorDetails(message="busy", type="overloaded_error"), ())[0] is OverloadedError


def test_in_stream_errors_use_their_own_type_or_code() -> None:
    assert classify(None, ErrorDetails(message="x", type="rate_limit_error"), ())[0] is RateLimitError
    assert classify(None, ErrorDetails(message="x", code="server_error"), ())[0] is ServerError
    assert classify(None, ErrorDetails(message="x", type="weird"), ())[0] is ServerError
    assert classify(None, ErrorDetails(message="x", status=401), ())[0] is AuthenticationError


def test_provider_rules_come_first_and_can_override_retryable() -> None:
    rules = (
        ErrorRule(ServerError, status=400, pattern=r"^upstream hiccup\b", retryable=True),
        ErrorRule(NotFoundError, status=400, pattern=r"\bmodel .* does not exist\b"),
    )
    assert classify(400, ErrorDetails(message="upstream hiccup, retry"), rules) == (ServerError, True)
    assert classify(400, ErrorDetails(message="the model foo does not exist"), rules)[0] is NotFoundError
    assert classify(400, ErrorDetails(message="other"), rules)[0] is InvalidRequestError
    # a status-bound rule is skipped when there is no status at all
    assert classify(None, ErrorDetails(message="upstream hiccup"), rules)[0] is ServerError


def test_error_rule_matching() -> None:
    rule = ErrorRule(RateLimitError, code="c", type="t")
    assert rule.matches(429, ErrorDetails(message="", code="c", type="t"))
    assert not rule.matches(429, ErrorDetails(message="", code="c", type="other"))
    assert not rule.matches(429, ErrorDetails(message="", code="x", type="t"))
    assert not ErrorRule(RateLimitError, status=429).matches(400, ErrorDetails(message=""))
    assert ErrorRule(RateLimitError, pattern="SLOW").matches(None, ErrorDetails(message="too slow"))


def test_build_error_hints_request_id_and_scrubbing() -> None:
    secret = "sk-" + "a" * 40
    err = build_error(
        provider="openai",
        model="gpt-4o",
        status=429,
        details=ErrorDetails(message=f"key {secret} limited. Please try again in 1.5s.", code="rate_limit_exceeded"),
        rules=(),
        headers={"X-Request-Id": "req_1"},
        body={"error": {"message": f"key {secret} and mine-secret"}},
        secrets=("mine-secret",),
    )
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 1.5
    assert err.request_id == "req_1"
    assert err.status == 429
    assert secret not in str(err)
    assert secret not in repr(err)
    assert "mine-secret" not in str(err.body)
    assert "<redacted>" in err.message
    header_hint = build_error(
        provider="p",
        model=None,
        status=429,
        details=ErrorDetails(message="try again in 9s", retry_after=3.0),
        rules=(),
        headers={"retry-after": "5"},
    )
    assert header_hint.retry_after == 5.0
    body_hint = build_error(
        provider="p", model=None, status=429, details=ErrorDetails(message="try again in 9s", retry_after=3.0), rules=()
    )
    assert body_hint.retry_after == 3.0
    in_stream = build_error(
        provider="p", model=None, status=None, details=ErrorDetails(message="x", status=503), rules=(), in_stream=True
    )
    assert isinstance(in_stream, OverloadedError)
    assert in_stream.status == 503
    assert in_stream.in_stream


def test_request_id_and_parse_body() -> None:
    assert request_id_from({"cf-ray": "r"}) == "r"
    assert request_id_from({"x-amzn-RequestId": "a", "cf-ray": "r"}) == "a"
    assert request_id_from({}) is None
    assert parse_body(b'{"a": 1}') == {"a": 1}
    assert parse_body(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert parse_body(b"\xff\xfe") == "\ufffd\ufffd"


def test_openai_style_details() -> None:
    full = openai_style_details(
        {"error": {"message": "m", "type": "t", "param": "p", "code": 42, "status": 503}}, "fallback"
    )
    assert (full.message, full.type, full.param, full.code, full.status) == ("m", "t", "p", "42", 503)
    assert openai_style_details({"detail": "not found"}, "fb").message == "not found"
    assert openai_style_details({"error": "plain"}, "fb").message == "plain"
    assert openai_style_details({"error": {}}, "fb").message == "fb"
    assert openai_style_details({"error": 5}, "fb").message == "fb"
    assert openai_style_details("  Bad Gateway  ", "fb").message == "Bad Gateway"
    assert openai_style_details("", "fb").message == "fb"
    assert openai_style_details(None, "fb").message == "fb"
    assert openai_style_details({"error": {"message": "x", "status": "BAD"}}, "fb").status is None


def test_in_stream_phrase_stays_within_the_type_family() -> None:
    # an in-stream rate-limit error whose message happens to contain a context-window phrase stays a rate limit
    details = ErrorDetails(message="prompt is too long for this tier; rate limited", type="rate_limit_error")
    assert classify(None, details, ())[0] is RateLimitError
    invalid = ErrorDetails(message="prompt is too long: 300000 tokens", type="invalid_request_error")
    assert classify(None, invalid, ())[0] is ContextWindowExceededError
    untyped = ErrorDetails(message="prompt is too long")
    assert classify(None, untyped, ())[0] is ContextWindowExceededError
