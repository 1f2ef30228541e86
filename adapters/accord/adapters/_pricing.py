"""Cost from normalized usage: each token subset priced once, at its own rate; unknown prices give None."""

from __future__ import annotations

from accord.contracts import Pricing, Usage

_PER_TOKEN = 1_000_000


def cost_of(usage: Usage, pricing: Pricing) -> float | None:
    """USD for `usage` at `pricing` (per 1M tokens), or None when a price the usage needs is unknown.

    Cached reads and writes are carved out of input and need their own rates; reasoning tokens are carved out of
    output when they have their own rate (otherwise providers bill them as output tokens).
    """
    if not usage:
        return 0.0 if pricing.input is not None and pricing.output is not None else None
    if pricing.input is None or pricing.output is None:
        return None
    if (usage.cache_read_tokens and pricing.cache_read is None) or (
        usage.cache_write_tokens and pricing.cache_write is None
    ):
        return None  # a cached-token rate we do not know is not guessed from the input rate
    cache_read_rate = pricing.cache_read or 0.0
    cache_write_rate = pricing.cache_write or 0.0
    reasoning_rate = pricing.reasoning if pricing.reasoning is not None else pricing.output
    plain_input = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    plain_output = usage.output_tokens - usage.reasoning_tokens
    total = (
        plain_input * pricing.input
        + usage.cache_read_tokens * cache_read_rate
        + usage.cache_write_tokens * cache_write_rate
        + plain_output * pricing.output
        + usage.reasoning_tokens * reasoning_rate
    )
    return total / _PER_TOKEN
