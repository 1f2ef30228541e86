"""Costs against hand-computed values: cached input, cache writes, reasoning/thinking tokens, tiers, sums."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from accord.adapters._pricing import cost_of, sum_costs, tier_for
from accord.adapters.anthropic import usage_from_wire
from accord.adapters.openai_chat import OpenAIChatAdapter
from accord.contracts import Message, PriceTier, Pricing, Request, Usage

# Each expected value below is worked out by hand in the comment next to it (USD; prices per 1M tokens).


def test_openai_cached_input_priced_at_the_cached_rate() -> None:
    # gpt-4o-mini: input 0.15, cached 0.075, output 0.60.
    # prompt_tokens 10_000 of which cached 4_000; completion 500.
    # 6_000 * 0.15 + 4_000 * 0.075 + 500 * 0.60 = 900 + 300 + 300 = 1_500 per 1M → 0.0015
    usage = Usage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=500)
    assert cost_of(usage, Pricing(input=0.15, output=0.6, cache_read=0.075)) == pytest.approx(0.0015)


def test_anthropic_cache_reads_and_writes() -> None:
    # Claude Sonnet 4.5: input 3, output 15, cache read 0.30, cache write (5 min) 3.75.
    # Wire: input_tokens 100, cache_read_input_tokens 2_000, cache_creation_input_tokens 1_000 → normalized
    # input 3_100. Output 400.
    # 100 * 3 + 2_000 * 0.30 + 1_000 * 3.75 + 400 * 15 = 300 + 600 + 3_750 + 6_000 = 10_650 → 0.01065
    usage = Usage(input_tokens=3_100, cache_read_tokens=2_000, cache_write_tokens=1_000, output_tokens=400)
    pricing = Pricing(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    assert cost_of(usage, pricing) == pytest.approx(0.01065)


def test_anthropic_one_hour_cache_writes_at_their_own_rate() -> None:
    # Claude Sonnet 4.5: input 3, output 15, cache read 0.30, 5-minute write 3.75, 1-hour write 6.
    # Wire: input_tokens 100, cache_read_input_tokens 0, cache_creation_input_tokens 3_000 of which
    # cache_creation.ephemeral_1h_input_tokens 2_000 → normalized input 3_100, writes 3_000 (2_000 long). Output 400.
    # 100 * 3 + 1_000 * 3.75 + 2_000 * 6 + 400 * 15 = 300 + 3_750 + 12_000 + 6_000 = 22_050 → 0.02205
    usage = usage_from_wire(
        {
            "input_tokens": 100,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 3_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 2_000},
            "output_tokens": 400,
        }
    )
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_long_tokens) == (3_100, 3_000, 2_000)
    pricing = Pricing(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75, cache_write_long=6.0)
    assert cost_of(usage, pricing) == pytest.approx(0.02205)
    # Without a 1-hour rate the cost is unknown, not the 5-minute rate applied to every write.
    assert cost_of(usage, pricing.model_copy(update={"cache_write_long": None})) is None
    # Only 1-hour writes: the 5-minute rate is not needed.
    only_long = Usage(input_tokens=1_000, cache_write_tokens=1_000, cache_write_long_tokens=1_000)
    assert cost_of(only_long, Pricing(input=3.0, output=15.0, cache_write_long=6.0)) == pytest.approx(0.006)


def test_long_cache_writes_are_a_subset_of_cache_writes() -> None:
    with pytest.raises(ValueError, match="cache_write_long_tokens"):
        Usage(input_tokens=10, cache_write_tokens=2, cache_write_long_tokens=3)
    total = Usage(input_tokens=10, cache_write_tokens=4, cache_write_long_tokens=3) + Usage(
        input_tokens=5, cache_write_tokens=5, cache_write_long_tokens=1
    )
    assert (total.cache_write_tokens, total.cache_write_long_tokens) == (9, 4)


def test_gemini_thoughts_billed_as_output() -> None:
    # Gemini 2.5 Flash: input 0.30, cached 0.075, output (thinking included) 2.50.
    # promptTokenCount 1_000 (cachedContentTokenCount 200); candidates 300 + thoughts 700 → output 1_000.
    # 800 * 0.30 + 200 * 0.075 + 1_000 * 2.50 = 240 + 15 + 2_500 = 2_755 → 0.002755
    usage = Usage(input_tokens=1_000, cache_read_tokens=200, output_tokens=1_000, reasoning_tokens=700)
    assert cost_of(usage, Pricing(input=0.3, output=2.5, cache_read=0.075)) == pytest.approx(0.002755)


def test_reasoning_tokens_at_their_own_rate_when_one_is_set() -> None:
    # output 1_000 of which reasoning 600; output 10, reasoning 3.5; input 100 at 1.
    # 100 * 1 + 400 * 10 + 600 * 3.5 = 100 + 4_000 + 2_100 = 6_200 → 0.0062
    usage = Usage(input_tokens=100, output_tokens=1_000, reasoning_tokens=600)
    assert cost_of(usage, Pricing(input=1, output=10, reasoning=3.5)) == pytest.approx(0.0062)


@pytest.mark.parametrize(
    ("usage", "pricing"),
    [
        (Usage(input_tokens=10, output_tokens=1), Pricing(input=1)),  # no output price
        (Usage(input_tokens=10, output_tokens=1), Pricing(output=1)),  # no input price
        (Usage(input_tokens=10, cache_read_tokens=5), Pricing(input=1, output=1)),  # cached rate unknown
        (Usage(input_tokens=10, cache_write_tokens=5), Pricing(input=1, output=1, cache_read=0.1)),  # write unknown
        (Usage(), Pricing()),
    ],
)
def test_unknown_prices_give_none_never_a_guess(usage: Usage, pricing: Pricing) -> None:
    assert cost_of(usage, pricing) is None


def test_no_usage_costs_nothing_when_prices_are_known() -> None:
    assert cost_of(Usage(), Pricing(input=1, output=1)) == 0.0


LONG = [PriceTier(above_input_tokens=200_000, input=6.0, output=22.5, cache_read=0.6, cache_write=7.5)]


def test_long_context_tier_prices_the_whole_request() -> None:
    base = Pricing(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    # 250_000 input (50_000 cached), 1_000 output, above 200k → tier rates for everything:
    # 200_000 * 6 + 50_000 * 0.6 + 1_000 * 22.5 = 1_200_000 + 30_000 + 22_500 = 1_252_500 → 1.2525
    usage = Usage(input_tokens=250_000, cache_read_tokens=50_000, output_tokens=1_000)
    assert cost_of(usage, base, LONG) == pytest.approx(1.2525)
    # exactly 200_000 is not above the threshold: base rates. 150_000 * 3 + 50_000 * 0.3 + 1_000 * 15 = 480_000
    at = Usage(input_tokens=200_000, cache_read_tokens=50_000, output_tokens=1_000)
    assert cost_of(at, base, LONG) == pytest.approx(0.48)


def test_tier_choice_and_unknown_tier_rates() -> None:
    tiers = [PriceTier(above_input_tokens=100, input=2, output=2), PriceTier(above_input_tokens=1000, input=3)]
    assert tier_for(Usage(input_tokens=50), tiers) is None
    assert tier_for(Usage(input_tokens=500), tiers) is tiers[0]
    assert tier_for(Usage(input_tokens=5000), list(reversed(tiers))) is tiers[1]
    # the 1000+ tier does not say its output rate: unknown, not the base rate
    assert cost_of(Usage(input_tokens=5000, output_tokens=1), Pricing(input=1, output=1), tiers) is None
    # the tier lacks a cache-read rate that this usage needs
    usage = Usage(input_tokens=500, cache_read_tokens=10, output_tokens=1)
    assert cost_of(usage, Pricing(input=1, output=1, cache_read=0.1), tiers) is None


def test_usage_add_and_cost_sums_across_attempts() -> None:
    pricing = Pricing(input=1.0, output=2.0, cache_read=0.5)
    first = Usage(input_tokens=1_000, cache_read_tokens=200, output_tokens=100, reasoning_tokens=40)
    second = Usage(input_tokens=3_000, cache_read_tokens=1_000, output_tokens=50)
    total = first + second
    assert total == Usage(input_tokens=4_000, cache_read_tokens=1_200, output_tokens=150, reasoning_tokens=40)
    assert total.total_tokens == 4_150
    # first: 800 * 1 + 200 * 0.5 + 100 * 2 = 1_100; second: 2_000 + 500 + 100 = 2_600; together 3_700 → 0.0037
    assert sum_costs([cost_of(first, pricing), cost_of(second, pricing)]) == pytest.approx(0.0037)
    assert cost_of(total, pricing) == pytest.approx(0.0037)  # pricing is linear when no tier is crossed
    assert sum_costs([0.1, None, 0.2]) is None
    assert sum_costs([]) == 0.0


def _chat_payload(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": usage,
    }


async def test_response_cost_through_a_real_adapter_call() -> None:
    usage = {
        "prompt_tokens": 10_000,
        "completion_tokens": 500,
        "total_tokens": 10_500,
        "prompt_tokens_details": {"cached_tokens": 4_000},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["model"] == "gpt-4o-mini-2024-07-18"
        return httpx.Response(200, json=_chat_payload(usage))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    adapter = OpenAIChatAdapter(api_key="sk-test", http_client=client)
    response = await adapter.complete(Request(model="gpt-4o-mini-2024-07-18", messages=[Message.user("hi")]))
    await client.aclose()
    # the dated id is priced as gpt-4o-mini (0.15 / 0.075 / 0.60), not gpt-4o: 0.0015 as computed above
    assert response.cost == pytest.approx(0.0015)
    assert response.usage.cache_read_tokens == 4_000


def test_tiers_carried_by_the_pricing_object_are_used() -> None:
    pricing = Pricing(input=3.0, output=15.0, tiers=(PriceTier(above_input_tokens=100, input=6.0, output=30.0),))
    # 1_000 input, 10 output above the 100-token threshold: 1_000 * 6 + 10 * 30 = 6_300 per 1M
    assert cost_of(Usage(input_tokens=1_000, output_tokens=10), pricing) == pytest.approx(0.0063)
    # explicit tiers win over the object's
    assert cost_of(Usage(input_tokens=1_000, output_tokens=10), pricing, ()) == pytest.approx(0.00315)


def test_every_priced_claude_model_has_a_one_hour_write_rate_of_twice_its_input() -> None:
    from accord.adapters._catalog import load_provider

    priced = [e for e in load_provider("anthropic").entries.values() if e.profile.pricing.cache_write is not None]
    assert priced
    for entry in priced:
        pricing = entry.profile.pricing
        assert pricing.input is not None
        assert pricing.cache_write_long == pytest.approx(2 * pricing.input), entry.model
