"""Cost from normalized usage: each token subset priced once, at its own rate; unknown prices give None."""

from __future__ import annotations

from collections.abc import Sequence

from accord.contracts import PriceTier, Pricing, Usage

_PER_TOKEN = 1_000_000


def tier_for(usage: Usage, tiers: Sequence[PriceTier]) -> PriceTier | None:
    """The tier with the highest threshold that `usage.input_tokens` exceeds (None: base rates apply)."""
    chosen: PriceTier | None = None
    for tier in tiers:
        if usage.input_tokens > tier.above_input_tokens and (
            chosen is None or tier.above_input_tokens > chosen.above_input_tokens
        ):
            chosen = tier
    return chosen


def cost_of(usage: Usage, pricing: Pricing, tiers: Sequence[PriceTier] | None = None) -> float | None:
    """USD for `usage` at `pricing` (per 1M tokens), or None when a price the usage needs is unknown.

    Cached reads and writes are carved out of input and need their own rates (long-lived writes the
    `cache_write_long` rate); reasoning tokens are carved out of output and use the reasoning rate when one is set
    (otherwise providers bill them as output tokens). When the prompt is longer than a tier's threshold, the tier's
    rates price the whole request. `tiers` defaults to `pricing.tiers`.
    """
    if tiers is None:
        tiers = pricing.tiers
    rates: Pricing | PriceTier = tier_for(usage, tiers) or pricing
    if rates.input is None or rates.output is None:
        return None
    if not usage:
        return 0.0
    short_writes = usage.cache_write_tokens - usage.cache_write_long_tokens
    if (
        (usage.cache_read_tokens and rates.cache_read is None)
        or (short_writes and rates.cache_write is None)
        or (usage.cache_write_long_tokens and rates.cache_write_long is None)
    ):
        return None  # a cached-token rate we do not know is not guessed from the input rate
    plain_input = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    plain_output = usage.output_tokens - usage.reasoning_tokens
    reasoning_rate = rates.reasoning if rates.reasoning is not None else rates.output
    total = (
        plain_input * rates.input
        + usage.cache_read_tokens * (rates.cache_read or 0.0)
        + short_writes * (rates.cache_write or 0.0)
        + usage.cache_write_long_tokens * (rates.cache_write_long or 0.0)
        + plain_output * rates.output
        + usage.reasoning_tokens * reasoning_rate
    )
    return total / _PER_TOKEN


def sum_costs(costs: Sequence[float | None]) -> float | None:
    """The sum of several calls' costs; None as soon as one of them is unknown (a partial sum would be a guess)."""
    total = 0.0
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total
