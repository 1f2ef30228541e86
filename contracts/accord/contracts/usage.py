"""Token usage, normalized: cached tokens are a subset of input, reasoning tokens a subset of output."""

from __future__ import annotations

from typing import Any

from pydantic import Field, computed_field, model_validator

from ._base import Frozen


class Usage(Frozen):
    """Tokens one call (or a sum of calls) used.

    `input_tokens` counts every prompt token processed, cached ones included; `cache_read_tokens` and
    `cache_write_tokens` are subsets of it, and `cache_write_long_tokens` is the part of the cache writes kept
    longer at a higher rate (Anthropic's 1-hour TTL). `output_tokens` counts every generated token, reasoning
    included; `reasoning_tokens` is a subset of it. `total_tokens` is always `input_tokens + output_tokens`.
    """

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)
    cache_write_long_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived_total(cls, value: Any) -> Any:
        # `total_tokens` is derived; accept it back from a dump only when it agrees.
        if isinstance(value, dict) and "total_tokens" in value:
            value = dict(value)
            total = value.pop("total_tokens")
            parts = (value.get("input_tokens", 0), value.get("output_tokens", 0))
            # Only whole numbers are compared here; anything else is reported by the field validation.
            expected = sum(parts) if all(isinstance(p, int) for p in parts) else total
            if total != expected:
                raise ValueError(f"total_tokens {total} != input_tokens + output_tokens ({expected})")
        return value

    @model_validator(mode="after")
    def _subsets(self) -> Usage:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                f"cache_read_tokens + cache_write_tokens ({self.cache_read_tokens} + {self.cache_write_tokens})"
                f" exceed input_tokens ({self.input_tokens})"
            )
        if self.cache_write_long_tokens > self.cache_write_tokens:
            raise ValueError(
                f"cache_write_long_tokens ({self.cache_write_long_tokens}) exceed cache_write_tokens"
                f" ({self.cache_write_tokens})"
            )
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError(f"reasoning_tokens ({self.reasoning_tokens}) exceed output_tokens ({self.output_tokens})")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_write_long_tokens=self.cache_write_long_tokens + other.cache_write_long_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    def __bool__(self) -> bool:
        return self.input_tokens > 0 or self.output_tokens > 0
