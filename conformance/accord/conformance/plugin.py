"""The pytest plugin: `--adapter`, `--cassettes`, `--accord-record-mode`, and one test per (adapter, case)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .runner import RECORD_MODES, RecordMode

# pytest-recording owns `--record-mode`; when it is installed its value is honoured (mapped onto ours).
_FROM_PYTEST_RECORDING: dict[str, RecordMode] = {
    "none": "none",
    "once": "once",
    "new_episodes": "once",
    "all": "rewrite",
    "rewrite": "rewrite",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("accord-conformance", "accord conformance suite")
    group.addoption("--adapter", action="append", default=[], help="adapter to run the suite on (repeatable)")
    group.addoption("--cassettes", default=None, help="cassette root (default: $ACCORD_CASSETTES or ./cassettes)")
    group.addoption(
        "--accord-record-mode",
        default=None,
        choices=RECORD_MODES,
        help="none (replay), once (author missing), rewrite (author all); also read from "
        "pytest-recording's --record-mode",
    )
    group.addoption(
        "--accord-case", dest="accord_case", action="append", default=[], help="case id or glob (repeatable)"
    )


def record_mode(config: pytest.Config) -> RecordMode:
    ours = config.getoption("accord_record_mode", None)
    if ours:
        return ours  # type: ignore[no-any-return]
    theirs = config.getoption("record_mode", None)
    return _FROM_PYTEST_RECORDING.get(str(theirs), "none") if theirs else "none"


def cassette_root(config: pytest.Config) -> Path:
    return Path(config.getoption("cassettes") or os.environ.get("ACCORD_CASSETTES", "cassettes"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_case" not in metafunc.fixturenames:
        return
    from .cases import select
    from .responders import targets

    config = metafunc.config
    known = targets()
    names = [n.removeprefix("conformance-") for n in config.getoption("adapter")] or sorted(known)
    params = []
    for name in names:
        if name not in known:
            raise pytest.UsageError(f"no conformance target {name!r}; known: {', '.join(sorted(known))}")
        for case in select(config.getoption("accord_case")):
            params.append(pytest.param((known[name], case), id=f"{name}:{case.id}"))
    metafunc.parametrize("conformance_case", params)


@pytest.fixture
def conformance_root(request: pytest.FixtureRequest) -> Path:
    return cassette_root(request.config)


@pytest.fixture
def conformance_record_mode(request: pytest.FixtureRequest) -> RecordMode:
    return record_mode(request.config)
