"""`accord live` wiring: server URLs per target, refusal without the server, drift handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.conformance import live
from accord.conformance.llamacpp_live import LiveServerUnavailable
from accord.conformance.responders.llamacpp_live import TARGETS
from accord.conformance.runner import Report


def test_each_target_keeps_its_own_path_on_the_running_server() -> None:
    urls = {t.name: live._server_url("http://127.0.0.1:4321", t) for t in TARGETS}
    assert urls == {
        "live-llamacpp": "http://127.0.0.1:4321/v1",
        "live-llamacpp-anthropic": "http://127.0.0.1:4321",
        "live-llamacpp-responses": "http://127.0.0.1:4321/v1",
    }


def test_without_the_server_the_command_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unavailable(out: Path, patterns: object = ()) -> Report:
        raise LiveServerUnavailable("xllamacpp is not installed")

    monkeypatch.setattr(live, "record_all", unavailable)
    assert live.live_main([]) == 2
    assert "xllamacpp is not installed" in capsys.readouterr().out


def test_drift_fails_only_with_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(live, "record_all", lambda out, patterns=(): Report())
    monkeypatch.setattr(live, "replay_all", lambda root: Report())
    committed = tmp_path / "committed"  # no committed cassettes: everything recorded is new, so it drifted
    report = tmp_path / "drift.md"
    assert live.live_main(["--cassettes", str(committed), "--drift-report", str(report)]) == 0
    assert "no committed cassettes yet" in report.read_text()
    assert live.live_main(["--cassettes", str(committed), "--check"]) == 1


def test_committed_synthetic_cassettes_join_the_fresh_recording(tmp_path: Path) -> None:
    committed, out = tmp_path / "committed", tmp_path / "out"
    folder = committed / TARGETS[0].name
    folder.mkdir(parents=True)
    (folder / "errors.auth.yaml").write_text("meta:\n  origin: synthetic\n")
    (folder / "completion.basic.yaml").write_text("meta:\n  origin: live\n")
    (out / TARGETS[0].name).mkdir(parents=True)
    (out / TARGETS[0].name / "completion.basic.yaml").write_text("meta:\n  origin: live\n  fresh: true\n")
    live._add_synthetic(committed, out)
    assert (out / TARGETS[0].name / "errors.auth.yaml").exists()
    assert "fresh" in (out / TARGETS[0].name / "completion.basic.yaml").read_text()
