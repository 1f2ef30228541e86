"""`accord live`: record the live llama.cpp targets, replay the suite on them, and fail on unexpected drift."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from .cases import select
from .drift import drift_report
from .llamacpp_live import LiveServerUnavailable, LlamaCppServer
from .responders.llamacpp_live import TARGETS
from .runner import Report, run_suite
from .targets import Target


def _server_url(server_base: str, target: Target) -> str:
    """The target's base URL with the running server's host and port (its path — `/v1` or none — kept)."""
    configured = str(target.options.get("base_url", ""))
    return server_base + urlsplit(configured).path.rstrip("/")


def record_all(out: Path, patterns: Sequence[str] = ()) -> Report:
    """Start the server, record every live case of every llama.cpp target into `out`, stop the server."""
    cases = [c for c in select(patterns) if c.live and c.mode != "property"]
    report = Report()
    with LlamaCppServer() as server:
        for target in TARGETS:
            part = asyncio.run(
                run_suite(
                    [target],
                    cases,
                    out,
                    record_mode="rewrite",
                    source="live",
                    base_url=_server_url(server.base_url, target),
                )
            )
            report.results.extend(part.results)
    return report


def replay_all(root: Path) -> Report:
    """The whole suite replayed from the cassettes under `root` (no server needed)."""
    return asyncio.run(run_suite(list(TARGETS), select(), root))


def _add_synthetic(committed: Path, out: Path) -> None:
    """Cases that cannot be provoked live (errors, cut streams) keep their committed synthetic cassettes: copy them
    beside the fresh recording, so the replay covers every case and drift compares like with like."""
    for target in TARGETS:
        source = committed / target.name
        if not source.is_dir():
            continue
        for path in source.glob("*.yaml"):
            destination = out / target.name / path.name
            if not destination.exists() and "origin: synthetic" in path.read_text(encoding="utf-8"):
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)


def live_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="accord live",
        description="Record the llama.cpp targets live, replay the suite on the recording, report drift.",
    )
    parser.add_argument("--out", type=Path, default=None, help="where to record (default: a temporary folder)")
    parser.add_argument("--cassettes", type=Path, default=Path("cassettes"), help="the committed cassettes")
    parser.add_argument("--case", action="append", default=[], help="case id or glob (repeatable)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the recording drifted from the committed")
    parser.add_argument("--drift-report", type=Path, default=None, help="write the drift Markdown here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="accord-live-") as scratch:
        out = args.out or Path(scratch)
        try:
            recorded = record_all(out, args.case)
        except LiveServerUnavailable as exc:
            print(f"accord live: {exc}")
            return 2
        _add_synthetic(args.cassettes, out)
        recording_failed = [r for r in recorded.results if r.status == "fail"]
        for result in recorded.results:
            print(f"record  {result.status:12} {result.adapter:26} {result.case} {result.detail}")
        replayed = replay_all(out)
        replay_failed = [r for r in replayed.results if r.status == "fail"]
        for result in replay_failed:
            print(f"replay  fail         {result.adapter:26} {result.case} {result.detail}")
        drifted = False
        sections = []
        for target in TARGETS:
            old, new = args.cassettes / target.name, out / target.name
            if not old.is_dir():
                sections.append(f"# {target.name}\n\nno committed cassettes yet\n")
                drifted = True
                continue
            markdown, changed = drift_report(old, new)
            drifted = drifted or changed
            sections.append(markdown)
        drift_text = "\n".join(sections)
        if args.drift_report:
            args.drift_report.write_text(drift_text, encoding="utf-8")
        if drifted:
            print(drift_text)
    seconds = time.perf_counter() - started
    live_cells = sum(1 for r in recorded.results if r.status == "pass" and r.cassette)
    print(
        f"accord live: {live_cells} live cassette(s) recorded, {len(recording_failed)} failed while recording, "
        f"{len(replay_failed)} failed on replay, drift: {'yes' if drifted else 'none'} ({seconds:.0f} s)"
    )
    if recording_failed or replay_failed:
        return 1
    return 1 if (drifted and args.check) else 0
