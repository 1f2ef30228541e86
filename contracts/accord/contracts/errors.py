"""The error taxonomy: every failure accord raises is one of these, with the same meaning for every provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .response import Response
    from .usage import Usage


class AccordError(Exception):
    """Base of every accord error. `retryable` says whether sending the same request again may succeed."""

    retryable: bool = False


class ConfigurationError(AccordError):
    """Missing key, unknown provider or model reference: raised before any network call."""


class UnsupportedFeatureError(AccordError):
    """The request needs a capability the model or adapter lacks: raised before any network call."""

    def __init__(
        self,
        message: str,
        *,
        feature: str | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message)
        self.feature = feature
        self.provider = provider
        self.model = model


class ProviderError(AccordError):
    """The provider answered with an error. `body` is the scrubbed error body (parsed JSON or text)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        status: int | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        in_stream: bool = False,
        partial: Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial  # what a stream delivered before the error arrived inside it
        self.provider = provider
        self.model = model
        self.status = status
        self.code = code
        self.type = type
        self.param = param
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        self.in_stream = in_stream
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        where = f"{self.provider}" + (f" {self.model}" if self.model else "")
        status = f" {self.status}" if self.status is not None else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{status}{code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r}, status={self.status!r},"
            f" code={self.code!r}, message={self.message!r})"
        )


class AuthenticationError(ProviderError):
    """401 and equivalents: the key is missing, wrong or expired."""


class PermissionDeniedError(ProviderError):
    """403: the key is valid but may not do this."""


class NotFoundError(ProviderError):
    """404, or an unknown model."""


class InvalidRequestError(ProviderError):
    """400 / 422: the provider rejected the request as malformed."""


class ContextWindowExceededError(InvalidRequestError):
    """The prompt is longer than the model's context window."""


class ContentFilterError(InvalidRequestError):
    """The provider's safety system rejected the request."""


class RateLimitError(ProviderError):
    """429: too many requests; `retry_after` says how long to wait when the provider said."""

    retryable = True


class QuotaExceededError(ProviderError):
    """402, insufficient quota, billing: waiting will not help."""


class OverloadedError(ProviderError):
    """529, 503 overloaded: the provider is busy; retry later."""

    retryable = True


class ServerError(ProviderError):
    """Other 5xx."""

    retryable = True


class TransportError(AccordError):
    """The request never got an HTTP answer (connection refused, reset, timed out)."""

    retryable = True

    def __init__(self, message: str, *, provider: str | None = None, model: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model


class ConnectError(TransportError):
    """The connection could not be made."""


class RequestTimeoutError(TransportError):
    """The provider did not answer in time."""


class StreamInterruptedError(AccordError):
    """The stream broke mid-way; `partial` is the response assembled from what arrived."""

    def __init__(self, message: str, *, partial: Response, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.cause = cause


class ResponseParseError(AccordError):
    """The provider sent something that is not its documented format; `raw` is what it sent."""

    def __init__(self, message: str, *, raw: str | bytes | None = None, provider: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.provider = provider


class OutputValidationError(AccordError):
    """Structured output was still invalid after every attempt."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        errors: Sequence[str],
        usage: Usage,
        last_output: Any = None,
        responses: Sequence[Response] = (),
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.errors = list(errors)
        self.usage = usage
        self.last_output = last_output
        self.responses = list(responses)


ERROR_CLASSES: Mapping[str, type[AccordError]] = {
    cls.__name__: cls
    for cls in (
        AccordError,
        ConfigurationError,
        UnsupportedFeatureError,
        ProviderError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        InvalidRequestError,
        ContextWindowExceededError,
        ContentFilterError,
        RateLimitError,
        QuotaExceededError,
        OverloadedError,
        ServerError,
        TransportError,
        ConnectError,
        RequestTimeoutError,
        StreamInterruptedError,
        ResponseParseError,
        OutputValidationError,
    )
}
