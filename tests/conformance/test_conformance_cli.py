"""The commands: `accord conformance`, `accord cassettes lint|author`, and the pytest plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from accord.adapters.cli import main as accord_main
from accord.conformance.cli import cassettes_main, conformance_main
from accord.contracts import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"


@pytest.fixture
def openai_copy(tmp_path: Path) -> Path:
    if not (CASSETTES / "openai").is_dir():
        pytest.skip("no openai cassettes")
    shutil.copytree(CASSETTES / "openai", tmp_path / "cassettes" / "openai")
    return tmp_path / "cassettes"


def test_conformance_command_prints_the_matrix_and_writes_reports(
    openai_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code = accord_main(
        [
            "conformance",
            "conformance-openai",
            "--cassettes",
            str(openai_copy),
            "--report-dir",
            str(reports),
            "--case",
            "completion.*",
            "--area",
            "completion",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "openai" in out
    assert "ok 11" in out
    data = json.loads((reports / "conformance-report.json").read_text())
    assert data["passed"] is True
    assert data["matrix"]["openai"]["completion"] == {"pass": 11}
    assert {r["case"] for r in data["results"]} >= {"completion.basic", "completion.unicode"}
    markdown = (reports / "conformance-report.md").read_text()
    assert "| openai | pass 11 |" in markdown


def test_conformance_fails_on_a_changed_cassette_and_lint_names_the_edit(
    openai_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = openai_copy / "openai" / "completion.basic.yaml"
    path.write_text(path.read_text().replace("max_tokens: 50", "max_tokens: 51"))
    code = conformance_main(
        ["openai", "--cassettes", str(openai_copy), "--report-dir", str(tmp_path), "--case", "completion.basic"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "fail" in out
    assert '"max_tokens": 51' in (tmp_path / "conformance-report.md").read_text()
    assert cassettes_main(["lint", str(openai_copy)]) == 1
    assert "hand-edited" in capsys.readouterr().out


def test_adapters_without_cassettes_are_listed_not_failed(
    openai_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = conformance_main(["openai", "--cassettes", str(tmp_path / "none"), "--report-dir", str(tmp_path)])
    assert code == 1  # nothing at all was checked: never a silent pass
    captured = capsys.readouterr()
    assert "no cassettes" in captured.out
    assert "nothing was checked" in captured.err
    assert json.loads((tmp_path / "conformance-report.json").read_text())["no_cassettes"] == ["openai"]
    # Beside an adapter that has cassettes, one without is listed and does not fail the run.
    code = conformance_main(
        [
            "openai",
            "anthropic",
            "--cassettes",
            str(openai_copy),
            "--report-dir",
            str(tmp_path),
            "--case",
            "completion.basic",
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "conformance-report.json").read_text())["no_cassettes"] == ["anthropic"]
    with pytest.raises(ConfigurationError, match="no conformance target 'nope'"):
        conformance_main(["nope"])


def test_cassettes_author_writes_synthetic_cassettes_that_lint_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cassettes_main(["author", "openai", "--cassettes", str(tmp_path), "--case", "tools.*"]) == 0
    written = sorted(p.name for p in (tmp_path / "openai").glob("*.yaml"))
    assert "tools.single.yaml" in written
    assert "tools.denied.yaml" not in written  # a refusal needs no cassette
    assert "authored" in capsys.readouterr().out
    assert cassettes_main(["lint", str(tmp_path)]) == 0
    text = (tmp_path / "openai" / "tools.single.yaml").read_text()
    assert "origin: synthetic" in text
    assert "name: get_weather" in text


def test_the_committed_cassettes_lint_clean(capsys: pytest.CaptureFixture[str]) -> None:
    if not CASSETTES.is_dir():
        pytest.skip("no cassettes")
    assert cassettes_main(["lint", str(CASSETTES)]) == 0, capsys.readouterr().out


def test_the_pytest_plugin_runs_the_suite(openai_copy: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # Once the plugin is registered through the pytest11 entry point, `-p` must not load it a second time.
    registered = any(ep.value == "accord.conformance.plugin" for ep in entry_points(group="pytest11"))
    base = [sys.executable, "-m", "pytest", *([] if registered else ["-p", "accord.conformance.plugin"])]
    base += ["--pyargs", "accord.conformance.suite", "--adapter", "conformance-openai", "--cassettes", str(openai_copy)]
    base += ["-q", "-p", "no:cacheprovider"]
    command = [*base, "--accord-case", "completion.*", "--accord-case", "tools.denied", "-rs"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout
    # A changed cassette fails its test with the request diff.
    path = openai_copy / "openai" / "completion.basic.yaml"
    path.write_text(path.read_text().replace("max_tokens: 50", "max_tokens: 51"))
    command = [*base, "--accord-case", "completion.basic", "--accord-record-mode", "none"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "differs from the cassette" in result.stdout
    # An adapter without cassettes is skipped, not failed.
    command = [
        *base[:-5],
        "--cassettes",
        str(tmp_path / "none"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--accord-case",
        "completion.basic",
        "-rs",
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout
    assert "no cassettes for openai" in result.stdout
