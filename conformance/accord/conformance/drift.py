"""Drift: what changed between two cassette folders — requests, response shapes, stream event types."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cassette import Cassette, CassetteError, Interaction, body_value, load_cassette


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(value: Any, path: str = "$", out: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """JSON path → the set of types seen there (array items collapse to `[]`)."""
    out = {} if out is None else out
    out.setdefault(path, set()).add(_type(value))
    if isinstance(value, dict):
        for key, sub in value.items():
            shape(sub, f"{path}.{key}", out)
    elif isinstance(value, list):
        for item in value:
            shape(item, f"{path}[]", out)
    return out


def leaves(value: Any, path: str = "$") -> dict[str, Any]:
    """JSON path → leaf value (arrays indexed), for request diffs."""
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, sub in value.items():
            found.update(leaves(sub, f"{path}.{key}"))
        return found or {path: {}}
    if isinstance(value, list):
        found = {}
        for i, sub in enumerate(value):
            found.update(leaves(sub, f"{path}[{i}]"))
        return found or {path: []}
    return {path: value}


def event_types(item: Interaction) -> set[str]:
    """Stream event kinds: the SSE event name, else the data's `type`/`object`, else `data`."""
    if item.response is None:
        return set()
    body = item.response.body
    kinds: set[str] = set()
    for event in body.get("sse", []):
        data = event.get("data")
        name = event.get("event") or (isinstance(data, dict) and (data.get("type") or data.get("object"))) or "data"
        kinds.add(str(name))
    for line in body.get("ndjson", []):
        kinds.add(str((isinstance(line, dict) and (line.get("type") or line.get("object"))) or "line"))
    return kinds


def response_shape(item: Interaction) -> dict[str, set[str]]:
    if item.response is None:
        return {}
    body = item.response.body
    out: dict[str, set[str]] = {}
    if "sse" in body:
        for event in body["sse"]:
            shape(event.get("data"), "$event", out)
    elif "ndjson" in body:
        for line in body["ndjson"]:
            shape(line, "$line", out)
    else:
        shape(body_value(body), "$", out)
    return out


@dataclass
class CassetteDrift:
    name: str
    request_changes: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)
    new_events: list[str] = field(default_factory=list)
    gone_events: list[str] = field(default_factory=list)
    status_changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.request_changes,
                self.added,
                self.removed,
                self.retyped,
                self.new_events,
                self.gone_events,
                self.status_changes,
            )
        )


def _merge(shapes: Iterable[dict[str, set[str]]]) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for s in shapes:
        for path, types in s.items():
            merged.setdefault(path, set()).update(types)
    return merged


def compare(name: str, old: Cassette, new: Cassette) -> CassetteDrift:
    drift = CassetteDrift(name)
    for i, (a, b) in enumerate(zip(old.interactions, new.interactions, strict=False)):
        if (a.request.method, a.request.path) != (b.request.method, b.request.path):
            drift.request_changes.append(
                f"#{i + 1}: {a.request.method} {a.request.path} → {b.request.method} {b.request.path}"
            )
        la, lb = leaves(body_value(a.request.body)), leaves(body_value(b.request.body))
        for path in sorted(set(la) | set(lb)):
            if path not in la:
                drift.request_changes.append(f"#{i + 1}: added `{path}` = {json.dumps(lb[path], ensure_ascii=False)}")
            elif path not in lb:
                drift.request_changes.append(f"#{i + 1}: removed `{path}`")
            elif la[path] != lb[path]:
                drift.request_changes.append(
                    f"#{i + 1}: `{path}`: {json.dumps(la[path], ensure_ascii=False)} → "
                    f"{json.dumps(lb[path], ensure_ascii=False)}"
                )
        sa = a.response.status if a.response else a.error
        sb = b.response.status if b.response else b.error
        if sa != sb:
            drift.status_changes.append(f"#{i + 1}: {sa} → {sb}")
    if len(old.interactions) != len(new.interactions):
        drift.request_changes.append(f"interactions: {len(old.interactions)} → {len(new.interactions)}")
    before = _merge(response_shape(i) for i in old.interactions)
    after = _merge(response_shape(i) for i in new.interactions)
    drift.added = sorted(set(after) - set(before))
    drift.removed = sorted(set(before) - set(after))
    drift.retyped = [
        f"{p}: {'|'.join(sorted(before[p]))} → {'|'.join(sorted(after[p]))}"
        for p in sorted(set(before) & set(after))
        if before[p] != after[p]
    ]
    old_events = set().union(*(event_types(i) for i in old.interactions)) if old.interactions else set()
    new_events = set().union(*(event_types(i) for i in new.interactions)) if new.interactions else set()
    drift.new_events = sorted(new_events - old_events)
    drift.gone_events = sorted(old_events - new_events)
    return drift


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*.yaml"))}


def drift_report(old_dir: Path, new_dir: Path) -> tuple[str, bool]:
    """Markdown describing what changed, and whether anything did."""
    old, new = _files(old_dir), _files(new_dir)
    lines = [f"# Cassette drift: `{old_dir}` → `{new_dir}`", ""]
    changed = False
    only_old, only_new = sorted(set(old) - set(new)), sorted(set(new) - set(old))
    if only_new:
        changed = True
        lines += ["## New cassettes", "", *[f"- `{n}`" for n in only_new], ""]
    if only_old:
        changed = True
        lines += ["## Cassettes no longer recorded", "", *[f"- `{n}`" for n in only_old], ""]
    sections: list[str] = []
    for name in sorted(set(old) & set(new)):
        try:
            drift = compare(name, load_cassette(old[name]), load_cassette(new[name]))
        except CassetteError as exc:
            sections += [f"### `{name}`", "", f"- unreadable: {exc}", ""]
            changed = True
            continue
        if not drift.changed:
            continue
        changed = True
        sections += [f"### `{name}`", ""]
        for title, items in (
            ("Request changes", drift.request_changes),
            ("Status changes", drift.status_changes),
            ("Response fields added", drift.added),
            ("Response fields removed", drift.removed),
            ("Response fields retyped", drift.retyped),
            ("New stream event types", drift.new_events),
            ("Stream event types no longer sent", drift.gone_events),
        ):
            if items:
                sections += [f"**{title}**", "", *[f"- `{i}`" if "`" not in i else f"- {i}" for i in items], ""]
    if sections:
        lines += ["## Changed cassettes", "", *sections]
    if not changed:
        lines += ["No drift: requests and response shapes are unchanged.", ""]
    return "\n".join(lines), changed
