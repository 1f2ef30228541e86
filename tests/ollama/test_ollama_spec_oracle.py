"""The Ollama spec oracle judges the committed cassettes, and it does catch a body the spec forbids."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from accord.conformance.cassette import load_cassette
from accord.conformance.oracles import OracleInput
from accord.conformance.responders.ollama import ORACLES, check_spec

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "ollama"

pytestmark = pytest.mark.skipif(ORACLES[0].missing() is not None, reason="the Ollama spec is absent")


@pytest.mark.parametrize("name", ["completion.basic", "streaming.text", "tools.single", "errors.not_found"])
def test_committed_cassettes_agree_with_the_spec(name: str) -> None:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    for interaction in cassette.interactions:
        assert check_spec(OracleInput(cassette, interaction)) == []


def test_the_oracle_catches_what_the_spec_forbids() -> None:
    cassette = load_cassette(CASSETTES / "completion.basic.yaml")
    interaction = cassette.interactions[0]
    body = dict(interaction.request.body)
    key = next(iter(body))
    bad_request = {**body[key], "think": "extreme", "messages": [{"role": "robot", "content": 1}]}
    request = replace(interaction.request, body={key: bad_request})
    problems = check_spec(OracleInput(cassette, replace(interaction, request=request)))
    assert any("think" in p for p in problems)
    assert any("messages/0" in p for p in problems)
