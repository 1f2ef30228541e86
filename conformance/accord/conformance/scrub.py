"""Cassette scrubbing: credentials out of headers, query parameters and bodies before anything is written."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from accord.adapters._scrub import (
    REDACTED,
    SECRET_FIELDS,
    SECRET_HEADERS,
    SECRET_PATTERNS,
    SECRET_QUERY_PARAMS,
    scrub_text,
)

from .cassette import Interaction, RecordedRequest, RecordedResponse

# Header name shapes that carry credentials even when not in the fixed list (x-foo-api-key, x-auth-token).
_SECRET_HEADER_SHAPE = re.compile(r"(?i)(?:^|-)(?:api-?key|auth-token|access-token|secret|signature)$")
# `product/1.2.3` tokens of a User-Agent: the HTTP library's version says nothing about the API, and keeping it
# would make every dependency upgrade look like a change of every cassette.
_PRODUCT_VERSION = re.compile(r"/[^\s/]+")


def unversioned_user_agent(value: str) -> str:
    """`python-httpx/0.28.1` → `python-httpx`; `Python/3.11 aiohttp/3.10.5` → `Python aiohttp`."""
    return _PRODUCT_VERSION.sub("", value)


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or bool(_SECRET_HEADER_SHAPE.search(lowered))


@dataclass
class Scrubber:
    """Replaces credentials with a marker. `secrets` are exact values known to be secret (the keys in use)."""

    secrets: tuple[str, ...] = ()
    extra_headers: frozenset[str] = field(default_factory=frozenset)
    volatile: Mapping[str, Any] = field(default_factory=dict)  # JSON key → stand-in value (live recordings)
    origin: str | None = None  # stand-in `scheme://host` for recorded URIs (servers on random local ports)

    def text(self, text: str) -> str:
        return scrub_text(text, self.secrets)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: (
                    REDACTED
                    if isinstance(k, str) and k.lower() in SECRET_FIELDS and v
                    else self.volatile[k]
                    if k in self.volatile
                    else self.value(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def headers(self, headers: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, values in headers.items():
            if self.origin and name.lower() == "host":
                out[name] = [urlsplit(self.origin).netloc for _ in values]
            elif is_secret_header(name) or name.lower() in self.extra_headers:
                out[name] = [REDACTED for _ in values]
            elif name.lower() == "user-agent":
                out[name] = [unversioned_user_agent(self.text(v)) for v in values]
            else:
                out[name] = [self.text(v) for v in values]
        return out

    def uri(self, uri: str) -> str:
        parts = urlsplit(uri)
        if self.origin:
            stand_in = urlsplit(self.origin)
            parts = parts._replace(scheme=stand_in.scheme, netloc=stand_in.netloc)
            uri = urlunsplit(parts)
        if not parts.query:
            return self.text(uri)
        query = [
            (k, REDACTED if k.lower() in SECRET_QUERY_PARAMS else self.text(v))
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return self.text(urlunsplit(parts._replace(query=urlencode(query, safe="<>"))))

    def body(self, body: dict[str, Any]) -> dict[str, Any]:
        if "text" in body and isinstance(body["text"], str) and "=" in body["text"]:
            return {"text": self._form(body["text"])}
        return {k: self.value(v) for k, v in body.items()}

    def _form(self, text: str) -> str:
        # Form-encoded token exchanges (`grant_type=...&apikey=...`) keep their shape with the secret removed.
        pairs = parse_qsl(text, keep_blank_values=True)
        if not pairs:
            return self.text(text)
        return urlencode([(k, REDACTED if k.lower() in SECRET_FIELDS else self.text(v)) for k, v in pairs], safe="<>")

    def interaction(self, item: Interaction) -> Interaction:
        request = RecordedRequest(
            method=item.request.method,
            uri=self.uri(item.request.uri),
            headers=self.headers(item.request.headers),
            body=self.body(item.request.body),
        )
        response = None
        if item.response is not None:
            response = RecordedResponse(
                status=item.response.status,
                headers=self.headers(item.response.headers),
                body=self.body(item.response.body),
                cut=item.response.cut,
            )
        return Interaction(request=request, response=response, error=item.error)

    def leaks(self, text: str) -> list[str]:
        """Secret-like substrings still in `text` (shown truncated, so a report never repeats a key)."""
        hits = [m.group(0) for p in SECRET_PATTERNS for m in p.finditer(text)]
        hits += [s for s in self.secrets if s and s in text]
        return [h[:6] + "…" for h in hits]


def secret_like(text: str, secrets: Iterable[str] = ()) -> list[str]:
    return Scrubber(secrets=tuple(secrets)).leaks(text)
