"""Stream events: what a streaming call yields, ending with exactly one StreamEnd."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ._base import Frozen
from .parts import ToolCall
from .response import Response
from .usage import Usage


class TextDelta(Frozen):
    """More text for the text part at `index` of the final response."""

    type: Literal["text_delta"] = "text_delta"
    index: int = Field(ge=0)
    text: str


class ThinkingDelta(Frozen):
    """More reasoning text for the thinking part at `index`."""

    type: Literal["thinking_delta"] = "thinking_delta"
    index: int = Field(ge=0)
    text: str


class ToolCallStart(Frozen):
    """A tool call begins at part `index`."""

    type: Literal["tool_call_start"] = "tool_call_start"
    index: int = Field(ge=0)
    id: str
    name: str


class ToolCallDelta(Frozen):
    """A fragment of the JSON arguments of the tool call at `index`."""

    type: Literal["tool_call_delta"] = "tool_call_delta"
    index: int = Field(ge=0)
    arguments_fragment: str


class ToolCallEnd(Frozen):
    """The tool call at `index` is complete; `call.arguments` is the parsed join of its fragments."""

    type: Literal["tool_call_end"] = "tool_call_end"
    index: int = Field(ge=0)
    call: ToolCall


class UsageUpdate(Frozen):
    """The usage reported so far (cumulative, not an increment)."""

    type: Literal["usage"] = "usage"
    usage: Usage


class OutputDelta(Frozen):
    """A partial structured-output object parsed from the JSON received so far."""

    type: Literal["output_delta"] = "output_delta"
    partial_output: Any


class StreamEnd(Frozen):
    """The last event: the complete response, equal to what `complete()` gives for the same wire data."""

    type: Literal["end"] = "end"
    response: Response


StreamEvent = Annotated[
    TextDelta | ThinkingDelta | ToolCallStart | ToolCallDelta | ToolCallEnd | UsageUpdate | OutputDelta | StreamEnd,
    Field(discriminator="type"),
]
