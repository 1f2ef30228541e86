"""Re-authoring the bedrock, openai-responses and azure cassettes reproduces the committed ones, and they pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.conformance.cases import CASES
from accord.conformance.cassette import load_cassette
from accord.conformance.responders import targets
from accord.conformance.runner import run_suite

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


@pytest.mark.parametrize("adapter", ["bedrock", "openai-responses", "azure"])
async def test_authoring_is_deterministic_and_every_case_passes(adapter: str, tmp_path: Path) -> None:
    target = targets()[adapter]
    folder = tmp_path / adapter
    report = await run_suite([target], CASES, tmp_path, record_mode="rewrite", folders={adapter: folder})
    problems = {r.case: r.detail for r in report.results if r.status in ("fail", "missing")}
    assert problems == {}
    waived = {r.case for r in report.results if r.status == "waived"}
    assert waived == {case for case in target.waivers if case in {r.case for r in report.results}}
    authored = sorted(p.name for p in folder.glob("*.yaml"))
    committed = sorted(p.name for p in (CASSETTES / adapter).glob("*.yaml"))
    assert authored == committed
    for name in authored:
        fresh, kept = load_cassette(folder / name), load_cassette(CASSETTES / adapter / name)
        assert fresh.interactions == kept.interactions, name


def test_eventstream_codec_round_trips_and_declines_other_bytes() -> None:
    from accord.conformance.responders.bedrock import _decode_frames, _encode_frames, event_frame, frame

    frames = [event_frame("messageStart", {"role": "assistant"}), frame({":message-type": "event"}, b"")]
    readable = _encode_frames(b"".join(frames))
    assert readable == [
        {
            "headers": {":event-type": "messageStart", ":content-type": "application/json", ":message-type": "event"},
            "payload": {"role": "assistant"},
        },
        {"headers": {":message-type": "event"}, "payload": None},
    ]
    assert _decode_frames(readable) == frames
    assert _encode_frames(b'{"json": "not frames"}') is None
