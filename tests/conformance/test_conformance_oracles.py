"""Every cassette through the oracles registered for its wire: vendor specs, SDK types, SDK stream parsers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from accord.conformance.cases import CASES_BY_ID
from accord.conformance.cassette import load_cassette
from accord.conformance.oracle_openai import check_sdk_types, check_spec, check_stream_accumulator, spec_path
from accord.conformance.oracles import Oracle, OracleInput
from accord.conformance.responders import oracles_for, targets
from accord.conformance.runner import execute
from accord.conformance.transports import ReplayTransport

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def _folders() -> list[Path]:
    return sorted(p for p in CASSETTES.iterdir() if p.is_dir()) if CASSETTES.is_dir() else []


def _check(path: Path) -> list[str] | None:
    """The oracle problems of one cassette, or None when no oracle can run for its wire."""
    cassette = load_cassette(path)
    runnable = [o for o in oracles_for(str(cassette.meta.get("wire", ""))) if o.missing() is None]
    if not runnable:
        return None
    target = targets().get(str(cassette.meta.get("adapter")))
    if target is not None and target.vendor_oracles_skip and cassette.origin == "live":
        return None
    case = CASES_BY_ID.get(str(cassette.meta.get("case")))
    response = None
    if target is not None and case is not None:
        response = asyncio.run(execute(target, case, ReplayTransport(cassette))).response
    problems: list[str] = []
    for index, item in enumerate(cassette.interactions):
        last = index == len(cassette.interactions) - 1
        data = OracleInput(
            cassette,
            item,
            accord_response=response if last else None,
            streamed=bool(item.response and "sse" in item.response.body),
        )
        for oracle in runnable:
            problems += [f"{path.name}: {oracle.name}: {p}" for p in oracle.check(data)]
    return problems


@pytest.mark.parametrize("folder", _folders(), ids=lambda p: p.name)
def test_cassettes_agree_with_the_vendor_oracles(folder: Path) -> None:
    checked = 0
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        found = _check(path)
        if found is not None:
            checked += 1
            problems += found
    if not checked:
        pytest.skip(f"no oracle registered (or installed) for {folder.name}'s wire")
    assert problems == []


def test_openai_oracles_catch_wrong_bodies() -> None:
    pytest.importorskip("openai")
    path = CASSETTES / "openai" / "streaming.tool_call.yaml"
    if not path.exists():
        pytest.skip("no openai cassettes")
    cassette = load_cassette(path)
    item = cassette.interactions[0]
    item.request.body["json"]["temperature"] = "hot"
    item.request.body["json"]["not_a_field"] = 1
    assert any("not_a_field" in p for p in check_sdk_types(OracleInput(cassette, item)))
    if spec_path().exists():
        assert any("temperature" in p for p in check_spec(OracleInput(cassette, item)))
    target, case = targets()["openai"], CASES_BY_ID["streaming.tool_call"]
    outcome = asyncio.run(execute(target, case, ReplayTransport(load_cassette(path))))
    assert outcome.response is not None
    assert check_stream_accumulator(OracleInput(cassette, item, accord_response=outcome.response)) == []
    wrong = outcome.response.model_copy(update={"parts": [], "provider_finish_reason": "stop"})
    problems = check_stream_accumulator(OracleInput(cassette, item, accord_response=wrong))
    assert any(p.startswith("tool calls:") for p in problems)
    assert any(p.startswith("finish:") for p in problems)


def test_an_oracle_is_skipped_when_its_requirement_is_absent() -> None:
    absent = Oracle("x", "w", lambda data: [], requires=("no_such_sdk_module_xyz",))
    assert absent.missing() == "no_such_sdk_module_xyz is not installed"
    assert (
        Oracle("y", "w", lambda data: [], requires=("/no/such/spec.json",)).missing() == "/no/such/spec.json is absent"
    )
    assert Oracle("z", "w", lambda data: [], requires=("json",)).missing() is None
