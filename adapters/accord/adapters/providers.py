"""OpenAI-compatible vendors as data: one `VendorSpec` each over `openai_chat`, and the factory the registry calls."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from accord.contracts import (
    ConfigurationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
)

from ._errors import ErrorDetails, ErrorRule, openai_style_details
from .openai_chat import OpenAIChatAdapter, VendorSpec

# --- error-body shapes ---------------------------------------------------------------------------------------


def mistral_error_details(body: Any, fallback: str) -> ErrorDetails:
    """Mistral: the OpenAI-like `{"object": "error", "message", "type", "code"}`, or a 422 `{"detail": [...]}`."""
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        problems = []
        for item in body["detail"]:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc") or [])
                problems.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
        first = body["detail"][0] if body["detail"] else {}
        kind = first.get("type") if isinstance(first, dict) else None
        return ErrorDetails(message="; ".join(problems) or fallback, type=None if kind is None else str(kind))
    return openai_style_details(body, fallback)


def openrouter_error_details(body: Any, fallback: str) -> ErrorDetails:
    """OpenRouter: `{"error": {"code": <HTTP status as int>, "message", "metadata"}}`; inside a 200 stream the
    integer code is the only status there is."""
    details = openai_style_details(body, fallback)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and details.status is None:
        return replace(details, status=code)
    return details


def _unnest(message: str) -> tuple[str, str | None]:
    """A message that is itself JSON (`{"message": ...}`, nested up to twice) → the innermost text and code."""
    code: str | None = None
    for _ in range(3):
        try:
            inner = json.loads(message)
        except ValueError:
            break
        if not isinstance(inner, dict):
            break
        error = inner.get("error", inner)
        if isinstance(error, str):
            message = error
            continue
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            break
        code = str(error["code"]) if error.get("code") is not None else code
        message = error["message"]
    return message, code


def databricks_error_details(body: Any, fallback: str) -> ErrorDetails:
    """Databricks REST: `{"error_code": "BAD_REQUEST", "message": "..."}` where the message may be JSON, twice."""
    if isinstance(body, dict) and "error_code" in body:
        raw = body.get("message")
        message, inner_code = _unnest(raw) if isinstance(raw, str) else (fallback, None)
        return ErrorDetails(message=message or fallback, code=str(body["error_code"]), type=inner_code)
    details = openai_style_details(body, fallback)
    message, inner_code = _unnest(details.message)
    return replace(details, message=message, type=details.type or inner_code)


# --- the vendors ---------------------------------------------------------------------------------------------

_CONTEXT_RULE = ErrorRule(ContextWindowExceededError, pattern=r"\bmaximum context length is \d+ tokens")

VENDORS: dict[str, VendorSpec] = {
    "groq": VendorSpec(
        name="groq",
        base_url="https://api.groq.com/openai/v1",
        env_var="GROQ_API_KEY",
        reasoning_fields=("reasoning", "reasoning_content"),
        stream_usage_path=("x_groq", "usage"),
        error_rules=(
            ErrorRule(OverloadedError, status=498),
            ErrorRule(OverloadedError, code="capacity_exceeded"),
            ErrorRule(InvalidRequestError, code="tool_use_failed"),
            ErrorRule(ContextWindowExceededError, pattern=r"\breduce the length of the messages\b"),
        ),
    ),
    "mistral": VendorSpec(
        name="mistral",
        base_url="https://api.mistral.ai/v1",
        env_var="MISTRAL_API_KEY",
        send_stream_usage=False,  # usage arrives on the last chunk unasked; `stream_options` is not in its API
        param_renames={"seed": "random_seed"},
        # `reasoning_effort` is "high" or "none" (spec): any effort asks for reasoning.
        reasoning_effort_map=dict.fromkeys(("minimal", "low", "medium", "xhigh", "max"), "high"),
        tool_call_id_length=9,
        thinking_chunk_type="thinking",
        error_details=mistral_error_details,
        error_rules=(
            ErrorRule(ContextWindowExceededError, pattern=r"\btoo large for model with \d+ maximum context length\b"),
            ErrorRule(RateLimitError, pattern=r"\bservice tier capacity exceeded\b"),
        ),
    ),
    "deepseek": VendorSpec(
        name="deepseek",
        base_url="https://api.deepseek.com",
        env_var="DEEPSEEK_API_KEY",
        reasoning_fields=("reasoning_content",),
    ),
    "together": VendorSpec(name="together", base_url="https://api.together.xyz/v1", env_var="TOGETHER_API_KEY"),
    "perplexity": VendorSpec(
        name="perplexity",
        base_url="https://api.perplexity.ai",
        env_var="PERPLEXITY_API_KEY",
        kept_fields=("citations", "search_results", "images", "related_questions"),
    ),
    "openrouter": VendorSpec(
        name="openrouter",
        base_url="https://openrouter.ai/api/v1",
        env_var="OPENROUTER_API_KEY",
        reasoning_fields=("reasoning", "reasoning_content"),
        reasoning_effort_path=("reasoning", "effort"),
        reasoning_budget_path=("reasoning", "max_tokens"),
        error_details=openrouter_error_details,
        retry_hint_classes={402: RateLimitError},  # the in-flight budget 402 says when to come back
        error_rules=(ErrorRule(ContentFilterError, status=403, pattern=r"\bflagged\b|\bmoderation\b"), _CONTEXT_RULE),
        option_headers={
            "app_url": ("HTTP-Referer", "OPENROUTER_APP_URL"),
            "app_title": ("X-Title", "OPENROUTER_APP_TITLE"),
        },
    ),
    "databricks": VendorSpec(
        name="databricks",
        base_url="",
        base_url_env="DATABRICKS_HOST",
        env_var="DATABRICKS_TOKEN",
        chat_path="/serving-endpoints/{model}/invocations",
        error_details=databricks_error_details,
        max_tools=32,
        error_rules=(ErrorRule(ContextWindowExceededError, pattern=r"^input is too long\.?$"),),
    ),
    "llamacpp": VendorSpec(
        name="llamacpp",
        base_url="http://localhost:8080/v1",
        base_url_env="LLAMACPP_BASE_URL",
        env_var="LLAMACPP_API_KEY",
        requires_key=False,
        error_rules=(_CONTEXT_RULE, ErrorRule(ContextWindowExceededError, pattern=r"\bexceeds the available context")),
    ),
    "vllm": VendorSpec(
        name="vllm",
        base_url="http://localhost:8000/v1",
        base_url_env="VLLM_BASE_URL",
        env_var="VLLM_API_KEY",
        requires_key=False,
        error_rules=(_CONTEXT_RULE,),
    ),
    "lmstudio": VendorSpec(
        name="lmstudio",
        base_url="http://localhost:1234/v1",
        base_url_env="LMSTUDIO_BASE_URL",
        env_var="LMSTUDIO_API_KEY",
        requires_key=False,
    ),
    "openai-compatible": VendorSpec(
        name="openai-compatible",
        base_url="",
        base_url_env="OPENAI_COMPATIBLE_BASE_URL",
        env_var="OPENAI_COMPATIBLE_API_KEY",
        requires_key=False,
        error_rules=(_CONTEXT_RULE,),
    ),
}

# --- the factory ---------------------------------------------------------------------------------------------


def _normalize_base_url(base_url: str, chat_path: str) -> str:
    """Add a missing scheme, and drop a trailing copy of the chat path's first segment (a Databricks host given
    as `https://host/serving-endpoints`)."""
    url = base_url.strip().rstrip("/")
    if url and "://" not in url:
        url = "https://" + url
    first = "/" + chat_path.strip("/").split("/")[0]
    if "{model}" in chat_path and url.endswith(first):
        url = url[: -len(first)]
    return url


def _option_headers(spec: VendorSpec, options: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for option, (header, env) in spec.option_headers.items():
        value = options.pop(option, None)
        if value is None and env is not None:
            value = os.environ.get(env)
        if value:
            headers[header] = str(value)
    return headers


def vendor_adapter(
    *,
    vendor_name: str,
    vendor: VendorSpec | None = None,
    api_key_env: str | None = None,
    **options: Any,
) -> OpenAIChatAdapter:
    """The Chat Completions adapter for a vendor of `VENDORS` (or for `vendor`, a spec built by the caller).

    `api_key_env` names another environment variable for the key; vendor-specific options (`app_url`,
    `app_title` for OpenRouter) become headers; `token_provider` is a callable giving a fresh bearer token.
    """
    spec = vendor if vendor is not None else VENDORS.get(vendor_name)
    if spec is None:
        known = ", ".join(sorted(VENDORS))
        raise ConfigurationError(f"unknown OpenAI-compatible vendor {vendor_name!r}; known: {known}")
    if api_key_env is not None:
        spec = replace(spec, env_var=api_key_env)
    base_url = options.pop("base_url", None)
    if not base_url and spec.base_url_env:
        base_url = os.environ.get(spec.base_url_env)
    base_url = _normalize_base_url(base_url or spec.base_url, spec.chat_path)
    if not base_url:
        where = f" or set {spec.base_url_env}" if spec.base_url_env else ""
        raise ConfigurationError(f"{spec.name}: a base_url is required: pass base_url=...{where}")
    headers: Mapping[str, str] = {**_option_headers(spec, options), **(options.pop("headers", None) or {})}
    return OpenAIChatAdapter(vendor=spec, base_url=base_url, headers=headers, **options)
