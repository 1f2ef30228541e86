"""Gemini cassettes: every one replays, and the google-genai SDK (types, parsed chunks) agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.conformance.cases import CASES_BY_ID
from accord.conformance.cassette import load_cassette
from accord.conformance.oracles import OracleInput
from accord.conformance.responders import oracles_for, targets
from accord.conformance.runner import execute
from accord.conformance.scrub import Scrubber
from accord.conformance.transports import ReplayTransport

pytest.importorskip("google.genai")

ADAPTER = "gemini"
FOLDER = Path(__file__).resolve().parents[2] / "cassettes" / ADAPTER
CASSETTES = sorted(FOLDER.glob("*.yaml"))


def test_cassettes_exist() -> None:
    assert len(CASSETTES) >= 40


@pytest.mark.parametrize("path", CASSETTES, ids=[p.stem for p in CASSETTES])
async def test_sdk_oracles_agree(path: Path) -> None:
    cassette = load_cassette(path)
    target = targets()[ADAPTER]
    case = CASES_BY_ID[str(cassette.meta["case"])]
    outcome = await execute(target, case, ReplayTransport(cassette, Scrubber(secrets=target.secrets())))
    oracles = oracles_for(target.wire)
    assert {o.name for o in oracles} == {"google-genai-types", "google-genai-stream-chunks"}
    problems: list[str] = []
    for i, interaction in enumerate(cassette.interactions):
        last = i == len(cassette.interactions) - 1
        data = OracleInput(
            cassette=cassette,
            interaction=interaction,
            accord_response=outcome.response if last else None,
            streamed=outcome.streamed,
        )
        for oracle in oracles:
            problems += [f"{oracle.name}: {p}" for p in oracle.check(data)]
    assert problems == []
