"""The benchmark: accord against raw httpx, raw aiohttp, the openai SDK, LiteLLM and pydantic-ai, in one run.

    python bench/run.py                # every client that is installed; prints the table and the budget check
    python bench/run.py --quick        # fewer requests (a smoke run)

A mock OpenAI server runs in its own process (bench/server.py); each client runs in a fresh interpreter of its own
(`--worker NAME`), so import time and peak RSS are that client's alone. Missing peers say "not installed".
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clients import CLIENTS, IMPORTS  # noqa: E402

CHUNKS = 200
FULL = {"seq": 600, "tp": 3000, "streams": 60, "imports": 5}
QUICK = {"seq": 60, "tp": 256, "streams": 6, "imports": 3}


# --- one client, in its own process --------------------------------------------------------------------------


async def _measure(name: str, base: str, sizes: dict[str, int]) -> dict[str, Any]:
    _, factory = CLIENTS[name]
    client = await factory(base)
    try:
        for _ in range(20):  # warm-up: pools, lazy imports, caches
            assert "Hello" in await client.complete()
        assert await client.stream() == CHUNKS

        # Best of three rounds each: the machine is shared, and interference only ever adds time.
        rounds = 3
        seq_cpu = seq_wall = float("inf")
        per_round = max(1, sizes["seq"] // rounds)
        for _ in range(rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(per_round):
                await client.complete()
            seq_cpu = min(seq_cpu, (time.process_time() - cpu) / per_round)
            seq_wall = min(seq_wall, (time.perf_counter() - wall) / per_round)

        throughput = 0.0
        total, workers = max(64, sizes["tp"] // rounds), 64
        for _ in range(rounds):
            remaining = iter(range(total))

            async def worker(todo: Iterator[int] = remaining) -> None:
                for _ in todo:
                    await client.complete()

            wall = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(workers)))
            throughput = max(throughput, total / (time.perf_counter() - wall))

        stream_cpu = float("inf")
        per_round = max(1, sizes["streams"] // rounds)
        for _ in range(rounds):
            cpu = time.process_time()
            for _ in range(per_round):
                got = await client.stream()
                assert got == CHUNKS, f"{name}: {got} deltas, expected {CHUNKS}"
            stream_cpu = min(stream_cpu, (time.process_time() - cpu) / (per_round * CHUNKS))
    finally:
        await client.close()
    return {
        "seq_latency_ms": seq_wall * 1e3,
        "cpu_per_request_ms": seq_cpu * 1e3,
        "throughput_64": throughput,
        "stream_cpu_per_chunk_us": stream_cpu * 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker_main(name: str, base: str, sizes: dict[str, int]) -> None:
    print(json.dumps(asyncio.run(_measure(name, base, sizes))))


# --- the orchestrator ----------------------------------------------------------------------------------------


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def import_time(statement: str, repeats: int) -> float | None:
    """Median wall time of `statement` in fresh interpreters (seconds); None if it fails."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    samples = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            return None
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def run_worker(name: str, base: str, sizes: dict[str, int]) -> dict[str, Any] | str:
    module, _ = CLIENTS[name]
    if not _installed(module):
        return "not installed"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "--worker", name, "--base", base, "--sizes", json.dumps(sizes)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value is not None and base else "—"


