"""Fault-matrix fixtures: a network guard, the wire rows, and adapters wired to a fault server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from faultkit_harness import network_guard_env


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # Anything that is not loopback goes to a dead proxy: a token exchange we did not redirect fails fast, offline.
    for key, value in network_guard_env().items():
        monkeypatch.setenv(key, value)
