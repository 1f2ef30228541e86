"""The request: one normalized shape for every provider."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._base import Frozen
from .messages import Message
from .parts import ToolCall, ToolResult
from .tools import Tool, ToolChoice, _object_schema

OutputMode = Literal["auto", "native", "tool", "prompted"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class OutputSpec(BaseModel):
    """What structured output to produce: a pydantic type or a raw JSON Schema, and how (`mode`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True)

    json_schema: dict[str, Any]
    python_type: type[BaseModel] | None = None
    mode: OutputMode = "auto"
    strict: bool | None = None
    name: str = "final_result"
    description: str = ""

    @classmethod
    def of(
        cls,
        target: type[BaseModel] | dict[str, Any],
        *,
        mode: OutputMode = "auto",
        strict: bool | None = None,
        name: str | None = None,
    ) -> OutputSpec:
        if isinstance(target, dict):
            return cls(
                json_schema=target,
                mode=mode,
                strict=strict,
                name=name or str(target.get("title") or "final_result"),
                description=str(target.get("description") or ""),
            )
        return cls(
            json_schema=target.model_json_schema(),
            python_type=target,
            mode=mode,
            strict=strict,
            name=name or target.__name__,
            description=(target.__doc__ or "").strip(),
        )

    @field_validator("json_schema")
    @classmethod
    def _schema_is_mapping(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("type", "object"), str | list) and "$ref" not in value:
            raise ValueError("output schema must be a JSON Schema object")
        return value


class Reasoning(Frozen):
    """How much the model should think: an `effort` level, a token `budget`, or both, and summaries."""

    effort: ReasoningEffort | None = None
    budget_tokens: int | None = Field(default=None, ge=0)
    summary: Literal["auto", "concise", "detailed"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: object) -> object:
        if isinstance(value, str):
            return {"effort": value}
        if isinstance(value, int) and not isinstance(value, bool):
            return {"budget_tokens": value}
        return value


class Request(Frozen):
    """Everything one call to a model says. `provider_options` pass through verbatim, keyed by provider name."""

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    system: str | None = None
    tools: list[Tool] = Field(default_factory=list)
    tool_choice: ToolChoice | None = None
    output: OutputSpec | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: list[str] | None = None
    seed: int | None = None
    reasoning: Reasoning | None = None
    parallel_tool_calls: bool | None = None
    timeout: float | None = Field(default=None, gt=0)
    metadata: dict[str, str] = Field(default_factory=dict)
    provider_options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _coerce_tool_choice(cls, value: object) -> object:
        return ToolChoice.coerce(value)

    @field_validator("output", mode="before")
    @classmethod
    def _coerce_output(cls, value: object) -> object:
        if isinstance(value, type) and issubclass(value, BaseModel):
            return OutputSpec.of(value)
        if isinstance(value, dict) and "json_schema" not in value:
            return OutputSpec.of(_object_schema(value, "output") if value.get("type") == "object" else value)
        return value

    @field_validator("stop", mode="before")
    @classmethod
    def _coerce_stop(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("reasoning", mode="before")
    @classmethod
    def _coerce_reasoning(cls, value: object) -> object:
        return Reasoning.model_validate(value) if isinstance(value, str | int) else value

    @model_validator(mode="after")
    def _consistent(self) -> Request:
        names = [t.name for t in self.tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate tool names: {', '.join(duplicates)}")
        choice = self.tool_choice
        if choice is not None and choice.mode in ("required", "specific") and not self.tools:
            raise ValueError(f"tool_choice {choice.mode!r} needs at least one tool")
        if choice is not None and choice.mode == "specific":
            unknown = [n for n in choice.names if n not in names]
            if unknown:
                raise ValueError(f"tool_choice names unknown tools: {', '.join(unknown)}")
        seen_calls: set[str] = set()
        for message in self.messages:
            for part in message.parts:
                if isinstance(part, ToolCall):
                    seen_calls.add(part.id)
                elif isinstance(part, ToolResult) and part.call_id not in seen_calls:
                    raise ValueError(f"tool result answers no earlier tool call (call_id={part.call_id!r})")
        return self

    def with_(self, **changes: Any) -> Request:
        """A copy with some fields replaced, validated again."""
        return type(self).model_validate({**dict(self), **changes})
