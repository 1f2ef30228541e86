"""Reports: the adapter-by-area matrix (rich table, Markdown) and the JSON record of every case result."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from .cases import AREAS
from .runner import CaseResult, Report, accord_version

# Worst first: a cell shows the worst status among its cases, with counts.
_ORDER = ("fail", "missing", "waived", "pass", "unsupported")


def _live(results: list[CaseResult]) -> int:
    """How many of these results replayed a cassette recorded from the live service (the rest are synthetic)."""
    return sum(1 for r in results if r.origin == "live")


def cell(results: list[CaseResult]) -> str:
    """`pass 9`, `fail 1 · pass 8`, `unsupported 2`, `pass 4 · unsupported 1 · waived 1 (live 3)`, or `—`."""
    if not results:
        return "—"
    counts: Counter[str] = Counter(r.status for r in results)
    live = _live(results)
    text = " · ".join(f"{status} {counts[status]}" for status in _ORDER if counts[status])
    return text + (f" (live {live})" if live else "")


_ABBREV = {"fail": "fail", "missing": "miss", "waived": "waiv", "pass": "ok", "unsupported": "unsup"}


def _short(results: list[CaseResult]) -> str:
    """A narrow cell for terminals: `ok 9 unsup 1`."""
    if not results:
        return "—"
    counts: Counter[str] = Counter(r.status for r in results)
    live = _live(results)
    text = " ".join(f"{_ABBREV[s]} {counts[s]}" for s in _ORDER if counts[s])
    return text + (f" live {live}" if live else "")


def worst(results: list[CaseResult]) -> str:
    statuses = {r.status for r in results}
    return next((s for s in _ORDER if s in statuses), "none")


def matrix(report: Report) -> dict[str, dict[str, list[CaseResult]]]:
    rows: dict[str, dict[str, list[CaseResult]]] = {}
    for result in report.results:
        rows.setdefault(result.adapter, {area: [] for area in AREAS})[result.area].append(result)
    return rows


def to_json(report: Report) -> dict[str, Any]:
    rows = matrix(report)
    return {
        "accord_version": accord_version(),
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": report.seconds,
        "passed": not report.failed,
        "matrix": {
            adapter: {
                area: {**Counter(r.status for r in results), **({"live": n} if (n := _live(results)) else {})}
                for area, results in areas.items()
            }
            for adapter, areas in rows.items()
        },
        "no_cassettes": report.no_cassettes,
        "broken_modules": report.broken,
        "results": [r.to_dict() for r in report.results],
    }


def to_markdown(report: Report, *, title: str = "accord conformance") -> str:
    rows = matrix(report)
    lines = [f"# {title}", "", f"accord {accord_version()} · {len(report.results)} case runs · {report.seconds} s", ""]
    lines.append("| adapter | " + " | ".join(AREAS) + " |")
    lines.append("|---|" + "---|" * len(AREAS))
    for adapter, areas in rows.items():
        lines.append(f"| {adapter} | " + " | ".join(cell(areas[a]) for a in AREAS) + " |")
    for adapter in report.no_cassettes:
        lines.append(f"| {adapter} | " + " | ".join("no cassettes" for _ in AREAS) + " |")
    failures = [r for r in report.results if r.status in ("fail", "missing")]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- `{r.adapter}` `{r.case}` ({r.status}): {r.detail}" for r in failures]
    waived = [r for r in report.results if r.status == "waived"]
    if waived:
        lines += ["", "## Waivers", ""]
        lines += [f"- `{r.adapter}` `{r.case}`: {r.waiver}" for r in waived]
    if report.broken:
        lines += ["", "## Responder modules that failed to import", ""]
        lines += [f"- `{name}`: {why}" for name, why in report.broken.items()]
    return "\n".join(lines) + "\n"


def write_reports(report: Report, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "conformance-report.json"
    md_path = directory / "conformance-report.md"
    json_path.write_text(json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(report), encoding="utf-8")
    return json_path, md_path


_STYLE = {"fail": "bold red", "missing": "red", "waived": "yellow", "pass": "green", "unsupported": "dim"}


def rich_table(report: Report) -> Any:
    """The matrix as a rich Table (rich is imported only here)."""
    from rich.table import Table

    table = Table(title=f"accord conformance · {len(report.results)} case runs · {report.seconds} s")
    table.add_column("adapter", style="bold")
    for area in AREAS:
        table.add_column(area)
    for adapter, areas in matrix(report).items():
        table.add_row(adapter, *(f"[{_STYLE.get(worst(areas[a]), 'dim')}]{_short(areas[a])}[/]" for a in AREAS))
    for adapter in report.no_cassettes:
        table.add_row(adapter, "[dim]no cassettes[/]", *("" for _ in AREAS[1:]))
    return table
