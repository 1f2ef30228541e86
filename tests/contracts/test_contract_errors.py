"""The error taxonomy: hierarchy, retryable defaults, messages without secrets."""

from __future__ import annotations

import pytest

from accord.contracts import (
    ERROR_CLASSES,
    AccordError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    NotFoundError,
    OutputValidationError,
    OverloadedError,
    PermissionDeniedError,
    ProviderError,
    ProviderInfo,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    Response,
    ResponseParseError,
    ServerError,
    StreamInterruptedError,
    TransportError,
    UnsupportedFeatureError,
    Usage,
)

RETRYABLE = {RateLimitError, OverloadedError, ServerError, TransportError, ConnectError, RequestTimeoutError}


@pytest.mark.parametrize("cls", list(ERROR_CLASSES.values()), ids=list(ERROR_CLASSES))
def test_retryable_defaults(cls: type[AccordError]) -> None:
    assert issubclass(cls, AccordError)
    assert cls.retryable is (cls in RETRYABLE)


def test_hierarchy() -> None:
    assert issubclass(ContextWindowExceededError, InvalidRequestError)
    assert issubclass(ContentFilterError, InvalidRequestError)
    assert issubclass(ConnectError, TransportError)
    assert issubclass(RequestTimeoutError, TransportError)
    for cls in (AuthenticationError, PermissionDeniedError, NotFoundError, QuotaExceededError):
        assert issubclass(cls, ProviderError)
    assert not issubclass(QuotaExceededError, RateLimitError)
    assert len(ERROR_CLASSES) == 20


def test_provider_error_fields_str_repr() -> None:
    err = RateLimitError(
        "slow down", provider="openai", model="gpt-4o", status=429, code="rate_limit_exceeded", retry_after=1.5
    )
    assert str(err) == "openai gpt-4o 429 [rate_limit_exceeded]: slow down"
    assert repr(err).startswith("RateLimitError(provider='openai', model='gpt-4o', status=429")
    assert err.retryable is True
    assert err.retry_after == 1.5
    assert err.partial is None
    assert not err.in_stream
    assert str(ProviderError("x", provider="p")) == "p: x"


def test_retryable_override_is_per_instance() -> None:
    err = ServerError("nope", provider="p", retryable=False)
    assert err.retryable is False
    assert ServerError("again", provider="p").retryable is True
    assert InvalidRequestError("x", provider="p", retryable=True).retryable is True


def test_other_errors_carry_their_context() -> None:
    unsupported = UnsupportedFeatureError("no vision", feature="vision", provider="p", model="m")
    assert (unsupported.feature, unsupported.provider, unsupported.model) == ("vision", "p", "m")
    transport = ConnectError("refused", provider="p", model="m")
    assert transport.provider == "p"
    assert transport.retryable
    partial = Response(id="", model="m", finish_reason="error", provider=ProviderInfo(name="p"))
    cause = TransportError("reset")
    interrupted = StreamInterruptedError("cut", partial=partial, cause=cause)
    assert interrupted.partial is partial
    assert interrupted.cause is cause
    assert not interrupted.retryable
    parse = ResponseParseError("bad", raw=b"<html>", provider="p")
    assert parse.raw == b"<html>"
    invalid = OutputValidationError("still bad", attempts=3, errors=("e1",), usage=Usage(input_tokens=1))
    assert invalid.attempts == 3
    assert invalid.errors == ["e1"]
    assert invalid.responses == []
    assert not ConfigurationError("x").retryable
