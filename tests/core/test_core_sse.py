"""SSE and NDJSON decoders: whole events out of any split of the byte stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.adapters._sse import NDJSONDecoder, SSEDecoder, SSEEvent
from accord.contracts import ResponseParseError


def _sse(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.flush()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


def test_basic_events_and_fields() -> None:
    stream = b"event: ping\ndata: {}\n\ndata: hello\ndata: world\nid: 7\n\n: a comment\ndata:no-space\n\n"
    assert _sse([stream]) == [
        SSEEvent(event="ping", data="{}"),
        SSEEvent(event="message", data="hello\nworld", id="7"),
        SSEEvent(event="message", data="no-space", id="7"),  # the last id persists
    ]


def test_line_endings_crlf_and_lone_cr() -> None:
    expected = [SSEEvent("message", "a"), SSEEvent("e", "b")]
    assert _sse([b"data: a\r\n\r\nevent: e\r\ndata: b\r\n\r\n"]) == expected
    assert _sse([b"data: a\r\revent: e\rdata: b\r\r"]) == expected
    # \r\n split across chunks is one line end, not two (which would dispatch an empty event early)
    assert _sse([b"data: a\r", b"\n", b"data: b\r", b"\n\r\n"]) == [SSEEvent("message", "a\nb")]


def test_event_without_data_is_not_dispatched_and_unknown_fields_ignored() -> None:
    assert _sse([b"event: lonely\n\nretry: 100\nfoo: bar\ndata\n\n"]) == [SSEEvent("message", "")]
    assert _sse([b"id: a\0b\ndata: x\n\n"]) == [SSEEvent("message", "x")]  # an id with NUL is ignored


def test_flush_dispatches_unterminated_last_event() -> None:
    assert _sse([b"data: tail"]) == [SSEEvent("message", "tail")]
    assert _sse([b"data: tail\n"]) == [SSEEvent("message", "tail")]
    assert _sse([b""]) == []


def test_utf8_split_across_chunks() -> None:
    data = "data: héllo 🌍\n\n".encode()
    assert _sse([bytes([b]) for b in data]) == [SSEEvent("message", "héllo 🌍")]


field_values = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12)
newline = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sse_streams(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["data", "event", "comment", "id"]))
            value = draw(field_values)
            lines.append(f": {value}" if kind == "comment" else f"{kind}: {value}")
        lines.append("")
    nl = draw(newline)
    return "".join(line + nl for line in lines)


@given(sse_streams(), st.lists(st.integers(0, 10_000), max_size=8))
def test_any_split_gives_the_same_sse_events(text: str, cuts: list[int]) -> None:
    data = text.encode()
    assert _sse(_split(data, cuts)) == _sse([data])


@given(sse_streams())
def test_byte_by_byte_equals_whole(text: str) -> None:
    data = text.encode()
    assert _sse([data[i : i + 1] for i in range(len(data))]) == _sse([data])


def _ndjson(chunks: list[bytes]) -> list[str]:
    decoder = NDJSONDecoder()
    out: list[str] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out + decoder.flush()


def test_ndjson_lines_blank_and_tail() -> None:
    assert _ndjson([b'{"a":1}\n\n  \n{"b":2}\r\n{"c":3}']) == ['{"a":1}', '{"b":2}', '{"c":3}']
    assert _ndjson([b""]) == []
    assert _ndjson([b'{"x":"\xc3', b'\xa9"}\n']) == ['{"x":"é"}']


@given(st.lists(field_values.filter(lambda s: s.strip() != ""), max_size=6), st.lists(st.integers(0, 1000), max_size=6))
def test_any_split_gives_the_same_ndjson_records(records: list[str], cuts: list[int]) -> None:
    data = "".join(r + "\n" for r in records).encode()
    assert _ndjson(_split(data, cuts)) == [r.strip() for r in records]


def test_empty_chunk_between_cr_and_lf() -> None:
    # "\r" | "" | "\n": still one line end, so both data lines belong to one event
    assert _sse([b"data: a\r", b"", b"\ndata: b\r\n\r\n"]) == [SSEEvent("message", "a\nb")]


@given(sse_streams(), st.lists(st.integers(0, 10_000), max_size=8))
def test_splits_with_empty_pieces_give_the_same_events(text: str, cuts: list[int]) -> None:
    data = text.encode()
    pieces = [p for piece in _split(data, cuts) for p in (piece, b"")]
    assert _sse(pieces) == _sse([data])


def test_leading_bom_is_dropped_even_when_split() -> None:
    assert _sse([b"\xef\xbb", b"\xbfdata: x\n\n"]) == [SSEEvent("message", "x")]
    assert _ndjson([b"\xef\xbb\xbf{}\n"]) == ["{}"]
    assert _sse([b"data: \xef\xbb\xbfkept\n\n"]) == [SSEEvent("message", "\ufeffkept")]  # only a leading one


def test_invalid_utf8_is_a_typed_error() -> None:
    with pytest.raises(ResponseParseError, match="not valid UTF-8"):
        _sse([b"data: \xff\xfe\n\n"])
    with pytest.raises(ResponseParseError, match="not valid UTF-8"):
        _sse([b"data: \xc3"])  # a character cut off at the very end
    with pytest.raises(ResponseParseError, match="not valid UTF-8"):
        _ndjson([b'{"a": "\xff"}\n'])
    with pytest.raises(ResponseParseError, match="not valid UTF-8"):
        _ndjson([b'{"a": "\xc3'])
