"""The response: what the model said, why it stopped, what it cost."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._base import Frozen
from .messages import Message
from .parts import Part, TextPart, ThinkingPart, ToolCall
from .usage import Usage

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "refusal", "error", "other"]


class ProviderInfo(Frozen):
    """Provider metadata worth keeping: who answered, the request id, headers of interest, extras."""

    name: str
    request_id: str | None = None
    system_fingerprint: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)


class Response(Frozen):
    """One model answer, normalized."""

    id: str
    model: str
    parts: list[Part] = Field(default_factory=list)
    finish_reason: FinishReason
    provider_finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    cost: float | None = Field(default=None, ge=0)
    output: Any = None
    attempts: int = Field(default=1, ge=1)
    provider: ProviderInfo

    @property
    def text(self) -> str:
        """The text parts joined with no separator; thinking excluded."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]

    @property
    def thinking(self) -> list[ThinkingPart]:
        return [p for p in self.parts if isinstance(p, ThinkingPart)]

    def to_message(self) -> Message:
        """The assistant message that continues the conversation with this answer (thinking kept for replay)."""
        return Message(role="assistant", parts=self.parts or [TextPart(text="")])
