"""The `accord` command: `ask` here; conformance, certification, recording and catalog commands load lazily."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from accord.contracts import AccordError, StreamEnd, TextDelta, ThinkingDelta

from . import __version__

# subcommand → "module:function(argv) -> exit code"; each module is imported only when its command runs.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "conformance": ("accord.conformance.cli:conformance_main", "run the conformance matrix from cassettes"),
    "certify": ("accord.conformance.cli:certify_main", "certify a third-party adapter"),
    "record": ("accord.conformance.cli:record_main", "re-record cassettes from the live service"),
    "drift": ("accord.conformance.cli:drift_main", "report what changed between two cassette folders"),
    "cassettes": ("accord.conformance.cli:cassettes_main", "cassette tools (lint)"),
    "models": ("accord.adapters._catalog_cli:models_main", "list catalog models, filtered"),
    "live": ("accord.conformance.live:live_main", "record the llama.cpp targets live, replay, report drift"),
}


def _ask_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accord ask", description="Stream one answer to the terminal.")
    parser.add_argument("model", help="provider:model, e.g. openai:gpt-4o-mini")
    parser.add_argument("prompt", help="what to ask")
    parser.add_argument("--system", help="system prompt")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--show-thinking", action="store_true", help="print reasoning as it streams")
    return parser


async def _ask(args: argparse.Namespace) -> int:
    from ._front import connect

    options = {"base_url": args.base_url} if args.base_url else {}
    model = connect(args.model, **options)
    fields = {
        k: v
        for k, v in (
            ("system", args.system),
            ("max_tokens", args.max_tokens),
            ("temperature", args.temperature),
        )
        if v is not None
    }
    out, err = sys.stdout, sys.stderr
    try:
        async with model.stream(args.prompt, **fields) as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    out.write(event.text)
                    out.flush()
                elif isinstance(event, ThinkingDelta) and args.show_thinking:
                    err.write(event.text)
                elif isinstance(event, StreamEnd):
                    out.write("\n")
                    usage = event.response.usage
                    cost = "" if event.response.cost is None else f", ${event.response.cost:.6f}"
                    err.write(
                        f"[{event.response.finish_reason}; {usage.input_tokens} in, {usage.output_tokens} out{cost}]\n"
                    )
    finally:
        await model.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = "\n".join(f"  {name:<12} {help_}" for name, (_, help_) in SUBCOMMANDS.items())
    if not args or args[0] in ("-h", "--help"):
        print(f"usage: accord [--version] COMMAND ...\n\ncommands:\n  {'ask':<12} stream one answer\n{commands}")
        return 0
    if args[0] == "--version":
        print(f"accord {__version__}")
        return 0
    command, rest = args[0], args[1:]
    try:
        if command == "ask":
            return asyncio.run(_ask(_ask_parser().parse_args(rest)))
        if command not in SUBCOMMANDS:
            print(f"accord: unknown command {command!r}", file=sys.stderr)
            return 2
        module_name, _, function = SUBCOMMANDS[command][0].partition(":")
        result: int = getattr(importlib.import_module(module_name), function)(rest)
        return result
    except AccordError as exc:
        print(f"accord: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # a request the contract refuses (e.g. --max-tokens 0): a usage error
        print(f"accord: invalid request: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover - `python -m accord.adapters.cli`
    raise SystemExit(main())
