"""Record → scrub → drift, end to end against a loopback provider; a real-looking key never reaches disk,
logs, output or exception text."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from accord.adapters.cli import main as accord_main
from accord.conformance.cases import CASES_BY_ID
from accord.conformance.cli import drift_main, record_main
from accord.conformance.lint import lint_paths
from accord.conformance.responders import targets
from accord.conformance.runner import run_case, write_cassette
from accord.contracts import AuthenticationError, ConfigurationError, Message, Request


def _all_text(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file())


def test_record_refuses_without_the_key_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        record_main(["openai", "--out", str(tmp_path)])
    assert accord_main(["record", "openai", "--out", str(tmp_path)]) == 1
    assert "set OPENAI_API_KEY" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_record_scrub_drift_end_to_end(
    provider: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # accord's loggers at DEBUG, everything else at INFO (httpcore's DEBUG trace prints raw response headers,
    # which here echo the key on purpose: that is the provider's doing, below accord).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="accord")
    LEAKY_KEY = provider.leaky_key
    monkeypatch.setenv("OPENAI_API_KEY", LEAKY_KEY)
    old, new = tmp_path / "old", tmp_path / "new"
    cases = ["completion.basic", "streaming.text", "tools.single"]
    argv = [a for c in cases for a in ("--case", c)]

    assert record_main(["openai", "--out", str(old), "--base-url", provider.url, *argv]) == 0
    provider.version = 2
    assert record_main(["openai", "--out", str(new), "--base-url", provider.url, *argv]) == 0
    assert set(provider.seen_keys) == {LEAKY_KEY}  # the provider really received the key

    recorded = sorted(p.name for p in (old / "openai").iterdir())
    assert recorded == [f"{c}.yaml" for c in sorted(cases)]
    assert "origin: live" in (old / "openai" / "completion.basic.yaml").read_text()
    count, problems = lint_paths([old, new])
    assert (count, problems) == (6, [])

    report = tmp_path / "drift.md"
    assert drift_main([str(old / "openai"), str(new / "openai"), "--out", str(report)]) == 0
    assert drift_main([str(old / "openai"), str(new / "openai"), "--fail-on-drift"]) == 1
    markdown = report.read_text()
    assert "### `completion.basic.yaml`" in markdown
    assert "$.service_tier_details.tier" in markdown  # added
    assert "$.system_fingerprint" in markdown  # removed
    assert "$.created: number → string" in markdown  # retyped
    assert "chat.completion.annotation" in markdown  # a new stream event type
    assert "Request changes" not in markdown  # the adapter sent the same requests both times

    unchanged = tmp_path / "same.md"
    drift_main([str(old / "openai"), str(old / "openai"), "--out", str(unchanged)])
    assert "No drift" in unchanged.read_text()

    output = capsys.readouterr()
    for where, text in (
        ("disk", _all_text(tmp_path)),
        ("logs", caplog.text),
        ("stdout", output.out),
        ("stderr", output.err),
    ):
        assert LEAKY_KEY not in text, where
        assert LEAKY_KEY[:20] not in text, where


async def test_a_recorded_error_answer_echoing_the_key_is_scrubbed(
    provider: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="accord")
    LEAKY_KEY = provider.leaky_key
    monkeypatch.setenv("OPENAI_API_KEY", LEAKY_KEY)
    target = dataclasses.replace(targets()["openai"], case_models={"errors.auth": "gpt-nonexistent"})
    case = CASES_BY_ID["errors.auth"]
    path, why = await write_cassette(target, case, tmp_path, source="live", base_url=provider.url)
    assert path is not None, why
    text = path.read_text()
    assert LEAKY_KEY not in text
    assert "<redacted>" in text
    assert lint_paths([tmp_path])[1] == []
    result = await run_case(target, case, tmp_path)
    assert result.status == "pass", result.detail
    assert result.origin == "live"

    adapter = target.build(live=True, base_url=provider.url, max_retries=0)
    try:
        with pytest.raises(AuthenticationError) as raised:
            await adapter.complete(Request(model="gpt-nonexistent", messages=[Message.user("hi")]))
    finally:
        await adapter.aclose()
    error = raised.value
    for text in (str(error), repr(error), str(error.body), caplog.text):
        assert LEAKY_KEY not in text


def test_drift_reports_request_changes_and_added_or_removed_cassettes(tmp_path: Path) -> None:
    from accord.conformance.cassette import load_cassette, save_cassette
    from accord.conformance.scrub import Scrubber

    source = Path("cassettes/openai")
    if not source.is_dir():
        pytest.skip("run from the repository root")
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    for name in ("completion.basic.yaml", "completion.unicode.yaml"):
        (old / name).write_bytes((source / name).read_bytes())
    cassette = load_cassette(source / "completion.basic.yaml")
    cassette.interactions[0].request.body["json"]["max_tokens"] = 99
    cassette.interactions[0].request.body["json"]["store"] = False
    save_cassette(new / "completion.basic.yaml", cassette, Scrubber())
    (new / "tools.single.yaml").write_bytes((source / "tools.single.yaml").read_bytes())
    markdown = asyncio.run(
        asyncio.to_thread(lambda: __import__("accord.conformance.drift", fromlist=["x"]).drift_report(old, new))
    )[0]
    assert "`$.max_tokens`: 50 → 99" in markdown
    assert "added `$.store` = false" in markdown
    assert "## New cassettes" in markdown
    assert "tools.single.yaml" in markdown
    assert "## Cassettes no longer recorded" in markdown
    assert "completion.unicode.yaml" in markdown
