"""Certification of a third-party adapter installed through the `accord.adapters` entry point."""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from accord.adapters.cli import main as accord_main
from accord.conformance.cli import certify_main
from accord.contracts import ConfigurationError

pytest.importorskip("accord_example_adapter", reason="pip install -e tests/plugin_example")

REFERENCE = "accord_example_adapter:AcmeAdapter"


def test_the_example_adapter_is_found_through_the_entry_point() -> None:
    from accord.adapters._registry import adapter_factory

    names = {ep.name: ep.value for ep in entry_points(group="accord.adapters")}
    assert names.get("acme") == REFERENCE
    assert adapter_factory("acme").__name__ == "AcmeAdapter"


def test_certify_authors_then_replays_and_writes_the_certificate(tmp_path: Path) -> None:
    cassettes, out = tmp_path / "acme", tmp_path / "cert"
    waiver = "errors.timeout=Acme's gateway answers slow calls with 504, never a silent timeout"
    assert (
        certify_main(
            [
                REFERENCE,
                "--cassettes",
                str(cassettes),
                "--wire",
                "openai_chat",
                "--author",
                "--out",
                str(out),
                "--waive",
                waiver,
            ]
        )
        == 0
    )
    authored = sorted(p.name for p in cassettes.glob("*.yaml"))
    assert "completion.basic.yaml" in authored
    assert "completion.image_url.yaml" not in authored  # Acme's profile has no vision: refused, no cassette

    # Replay only (what a vendor's CI runs), through the `accord` command.
    assert accord_main(["certify", REFERENCE, "--cassettes", str(cassettes), "--out", str(out), "--waive", waiver]) == 0
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["certified"] is True
    assert cert["adapter"] == {
        "reference": REFERENCE,
        "name": "acme",
        "package": "accord-example-adapter",
        "version": "0.3.1",
        "model": "acme-chat-1",
    }
    from accord.adapters import __version__

    assert cert["accord_version"] == __version__
    by_id = {c["id"]: c for c in cert["cases"]}
    assert by_id["completion.image_url"]["status"] == "unsupported"
    assert by_id["completion.basic"]["status"] == "pass"
    for case in cert["cases"]:
        if case["cassette"]:
            digest = hashlib.sha256((cassettes / case["cassette"]).read_bytes()).hexdigest()
            assert case["sha256"] == digest
            assert case["origin"] == "synthetic"
    assert cert["waivers"] == [{"case": "errors.timeout", "reason": waiver.partition("=")[2], "status": "pass"}]
    markdown = (out / "certificate.md").read_text()
    assert "CERTIFIED" in markdown
    assert "errors.timeout" in markdown
    assert "Waivers" in markdown


def test_a_faulty_adapter_is_not_certified_unless_the_fault_is_waived(tmp_path: Path) -> None:
    cassettes, out = tmp_path / "acme", tmp_path / "cert"
    assert (
        certify_main([REFERENCE, "--cassettes", str(cassettes), "--wire", "openai_chat", "--author", "--out", str(out)])
        == 0
    )
    broken = "accord_example_adapter.broken:ForgetfulAcmeAdapter"
    assert certify_main([broken, "--cassettes", str(cassettes), "--out", str(out)]) == 1
    cert = json.loads((out / "certificate.json").read_text())
    failed = {c["id"]: c for c in cert["cases"] if c["status"] == "fail"}
    assert list(failed) == ["completion.stop_sequences"]
    assert "request #1 differs from the cassette" in failed["completion.stop_sequences"]["detail"]
    assert '-  "stop": [' in failed["completion.stop_sequences"]["detail"]
    assert "NOT CERTIFIED" in (out / "certificate.md").read_text()

    reason = "Acme ignores stop sequences; documented in our README"
    assert (
        certify_main(
            [broken, "--cassettes", str(cassettes), "--out", str(out), "--waive", f"completion.stop_sequences={reason}"]
        )
        == 0
    )
    cert = json.loads((out / "certificate.json").read_text())
    assert cert["waivers"] == [{"case": "completion.stop_sequences", "reason": reason, "status": "waived"}]


def test_waivers_need_a_reason_and_certification_needs_cassettes(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="written reason"):
        certify_main([REFERENCE, "--cassettes", str(tmp_path), "--waive", "errors.timeout"])
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("errors.timeout: ''\n")
    with pytest.raises(ConfigurationError, match="written reason"):
        certify_main([REFERENCE, "--cassettes", str(tmp_path), "--waivers", str(waivers)])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert certify_main([REFERENCE, "--cassettes", str(empty), "--out", str(tmp_path)]) == 1
    cert = json.loads((tmp_path / "certificate.json").read_text())
    assert {c["status"] for c in cert["cases"]} == {"missing"}
    with pytest.raises(ConfigurationError, match="--wire"):
        certify_main([REFERENCE, "--cassettes", str(empty), "--author"])


def test_waivers_file_and_model_from_cassettes(tmp_path: Path) -> None:
    source = Path("cassettes/openai")
    if not source.is_dir():
        pytest.skip("run from the repository root")
    folder = tmp_path / "openai"
    shutil.copytree(source, folder)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("errors.quota: billing is handled by the platform\n")
    # An adapter class without `conformance_model`: the model comes from the cassettes' metadata.
    assert (
        certify_main(
            [
                "accord.adapters.openai_chat:OpenAIChatAdapter",
                "--cassettes",
                str(folder),
                "--out",
                str(tmp_path),
                "--waivers",
                str(waivers),
                "--case",
                "completion.*",
            ]
        )
        == 0
    )
    cert = json.loads((tmp_path / "certificate.json").read_text())
    assert cert["adapter"]["model"] == "gpt-4o-mini"
    assert cert["adapter"]["name"] == "openai"
