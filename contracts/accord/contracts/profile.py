"""ModelProfile: the capability facts of one model, resolved in layers where an unset field never clobbers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import Frozen
from .request import OutputMode

SamplingParam = Literal["temperature", "top_p", "stop", "seed", "parallel_tool_calls"]


class PriceTier(Frozen):
    """Rates (USD per 1M tokens) that replace the base rates for a whole request whose prompt is longer than
    `above_input_tokens` (Anthropic and Gemini long-context pricing). A rate the tier leaves unset is unknown."""

    above_input_tokens: int = Field(gt=0)
    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_write_long: float | None = Field(default=None, ge=0)
    reasoning: float | None = Field(default=None, ge=0)


class Pricing(Frozen):
    """USD per 1M tokens for each token class; None means unknown (never guessed). `tiers`: long-context rates.

    `cache_write` is the rate of a default cache write; `cache_write_long` the rate of a write kept longer
    (Anthropic's 1-hour TTL, priced above the 5-minute one).
    """

    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_write_long: float | None = Field(default=None, ge=0)
    reasoning: float | None = Field(default=None, ge=0)
    tiers: tuple[PriceTier, ...] = ()


class ParameterRules(Frozen):
    """How this model takes the request's parameters: renames and parameters it rejects."""

    max_tokens_field: str = "max_tokens"
    unsupported: frozenset[SamplingParam] = frozenset()
    system_role: Literal["system", "developer", "user"] = "system"
    requires_max_tokens: bool = False
    default_max_tokens: int | None = None


class ModelProfile(Frozen):
    """What one model can do. Built from layers (catalog, discovery, user); see `merged_with`."""

    provider: str = ""
    model: str = ""
    supports_tools: bool = True
    supports_parallel_tools: bool = True
    supports_tool_choice_required: bool = True
    supports_vision: bool = False
    supports_documents: bool = False
    supports_native_output: bool = False
    # False when the provider rejects a structured-output field on a streaming request (Databricks).
    supports_native_output_streaming: bool = True
    supports_json_mode: bool = False
    supports_strict_tools: bool = False
    supports_reasoning: bool = False
    supports_streaming: bool = True
    supports_streaming_usage: bool = True
    supports_system_prompt: bool = True
    supports_tool_result_media: bool = False
    max_context: int | None = Field(default=None, gt=0)
    max_output: int | None = Field(default=None, gt=0)
    schema_dialect: str = "openai"
    default_output_mode: OutputMode = "auto"
    parameters: ParameterRules = Field(default_factory=ParameterRules)
    pricing: Pricing = Field(default_factory=Pricing)

    def merged_with(self, layer: ModelProfile) -> ModelProfile:
        """This profile overridden by `layer`, taking only the fields `layer` explicitly set (nested too)."""
        return _merge(self, layer)


def _merge(base: Frozen, layer: Frozen) -> ModelProfile:
    updates: dict[str, object] = {}
    for name in layer.model_fields_set:
        new = getattr(layer, name)
        old = getattr(base, name)
        if isinstance(new, Frozen) and isinstance(old, Frozen) and type(new) is type(old):
            updates[name] = _merge_nested(old, new)
        else:
            updates[name] = new
    merged = base.model_copy(update=updates)
    # Keep the record of what was set, so merging stays associative across several layers.
    object.__setattr__(merged, "__pydantic_fields_set__", base.model_fields_set | layer.model_fields_set)
    return merged  # type: ignore[return-value]


def _merge_nested(base: Frozen, layer: Frozen) -> Frozen:
    updates = {name: getattr(layer, name) for name in layer.model_fields_set}
    merged = base.model_copy(update=updates)
    object.__setattr__(merged, "__pydantic_fields_set__", base.model_fields_set | layer.model_fields_set)
    return merged
