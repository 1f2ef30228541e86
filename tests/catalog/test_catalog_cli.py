"""`accord models`: filters, ranking, rich and plain tables, JSON, no-match exit code."""

from __future__ import annotations

import json
import sys

import pytest

from accord.adapters._catalog_cli import models_main
from accord.adapters.cli import main

# The catalog's shutdown dates are judged as of the day its facts were read, so the tests do not age.
AS_OF = "2026-12-07"


def test_rich_table_through_the_accord_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "-p", "openai", "--vision", "--max-input-price", "0.2", "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    assert "openai:gpt-5-nano" in out
    assert "openai:gpt-4o-mini" in out
    assert "openai:gpt-4o " not in out  # 2.5 per 1M is above the limit
    assert "gpt-4.1-nano" not in out  # shut down on 2026-10-23
    # not deprecated first, then cheapest first
    assert out.index("gpt-6-luna") < out.index("gpt-5-nano") < out.index("gpt-4o-mini")


def test_shut_down_models_reappear_when_asked_for_or_before_their_date(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["-p", "openai", "--vision", "--max-input-price", "0.2", "--json"]
    assert models_main([*base, "--as-of", AS_OF, "--include-shutdown"]) == 0
    assert "openai:gpt-4.1-nano" in [r["ref"] for r in json.loads(capsys.readouterr().out)]
    assert models_main([*base, "--as-of", "2026-10-22"]) == 0
    assert "openai:gpt-4.1-nano" in [r["ref"] for r in json.loads(capsys.readouterr().out)]


def test_plain_table_without_rich(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)
    args = ["-p", "openai", "--reasoning", "--structured", "--documents", "--limit", "2", "--as-of", AS_OF]
    assert models_main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["model", "context", "output"]
    assert len(lines) == 3
    assert lines[1].startswith("openai:gpt-5-nano") or lines[1].startswith("openai:gpt-5-mini")
    assert "TVRS" in lines[1]


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "-p",
        "openai",
        "--tools",
        "--min-context",
        "1000000",
        "--max-output-price",
        "2",
        "--json",
        "--as-of",
        AS_OF,
    ]
    assert models_main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["ref"] for r in rows] == ["openai:gpt-6-luna", "openai:gpt-4.1-mini"]
    assert rows[1]["profile"]["pricing"]["input"] == 0.4
    assert rows[1]["released"] == "2025-04-14"
    assert rows[0]["sources"] == ["catalog"]


def test_no_match_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert models_main(["-p", "openai", "--max-input-price", "0", "--no-deprecated", "--include-shutdown"]) == 1
    assert "no model matches" in capsys.readouterr().err
