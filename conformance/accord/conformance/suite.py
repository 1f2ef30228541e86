"""The suite as pytest tests: `pytest --pyargs accord.conformance.suite --adapter openai` (with the plugin)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

# Absolute imports on purpose: pytest may import this file under another module name (`--pyargs` with the
# default import mode walks up to the last `__init__.py`), and relative imports would then load a second copy
# of the suite whose classes differ from accord.conformance's.
from accord.conformance.cases import Case
from accord.conformance.runner import RecordMode, run_case
from accord.conformance.targets import Target


def test_contract(
    conformance_case: tuple[Target, Case], conformance_root: Path, conformance_record_mode: RecordMode
) -> None:
    target, case = conformance_case
    folder = conformance_root / target.name
    if conformance_record_mode == "none" and not (folder.is_dir() and any(folder.glob("*.yaml"))):
        pytest.skip(f"no cassettes for {target.name}")
    result = asyncio.run(run_case(target, case, conformance_root, record_mode=conformance_record_mode))
    if result.status == "unsupported":
        pytest.skip(f"unsupported: {result.detail}")
    if result.status == "waived":
        pytest.xfail(f"waived: {result.waiver}")
    if result.status != "pass":
        pytest.fail(f"{result.status}: {result.detail}", pytrace=False)
