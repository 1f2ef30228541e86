"""Provider JSON helpers: typed reads that name a malformed field's path, token counts, provider_options merging."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from accord.contracts import ResponseParseError

T = TypeVar("T")

_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def raw_text(value: Any) -> str:
    """What a `ResponseParseError` carries as `raw`: the offending JSON, bounded."""
    return json.dumps(value, default=str)[:4000]


def typed(value: Any, kind: type[T], path: str, provider: str, *, raw: Any = None) -> T | None:
    """`value` when absent (None) or of `kind`; any other type is not the provider's documented format.

    `raw` is the enclosing JSON to report (default: the value itself)."""
    if value is None or isinstance(value, kind):
        return value
    what = _KINDS.get(kind, kind.__name__)
    raise ResponseParseError(
        f"{provider}: `{path}` is not {what}", raw=raw_text(value if raw is None else raw), provider=provider
    )


def tool_name(value: Any, path: str, provider: str, *, raw: Any) -> str:
    """A tool call's name. A call without one cannot be routed to any tool: not an answer accord can return."""
    if isinstance(value, str) and value:
        return value
    raise ResponseParseError(f"{provider}: a tool call has no name (`{path}`)", raw=raw_text(raw), provider=provider)


def token_count(value: Any) -> int:
    """A usage count as reported: a positive integer, else 0 (absent, null, negative or not a number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def merge_options(body: dict[str, Any], options: Mapping[str, Any]) -> None:
    """`provider_options` over the body: verbatim, except that two objects under one key merge (one level)."""
    for key, value in options.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            body[key] = {**current, **value}
        else:
            body[key] = value


def json_object(text: str, provider: str, what: str) -> dict[str, Any]:
    """One stream frame (SSE data or an NDJSON line) as a JSON object, else a `ResponseParseError` naming `what`."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ResponseParseError(f"{provider}: {what} is not JSON", raw=text, provider=provider) from exc
    if not isinstance(value, dict):
        raise ResponseParseError(f"{provider}: {what} is not an object", raw=text, provider=provider)
    return value
