"""`accord models [filters]`: the catalog as a table (rich when installed, plain text otherwise) or JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence

from ._catalog import CatalogModel, find_models

_COLUMNS = ("model", "context", "output", "in $/1M", "out $/1M", "cached $/1M", "caps", "released", "deprecated")
# Capability letters in the `caps` column.
_CAPS = (
    ("T", "supports_tools"),
    ("V", "supports_vision"),
    ("R", "supports_reasoning"),
    ("S", "supports_native_output"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accord models",
        description="List catalog models that meet every filter, ranked: not deprecated first, then cheapest input, "
        "then largest context. Unknown facts never pass a filter.",
    )
    parser.add_argument("-p", "--provider", action="append", help="only this provider (repeatable)")
    parser.add_argument("--tools", action="store_true", help="needs tool calling")
    parser.add_argument("--vision", action="store_true", help="needs image input")
    parser.add_argument("--reasoning", action="store_true", help="needs a reasoning model")
    parser.add_argument("--structured", action="store_true", help="needs native structured output")
    parser.add_argument("--documents", action="store_true", help="needs document (PDF) input")
    parser.add_argument("--min-context", type=int, metavar="TOKENS")
    parser.add_argument("--max-input-price", type=float, metavar="USD", help="per 1M input tokens")
    parser.add_argument("--max-output-price", type=float, metavar="USD", help="per 1M output tokens")
    parser.add_argument("--no-deprecated", action="store_true", help="leave out models with a deprecation date")
    parser.add_argument("--include-shutdown", action="store_true", help="include models past their shutdown date")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="judge shutdown dates as of this day (default: today)",
    )
    parser.add_argument("--limit", type=int, default=None, help="show at most this many")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _price(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _tokens(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _row(model: CatalogModel) -> tuple[str, ...]:
    p = model.profile
    caps = "".join(letter if getattr(p, name) else "-" for letter, name in _CAPS)
    return (
        model.ref,
        _tokens(p.max_context),
        _tokens(p.max_output),
        _price(p.pricing.input),
        _price(p.pricing.output),
        _price(p.pricing.cache_read),
        caps,
        model.released.isoformat() if model.released else "",
        model.deprecated.isoformat() if model.deprecated else "",
    )


def _json(models: Sequence[CatalogModel]) -> str:
    return json.dumps(
        [
            {
                "ref": m.ref,
                "released": m.released.isoformat() if m.released else None,
                "deprecated": m.deprecated.isoformat() if m.deprecated else None,
                "shutdown": m.shutdown.isoformat() if m.shutdown else None,
                "sources": list(m.sources),
                "profile": m.profile.model_dump(mode="json"),
            }
            for m in models
        ],
        indent=2,
    )


def _plain(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (_COLUMNS, *rows)) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in (_COLUMNS, *rows)
    ]
    return "\n".join(lines)


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(_plain(rows))
        return
    table = Table(title=f"{len(rows)} models  (caps: T tools, V vision, R reasoning, S structured output)")
    for name in _COLUMNS:
        table.add_column(name, justify="right" if "$" in name or name in ("context", "output") else "left")
    for row in rows:
        table.add_row(*row)
    Console(file=sys.stdout, width=160).print(table)


def models_main(argv: Sequence[str]) -> int:
    """Entry point of `accord models`."""
    args = _parser().parse_args(list(argv))
    found = find_models(
        requires_tools=args.tools,
        requires_vision=args.vision,
        requires_reasoning=args.reasoning,
        requires_native_output=args.structured,
        requires_documents=args.documents,
        min_context=args.min_context,
        max_input_price=args.max_input_price,
        max_output_price=args.max_output_price,
        provider=args.provider,
        include_deprecated=not args.no_deprecated,
        include_shutdown=args.include_shutdown,
        today=args.as_of,
    )
    if args.limit is not None:
        found = found[: args.limit]
    if args.json:
        print(_json(found))
    elif not found:
        print("no model matches these filters", file=sys.stderr)
        return 1
    else:
        _print_table([_row(m) for m in found])
    return 0
