"""The Mistral and OpenRouter spec oracles accept the committed cassettes and catch what the specs forbid."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from accord.conformance.cassette import load_cassette
from accord.conformance.oracles import OracleInput
from accord.conformance.responders.openai_compatible import ORACLES, SPEC_CHECKS, SpecCheck

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
CHECKS = {c.vendor: c for c in SPEC_CHECKS}
SPEC_ORACLES = {o.wire: o for o in ORACLES if o.name.endswith("-openapi-spec") and o.wire in CHECKS}


def _check(vendor: str) -> SpecCheck:
    if SPEC_ORACLES[vendor].missing() is not None:
        pytest.skip(f"{vendor} spec is absent")
    return CHECKS[vendor]


@pytest.mark.parametrize("vendor", ["mistral", "openrouter"])
@pytest.mark.parametrize("case", ["completion.basic", "streaming.tool_call", "errors.auth", "streaming.usage"])
def test_committed_cassettes_agree(vendor: str, case: str) -> None:
    check = _check(vendor)
    cassette = load_cassette(CASSETTES / vendor / f"{case}.yaml")
    for interaction in cassette.interactions:
        assert check(OracleInput(cassette, interaction)) == []


def test_mistral_spec_rejects_an_unrenamed_seed_and_openai_extras() -> None:
    check = _check("mistral")
    cassette = load_cassette(CASSETTES / "mistral" / "completion.basic.yaml")
    interaction = cassette.interactions[0]
    key = next(iter(interaction.request.body))
    body = {**interaction.request.body[key], "seed": 1}
    request = replace(interaction.request, body={key: body})
    assert interaction.response is not None
    rkey = next(iter(interaction.response.body))
    answer = interaction.response.body[rkey]
    message = {**answer["choices"][0]["message"], "refusal": None}
    bad_answer = {**answer, "choices": [{**answer["choices"][0], "message": message}]}
    response = replace(interaction.response, body={rkey: bad_answer})
    problems = check(OracleInput(cassette, replace(interaction, request=request, response=response)))
    assert any("'seed' was unexpected" in p for p in problems)
    assert any("'refusal' was unexpected" in p for p in problems)


def test_non_chat_paths_are_not_judged() -> None:
    check = _check("openrouter")
    cassette = load_cassette(CASSETTES / "openrouter" / "completion.basic.yaml")
    interaction = cassette.interactions[0]
    other = replace(interaction, request=replace(interaction.request, uri="https://openrouter.ai/api/v1/models"))
    assert check(OracleInput(cassette, other)) == []
