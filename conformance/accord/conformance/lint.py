"""Cassette lint: secret-like strings, unscrubbed credentials, missing metadata, hand edits."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from accord.adapters._scrub import REDACTED, SECRET_QUERY_PARAMS

from .cassette import META_KEYS, ORIGINS, CassetteError, parse_cassette
from .scrub import is_secret_header, secret_like


def lint_text(text: str, source: str) -> list[str]:
    """Problems in one cassette's text (empty: clean)."""
    problems = [f"{source}: secret-like string {hit}" for hit in secret_like(text)]
    try:
        cassette = parse_cassette(text, source=source)
    except CassetteError as exc:
        return [*problems, str(exc)]
    meta = cassette.meta
    for key in META_KEYS:
        if not meta.get(key):
            problems.append(f"{source}: metadata `{key}` is missing")
    if meta.get("origin") and meta["origin"] not in ORIGINS:
        problems.append(f"{source}: origin {meta['origin']!r} is not one of {', '.join(ORIGINS)}")
    if meta.get("case") and Path(source).name not in (f"{meta['case']}.yaml", "<text>"):
        problems.append(f"{source}: file name does not match case {meta['case']!r}")
    if meta.get("digest") and meta["digest"] != cassette.digest():
        problems.append(f"{source}: interactions do not match the recorded digest (hand-edited? re-author it)")
    if not cassette.interactions:
        problems.append(f"{source}: no interactions")
    for i, item in enumerate(cassette.interactions, 1):
        heads = [("request", item.request.headers)]
        if item.response is not None:
            heads.append(("response", item.response.headers))
        for side, headers in heads:
            for name, values in headers.items():
                if is_secret_header(name) and any(v != REDACTED for v in values):
                    problems.append(f"{source}: interaction {i} {side} header `{name}` is not scrubbed")
        for key, value in parse_qsl(urlsplit(item.request.uri).query, keep_blank_values=True):
            if key.lower() in SECRET_QUERY_PARAMS and value != REDACTED:
                problems.append(f"{source}: interaction {i} query parameter `{key}` is not scrubbed")
    return problems


def lint_paths(paths: list[Path]) -> tuple[int, list[str]]:
    """Lint every `*.yaml` under `paths`; returns (files checked, problems)."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    problems: list[str] = []
    for file in files:
        problems.extend(lint_text(file.read_text(encoding="utf-8"), str(file)))
    return len(files), problems
