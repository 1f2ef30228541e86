"""httpx transports for the suite: replay a cassette, answer from a responder, record whatever passes through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import httpx

from .cassette import (
    Cassette,
    CassetteError,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    body_chunks,
    describe_mismatch,
    encode_body,
    redacted_headers,
    request_key,
)
from .responders import Responder, SentRequest, WireReply
from .scenario import Answer, Failure, Scenario, Timeout
from .scrub import Scrubber

# Response headers that describe the transfer, not the content: replay serves decoded bytes without them.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})

# Transport failures a cassette can name (`error:`), raised again on replay.
_ERRORS: dict[str, type[httpx.TransportError]] = {
    cls.__name__: cls
    for cls in (
        httpx.ReadTimeout,
        httpx.ConnectTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.ConnectError,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    )
}


class CassetteMismatch(CassetteError):
    """The adapter sent a request the cassette does not hold (or more requests than it holds)."""


class NetworkForbidden(AssertionError):
    """A request was sent where the contract says none may be (a refused capability)."""


def split_chunks(chunks: Sequence[bytes]) -> list[bytes]:
    """Each chunk cut in two at an awkward place (inside a UTF-8 sequence when there is one): a decoder must
    reassemble events from any split, as a real network delivers them."""
    out: list[bytes] = []
    for chunk in chunks:
        if len(chunk) < 2:
            out.append(chunk)
            continue
        cut = len(chunk) // 2
        multibyte = next((i + 1 for i in range(len(chunk) - 1) if chunk[i] >= 0xC0), None)
        if multibyte is not None:
            cut = multibyte  # just after a UTF-8 lead byte
        out += [chunk[:cut], chunk[cut:]]
    return out


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: Sequence[bytes], cut: bool, request: httpx.Request) -> None:
        self.chunks = chunks
        self.cut = cut
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.cut:
            raise httpx.RemoteProtocolError("peer closed connection without completing the body", request=self.request)


def _response(
    status: int, headers: Sequence[tuple[str, str]], chunks: Sequence[bytes], cut: bool, request: httpx.Request
) -> httpx.Response:
    kept = [(k, v) for k, v in headers if k.lower() not in _TRANSFER_HEADERS]
    return httpx.Response(status, headers=kept, stream=_Chunks(chunks, cut, request), request=request)


def recorded_request(request: httpx.Request, scrubber: Scrubber) -> RecordedRequest:
    raw = RecordedRequest(
        method=request.method,
        uri=str(request.url),
        headers=redacted_headers(request.headers.multi_items()),
        body=encode_body(request.content, request.headers.get("content-type")),
    )
    return Scrubber.interaction(scrubber, Interaction(request=raw)).request


class ReplayTransport(httpx.AsyncBaseTransport):
    """Serves a cassette's interactions in order; a request that differs from the recorded one fails loudly."""

    def __init__(self, cassette: Cassette, scrubber: Scrubber | None = None, *, split: bool = True) -> None:
        self.cassette = cassette
        self.scrubber = scrubber or Scrubber()
        self.split = split
        self.position = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        sent = recorded_request(request, self.scrubber)
        if self.position >= len(self.cassette.interactions):
            raise CassetteMismatch(
                f"the adapter sent request #{self.position + 1} but the cassette holds "
                f"{len(self.cassette.interactions)}: {sent.method} {sent.path}"
            )
        item = self.cassette.interactions[self.position]
        if request_key(sent.method, sent.uri, sent.body) != request_key(
            item.request.method, item.request.uri, item.request.body
        ):
            raise CassetteMismatch(
                f"request #{self.position + 1} differs from the cassette:\n{describe_mismatch(item.request, sent)}"
            )
        self.position += 1
        if item.error is not None:
            raise _ERRORS.get(item.error, httpx.ReadError)(f"recorded {item.error}", request=request)
        if item.response is None:
            raise CassetteError(f"interaction #{self.position} has neither a response nor an error")
        headers = [(k, v) for k, vs in item.response.headers.items() for v in vs]
        chunks = body_chunks(item.response.body)
        if self.split and len(chunks) > 1:  # a stream: deliver its events split across reads
            chunks = split_chunks(chunks)
        return _response(item.response.status, headers, chunks, item.response.cut, request)


class ResponderTransport(httpx.AsyncBaseTransport):
    """Answers each request with the next step of a scenario, rendered by a wire protocol's responder."""

    def __init__(self, responder: Responder, scenario: Scenario) -> None:
        self.responder = responder
        self.scenario = scenario
        self.position = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if self.position >= len(self.scenario):
            raise CassetteMismatch(f"the scenario has {len(self.scenario)} step(s); the adapter sent another request")
        step = self.scenario[self.position]
        self.position += 1
        sent = SentRequest.of(request)
        reply: WireReply
        if isinstance(step, Timeout):
            raise httpx.ReadTimeout("the provider did not answer", request=request)
        if isinstance(step, Failure):
            reply = self.responder.failure(step, sent)
        elif isinstance(step, Answer):
            reply = self.responder.answer(step, sent, self.responder.is_streaming(sent))
        else:  # pragma: no cover - the Step union is closed
            raise TypeError(f"unknown scenario step {step!r}")
        return _response(reply.status, list(reply.headers.items()), reply.chunks, reply.cut, request)


class ForbiddenTransport(httpx.AsyncBaseTransport):
    """Refuses every request: used where the contract says the adapter must refuse before the network."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise NetworkForbidden(f"unexpected network call: {request.method} {request.url.path}")


@dataclass
class _Pending:
    request: RecordedRequest
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    cut: bool = False
    error: str | None = None
    answered: bool = False


class _Tee(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.Response, pending: _Pending) -> None:
        self.inner = inner
        self.pending = pending

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.inner.aiter_bytes():
                self.pending.chunks.append(chunk)
                yield chunk
        except httpx.TransportError:
            self.pending.cut = True
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to `inner` and keeps every exchange (decoded bodies) for a cassette."""

    def __init__(self, inner: httpx.AsyncBaseTransport, scrubber: Scrubber | None = None) -> None:
        self.inner = inner
        self.scrubber = scrubber or Scrubber()
        self._pending: list[_Pending] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        pending = _Pending(request=recorded_request(request, self.scrubber))
        self._pending.append(pending)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            pending.error = type(exc).__name__
            raise
        pending.status = response.status_code
        pending.headers = list(response.headers.multi_items())
        pending.answered = True
        return httpx.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.multi_items() if k.lower() not in _TRANSFER_HEADERS],
            stream=_Tee(response, pending),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def interactions(self) -> list[Interaction]:
        out: list[Interaction] = []
        for p in self._pending:
            if not p.answered:
                out.append(Interaction(request=p.request, error=p.error or "ReadError"))
                continue
            content_type = next((v for k, v in p.headers if k.lower() == "content-type"), None)
            headers = redacted_headers((k, v) for k, v in p.headers if k.lower() not in _TRANSFER_HEADERS)
            response = RecordedResponse(
                status=p.status, headers=headers, body=encode_body(b"".join(p.chunks), content_type), cut=p.cut
            )
            out.append(self.scrubber.interaction(Interaction(request=p.request, response=response)))
        return out
