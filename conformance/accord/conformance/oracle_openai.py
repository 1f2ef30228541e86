"""OpenAI oracles: the official OpenAPI spec, the `openai` SDK's types and its own stream accumulator."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from .cassette import body_value
from .oracles import Oracle, OracleInput

SPEC_NAME = "openai-openapi.normalized-nullable.json"


def spec_path() -> Path:
    """`$ACCORD_SPECS/<spec>`, else the shared specs folder beside the repository."""
    root = os.environ.get("ACCORD_SPECS")
    base = Path(root) if root else Path(__file__).resolve().parents[4] / "shared" / "specs"
    return base / SPEC_NAME


@cache
def _validator(component: str) -> Any:
    import jsonschema

    spec = json.loads(spec_path().read_text(encoding="utf-8"))
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


def _schema_problems(component: str, value: Any, where: str) -> list[str]:
    errors = sorted(_validator(component).iter_errors(value), key=lambda e: list(e.absolute_path))
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}" for e in errors[:5]]


def _is_chat(data: OracleInput) -> bool:
    return data.interaction.request.path.endswith("/chat/completions")


def _events(data: OracleInput) -> list[Any] | None:
    response = data.interaction.response
    if response is None or "sse" not in response.body:
        return None
    return [e.get("data") for e in response.body["sse"]]


def check_spec(data: OracleInput) -> list[str]:
    """Request against `CreateChatCompletionRequest`; 200 answers against the response and chunk schemas."""
    if not _is_chat(data):
        return []
    problems = _schema_problems("CreateChatCompletionRequest", body_value(data.interaction.request.body), "request")
    response = data.interaction.response
    if response is None or response.status != 200:
        return problems
    events = _events(data)
    if events is None:
        problems += _schema_problems("CreateChatCompletionResponse", body_value(response.body), "response")
        return problems
    for i, event in enumerate(events):
        if isinstance(event, dict) and "choices" in event:
            problems += _schema_problems("CreateChatCompletionStreamResponse", event, f"chunk {i}")
    return problems


def check_sdk_types(data: OracleInput) -> list[str]:
    """Request against the SDK's `CompletionCreateParams` TypedDict; answers through the SDK's pydantic models."""
    if not _is_chat(data):
        return []
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.chat.completion_create_params import CompletionCreateParamsBase
    from pydantic import TypeAdapter, ValidationError

    problems: list[str] = []
    body = body_value(data.interaction.request.body)
    allowed = set(CompletionCreateParamsBase.__annotations__) | {"stream"}
    unknown = sorted(set(body) - allowed) if isinstance(body, dict) else []
    if unknown:
        problems.append(f"request: fields the SDK does not know: {unknown}")
    try:
        TypeAdapter(CompletionCreateParamsBase).validate_python(body)
    except ValidationError as exc:
        problems.append(f"request: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    response = data.interaction.response
    if response is None or response.status != 200:
        return problems
    events = _events(data)
    try:
        if events is None:
            ChatCompletion.model_validate(body_value(response.body), strict=False)
        else:
            for event in events:
                if isinstance(event, dict) and "choices" in event:
                    ChatCompletionChunk.model_validate(event)
    except ValidationError as exc:
        problems.append(f"response: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    return problems


def check_stream_accumulator(data: OracleInput) -> list[str]:
    """Differential: the SDK's own stream accumulator and accord's aggregate agree on text, calls, finish, usage."""
    events = _events(data)
    accord = data.accord_response
    if not _is_chat(data) or events is None or accord is None:
        return []
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for event in events:
        if isinstance(event, dict) and "choices" in event:
            state.handle_chunk(ChatCompletionChunk.model_validate(event))
    final = state.get_final_completion()
    problems: list[str] = []
    choice = final.choices[0]
    sdk_text = choice.message.content or ""
    if sdk_text != accord.text:
        problems.append(f"text: sdk {sdk_text!r} != accord {accord.text!r}")
    sdk_calls = [(c.id, json.loads(c.function.arguments or "{}")) for c in choice.message.tool_calls or []]
    accord_calls = [(c.id, c.arguments) for c in accord.tool_calls]
    if sdk_calls != accord_calls:
        problems.append(f"tool calls: sdk {sdk_calls!r} != accord {accord_calls!r}")
    if choice.finish_reason != accord.provider_finish_reason:
        problems.append(f"finish: sdk {choice.finish_reason!r} != accord {accord.provider_finish_reason!r}")
    if final.usage is not None and (final.usage.prompt_tokens, final.usage.completion_tokens) != (
        accord.usage.input_tokens,
        accord.usage.output_tokens,
    ):
        problems.append(f"usage: sdk {final.usage!r} != accord {accord.usage!r}")
    return problems


def check_family_stream(data: OracleInput) -> list[str]:
    """The SDK accumulator differential for every server that speaks Chat Completions (the compatible vendors),
    skipped for OpenAI itself, which gets it through its own oracles."""
    if data.cassette.meta.get("wire") == "openai_chat":
        return []
    return check_stream_accumulator(data)


ORACLES = (
    Oracle("openai-openapi-spec", "openai_chat", check_spec, requires=("jsonschema", str(spec_path()))),
    Oracle("openai-sdk-types", "openai_chat", check_sdk_types, requires=("openai",)),
    Oracle("openai-sdk-stream-accumulator", "openai_chat", check_stream_accumulator, requires=("openai",)),
    # Vendors imitating Chat Completions: vendor extras make the spec and request types too strict for them,
    # but their streams must still aggregate like the official SDK aggregates them.
    Oracle("openai-sdk-stream-accumulator (compatible)", "*", check_family_stream, requires=("openai",)),
)