def report(results: dict[str, Any], imports: dict[str, float | None], meta: dict[str, str]) -> str:
    lines = [
        f"accord benchmark — {meta['date']} — {meta['machine']}",
        "",
        "| client | import (s) | latency/req (ms) | CPU/req (ms) | req/s @64 | stream CPU/chunk (µs) | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    import_of = {
        "raw httpx": "httpx",
        "raw aiohttp": "aiohttp",
        "accord (httpx transport)": "accord (connect + OpenAI wire)",
        "accord (aiohttp transport)": "accord (connect + OpenAI wire)",
        "openai SDK": "openai SDK",
        "LiteLLM": "LiteLLM",
        "pydantic-ai": "pydantic-ai",
    }
    for name, row in results.items():
        imp = imports.get(import_of[name])
        imp_text = f"{imp:.3f}" if imp is not None else "—"
        if isinstance(row, str):
            lines.append(f"| {name} | {imp_text} | {row} | | | | |")
            continue
        lines.append(
            f"| {name} | {imp_text} | {row['seq_latency_ms']:.2f} | {row['cpu_per_request_ms']:.2f} | "
            f"{row['throughput_64']:.0f} | {row['stream_cpu_per_chunk_us']:.1f} | {row['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        "Imports in a fresh interpreter (median): "
        + ", ".join(f"{k} {v:.3f} s" if v is not None else f"{k} not installed" for k, v in imports.items()),
    ]
    lines += ["", "Budget (issue 9), accord's ratios:", ""]
    lines += budget(results, imports)
    return "\n".join(lines)


def budget(results: dict[str, Any], imports: dict[str, float | None]) -> list[str]:
    aio, hx = results.get("raw aiohttp"), results.get("raw httpx")
    out = ["| check | budget | accord (httpx transport) | accord (aiohttp transport) |", "|---|---|---|---|"]
    accord_import = imports.get("accord (connect + OpenAI wire)")
    rows: list[tuple[str, str, Any]] = [
        ("import vs `import httpx`", "≤ 1.5x", lambda r: (accord_import, imports.get("httpx"), 1.5, "le")),
        (
            "CPU/request vs raw aiohttp",
            "≤ 1.5x",
            lambda r: (r["cpu_per_request_ms"], _get(aio, "cpu_per_request_ms"), 1.5, "le"),
        ),
        ("req/s @64 vs raw aiohttp", "≥ 0.5x", lambda r: (r["throughput_64"], _get(aio, "throughput_64"), 0.5, "ge")),
        (
            "stream CPU/chunk vs raw aiohttp + json.loads",
            "≤ 1.5x",
            lambda r: (r["stream_cpu_per_chunk_us"], _get(aio, "stream_cpu_per_chunk_us"), 1.5, "le"),
        ),
        ("peak RSS vs raw httpx", "≤ 1.2x", lambda r: (r["peak_rss_mb"], _get(hx, "peak_rss_mb"), 1.2, "le")),
    ]
    for label, limit, pick in rows:
        cells = []
        for name in ("accord (httpx transport)", "accord (aiohttp transport)"):
            row = results.get(name)
            if not isinstance(row, dict):
                cells.append("—")
                continue
            value, base, bound, sense = pick(row)
            if value is None or not base:
                cells.append("—")
                continue
            ratio = value / base
            ok = ratio <= bound if sense == "le" else ratio >= bound
            cells.append(f"{ratio:.2f}x {'meets' if ok else 'MISSES'}")
        out.append(f"| {label} | {limit} | {cells[0]} | {cells[1]} |")
    return out


def _get(row: Any, key: str) -> float | None:
    return row[key] if isinstance(row, dict) else None


def machine() -> str:
    cores = os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Linux {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker")
    parser.add_argument("--base")
    parser.add_argument("--sizes")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", help="run only these clients (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker, args.base, json.loads(args.sizes))
        return

    sizes = QUICK if args.quick else FULL
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--chunks", str(CHUNKS), "--lifetime", "1800"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"
        imports = {
            label: (
                import_time(stmt, sizes["imports"]) if _installed(stmt.split()[1].split(".")[0].rstrip(";,")) else None
            )
            for label, stmt in IMPORTS.items()
        }
        results: dict[str, Any] = {}
        for name in CLIENTS:
            if args.only and name not in args.only:
                continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results[name] = run_worker(name, base, sizes)
    finally:
        server.terminate()
        server.wait(timeout=10)
    meta = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    print(report(results, imports, meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "imports": imports, "results": results}, indent=2))


if __name__ == "__main__":
    main()
