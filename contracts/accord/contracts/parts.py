"""Content parts: the pieces a message or a response is made of."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ._base import Frozen


class TextPart(Frozen):
    """Plain text."""

    type: Literal["text"] = "text"
    text: str


class _MediaPart(Frozen):
    """Shared shape of media given either by URL or by base64 data with a media type."""

    url: str | None = None
    data: str | None = Field(default=None, description="base64-encoded bytes")
    media_type: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _MediaPart:
        if (self.url is None) == (self.data is None):
            raise ValueError(f"{type(self).__name__} needs exactly one of `url` or `data`")
        if self.data is not None:
            if not self.media_type:
                raise ValueError(f"{type(self).__name__} with `data` needs a `media_type`")
            try:
                base64.b64decode(self.data, validate=True)
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__}.data is not valid base64") from exc
        return self

    @property
    def raw(self) -> bytes | None:
        """The decoded bytes, when the part carries data."""
        return None if self.data is None else base64.b64decode(self.data)


class ImagePart(_MediaPart):
    """An image, by URL or inline data."""

    type: Literal["image"] = "image"
    detail: Literal["auto", "low", "high"] | None = None

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str) -> ImagePart:
        return cls(data=base64.b64encode(data).decode("ascii"), media_type=media_type)


class DocumentPart(_MediaPart):
    """A document (PDF, plain text, ...), by URL or inline data."""

    type: Literal["document"] = "document"
    name: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str = "application/pdf", name: str | None = None) -> DocumentPart:
        return cls(data=base64.b64encode(data).decode("ascii"), media_type=media_type, name=name)


class ToolCall(Frozen):
    """A call the model asked for. `arguments` is always a parsed object.

    `raw_arguments` keeps the unparsed text only when it could not be parsed because the output was cut off
    (finish reason `length`).
    """

    type: Literal["tool_call"] = "tool_call"
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None


class ThinkingPart(Frozen):
    """Model reasoning. `signature` (or redacted data) must be sent back unchanged for multi-turn tool use.

    `provider` names the wire protocol that produced the signature: a signature is only meaningful to it.
    """

    type: Literal["thinking"] = "thinking"
    text: str = ""
    signature: str | None = None
    redacted: bool = False
    provider: str | None = None


ToolResultContent = Annotated[TextPart | ImagePart | DocumentPart, Field(discriminator="type")]


class ToolResult(Frozen):
    """The result of running a tool, answering the call with id `call_id`."""

    type: Literal["tool_result"] = "tool_result"
    call_id: str = Field(min_length=1)
    content: str | list[ToolResultContent]
    is_error: bool = False

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


Part = Annotated[
    TextPart | ImagePart | DocumentPart | ToolCall | ToolResult | ThinkingPart,
    Field(discriminator="type"),
]
