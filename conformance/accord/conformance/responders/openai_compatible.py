"""OpenAI-compatible vendors: the Chat Completions responder with each vendor's stream and error quirks, and targets."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ..cassette import body_value
from ..oracles import Oracle, OracleInput
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, dumps, json_reply, retry_headers
from .openai_chat import ErrorShape, OpenAIChatResponder

ErrorStyle = Literal["openai", "mistral", "openrouter", "databricks"]
StreamUsage = Literal["requested", "finish_chunk", "x_groq"]


def _frames(reply: WireReply) -> list[tuple[str | None, str]]:
    """The `(event, data)` pairs of an SSE reply built by `sse_reply` (one frame per chunk)."""
    frames: list[tuple[str | None, str]] = []
    for chunk in reply.chunks:
        name: str | None = None
        data = ""
        for line in chunk.decode().split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
        frames.append((name, data))
    return frames


@dataclass(frozen=True)
class VendorChatResponder(OpenAIChatResponder):
    """Chat Completions as one compatible vendor serves it: where stream usage goes, how an error inside a 200
    stream looks, its error body and statuses, and whether the retry hint can ride in the body."""

    stream_usage: StreamUsage = "requested"
    # Vendors whose schemas are closed (Mistral) or typed (OpenRouter) send none of OpenAI's extras: no `refusal`,
    # no audio/prediction usage details, no `"usage": null` placeholders; Mistral sends tool calls whole.
    openai_extras: bool = True
    null_usage: bool = True
    whole_tool_calls: bool = False
    error_style: ErrorStyle = "openai"
    error_event: str | None = None  # Groq: `event: error` before the error data
    error_chunk: bool = False  # OpenRouter: the error rides in a normal chunk with `finish_reason: error`
    comment: str | None = None  # OpenRouter: keep-alive comment lines
    body_hint: bool = False  # the vendor says "Please try again in Xs." in the body; else a Retry-After header
    headers: Mapping[str, str] = field(default_factory=lambda: {"x-request-id": "req_0123456789abcdef"})

    # --- streams ----------------------------------------------------------------------------------------------

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        body = request.json if isinstance(request.json, dict) else {}
        asked = bool((body.get("stream_options") or {}).get("include_usage"))
        if self.stream_usage != "requested" and not asked:
            patched = {**body, "stream_options": {"include_usage": True}}
            request = replace(request, content=json.dumps(patched).encode())
        reply = super()._stream(answer, request)
        frames = _frames(reply)
        objects: list[tuple[str | None, Any]] = [
            (name, data if data == "[DONE]" else json.loads(data)) for name, data in frames
        ]
        if self.stream_usage != "requested":
            objects = self._move_usage(objects, keep_null=asked and self.stream_usage == "x_groq")
        if answer.stream_error is not None:
            objects = self._render_stream_error(objects, answer.stream_error)
        if self.whole_tool_calls:
            objects = self._whole_calls(objects)
        objects = [(name, self._tidy(obj)) for name, obj in objects]
        chunks = [self._frame(name, data) for name, data in objects]
        if self.comment:
            chunks.insert(0, f": {self.comment}\n\n".encode())
            chunks.insert(len(chunks) // 2 + 1, f": {self.comment}\n\n".encode())
        return WireReply(reply.status, reply.headers, tuple(chunks), reply.cut)

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        reply = super().answer(answer, request, streaming)
        if streaming:
            return reply
        payload = self._tidy(json.loads(reply.content))
        return WireReply(reply.status, reply.headers, (dumps(payload).encode(),), reply.cut)

    def _tidy(self, obj: Any) -> Any:
        if not isinstance(obj, dict) or (self.openai_extras and self.null_usage):
            return obj
        out = dict(obj)
        if not self.null_usage and "usage" in out and out["usage"] is None:
            del out["usage"]
        if not self.openai_extras:
            for key in ("service_tier", "system_fingerprint"):
                out.pop(key, None)
            usage = out.get("usage")
            if isinstance(usage, dict):
                cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
                plain = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}
                if cached:
                    plain["prompt_tokens_details"] = {"cached_tokens": cached}
                out["usage"] = plain
            choices = []
            for choice in out.get("choices") or []:
                choice = {k: v for k, v in choice.items() if k != "logprobs"}
                for part in ("message", "delta"):
                    if isinstance(choice.get(part), dict):
                        choice[part] = {k: v for k, v in choice[part].items() if k != "refusal"}
                choices.append(choice)
            if "choices" in out:
                out["choices"] = choices
        return out

    @staticmethod
    def _whole_calls(objects: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
        """Tool-call fragments folded into the chunk that opened each call (arguments whole)."""
        opened: dict[int, dict[str, Any]] = {}
        kept: list[tuple[str | None, Any]] = []
        for name, obj in objects:
            choices = obj.get("choices") if isinstance(obj, dict) else None
            calls = (choices[0].get("delta") or {}).get("tool_calls") if choices else None
            if not calls:
                kept.append((name, obj))
                continue
            call = calls[0]
            if "id" in call:
                opened[call["index"]] = call["function"]
                kept.append((name, obj))
            else:
                opened[call["index"]]["arguments"] += call["function"]["arguments"]
        return kept

    @staticmethod
    def _frame(name: str | None, data: Any) -> bytes:
        text = data if isinstance(data, str) else dumps(data)
        head = f"event: {name}\n" if name else ""
        return f"{head}data: {text}\n\n".encode()

    def _move_usage(self, objects: list[tuple[str | None, Any]], *, keep_null: bool) -> list[tuple[str | None, Any]]:
        usage: Any = None
        kept: list[tuple[str | None, Any]] = []
        for name, obj in objects:
            if isinstance(obj, dict) and obj.get("choices") == [] and isinstance(obj.get("usage"), dict):
                usage = obj["usage"]
                continue
            if isinstance(obj, dict) and "usage" in obj and obj["usage"] is None and not keep_null:
                obj = {k: v for k, v in obj.items() if k != "usage"}
            kept.append((name, obj))
        if usage is None:
            return kept
        for position in range(len(kept) - 1, -1, -1):
            name, obj = kept[position]
            if isinstance(obj, dict) and any(c.get("finish_reason") for c in obj.get("choices") or []):
                if self.stream_usage == "x_groq":
                    obj = {**obj, "x_groq": {"id": "req_0123456789", "usage": usage}}
                else:
                    obj = {**obj, "usage": usage}
                kept[position] = (name, obj)
                break
        return kept

    def _render_stream_error(
        self, objects: list[tuple[str | None, Any]], failure: Failure
    ) -> list[tuple[str | None, Any]]:
        shape = self._shape(failure)
        _name, last = objects[-1]
        error = last.get("error") if isinstance(last, dict) else None
        if not isinstance(error, dict):
            return objects
        if self.error_chunk:
            chunk = {
                "id": self.id_prefix + "stream",
                "object": "chat.completion.chunk",
                "created": 1767225600,
                "model": "",
                "provider": "Upstream",
                "error": {"code": shape.status, "message": error["message"]},
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
            }
            return [*objects[:-1], (None, chunk)]
        if self.error_event:
            return [*objects[:-1], (self.error_event, {"error": {**error, "status_code": shape.status}})]
        return objects

    # --- errors -----------------------------------------------------------------------------------------------

    def _shape(self, failure: Failure) -> ErrorShape:
        # A kind the vendor does not document (its case is waived) still gets an answer: the generic status.
        return self.errors.get(failure.kind) or ErrorShape(failure.status, None, None, f"HTTP {failure.status}")

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        shape = self._shape(failure)
        headers = {**self.headers, **retry_headers(failure)}
        if failure.retry_hint == "body" and failure.retry_after is not None and not self.body_hint:
            # This vendor has no in-body hint: it says when to come back in `Retry-After`.
            headers["retry-after"] = f"{failure.retry_after:g}"
        shown = failure if self.body_hint else replace(failure, retry_hint=None)
        error = self._error_object(shape, shown)
        return json_reply(self._error_body(shape, error), status=shape.status, headers=headers)

    def _error_body(self, shape: ErrorShape, error: dict[str, Any]) -> Any:
        if self.error_style == "mistral":
            return {"object": "error", **error}
        if self.error_style == "openrouter":
            return {"error": {"code": shape.status, "message": error["message"], "metadata": {}}}
        if self.error_style == "databricks":
            return {"error_code": shape.code or "INTERNAL_ERROR", "message": error["message"]}
        return {"error": error}


def _openai_like(
    *,
    auth: str = "Invalid API Key",
    permission: str = "You do not have permission to access this resource.",
    not_found: str = "The model `nonexistent-model` does not exist or you do not have access to it.",
    invalid: str = "'max_tokens' must be greater than or equal to 1",
    context: str = "This model's maximum context length is 131072 tokens. However, you requested 140000 tokens. "
    "Please reduce the length of the messages.",
    rate: str = "Rate limit reached for requests per minute.",
    quota: tuple[int, str] | None = None,
    overloaded: tuple[int, str] = (503, "The server is overloaded, please try again later."),
    server: str = "Internal server error",
    auth_type: str = "invalid_request_error",
) -> dict[ErrorKind, ErrorShape]:
    errors: dict[ErrorKind, ErrorShape] = {
        "auth": ErrorShape(401, auth_type, "invalid_api_key", auth),
        "permission": ErrorShape(403, "permission_error", None, permission),
        "not_found": ErrorShape(404, "invalid_request_error", "model_not_found", not_found),
        "invalid": ErrorShape(400, "invalid_request_error", None, invalid),
        "context_window": ErrorShape(400, "invalid_request_error", "context_length_exceeded", context, "messages"),
        "rate_limit": ErrorShape(429, "rate_limit_exceeded", "rate_limit_exceeded", rate),
        "overloaded": ErrorShape(overloaded[0], "server_error", None, overloaded[1]),
        "server": ErrorShape(500, "server_error", None, server),
    }
    if quota is not None:
        errors["quota"] = ErrorShape(quota[0], "insufficient_quota", "insufficient_quota", quota[1])
    return errors


# Each vendor's errors as its documentation describes them (status and body shape); wording is the documented
# phrase where one is known (context-window phrases: wire_formats.md §15.4), else a plain statement.
RESPONDERS = [
    VendorChatResponder(
        wire="groq",
        stream_usage="x_groq",
        error_event="error",
        body_hint=True,
        id_prefix="chatcmpl-",
        errors=_openai_like(
            context="Please reduce the length of the messages or completion.",
            rate="Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01` service tier "
            "`on_demand` on tokens per minute (TPM): Limit 12000, Used 11000, Requested 2000.",
            overloaded=(498, "Flex tier capacity exceeded. Please try again later."),
        ),
    ),
    VendorChatResponder(
        wire="mistral",
        stream_usage="finish_chunk",
        openai_extras=False,
        null_usage=False,
        whole_tool_calls=True,
        error_style="mistral",
        errors=_openai_like(
            auth="Unauthorized",
            context="Prompt contains 140000 tokens and 0 draft tokens, too large for model with 131072 maximum "
            "context length",
            rate="Requests rate limit exceeded",
        ),
    ),
    VendorChatResponder(
        wire="deepseek",
        errors=_openai_like(
            auth="Authentication Fails, Your api key: ****-key is invalid",
            context="This model's maximum context length is 131072 tokens. However, you requested 140000 tokens "
            "(140000 in the messages, 0 in the completion). Please reduce the length of the messages or completion.",
            quota=(402, "Insufficient Balance"),
            overloaded=(503, "Server overloaded, please try again later."),
        ),
    ),
    VendorChatResponder(
        wire="together",
        errors=_openai_like(quota=(402, "Credit limit exceeded. Please add credits to your account.")),
    ),
    VendorChatResponder(wire="perplexity", errors=_openai_like()),
    VendorChatResponder(
        wire="openrouter",
        error_style="openrouter",
        null_usage=False,
        error_chunk=True,
        comment="OPENROUTER PROCESSING",
        errors={
            **_openai_like(
                auth="No auth credentials found",
                permission="This key is not allowed to use this model",
                context="This endpoint's maximum context length is 131072 tokens. However, you requested about "
                "140000 tokens. Please reduce the length of either one.",
                quota=(402, "Insufficient credits. Add more using https://openrouter.ai/settings/credits"),
                overloaded=(529, "Provider returned error: overloaded"),
            ),
        },
    ),
    VendorChatResponder(
        wire="databricks",
        error_style="databricks",
        errors={
            "auth": ErrorShape(401, None, "UNAUTHENTICATED", "Invalid access token."),
            "permission": ErrorShape(403, None, "PERMISSION_DENIED", "User does not have permission to query."),
            "not_found": ErrorShape(404, None, "RESOURCE_DOES_NOT_EXIST", "Endpoint 'nonexistent' does not exist."),
            "invalid": ErrorShape(400, None, "BAD_REQUEST", "max_tokens must be at least 1"),
            "context_window": ErrorShape(400, None, "BAD_REQUEST", '{"message":"Input is too long."}'),
            "rate_limit": ErrorShape(429, None, "REQUEST_LIMIT_EXCEEDED", "Exceeded workspace rate limit."),
            "overloaded": ErrorShape(503, None, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable."),
            "server": ErrorShape(500, None, "INTERNAL_ERROR", "Internal error."),
        },
    ),
    *(
        VendorChatResponder(
            wire=local,
            errors=_openai_like(
                auth="Invalid API Key",
                auth_type="authentication_error",
                overloaded=(503, "Loading model"),
            ),
        )
        for local in ("llamacpp", "vllm", "lmstudio", "openai-compatible")
    ),
]

_VENDOR = "accord.adapters.providers:vendor_adapter"
_NO_QUOTA = "the vendor documents no quota or billing error (wire_formats.md §15.1)"
_LOCAL = {
    "errors.quota": "a local server has no quota or billing",
    "errors.permission": "a local server has no permission model",
}
# The output engine keeps `auto` off native mode when the dialect cannot hold strict (ollama dialect), while the
# suite's `resolved_mode` expects native for a profile with native output: reported to the lead, not hidden.
_GRAMMAR_AUTO = {
    "structured.auto": "engine picks tool mode when the ollama dialect cannot hold strict; the case expects native",
    "structured.retry": "engine picks tool mode when the ollama dialect cannot hold strict; the case expects native",
}


def _target(name: str, model: str, **fields: Any) -> Target:
    options = {"vendor_name": name, **fields.pop("options", {})}
    return Target(name=name, adapter=_VENDOR, model=model, wire=name, options=options, **fields)


TARGETS = [
    _target(
        "groq",
        "llama-3.3-70b-versatile",
        case_models={"completion.reasoning": "openai/gpt-oss-120b", "structured.native": "openai/gpt-oss-120b"},
        live_credentials={"api_key": "GROQ_API_KEY"},
        waivers={"errors.quota": _NO_QUOTA},
    ),
    _target(
        "mistral",
        "mistral-small-latest",
        case_models={"completion.reasoning": "magistral-medium-latest"},
        live_credentials={"api_key": "MISTRAL_API_KEY"},
        waivers={
            "errors.quota": _NO_QUOTA,
            "completion.reasoning": "Mistral's UsageInfo reports no reasoning-token count",
        },
    ),
    _target(
        "deepseek",
        "deepseek-chat",
        case_models={"completion.reasoning": "deepseek-reasoner"},
        live_credentials={"api_key": "DEEPSEEK_API_KEY"},
    ),
    _target(
        "together",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        case_models={
            "completion.reasoning": "deepseek-ai/DeepSeek-R1",
            "completion.vision": "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
        },
        live_credentials={"api_key": "TOGETHER_API_KEY"},
    ),
    _target(
        "perplexity",
        "sonar",
        case_models={"completion.reasoning": "sonar-reasoning-pro"},
        live_credentials={"api_key": "PERPLEXITY_API_KEY"},
        waivers={"errors.quota": _NO_QUOTA},
    ),
    _target(
        "openrouter",
        "openai/gpt-4o-mini",
        case_models={"completion.reasoning": "anthropic/claude-sonnet-4.6"},
        live_credentials={"api_key": "OPENROUTER_API_KEY"},
    ),
    _target(
        "databricks",
        "databricks-meta-llama-3-3-70b-instruct",
        case_models={"completion.reasoning": "databricks-gpt-oss-120b"},
        options={"base_url": "https://dbc-0000.cloud.databricks.com"},
        live_credentials={"api_key": "DATABRICKS_TOKEN", "base_url": "DATABRICKS_HOST"},
        waivers={"errors.quota": _NO_QUOTA},
    ),
    _target("llamacpp", "local-model", waivers={**_LOCAL, **_GRAMMAR_AUTO}),
    _target("vllm", "local-model", waivers=_LOCAL),
    _target("lmstudio", "local-model", waivers={**_LOCAL, **_GRAMMAR_AUTO}),
    _target(
        "openai-compatible",
        "local-model",
        options={"base_url": "http://localhost:9000/v1"},
        live_credentials={"base_url": "OPENAI_COMPATIBLE_BASE_URL"},
        waivers=_LOCAL,
    ),
]


def _oracles() -> list[Oracle]:
    """OpenAI's own spec and SDK types also judge the vendors that claim its exact format; Mistral (its renames),
    OpenRouter (its error chunks) and Databricks (its endpoint path) differ on purpose and are left out."""
    from ..oracle_openai import check_sdk_types, check_spec, spec_path

    plain = ("groq", "deepseek", "together", "perplexity", "llamacpp", "vllm", "lmstudio", "openai-compatible")
    found: list[Oracle] = []
    for wire in plain:
        found.append(Oracle("openai-openapi-spec", wire, check_spec, requires=("jsonschema", str(spec_path()))))
        found.append(Oracle("openai-sdk-types", wire, check_sdk_types, requires=("openai",)))
    return found


ORACLES = _oracles()


# --- oracles: the vendors' own published OpenAPI specs ---------------------------------------------------------


def vendor_spec_path(vendor: str) -> Path:
    root = os.environ.get("ACCORD_SPECS")
    base = Path(root) if root else Path(__file__).resolve().parents[5] / "shared" / "specs"
    return base / vendor / "openapi.yaml"


@cache
def _components(vendor: str) -> dict[str, Any]:
    import yaml

    components: dict[str, Any] = yaml.safe_load(vendor_spec_path(vendor).read_text(encoding="utf-8"))["components"]
    if vendor == "mistral":
        # Spec bug (wire_formats.md §0): ChatCompletionResponse requires a `data` field no answer carries.
        required = components["schemas"]["ChatCompletionResponse"]["allOf"][1]["required"]
        components["schemas"]["ChatCompletionResponse"]["allOf"][1]["required"] = [r for r in required if r != "data"]
    return components


@cache
def _spec_validator(vendor: str, component: str) -> Any:
    import jsonschema

    schema = {"$ref": f"#/components/schemas/{component}", "components": _components(vendor)}
    return jsonschema.Draft202012Validator(schema)


def _spec_problems(vendor: str, component: str, value: Any, where: str) -> list[str]:
    errors = sorted(_spec_validator(vendor, component).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}" for e in errors[:5]]


@dataclass(frozen=True)
class SpecCheck:
    """One vendor's chat components: the request, the answer, and the stream chunk."""

    vendor: str
    request: str
    response: str
    chunk: str

    def __call__(self, data: OracleInput) -> list[str]:
        if not data.interaction.request.path.endswith("/chat/completions"):
            return []
        problems = _spec_problems(self.vendor, self.request, body_value(data.interaction.request.body), "request")
        response = data.interaction.response
        if response is None or response.status != 200:
            return problems
        value = body_value(response.body)
        if "sse" not in response.body:
            return problems + _spec_problems(self.vendor, self.response, value, "response")
        for i, event in enumerate(value or []):
            chunk = event.get("data") if isinstance(event, dict) else None
            if isinstance(chunk, dict) and "choices" in chunk and "error" not in chunk:
                problems += _spec_problems(self.vendor, self.chunk, chunk, f"chunk {i}")
        return problems


SPEC_CHECKS = (
    SpecCheck("mistral", "ChatCompletionRequest", "ChatCompletionResponse", "CompletionChunk"),
    SpecCheck("openrouter", "ChatRequest", "ChatResult", "ChatStreamChunk"),
)
ORACLES += [
    Oracle(f"{c.vendor}-openapi-spec", c.vendor, c, requires=("jsonschema", "yaml", str(vendor_spec_path(c.vendor))))
    for c in SPEC_CHECKS
]
