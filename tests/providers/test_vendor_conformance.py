"""The vendor responders re-author the committed cassettes byte-for-byte in meaning (same digests), and every
vendor target passes its cases when the cassettes are replayed."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.conformance.cases import CASES
from accord.conformance.cassette import load_cassette
from accord.conformance.responders import targets
from accord.conformance.runner import run_suite

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
VENDORS = (
    "groq",
    "mistral",
    "deepseek",
    "together",
    "perplexity",
    "openrouter",
    "databricks",
    "llamacpp",
    "vllm",
    "lmstudio",
    "openai-compatible",
    "ollama",
    "watsonx",
)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_authoring_is_deterministic_and_passes(vendor: str, tmp_path: Path) -> None:
    target = targets()[vendor]
    report = await run_suite([target], CASES, tmp_path, record_mode="rewrite")
    failed = [(r.case, r.detail) for r in report.results if r.status in ("fail", "missing")]
    assert failed == []
    authored = sorted((tmp_path / vendor).glob("*.yaml"))
    assert authored, "no cassette authored"
    for path in authored:
        committed = CASSETTES / vendor / path.name
        assert committed.is_file(), f"{path.name} is not committed: run `accord cassettes author {vendor}`"
        assert load_cassette(path).digest() == load_cassette(committed).digest(), path.name


@pytest.mark.parametrize("vendor", ["groq", "openrouter", "ollama", "watsonx"])
async def test_committed_cassettes_replay(vendor: str) -> None:
    report = await run_suite([targets()[vendor]], CASES, CASSETTES)
    assert report.no_cassettes == []
    assert [(r.case, r.detail) for r in report.results if r.status in ("fail", "missing")] == []
    assert {r.status for r in report.results} <= {"pass", "unsupported", "waived"}
