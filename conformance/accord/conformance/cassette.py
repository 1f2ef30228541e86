"""Cassettes: the on-disk format (vcrpy-shaped YAML with readable bodies), body codecs, load/save and matching."""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

import yaml

from accord.adapters._scrub import REDACTED

if TYPE_CHECKING:
    from .scrub import Scrubber

Origin = Literal["live", "synthetic"]
ORIGINS: tuple[str, ...] = ("live", "synthetic")
META_KEYS: tuple[str, ...] = ("case", "adapter", "wire", "origin", "model", "recorded", "accord_version", "digest")
FORMAT_VERSION = 1

# A body as stored: one key naming its codec, e.g. {"json": {...}}, {"sse": [...]}, {"ndjson": [...]},
# {"text": "..."}, {"base64": "..."}; an empty body is {}.
Body = dict[str, Any]


# --- body codecs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyCodec:
    """How one kind of body is stored readably: `encode` bytes → YAML-able value (None: not this kind),
    `decode` back to the chunks a replay delivers (one per event for streams)."""

    name: str
    content_types: tuple[str, ...]
    encode: Callable[[bytes], Any]
    decode: Callable[[Any], list[bytes]]


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _encode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _decode_json(value: Any) -> list[bytes]:
    return [_dumps(value).encode("utf-8")]


def _encode_sse(raw: bytes) -> Any:
    from accord.adapters._sse import SSEDecoder

    try:
        decoder = SSEDecoder()
        events = decoder.feed(raw) + decoder.flush()
    except UnicodeDecodeError:
        return None
    stored: list[dict[str, Any]] = []
    last_id: str | None = None
    for event in events:
        item: dict[str, Any] = {}
        if event.event != "message":
            item["event"] = event.event
        if event.id is not None and event.id != last_id:  # the last event id persists: store it when it changes
            item["id"] = last_id = event.id
        item["data"] = _json_or_text(event.data)
        stored.append(item)
    return stored


def _decode_sse(events: Any) -> list[bytes]:
    chunks: list[bytes] = []
    for item in events:
        lines: list[str] = []
        if "event" in item:
            lines.append(f"event: {item['event']}")
        if "id" in item:
            lines.append(f"id: {item['id']}")
        data = item.get("data", "")
        text = data if isinstance(data, str) else _dumps(data)
        lines.extend(f"data: {line}" for line in text.split("\n"))
        chunks.append(("\n".join(lines) + "\n\n").encode("utf-8"))
    return chunks


def _encode_ndjson(raw: bytes) -> Any:
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None
    return [_json_or_text(line) for line in lines if line.strip()]


def _decode_ndjson(lines: Any) -> list[bytes]:
    return [((line if isinstance(line, str) else _dumps(line)) + "\n").encode("utf-8") for line in lines]


def _encode_text(raw: bytes) -> Any:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_text(text: Any) -> list[bytes]:
    return [str(text).encode("utf-8")]


def _encode_base64(raw: bytes) -> Any:
    return base64.b64encode(raw).decode("ascii")


def _decode_base64(text: Any) -> list[bytes]:
    return [base64.b64decode(str(text))]


_CODECS: dict[str, BodyCodec] = {}


def register_codec(codec: BodyCodec) -> None:
    """Add (or replace) a body codec; content types are matched by prefix, the longest match wins."""
    _CODECS[codec.name] = codec


for _codec in (
    BodyCodec("json", ("application/json", "application/problem+json"), _encode_json, _decode_json),
    BodyCodec("sse", ("text/event-stream",), _encode_sse, _decode_sse),
    BodyCodec(
        "ndjson", ("application/x-ndjson", "application/jsonl", "application/json-seq"), _encode_ndjson, _decode_ndjson
    ),
    BodyCodec("text", ("text/",), _encode_text, _decode_text),
    BodyCodec("base64", (), _encode_base64, _decode_base64),
):
    register_codec(_codec)


