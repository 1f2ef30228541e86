"""Tools the model may call, and how the request constrains the choice between them."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model, field_validator, model_validator

from ._base import Frozen


def _object_schema(schema: dict[str, Any], owner: str) -> dict[str, Any]:
    """Tool parameters must describe a JSON object; `{}` is read as an object with no properties."""
    if not schema:
        return {"type": "object", "properties": {}}
    if "$ref" in schema:
        # A recursive pydantic model's schema is a root `$ref` into `$defs`: the target is what must be an object.
        from .schema import resolve_root_ref

        schema = resolve_root_ref(schema)
    kind = schema.get("type")
    if kind != "object" and not (kind is None and "properties" in schema):
        raise ValueError(f"{owner} parameters must be a JSON Schema of type 'object', got type {kind!r}")
    return schema


class Tool(Frozen):
    """A function the model may call. `parameters` is a JSON Schema for an object."""

    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _must_be_object(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _object_schema(value, "tool")

    @classmethod
    def from_model(
        cls,
        model: type[BaseModel],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> Tool:
        """A tool whose arguments are an instance of `model` (name and description from the class)."""
        doc = inspect.getdoc(model) or ""
        if doc == inspect.getdoc(BaseModel):
            doc = ""
        return cls(
            name=name or model.__name__,
            description=description if description is not None else doc,
            parameters=model.model_json_schema(),
            strict=strict,
        )

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> Tool:
        """A tool from a typed Python function: its parameters become the schema, its docstring the description."""
        signature = inspect.signature(fn, eval_str=True)  # string annotations (`from __future__ import annotations`)
        fields: dict[str, Any] = {}
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ValueError(f"tool function {fn.__name__!r} cannot take *args or **kwargs")
            annotation = Any if param.annotation is inspect.Parameter.empty else param.annotation
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (annotation, default)
        args_model = create_model(f"{fn.__name__}_args", **fields)
        schema = args_model.model_json_schema()
        schema.pop("title", None)
        return cls(
            name=name or fn.__name__,
            description=description if description is not None else (inspect.getdoc(fn) or ""),
            parameters=schema,
            strict=strict,
        )


ToolChoiceMode = Literal["auto", "none", "required", "specific"]


class ToolChoice(Frozen):
    """Whether and which tools the model must call: `auto`, `none`, `required`, or `specific` named tools."""

    mode: ToolChoiceMode = "auto"
    names: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_iff_specific(self) -> ToolChoice:
        if self.mode == "specific" and not self.names:
            raise ValueError("tool_choice 'specific' needs at least one tool name")
        if self.mode != "specific" and self.names:
            raise ValueError(f"tool_choice {self.mode!r} takes no tool names")
        return self

    @classmethod
    def auto(cls) -> ToolChoice:
        return cls(mode="auto")

    @classmethod
    def none(cls) -> ToolChoice:
        return cls(mode="none")

    @classmethod
    def required(cls) -> ToolChoice:
        return cls(mode="required")

    @classmethod
    def named(cls, *names: str) -> ToolChoice:
        return cls(mode="specific", names=list(names))

    @classmethod
    def coerce(cls, value: object) -> object:
        """`"auto" | "none" | "required"` become that mode; a sequence of names becomes `specific`."""
        if isinstance(value, str) and value in ("auto", "none", "required"):
            return cls(mode=value)
        if isinstance(value, Sequence) and not isinstance(value, str):
            return cls(mode="specific", names=list(value))
        return value
