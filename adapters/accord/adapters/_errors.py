"""Error classification: status first, then the provider's structured code/type, then anchored phrases."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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

from ._retry import parse_try_again, retry_after_from_headers
from ._scrub import scrub_value

STATUS_CLASSES: Mapping[int, type[ProviderError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: QuotaExceededError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: ServerError,  # the server timed out waiting: worth one more try
    409: ServerError,  # conflict on a concurrent request: providers ask to retry
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
    503: OverloadedError,
    529: OverloadedError,
}


def class_for_status(status: int | None) -> type[ProviderError]:
    if status is None:
        return ProviderError
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return InvalidRequestError
    return ProviderError


@dataclass(frozen=True)
class ErrorDetails:
    """What a wire module read out of an error body."""

    message: str
    code: str | None = None
    type: str | None = None
    param: str | None = None
    status: int | None = None  # a status named inside the body (in-stream errors)
    retry_after: float | None = None  # a hint inside the body (Gemini RetryInfo)


@dataclass(frozen=True)
class ErrorRule:
    """Refines the status class: matches when every given field matches; `pattern` is searched in the message."""

    error: type[ProviderError]
    status: int | None = None
    code: str | None = None
    type: str | None = None
    pattern: str | None = None
    retryable: bool | None = None
    _compiled: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pattern is not None:
            object.__setattr__(self, "_compiled", re.compile(self.pattern, re.IGNORECASE))

    def matches(self, status: int | None, details: ErrorDetails) -> bool:
        if self.status is not None and self.status != status:
            return False
        if self.code is not None and self.code != details.code:
            return False
        if self.type is not None and self.type != details.type:
            return False
        return self._compiled is None or bool(self._compiled.search(details.message))


# Refinements every provider shares; wire modules put their own rules before these.
COMMON_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(QuotaExceededError, code="insufficient_quota"),
    ErrorRule(ContextWindowExceededError, code="context_length_exceeded"),
    ErrorRule(ContextWindowExceededError, pattern=r"\bmaximum context length is \d+ tokens"),
    ErrorRule(ContextWindowExceededError, pattern=r"\bexceeds the context window\b"),
    ErrorRule(ContextWindowExceededError, pattern=r"\bprompt is too long\b"),
    ErrorRule(ContextWindowExceededError, pattern=r"\binput token count\b.*\bexceeds the maximum\b"),
    ErrorRule(ContextWindowExceededError, pattern=r"\binput is too long for requested model\b"),
    ErrorRule(ContextWindowExceededError, pattern=r"\breduce the length of the messages\b"),
    ErrorRule(ContextWindowExceededError, pattern=r"\btoo large for model with \d+ maximum context length\b"),
    ErrorRule(ContentFilterError, code="content_filter"),
    ErrorRule(OverloadedError, type="overloaded_error"),
)

# In a 200 stream there is no HTTP status: the error's own type or code decides.
STREAM_TYPE_CLASSES: Mapping[str, type[ProviderError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "overloaded_error": OverloadedError,
    "api_error": ServerError,
    "server_error": ServerError,
    "billing_error": QuotaExceededError,
    "insufficient_quota": QuotaExceededError,
    "request_too_large": InvalidRequestError,
    "timeout_error": ServerError,
}


def classify(
    status: int | None, details: ErrorDetails, rules: Sequence[ErrorRule]
) -> tuple[type[ProviderError], bool | None]:
    """The error class (and a retryable override, if a rule sets one) for an HTTP status and body details."""
    effective = status if status is not None else details.status
    # The family a phrase may refine: the status class, or (no status: in a stream) the error's own type/code class.
    base = class_for_status(effective) if effective is not None else _stream_class(details)
    for rule in (*rules, *COMMON_RULES):
        if rule.status is not None and effective is None:
            continue
        if rule.matches(effective, details):
            # A phrase rule refines within the status family (a 400 stays a 400); a code/type rule may move it.
            phrase_only = rule.pattern is not None and rule.code is None and rule.type is None and rule.status is None
            if phrase_only and base is not None and not issubclass(rule.error, base):
                continue
            return rule.error, rule.retryable
    return (base or ServerError), None


def _stream_class(details: ErrorDetails) -> type[ProviderError] | None:
    for key in (details.type, details.code):
        if key and key in STREAM_TYPE_CLASSES:
            return STREAM_TYPE_CLASSES[key]
    return None


def request_id_from(headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in (
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "apim-request-id",
        "x-goog-request-id",
        "cf-ray",
    ):
        if name in lowered:
            return lowered[name]
    return None


def parse_body(raw: bytes) -> Any:
    """An error body as JSON when it is JSON (some providers send JSON as octet-stream), else text."""
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_error(
    *,
    provider: str,
    model: str | None,
    status: int | None,
    details: ErrorDetails,
    rules: Sequence[ErrorRule],
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    secrets: tuple[str, ...] = (),
    in_stream: bool = False,
) -> ProviderError:
    """The typed error for a provider's error answer, with the retry hint resolved and the body scrubbed."""
    headers = headers or {}
    cls, retryable = classify(status, details, rules)
    retry_after = retry_after_from_headers(headers)
    if retry_after is None:
        retry_after = details.retry_after
    if retry_after is None:
        retry_after = parse_try_again(details.message)
    return cls(
        scrub_value(details.message, secrets),
        provider=provider,
        model=model,
        status=status if status is not None else details.status,
        code=details.code,
        type=details.type,
        param=details.param,
        request_id=request_id_from(headers),
        body=scrub_value(body, secrets),
        retry_after=retry_after,
        retryable=retryable,
        in_stream=in_stream,
    )


def openai_style_details(body: Any, fallback: str) -> ErrorDetails:
    """`{"error": {"message", "type", "param", "code"}}` — OpenAI and its many imitators."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            code = err.get("code")
            status = err.get("status_code") or err.get("status")
            return ErrorDetails(
                message=str(err.get("message") or err.get("detail") or fallback),
                code=None if code is None else str(code),
                type=None if err.get("type") is None else str(err.get("type")),
                param=None if err.get("param") is None else str(err.get("param")),
                status=status if isinstance(status, int) else None,
            )
        if isinstance(err, str):
            return ErrorDetails(message=err)
    if isinstance(body, str) and body.strip():
        return ErrorDetails(message=body.strip()[:2000])
    return ErrorDetails(message=fallback)
