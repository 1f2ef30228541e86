"""Reports, the schema area, the registry's handling of broken modules, and certifying with --record."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from accord.conformance import schema_area
from accord.conformance.cli import certify_main
from accord.conformance.report import cell, rich_table, to_json, to_markdown, worst, write_reports
from accord.conformance.responders import Registry, registry
from accord.conformance.runner import CaseResult, Report


def _report() -> Report:
    return Report(
        results=[
            CaseResult("acme", "completion.basic", "completion", "pass"),
            CaseResult("acme", "completion.image_url", "completion", "unsupported", "refused"),
            CaseResult("acme", "tools.single", "tools", "fail", "tool call names undeclared tool 'x'"),
            CaseResult("acme", "errors.quota", "errors", "waived", "would be fail", waiver="no billing"),
            CaseResult("acme", "streaming.text", "streaming", "missing", "no cassette"),
        ],
        no_cassettes=["other"],
        broken={"accord.conformance.responders.wip": "SyntaxError: oops"},
        seconds=0.5,
    )


def test_matrix_cells_markdown_and_json(tmp_path: Path) -> None:
    report = _report()
    assert report.failed
    assert cell([]) == "—"
    assert cell(report.results[:2]) == "pass 1 · unsupported 1"
    assert worst(report.results[:2]) == "pass"
    assert worst(report.results) == "fail"
    markdown = to_markdown(report)
    assert "| acme | pass 1 · unsupported 1 | missing 1 | fail 1 | — | waived 1 | — |" in markdown
    assert "| other | no cassettes |" in markdown
    assert "- `acme` `tools.single` (fail): tool call names undeclared tool 'x'" in markdown
    assert "- `acme` `errors.quota`: no billing" in markdown
    assert "SyntaxError: oops" in markdown
    data = to_json(report)
    assert data["passed"] is False
    assert data["matrix"]["acme"]["completion"] == {"pass": 1, "unsupported": 1}
    assert data["broken_modules"] == report.broken
    json_path, md_path = write_reports(report, tmp_path / "out")
    assert json.loads(json_path.read_text())["no_cassettes"] == ["other"]
    assert md_path.read_text() == markdown
    assert rich_table(report).row_count == 2


def test_registry_reports_broken_modules_instead_of_hiding_adapters() -> None:
    found = Registry()
    module = ModuleType("fake")
    module.RESPONDERS = [type("R", (), {"wire": "fake-wire"})()]  # type: ignore[attr-defined]
    module.TARGETS = []  # type: ignore[attr-defined]
    found.add_module(module)
    assert "fake-wire" in found.responders
    assert registry().broken == {} or all(":" in why for why in registry().broken.values())


def test_schema_area_checks_every_dialect_and_reports_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    assert schema_area.dialect_properties("no-such-dialect") == [
        "no documented-rule checker for dialect 'no-such-dialect'"
    ]
    assert schema_area.dialect_properties("openai", generated=5) == []
    # A transform that leaves the schema untouched must be caught by the openai rules (open objects, optional
    # fields) — proof that the area can fail.
    from accord.adapters import _schema

    class Identity:
        def __init__(self, schema: dict[str, Any]) -> None:
            self.transformed = schema
            self.strict_applied = True
            self.lossy = True
            self.reasons: list[str] = []

    monkeypatch.setattr(_schema, "plan_schema", lambda schema, dialect, strict=None: Identity(schema))
    import accord.adapters

    monkeypatch.setattr(
        accord.adapters, "plan_schema", lambda schema, dialect, strict=None: Identity(schema), raising=False
    )
    problems = schema_area.dialect_properties("openai", generated=0)
    assert problems
    assert any("lossy but names no reason" in p for p in problems)


def test_certify_with_record_against_a_loopback_service(
    provider: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("accord_example_adapter", reason="pip install -e tests/plugin_example")
    reference = "accord_example_adapter:AcmeAdapter"
    monkeypatch.delenv("ACME_API_KEY", raising=False)
    from accord.contracts import ConfigurationError

    with pytest.raises(ConfigurationError, match="ACME_API_KEY"):
        certify_main([reference, "--cassettes", str(tmp_path / "acme"), "--record", "--base-url", provider.url])
    monkeypatch.setenv("ACME_API_KEY", provider.leaky_key)
    code = certify_main(
        [
            reference,
            "--cassettes",
            str(tmp_path / "acme"),
            "--record",
            "--base-url",
            provider.url,
            "--case",
            "completion.basic",
            "--case",
            "streaming.text",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    cert = json.loads((tmp_path / "certificate.json").read_text())
    assert [(c["id"], c["status"], c["origin"]) for c in cert["cases"]] == [
        ("completion.basic", "pass", "live"),
        ("streaming.text", "pass", "live"),
    ]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert provider.leaky_key not in path.read_text()
