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
    assert {"google-genai-types", "google-genai-stream-chunks"} <= {o.name for o in oracles}
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


async def test_reauthoring_reproduces_the_committed_cassettes(tmp_path: Path) -> None:
    """The responder is deterministic: authoring every case again gives the same interactions (digests)."""
    from accord.conformance.cases import CASES
    from accord.conformance.runner import run_suite

    target = targets()[ADAPTER]
    report = await run_suite([target], CASES, tmp_path, record_mode="rewrite", folders={ADAPTER: tmp_path})
    statuses = {r.case: r.status for r in report.results}
    assert set(statuses.values()) <= {"pass", "unsupported", "waived"}, statuses
    assert _digests(tmp_path) == _digests(FOLDER)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: load_cassette(p).digest() for p in sorted(folder.glob("*.yaml"))}


def test_oracles_report_disagreement() -> None:
    from accord.conformance.responders.gemini import check_sdk_types, check_stream_chunks
    from accord.contracts import ProviderInfo, Response, TextPart, ToolCall

    cassette = load_cassette(FOLDER / "streaming.tool_call.yaml")
    interaction = cassette.interactions[0]
    wrong = Response(
        id="x",
        model="m",
        parts=[TextPart(text="wrong"), ToolCall(id="other", name="n", arguments={"z": 1})],
        finish_reason="stop",
        provider=ProviderInfo(name=ADAPTER),
    )
    problems = check_stream_chunks(OracleInput(cassette=cassette, interaction=interaction, accord_response=wrong))
    assert len(problems) == 3  # text, tool calls, input tokens
    body = interaction.request.body["json"]
    body["bogus"] = 1
    body["generationConfig"] = {"maxOutputTokens": "lots"}
    body["systemInstruction"] = {"parts": [{"text": "s"}]}
    body["toolConfig"] = {"functionCallingConfig": {"mode": "ANY"}}
    interaction.response.body["sse"][0]["data"]["candidates"] = "none"  # type: ignore[union-attr]
    problems = check_sdk_types(OracleInput(cassette=cassette, interaction=interaction))
    assert [p.split(":")[0].split(" ")[0] for p in problems] == [
        "request",
        "request",
        "response",
    ]
