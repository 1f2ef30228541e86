"""A vcrpy serializer for accord's cassette format, so pytest-recording / vcrpy can play and write them."""

from __future__ import annotations

from typing import Any

from .cassette import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    body_bytes,
    dump_cassette,
    encode_body,
    parse_cassette,
)
from .scrub import Scrubber


def _content_type(headers: dict[str, Any]) -> str | None:
    for key, values in headers.items():
        if key.lower() == "content-type":
            return str(values[0] if isinstance(values, list) and values else values)
    return None


def _headers(raw: dict[str, Any]) -> dict[str, list[str]]:
    return {str(k).lower(): [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in raw.items()}


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def deserialize(text: str) -> dict[str, Any]:
    """accord YAML → vcrpy's cassette dict (bodies as bytes)."""
    cassette = parse_cassette(text)
    interactions = []
    for item in cassette.interactions:
        if item.response is None:
            continue  # vcrpy cannot replay a transport failure; accord's own replay does
        interactions.append(
            {
                "request": {
                    "method": item.request.method,
                    "uri": item.request.uri,
                    "headers": item.request.headers,
                    "body": body_bytes(item.request.body) or None,
                },
                "response": {
                    "status": {"code": item.response.status, "message": ""},
                    "headers": item.response.headers,
                    "body": {"string": body_bytes(item.response.body)},
                },
            }
        )
    return {"interactions": interactions, "version": 1, "meta": cassette.meta}


def serialize(data: dict[str, Any]) -> str:
    """vcrpy's cassette dict → accord YAML: readable bodies, scrubbed (origin `live`: vcrpy records real traffic;
    fill in the rest of `meta` for `accord cassettes lint`)."""
    interactions = []
    for raw in data.get("interactions", []):
        request, response = raw["request"], raw["response"]
        request_headers = _headers(request.get("headers") or {})
        response_headers = _headers(response.get("headers") or {})
        interactions.append(
            Interaction(
                request=RecordedRequest(
                    method=str(request["method"]).upper(),
                    uri=str(request["uri"]),
                    headers=request_headers,
                    body=encode_body(_bytes(request.get("body")), _content_type(request_headers)),
                ),
                response=RecordedResponse(
                    status=int(response["status"]["code"]),
                    headers=response_headers,
                    body=encode_body(
                        _bytes((response.get("body") or {}).get("string")), _content_type(response_headers)
                    ),
                ),
            )
        )
    meta = dict(data.get("meta") or {"origin": "live"})
    scrubber = Scrubber()  # credential headers, `?key=`, token fields and key-shaped strings, as accord's writer
    return dump_cassette(Cassette(meta=meta, interactions=[scrubber.interaction(i) for i in interactions]))


def register(vcr: Any, name: str = "accord") -> None:
    """`register(my_vcr)`: then `VCR(serializer="accord")` (or pytest-recording's `vcr_config`) uses it."""
    import sys

    vcr.register_serializer(name, sys.modules[__name__])
