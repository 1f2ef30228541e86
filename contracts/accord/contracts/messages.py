"""Messages: a role and the parts it says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Frozen
from .parts import (
    DocumentPart,
    ImagePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCall,
    ToolResult,
    ToolResultContent,
)

Role = Literal["system", "user", "assistant", "tool"]

# Which part types each role may carry; anything else is a construction error.
_ALLOWED_PARTS: dict[str, tuple[type, ...]] = {
    "system": (TextPart,),
    "user": (TextPart, ImagePart, DocumentPart),
    "assistant": (TextPart, ToolCall, ThinkingPart),
    "tool": (ToolResult,),
}

UserContent = str | Sequence[TextPart | ImagePart | DocumentPart]


class Message(Frozen):
    """One turn of a conversation."""

    role: Role
    parts: list[Part] = Field(min_length=1)

    @field_validator("role", mode="before")
    @classmethod
    def _known_role(cls, value: object) -> object:
        if value not in _ALLOWED_PARTS:
            raise ValueError(f"unknown role {value!r}; expected one of {', '.join(_ALLOWED_PARTS)}")
        return value

    @model_validator(mode="after")
    def _parts_fit_role(self) -> Message:
        allowed = _ALLOWED_PARTS[self.role]
        for part in self.parts:
            if not isinstance(part, allowed):
                raise ValueError(f"a {self.role} message cannot hold a {part.type} part")
        return self

    @classmethod
    def system(cls, text: str) -> Message:
        return cls(role="system", parts=[TextPart(text=text)])

    @classmethod
    def user(cls, content: UserContent) -> Message:
        parts = [TextPart(text=content)] if isinstance(content, str) else list(content)
        return cls(role="user", parts=parts)

    @classmethod
    def assistant(
        cls,
        content: str | Sequence[TextPart | ToolCall | ThinkingPart] = "",
        *,
        tool_calls: Sequence[ToolCall] = (),
    ) -> Message:
        parts: list[Part] = []
        if isinstance(content, str):
            if content:
                parts.append(TextPart(text=content))
        else:
            parts.extend(content)
        parts.extend(tool_calls)
        return cls(role="assistant", parts=parts)

    @classmethod
    def tool(cls, call_id: str, content: str | Sequence[ToolResultContent], *, is_error: bool = False) -> Message:
        body = content if isinstance(content, str) else list(content)
        return cls(role="tool", parts=[ToolResult(call_id=call_id, content=body, is_error=is_error)])

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [p for p in self.parts if isinstance(p, ToolResult)]
