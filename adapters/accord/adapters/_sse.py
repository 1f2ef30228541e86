"""Incremental decoders for Server-Sent Events and NDJSON: bytes in, whole events out, any split of the input."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from accord.contracts import ResponseParseError


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool = False) -> str:
    """Bytes to text, strictly: invalid UTF-8 is a typed error, never silently replaced."""
    try:
        return decoder.decode(chunk, final=final)
    except UnicodeDecodeError as exc:
        raise ResponseParseError(f"the stream is not valid UTF-8 ({exc.reason})", raw=chunk) from exc


_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched SSE event (`event` is "message" when the stream named none)."""

    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    """The WHATWG event-stream parser, fed bytes in arbitrary chunks.

    Lines end in `\\n`, `\\r\\n` or a lone `\\r`; `:` lines are comments; several `data:` lines join with `\\n`;
    a blank line dispatches; an event with no data lines is not dispatched.
    """

    __slots__ = ("_data", "_decoder", "_event", "_id", "_last_id", "_pending", "_saw_cr")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")  # a leading BOM is dropped
        self._pending: list[str] = []
        self._saw_cr = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return self._feed_text(_decode(self._decoder, chunk))

    def flush(self) -> list[SSEEvent]:
        """End of input: a final event not followed by a blank line is still dispatched (some servers omit it)."""
        events = self._feed_text(_decode(self._decoder, b"", final=True))
        if self._pending:
            self._line("".join(self._pending))
            self._pending = []
        dispatched = self._dispatch()
        if dispatched is not None:
            events.append(dispatched)
        return events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if not text:
            return events  # an empty read (or half a UTF-8 character) must not forget a pending \r
        if self._saw_cr and text.startswith("\n"):
            text = text[1:]  # the \n of a \r\n split across two chunks
        self._saw_cr = False
        # Only the new text is scanned (by the regex engine, not a Python loop); an unfinished line waits in
        # `_pending` as parts, so a long event split over many reads costs linear time.
        position = 0
        for match in _LINE_END.finditer(text):
            line = text[position : match.start()]
            if self._pending:
                line = "".join(self._pending) + line
                self._pending = []
            position = match.end()
            if line:
                self._line(line)
            else:
                dispatched = self._dispatch()
                if dispatched is not None:
                    events.append(dispatched)
        if position < len(text):
            self._pending.append(text[position:])
        elif text.endswith("\r"):
            self._saw_cr = True  # a \r\n may be split across two reads
        return events

    def _line(self, line: str) -> None:
        if line.startswith(":"):
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._id = value

    def _dispatch(self) -> SSEEvent | None:
        if self._id is not None:
            self._last_id = self._id
            self._id = None
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(event=self._event or "message", data="\n".join(self._data), id=self._last_id)
        self._event = ""
        self._data = []
        return event


class NDJSONDecoder:
    """Newline-delimited JSON: one text line per record, blank lines skipped, any split of the input."""

    __slots__ = ("_decoder", "_pending")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")  # a leading BOM is dropped
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        text = self._pending + _decode(self._decoder, chunk)
        *lines, self._pending = text.split("\n")
        return [stripped for line in lines if (stripped := line.strip())]

    def flush(self) -> list[str]:
        rest = (self._pending + _decode(self._decoder, b"", final=True)).strip()
        self._pending = ""
        return [rest] if rest else []
