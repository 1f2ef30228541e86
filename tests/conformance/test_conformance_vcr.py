"""accord cassettes through vcrpy: the serializer lets pytest-recording play and write the same format."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from accord.conformance import vcr_serializer
from accord.conformance.cassette import load_cassette

vcr = pytest.importorskip("vcr")
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def test_round_trip_keeps_bodies_readable() -> None:
    path = CASSETTES / "openai" / "streaming.text.yaml"
    if not path.exists():
        pytest.skip("no openai cassettes")
    data = vcr_serializer.deserialize(path.read_text())
    response = data["interactions"][0]["response"]
    assert response["body"]["string"].startswith(b"data: {")
    again = vcr_serializer.serialize(data)
    original = load_cassette(path)
    reloaded = vcr_serializer.deserialize(again)
    assert reloaded["interactions"][0]["response"]["body"] == response["body"]
    assert "sse:" in again
    assert original.interactions[0].response is not None


def test_vcrpy_plays_an_accord_cassette(tmp_path: Path) -> None:
    source = CASSETTES / "openai" / "completion.basic.yaml"
    if not source.exists():
        pytest.skip("no openai cassettes")
    target = tmp_path / "completion.basic.yaml"
    target.write_text(source.read_text())
    recorder = vcr.VCR(serializer="accord", record_mode="none", match_on=["method", "path"])
    vcr_serializer.register(recorder)
    with recorder.use_cassette(str(target)):
        response = httpx.post("https://api.openai.com/v1/chat/completions", json={"anything": True})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello! Nice to meet you."


def test_vcrpy_records_through_the_serializer_scrubbed(tmp_path: Path) -> None:
    key = "sk-proj-" + "Q" * 40
    target = tmp_path / "recorded.yaml"
    recorder = vcr.VCR(serializer="accord", record_mode="all")
    vcr_serializer.register(recorder)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json={"echo": request.headers["authorization"]})
    )
    with recorder.use_cassette(str(target)), httpx.Client(transport=transport) as client:
        client.post("https://api.example.com/v1/x?key=abc", json={"q": 1}, headers={"authorization": f"Bearer {key}"})
    if not target.exists():
        pytest.skip("this vcrpy does not intercept httpx MockTransport")
    text = target.read_text()
    assert key not in text
    assert "key=%3Credacted%3E" in text or "key=<redacted>" in text
    assert "q: 1" in text