def codec_for(content_type: str | None) -> BodyCodec | None:
    media = (content_type or "").split(";")[0].strip().lower()
    best: BodyCodec | None = None
    best_len = -1
    for codec in _CODECS.values():
        for prefix in codec.content_types:
            if media.startswith(prefix) and len(prefix) > best_len:
                best, best_len = codec, len(prefix)
    return best


def encode_body(raw: bytes, content_type: str | None) -> Body:
    """Bytes → the readable stored form: by content type, then JSON, then text, then base64."""
    if not raw:
        return {}
    preferred = codec_for(content_type)
    for codec in (preferred, _CODECS["json"], _CODECS["text"], _CODECS["base64"]):
        if codec is None:
            continue
        value = codec.encode(raw)
        if value is not None:
            return {codec.name: value}
    return {"base64": _encode_base64(raw)}  # unreachable in practice: base64 always encodes


def body_chunks(body: Body) -> list[bytes]:
    """The stored body as the chunks a replay delivers."""
    if not body:
        return []
    (name, value), *_ = body.items()
    codec = _CODECS.get(name)
    if codec is None:
        raise CassetteError(f"unknown body codec {name!r} (known: {', '.join(sorted(_CODECS))})")
    return codec.decode(value)


def body_bytes(body: Body) -> bytes:
    return b"".join(body_chunks(body))


def body_value(body: Body) -> Any:
    """The parsed value inside a stored body (JSON object, event list, text), or None when empty."""
    return next(iter(body.values())) if body else None


# --- the cassette model --------------------------------------------------------------------------------------


class CassetteError(Exception):
    """A cassette is missing, malformed, or does not match what the adapter sent."""


@dataclass
class RecordedRequest:
    method: str
    uri: str
    headers: dict[str, list[str]]
    body: Body

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return sorted(parse_qsl(urlsplit(self.uri).query, keep_blank_values=True))


@dataclass
class RecordedResponse:
    status: int
    headers: dict[str, list[str]]
    body: Body
    cut: bool = False  # the connection dropped after the body (a stream cut mid-way)

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None


@dataclass
class Interaction:
    """One HTTP exchange; `error` names the transport failure when there was no response (e.g. ReadTimeout)."""

    request: RecordedRequest
    response: RecordedResponse | None = None
    error: str | None = None


@dataclass
class Cassette:
    meta: dict[str, Any]
    interactions: list[Interaction] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return str(self.meta.get("origin", ""))

    @property
    def model(self) -> str:
        return str(self.meta.get("model", ""))

    def digest(self) -> str:
        return interactions_digest(self.interactions)


def _headers_to_yaml(headers: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {k: list(v) for k, v in sorted(headers.items())}


def interaction_to_dict(item: Interaction) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request": {
            "method": item.request.method,
            "uri": item.request.uri,
            "headers": _headers_to_yaml(item.request.headers),
            "body": item.request.body,
        }
    }
    if item.response is not None:
        response: dict[str, Any] = {
            "status": {"code": item.response.status, "message": _reason(item.response.status)},
            "headers": _headers_to_yaml(item.response.headers),
            "body": item.response.body,
        }
        if item.response.cut:
            response["cut"] = True
        out["response"] = response
    if item.error is not None:
        out["error"] = item.error
    return out


def interaction_from_dict(raw: Mapping[str, Any]) -> Interaction:
    req = raw["request"]
    request = RecordedRequest(
        method=str(req["method"]).upper(),
        uri=str(req["uri"]),
        headers={str(k): [str(v) for v in vs] for k, vs in (req.get("headers") or {}).items()},
        body=dict(req.get("body") or {}),
    )
    response: RecordedResponse | None = None
    if raw.get("response") is not None:
        resp = raw["response"]
        status = resp["status"]
        response = RecordedResponse(
            status=int(status["code"] if isinstance(status, Mapping) else status),
            headers={str(k): [str(v) for v in vs] for k, vs in (resp.get("headers") or {}).items()},
            body=dict(resp.get("body") or {}),
            cut=bool(resp.get("cut", False)),
        )
    error = raw.get("error")
    return Interaction(request=request, response=response, error=None if error is None else str(error))


