"""The suite's commands: `accord conformance`, `certify`, `record`, `drift` and `cassettes lint|author`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from accord.contracts import ConfigurationError

from .cases import AREAS, Case, select
from .runner import RECORD_MODES, CaseResult, RecordMode, Report, run_suite
from .targets import Target


def default_cassettes() -> Path:
    return Path(os.environ.get("ACCORD_CASSETTES", "cassettes"))


def _adapter_name(raw: str) -> str:
    # `tox -e conformance-openai` passes its env name through.
    return raw.removeprefix("conformance-")


def _targets(names: Sequence[str]) -> tuple[list[Target], dict[str, str]]:
    from .responders import registry

    found = registry()
    if not names:
        return [found.targets[n] for n in sorted(found.targets)], dict(found.broken)
    chosen: list[Target] = []
    for raw in names:
        name = _adapter_name(raw)
        if name not in found.targets:
            known = ", ".join(sorted(found.targets)) or "none"
            broken = f" (responder modules that failed to import: {', '.join(found.broken)})" if found.broken else ""
            raise ConfigurationError(f"no conformance target {name!r}; known: {known}{broken}")
        chosen.append(found.targets[name])
    return chosen, dict(found.broken)


def _progress(total: int, enabled: bool) -> tuple[Callable[[CaseResult], None], Callable[[], None]]:
    """A rich progress bar (stderr) when enabled and rich is installed; otherwise no-ops."""
    if not enabled:
        return (lambda _: None), (lambda: None)
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    except ImportError:
        return (lambda _: None), (lambda: None)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("conformance", total=total)
    progress.start()

    def advance(result: CaseResult) -> None:
        progress.update(task, advance=1, description=f"{result.adapter} {result.case}")

    return advance, progress.stop


def _print_report(report: Report) -> None:
    from .report import rich_table, to_markdown

    try:
        from rich.console import Console
    except ImportError:
        print(to_markdown(report))
        return
    console = Console()
    console.print(rich_table(report))
    for result in report.results:
        if result.status in ("fail", "missing"):
            console.print(
                f"[red]{result.status}[/] {result.adapter} {result.case}: {result.detail}", markup=True, highlight=False
            )
    for name, why in report.broken.items():
        console.print(f"[red]broken responder module[/] {name}: {why}")


def conformance_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="accord conformance", description="Run the conformance matrix.")
    parser.add_argument("adapters", nargs="*", help="adapter names (default: all); a `conformance-` prefix is ok")
    parser.add_argument("--cassettes", type=Path, default=None, help="cassette root (default: ./cassettes)")
    parser.add_argument("--case", action="append", default=[], help="case id or glob (repeatable)")
    parser.add_argument("--area", action="append", default=[], choices=AREAS)
    parser.add_argument(
        "--record-mode",
        choices=RECORD_MODES,
        default="none",
        help="none: replay only; once: author missing cassettes; rewrite: author all",
    )
    parser.add_argument("--report-dir", type=Path, default=Path("."))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from .report import write_reports

    targets, broken = _targets(args.adapters)
    cases = select(args.case, args.area)
    root = args.cassettes or default_cassettes()
    advance, stop = _progress(len(targets) * len(cases), not args.no_progress and sys.stderr.isatty())
    try:
        report = asyncio.run(run_suite(targets, cases, root, record_mode=args.record_mode, on_result=advance))
    finally:
        stop()
    report.broken = broken if not args.adapters else {}
    _print_report(report)
    json_path, md_path = write_reports(report, args.report_dir)
    print(f"wrote {json_path} and {md_path}")
    if not report.results:
        print(f"accord conformance: no cassettes under {root}: nothing was checked", file=sys.stderr)
        return 1
    return 1 if report.failed else 0


def _waivers(items: Sequence[str], file: Path | None) -> dict[str, str]:
    waivers: dict[str, str] = {}
    if file is not None:
        import yaml

        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigurationError(f"{file}: waivers must be a mapping of case id to reason")
        waivers.update({str(k): str(v or "") for k, v in loaded.items()})
    for item in items:
        case, sep, reason = item.partition("=")
        waivers[case.strip()] = reason.strip() if sep else ""
    for case, reason in waivers.items():
        if not reason:
            raise ConfigurationError(f"waiver of {case!r} needs a written reason (CASE=REASON)")
    return waivers


def certify_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="accord certify", description="Certify a third-party adapter.")
    parser.add_argument("adapter", help="package.module:AdapterClass")
    parser.add_argument("--cassettes", type=Path, required=True, help="folder holding <case-id>.yaml cassettes")
    parser.add_argument("--model", default=None)
    parser.add_argument("--name", default=None, help="provider name (default: the class's `name`)")
    parser.add_argument("--wire", default=None, help="responder for --author (e.g. openai_chat)")
    parser.add_argument("--author", action="store_true", help="author synthetic cassettes with --wire's responder")
    parser.add_argument("--record", action="store_true", help="record cassettes from the live service")
    parser.add_argument("--base-url", default=None, help="with --record: the service to record from")
    parser.add_argument("--env-var", default=None, help="with --record: the API key variable")
    parser.add_argument("--waive", action="append", default=[], metavar="CASE=REASON")
    parser.add_argument("--waivers", type=Path, default=None, help="YAML mapping case id → reason")
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    from .certify import certification_target, certify, write_certificate

    if args.author and not args.wire:
        raise ConfigurationError("--author needs --wire (the responder that answers the adapter's requests)")
    target = certification_target(
        args.adapter,
        args.cassettes,
        model=args.model,
        name=args.name,
        wire=args.wire,
        env_var=args.env_var,
        waivers=_waivers(args.waive, args.waivers),
    )
    mode: RecordMode = "rewrite" if (args.author or args.record) else "none"
    cases = select(args.case)
    if args.record:
        target.read_live_credentials()  # refuse early, naming the variable
        cases = [c for c in cases if c.live or c.mode == "property"]
    cert, _ = asyncio.run(
        certify(
            target,
            cases,
            args.cassettes,
            reference=args.adapter,
            record_mode=mode,
            source="live" if args.record else "synthetic",
            base_url=args.base_url,
        )
    )
    json_path, md_path = write_certificate(cert, args.out)
    verdict = "certified" if cert["certified"] else "NOT certified"
    print(f"{target.name}: {verdict} ({', '.join(f'{k} {v}' for k, v in sorted(cert['summary'].items()))})")
    print(f"wrote {json_path} and {md_path}")
    return 0 if cert["certified"] else 1


def record_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="accord record", description="Re-record cassettes from the live service.")
    parser.add_argument("adapter")
    parser.add_argument("--case", action="append", default=[], help="case id or glob (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="cassette root to write (default: ./cassettes)")
    parser.add_argument("--base-url", default=None, help="record from this URL instead of the provider's")
    args = parser.parse_args(argv)
    (target,), _ = _targets([args.adapter])
    target.read_live_credentials()  # refuses, naming the missing variable
    cases = [c for c in select(args.case) if c.live and c.mode != "property"]
    root = args.out or default_cassettes()
    report = asyncio.run(run_suite([target], cases, root, record_mode="rewrite", source="live", base_url=args.base_url))
    for result in report.results:
        print(f"{result.status:12} {result.case} {result.detail}")
    print(f"recorded {sum(1 for r in report.results if r.cassette)} cassette(s) into {root / target.name}")
    return 1 if report.failed else 0


def drift_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="accord drift", description="What changed between two cassette folders.")
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here (default: stdout)")
    parser.add_argument("--fail-on-drift", action="store_true")
    args = parser.parse_args(argv)
    from .drift import drift_report

    for folder in (args.old, args.new):
        if not folder.is_dir():
            raise ConfigurationError(f"{folder} is not a folder")
    markdown, changed = drift_report(args.old, args.new)
    if args.out:
        args.out.write_text(markdown, encoding="utf-8")
    else:
        print(markdown)
    return 1 if (changed and args.fail_on_drift) else 0


def cassettes_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="accord cassettes", description="Cassette tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    lint = sub.add_parser("lint", help="fail on secrets, unscrubbed credentials, missing metadata, hand edits")
    lint.add_argument("paths", nargs="*", type=Path)
    author = sub.add_parser("author", help="author synthetic cassettes with the adapter's wire responder")
    author.add_argument("adapter")
    author.add_argument("--case", action="append", default=[])
    author.add_argument("--cassettes", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "lint":
        from .lint import lint_paths

        count, problems = lint_paths(args.paths or [default_cassettes()])
        for problem in problems:
            print(problem)
        print(f"linted {count} cassette(s): {len(problems)} problem(s)")
        return 1 if problems else 0
    (target,), _ = _targets([args.adapter])
    cases: list[Case] = [c for c in select(args.case) if c.mode != "property"]
    root = args.cassettes or default_cassettes()
    report = asyncio.run(run_suite([target], cases, root, record_mode="rewrite"))
    for result in report.results:
        if result.status != "pass":
            print(f"{result.status:12} {result.case} {result.detail}")
    written = sum(1 for r in report.results if r.cassette)
    print(f"authored {written} cassette(s) into {root / target.name}")
    return 1 if report.failed else 0
