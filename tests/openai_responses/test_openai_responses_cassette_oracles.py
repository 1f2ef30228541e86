"""Every openai-responses and bedrock cassette through the oracles of its wire (the vendors' SDK / botocore)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.conformance.cases import CASES
from accord.conformance.cassette import load_cassette
from accord.conformance.oracles import OracleInput
from accord.conformance.responders import oracles_for, targets
from accord.conformance.runner import execute
from accord.conformance.scrub import Scrubber
from accord.conformance.transports import ReplayTransport

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
ADAPTERS = ("openai-responses", "bedrock", "azure")


def _params() -> list[tuple[str, str]]:
    found = []
    for adapter in ADAPTERS:
        for case in CASES:
            if (CASSETTES / adapter / f"{case.id}.yaml").is_file():
                found.append((adapter, case.id))
    return found


@pytest.mark.parametrize(("adapter", "case_id"), _params())
async def test_cassette_agrees_with_the_vendor_oracles(adapter: str, case_id: str) -> None:
    target = targets()[adapter]
    oracles = [o for o in oracles_for(target.wire) if o.missing() is None]
    if not oracles:
        pytest.skip(f"no runnable oracle for {target.wire}")
    case = next(c for c in CASES if c.id == case_id)
    cassette = load_cassette(CASSETTES / adapter / f"{case_id}.yaml")
    outcome = await execute(target, case, ReplayTransport(cassette, Scrubber(secrets=target.secrets())))
    problems: list[str] = []
    last = len(cassette.interactions) - 1
    for index, interaction in enumerate(cassette.interactions):
        ok = interaction.response is not None and interaction.response.status == 200
        data = OracleInput(
            cassette=cassette,
            interaction=interaction,
            accord_response=outcome.response if index == last and ok else None,
            streamed=case.mode == "stream",
        )
        for oracle in oracles:
            problems += [f"{oracle.name}[{index}]: {p}" for p in oracle.check(data)]
    assert problems == []


def test_the_oracles_catch_a_bad_cassette() -> None:
    """A response the SDK rejects is reported: the oracles can fail."""
    path = CASSETTES / "openai-responses" / "completion.basic.yaml"
    if not path.is_file():
        pytest.skip("no cassette")
    cassette = load_cassette(path)
    interaction = cassette.interactions[0]
    assert interaction.response is not None
    interaction.response.body = {"json": {"id": "resp_x", "object": "response"}}
    checks = [o for o in oracles_for("openai_responses") if o.name.endswith("sdk-types")]
    assert checks
    assert checks[0].check(OracleInput(cassette=cassette, interaction=interaction))
