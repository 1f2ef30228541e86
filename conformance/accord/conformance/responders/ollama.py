"""The Ollama `/api/chat` responder: documented chat objects, NDJSON streams and `{"error": ...}` bodies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ..cassette import body_value
from ..oracles import Oracle, OracleInput
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, json_reply, ndjson_reply, retry_headers, tool_name_at

CREATED_AT = "2026-01-01T00:00:00.000000Z"  # fixed: cassettes are deterministic

# Ollama reports `stop` also when the message holds tool calls; it has no filter or refusal reasons.
DONE_REASON: Mapping[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "stop",
    "content_filter": "stop",
    "refusal": "stop",
    "error": "stop",
    "other": "stop",
}

# `errors.mdx`: every error is `{"error": "..."}`; wording as the server prints it where known.
ERRORS: Mapping[ErrorKind, tuple[int, str]] = {
    "auth": (401, "unauthorized"),
    "permission": (403, "forbidden"),
    "not_found": (404, "model 'nonexistent' not found, try pulling it first"),
    "invalid": (400, "invalid options: num_predict"),
    "context_window": (400, "the input length exceeds the context length"),
    "rate_limit": (429, "too many requests"),
    "quota": (402, "payment required"),
    "overloaded": (503, "server busy, please try again.  maximum pending requests exceeded"),
    "server": (500, "an error was encountered while running the model"),
}


class OllamaResponder:
    wire = "ollama"

    def is_streaming(self, request: SentRequest) -> bool:
        body = request.json
        return not isinstance(body, dict) or body.get("stream", True) is not False  # the API streams by default

    @staticmethod
    def _tool_names(request: SentRequest) -> list[str]:
        body = request.json if isinstance(request.json, dict) else {}
        return [t.get("function", {}).get("name", "") for t in body.get("tools") or []]

    @staticmethod
    def _model(answer: Answer, request: SentRequest) -> str:
        body = request.json if isinstance(request.json, dict) else {}
        return answer.model or str(body.get("model", ""))

    def _calls(self, answer: Answer, request: SentRequest) -> list[dict[str, Any]]:
        names = self._tool_names(request)
        # The spec's ToolCall has no id; servers since 0.12 add one, which lets the exact id checks run.
        return [
            {"id": call.id, "function": {"index": i, "name": tool_name_at(names, call), "arguments": call.arguments}}
            for i, call in enumerate(answer.tool_calls)
        ]

    def _final(self, answer: Answer, request: SentRequest, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": self._model(answer, request),
            "created_at": CREATED_AT,
            "message": message,
            "done": True,
            "done_reason": DONE_REASON[answer.finish],
            "total_duration": 1_500_000_000,
            "load_duration": 20_000_000,
            "prompt_eval_count": answer.usage.input_tokens,
            "prompt_eval_duration": 200_000_000,
            "eval_count": answer.usage.output_tokens,
            "eval_duration": 1_200_000_000,
        }

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        message: dict[str, Any] = {"role": "assistant", "content": answer.full_text}
        if answer.thinking:
            message["thinking"] = "".join(answer.thinking)
        if answer.tool_calls:
            message["tool_calls"] = self._calls(answer, request)
        return json_reply(self._final(answer, request, message))

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        model = self._model(answer, request)

        def line(**message: Any) -> dict[str, Any]:
            return {
                "model": model,
                "created_at": CREATED_AT,
                "message": {"role": "assistant", "content": "", **message},
                "done": False,
            }

        lines = [line(thinking=piece) for piece in answer.thinking]
        lines += [line(content=piece) for piece in answer.text]
        if answer.tool_calls:
            lines.append(line(tool_calls=self._calls(answer, request)))  # tool calls arrive whole
        if answer.cut:
            return ndjson_reply(lines, cut=True)
        if answer.stream_error is not None:
            lines.append({"error": self._message(answer.stream_error)})
            return ndjson_reply(lines)
        lines.append(self._final(answer, request, {"role": "assistant", "content": ""}))
        return ndjson_reply(lines)

    @staticmethod
    def _message(failure: Failure) -> str:
        return failure.message or ERRORS[failure.kind][1]

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        status, _ = ERRORS[failure.kind]
        headers = retry_headers(failure)
        if failure.retry_hint == "body" and failure.retry_after is not None:
            # Ollama has no in-body retry hint: the wait rides in `Retry-After`.
            headers["retry-after"] = f"{failure.retry_after:g}"
        return json_reply({"error": self._message(failure)}, status=status, headers=headers)


RESPONDERS = [OllamaResponder()]

_NO_TOOL_CHOICE = (
    "/api/chat has no tool_choice: the adapter refuses a forced tool with UnsupportedFeatureError before the "
    "network, but no profile field lets the case see that (supports_tool_choice_required is not consulted)"
)
_AUTO = (
    "the output engine resolves auto to a forced tool when the ollama dialect cannot hold strict, and Ollama "
    "cannot force a tool; the case expects native"
)

TARGETS = [
    Target(
        name="ollama",
        adapter="accord.adapters.ollama:OllamaAdapter",
        model="llama3.2",
        wire="ollama",
        case_models={"completion.reasoning": "qwen3", "completion.image_base64": "llama3.2-vision"},
        replay_credentials={},
        waivers={
            "errors.quota": "a local Ollama server has no quota or billing (wire_formats.md §15.1)",
            "errors.permission": "a local Ollama server has no permission model",
            "errors.context_window": "Ollama truncates to num_ctx instead of failing (wire_formats.md §8)",
            "completion.reasoning": "Ollama reports no reasoning-token count (prompt_eval_count / eval_count only)",
            "completion.cached_usage": "Ollama reports no cached-token count (prompt_eval_count / eval_count only)",
            "tools.choice_named": _NO_TOOL_CHOICE,
            "structured.tool": _NO_TOOL_CHOICE,
            "structured.auto": _AUTO,
            "structured.retry": _AUTO,
        },
    ),
]


# --- oracle: Ollama's published OpenAPI spec -------------------------------------------------------------------


def ollama_spec_path() -> Path:
    root = os.environ.get("ACCORD_SPECS")
    base = Path(root) if root else Path(__file__).resolve().parents[5] / "shared" / "specs"
    return base / "ollama" / "openapi.yaml"


@cache
def _validator(component: str) -> Any:
    import jsonschema
    import yaml

    spec = yaml.safe_load(ollama_spec_path().read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    )


def _problems(component: str, value: Any, where: str) -> list[str]:
    errors = sorted(_validator(component).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}" for e in errors[:5]]


def check_spec(data: OracleInput) -> list[str]:
    """Request against `ChatRequest`; answers against `ChatResponse`, each stream line against `ChatStreamEvent`
    (or `ErrorResponse`), error bodies against `ErrorResponse`. The spec's objects allow extra fields, so the
    fields it does not list (`tool_name`, `thinking` in messages, tool-call `id`) are not judged here."""
    if not data.interaction.request.path.endswith("/api/chat"):
        return []
    problems = _problems("ChatRequest", body_value(data.interaction.request.body), "request")
    response = data.interaction.response
    if response is None:
        return problems
    value = body_value(response.body)
    if response.status >= 400:
        return problems + _problems("ErrorResponse", value, "error body")
    if "ndjson" in response.body and isinstance(value, list):
        for i, line in enumerate(value):
            component = "ErrorResponse" if isinstance(line, dict) and "error" in line else "ChatStreamEvent"
            problems += _problems(component, line, f"line {i}")
        return problems
    return problems + _problems("ChatResponse", value, "response")


ORACLES = [
    Oracle("ollama-openapi-spec", "ollama", check_spec, requires=("jsonschema", "yaml", str(ollama_spec_path())))
]
