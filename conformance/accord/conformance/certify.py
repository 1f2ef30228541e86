"""Certification: the whole suite on a third-party adapter, written up as a certificate (JSON + Markdown)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accord.contracts import ConfigurationError

from .cases import Case
from .cassette import CassetteError, load_cassette
from .runner import RecordMode, Report, Source, accord_version, run_suite
from .targets import Target, load_object


def distribution_of(reference: str) -> tuple[str | None, str | None]:
    """The installed distribution (name, version) that provides the module of `pkg.module:Class`."""
    top = reference.split(":")[0].split(".")[0]
    for name in importlib.metadata.packages_distributions().get(top, []):
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    # Editable installs may not map their top-level module; the entry point that plugs the adapter in does.
    for group in ("accord.adapters", "accord.conformance"):
        for ep in importlib.metadata.entry_points(group=group):
            if ep.value.split(":")[0].split(".")[0] == top and ep.dist is not None:
                return ep.dist.name, ep.dist.version
    return None, None


def model_from_cassettes(folder: Path) -> str | None:
    """The model the cassettes were recorded with (the most common one)."""
    models: Counter[str] = Counter()
    for path in sorted(folder.glob("*.yaml")):
        try:
            model = load_cassette(path).model
        except CassetteError:
            continue
        if model:
            models[model] += 1
    return models.most_common(1)[0][0] if models else None


def _instance_attr(cls: Any, attr: str) -> str | None:
    """What an instance reports for `attr` (instances may set name and env var from vendor data), else the
    class's value."""
    try:
        instance = cls(api_key="test-key")
    except Exception:
        instance = cls
    value = getattr(instance, attr, None) or getattr(cls, attr, None)
    return str(value) if value else None


def certification_target(
    reference: str,
    folder: Path,
    *,
    model: str | None = None,
    name: str | None = None,
    wire: str | None = None,
    env_var: str | None = None,
    waivers: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Target:
    cls = load_object(reference)
    adapter_name = name or _instance_attr(cls, "name") or reference.rpartition(":")[2].lower()
    chosen = model or getattr(cls, "conformance_model", None) or model_from_cassettes(folder)
    if not chosen:
        raise ConfigurationError("no model: pass --model, or set `conformance_model` on the adapter class")
    variable = env_var or _instance_attr(cls, "env_var")
    return Target(
        name=str(adapter_name),
        adapter=reference,
        model=str(chosen),
        wire=wire or "",
        options=dict(options or {}),
        live_credentials={"api_key": variable} if variable else {},
        waivers=dict(waivers or {}),
    )


def certificate(target: Target, report: Report, *, reference: str, folder: Path) -> dict[str, Any]:
    package, version = distribution_of(reference)
    counts = Counter(r.status for r in report.results)
    return {
        "certificate": "accord conformance",
        "accord_version": accord_version(),
        "issued": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "adapter": {
            "reference": reference,
            "name": target.name,
            "package": package,
            "version": version,
            "model": target.model,
        },
        "cassettes": str(folder),
        "certified": not report.failed,
        "summary": dict(counts),
        "cases": [
            {
                "id": r.case,
                "area": r.area,
                "status": r.status,
                "detail": r.detail,
                "cassette": Path(r.cassette).name if r.cassette else None,
                "sha256": r.sha256,
                "origin": r.origin,
            }
            for r in report.results
        ],
        # Every declared waiver, with the status of its case: `waived` where it covered a failure.
        "waivers": [{"case": r.case, "reason": r.waiver, "status": r.status} for r in report.results if r.waiver],
    }


def certificate_markdown(cert: dict[str, Any]) -> str:
    adapter = cert["adapter"]
    verdict = "CERTIFIED" if cert["certified"] else "NOT CERTIFIED"
    lines = [
        f"# accord conformance certificate: {adapter['name']} — {verdict}",
        "",
        f"- adapter: `{adapter['reference']}` (package {adapter['package'] or 'unknown'} "
        f"{adapter['version'] or ''}), model `{adapter['model']}`",
        f"- accord {cert['accord_version']}, issued {cert['issued']}",
        "- summary: " + ", ".join(f"{k} {v}" for k, v in sorted(cert["summary"].items())),
        "",
        "| case | area | result | cassette origin | cassette SHA-256 |",
        "|---|---|---|---|---|",
    ]
    for case in cert["cases"]:
        digest = case["sha256"][:16] + "…" if case["sha256"] else "—"
        lines.append(f"| `{case['id']}` | {case['area']} | {case['status']} | {case['origin'] or '—'} | {digest} |")
    if cert["waivers"]:
        lines += ["", "## Waivers", ""]
        lines += [f"- `{w['case']}` ({w['status']}): {w['reason']}" for w in cert["waivers"]]
    failures = [c for c in cert["cases"] if c["status"] in ("fail", "missing")]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- `{c['id']}`: {c['detail']}" for c in failures]
    return "\n".join(lines) + "\n"


async def certify(
    target: Target,
    cases: list[Case],
    folder: Path,
    *,
    reference: str,
    record_mode: RecordMode = "none",
    source: Source = "synthetic",
    base_url: str | None = None,
) -> tuple[dict[str, Any], Report]:
    report = await run_suite(
        [target],
        cases,
        folder.parent,
        record_mode=record_mode,
        source=source,
        base_url=base_url,
        folders={target.name: folder},
    )
    if report.no_cassettes:
        # Certification needs evidence: no cassettes is a failure here, not a blank row.
        from .runner import CaseResult

        report.results = [
            CaseResult(
                adapter=target.name, case=c.id, area=c.area, status="missing", detail=f"no cassettes in {folder}"
            )
            for c in cases
        ]
        report.no_cassettes = []
    return certificate(target, report, reference=reference, folder=folder), report


def write_certificate(cert: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "certificate.json", directory / "certificate.md"
    json_path.write_text(json.dumps(cert, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(certificate_markdown(cert), encoding="utf-8")
    return json_path, md_path