def interactions_digest(interactions: Sequence[Interaction]) -> str:
    """SHA-256 over the canonical JSON of the interactions: lint uses it to catch hand edits."""
    canonical = json.dumps([interaction_to_dict(i) for i in interactions], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump_cassette(cassette: Cassette) -> str:
    meta = dict(cassette.meta)
    meta["digest"] = cassette.digest()
    document = {
        "meta": {k: meta[k] for k in (*META_KEYS, *sorted(set(meta) - set(META_KEYS))) if k in meta},
        "interactions": [interaction_to_dict(i) for i in cassette.interactions],
        "version": FORMAT_VERSION,
    }
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def parse_cassette(text: str, *, source: str = "<cassette>") -> Cassette:
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise CassetteError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise CassetteError(f"{source}: a cassette needs an `interactions` list")
    try:
        interactions = [interaction_from_dict(i) for i in document["interactions"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise CassetteError(f"{source}: malformed interaction: {exc!r}") from exc
    meta = document.get("meta")
    return Cassette(meta=dict(meta) if isinstance(meta, dict) else {}, interactions=interactions)


def load_cassette(path: Path) -> Cassette:
    if not path.is_file():
        raise CassetteError(f"no cassette at {path}")
    return parse_cassette(path.read_text(encoding="utf-8"), source=str(path))


def save_cassette(path: Path, cassette: Cassette, scrubber: Scrubber) -> None:
    """Scrub, then write. Nothing reaches disk unscrubbed."""
    scrubbed = Cassette(meta=dict(cassette.meta), interactions=[scrubber.interaction(i) for i in cassette.interactions])
    text = dump_cassette(scrubbed)
    leaks = scrubber.leaks(text)
    if leaks:
        raise CassetteError(f"refusing to write {path.name}: secret-like text survived scrubbing ({len(leaks)} hits)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def cassette_path(root: Path, adapter: str, case_id: str) -> Path:
    return root / adapter / f"{case_id}.yaml"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- matching ------------------------------------------------------------------------------------------------


def normalized_body(body: Body) -> Any:
    """What replay compares: the parsed JSON (key order irrelevant), else the stored value."""
    return body_value(body)


def request_key(method: str, uri: str, body: Body) -> tuple[str, str, list[tuple[str, str]], str]:
    parts = urlsplit(uri)
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    return method.upper(), parts.path, query, json.dumps(normalized_body(body), sort_keys=True, ensure_ascii=False)


def describe_mismatch(expected: RecordedRequest, actual: RecordedRequest) -> str:
    """A readable account of how the adapter's request differs from the recorded one."""
    lines: list[str] = []
    if expected.method != actual.method:
        lines.append(f"method: recorded {expected.method}, sent {actual.method}")
    if expected.path != actual.path:
        lines.append(f"path: recorded {expected.path}, sent {actual.path}")
    if expected.query != actual.query:
        lines.append(f"query: recorded {expected.query}, sent {actual.query}")
    want = json.dumps(normalized_body(expected.body), sort_keys=True, indent=2, ensure_ascii=False).splitlines()
    got = json.dumps(normalized_body(actual.body), sort_keys=True, indent=2, ensure_ascii=False).splitlines()
    if want != got:
        lines.append("body (- recorded, + sent):")
        lines.extend(
            line.rstrip("\n")
            for line in difflib.unified_diff(want, got, "recorded", "sent", n=2, lineterm="")
            if not line.startswith(("---", "+++"))
        )
    return "\n".join(lines) or "requests are equal"


def redacted_headers(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in headers:
        out.setdefault(key.lower(), []).append(value)
    return out


__all__ = [
    "META_KEYS",
    "ORIGINS",
    "REDACTED",
    "Body",
    "BodyCodec",
    "Cassette",
    "CassetteError",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "body_bytes",
    "body_chunks",
    "body_value",
    "cassette_path",
    "codec_for",
    "describe_mismatch",
    "dump_cassette",
    "encode_body",
    "load_cassette",
    "parse_cassette",
    "register_codec",
    "request_key",
    "save_cassette",
]
