"""The OpenAI Responses responder: documented response objects, typed `response.*` SSE events and error bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cassette import body_value
from ..oracles import Oracle, OracleInput
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, arguments_json, json_reply, retry_headers, split_text, sse_reply, tool_name_at
from .openai_chat import OPENAI_ERRORS, ErrorShape

CREATED = 1767225600  # fixed: cassettes are deterministic


def _duration(seconds: float) -> str:
    """OpenAI's in-body hint format: `94ms`, `1.5s`, `7s`."""
    return f"{round(seconds * 1000)}ms" if seconds < 1 else f"{seconds:g}s"


def _encrypted(answer: Answer) -> str:
    """A deterministic stand-in for the opaque encrypted reasoning content."""
    return "gAAAAA" + base64.urlsafe_b64encode(f"accord-synthetic-reasoning:{answer.id}".encode()).decode()


@dataclass(frozen=True)
class OpenAIResponsesResponder:
    """`POST /responses` as OpenAI documents it: a `response` object, or the typed event stream."""

    wire: str = "openai_responses"
    errors: Mapping[ErrorKind, ErrorShape] = field(default_factory=lambda: dict(OPENAI_ERRORS))
    headers: Mapping[str, str] = field(
        default_factory=lambda: {"x-request-id": "req_0123456789abcdef", "openai-processing-ms": "321"}
    )

    def is_streaming(self, request: SentRequest) -> bool:
        body = request.json
        return isinstance(body, dict) and body.get("stream") is True

    # --- the response object ----------------------------------------------------------------------------------

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        u = answer.usage  # the Responses convention is accord's: cached within input, reasoning within output
        return {
            "input_tokens": u.input_tokens,
            "input_tokens_details": {"cached_tokens": u.cache_read_tokens, "cache_write_tokens": u.cache_write_tokens},
            "output_tokens": u.output_tokens,
            "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.total_tokens,
        }

    @staticmethod
    def _tool_names(request: SentRequest) -> list[str]:
        body = request.json if isinstance(request.json, dict) else {}
        return [str(t.get("name", "")) for t in body.get("tools") or [] if t.get("type") == "function"]

    def _items(self, answer: Answer, request: SentRequest) -> list[dict[str, Any]]:
        """The output items, complete (as in the response object and in `output_item.done`)."""
        items: list[dict[str, Any]] = []
        if answer.thinking:
            items.append(
                {
                    "type": "reasoning",
                    "id": f"rs_{answer.id}",
                    "summary": [{"type": "summary_text", "text": "".join(answer.thinking)}],
                    "encrypted_content": _encrypted(answer),
                }
            )
        if answer.text or not (answer.thinking or answer.tool_calls):
            kind = "refusal" if answer.finish == "refusal" else "output_text"
            part: dict[str, Any] = (
                {"type": "refusal", "refusal": answer.full_text}
                if kind == "refusal"
                else {"type": "output_text", "text": answer.full_text, "annotations": [], "logprobs": []}
            )
            items.append(
                {
                    "type": "message",
                    "id": f"msg_{answer.id}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [part],
                }
            )
        names = self._tool_names(request)
        for index, call in enumerate(answer.tool_calls):
            items.append(
                {
                    "type": "function_call",
                    "id": f"fc_{answer.id}_{index}",
                    "call_id": call.id,
                    "name": tool_name_at(names, call),
                    "arguments": arguments_json(call),
                    "status": "completed",
                }
            )
        return items

    def _response(self, answer: Answer, request: SentRequest, status: str, output: list[Any]) -> dict[str, Any]:
        body = request.json if isinstance(request.json, dict) else {}
        incomplete = None
        if answer.finish == "length":
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        elif answer.finish == "content_filter":
            status, incomplete = "incomplete", {"reason": "content_filter"}
        done = status != "in_progress"
        return {
            "id": f"resp_{answer.id}",
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "error": None,
            "incomplete_details": incomplete if done else None,
            "instructions": body.get("instructions"),
            "model": answer.model or body.get("model", ""),
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "store": body.get("store", True),
            "usage": self.usage(answer) if done else None,
        }

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        payload = self._response(answer, request, "completed", self._items(answer, request))
        return json_reply(payload, headers=self.headers)

    # --- the event stream -------------------------------------------------------------------------------------

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        events: list[tuple[str | None, Any]] = []

        def emit(kind: str, **fields: Any) -> None:
            events.append((kind, {"type": kind, "sequence_number": len(events), **fields}))

        started = self._response(answer, request, "in_progress", [])
        emit("response.created", response=started)
        emit("response.in_progress", response=started)
        items = self._items(answer, request)
        for index, item in enumerate(items):
            if item["type"] == "reasoning":
                emit("response.output_item.added", output_index=index, item={**item, "summary": []})
                part = {"type": "summary_text", "text": ""}
                emit(
                    "response.reasoning_summary_part.added",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    part=part,
                )
                for piece in answer.thinking:
                    emit(
                        "response.reasoning_summary_text.delta",
                        item_id=item["id"],
                        output_index=index,
                        summary_index=0,
                        delta=piece,
                    )
            elif item["type"] == "message":
                emit(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
                refusal = item["content"][0]["type"] == "refusal"
                empty = (
                    {"type": "refusal", "refusal": ""}
                    if refusal
                    else {"type": "output_text", "text": "", "annotations": []}
                )
                emit("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=empty)
                for piece in answer.text:
                    extra: dict[str, Any] = {} if refusal else {"logprobs": []}
                    kind = "response.refusal.delta" if refusal else "response.output_text.delta"
                    emit(kind, item_id=item["id"], output_index=index, content_index=0, delta=piece, **extra)
                if answer.cut:
                    break
            else:
                added = {**item, "arguments": "", "status": "in_progress"}
                emit("response.output_item.added", output_index=index, item=added)
                for fragment in split_text(item["arguments"]):
                    emit(
                        "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=fragment
                    )
                emit(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            emit("response.output_item.done", output_index=index, item=item)
        if answer.cut:
            return sse_reply(events, headers=self.headers, cut=True)
        if answer.stream_error is not None:
            shape = self.errors[answer.stream_error.kind]
            error = self._error_object(shape, answer.stream_error)
            # Real traffic nests the error object (the spec's example shows it flat; accord reads both).
            emit("error", error=error)
            return sse_reply(events, headers=self.headers)
        final = self._response(answer, request, "completed", items)
        emit("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
        return sse_reply(events, headers=self.headers)

    # --- errors -----------------------------------------------------------------------------------------------

    @staticmethod
    def _error_object(shape: ErrorShape, failure: Failure) -> dict[str, Any]:
        message = failure.message or shape.message
        if failure.retry_hint == "body" and failure.retry_after is not None:
            message = f"{message} Please try again in {_duration(failure.retry_after)}."
        return {"message": message, "type": shape.type, "param": shape.param, "code": shape.code}

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        shape = self.errors[failure.kind]
        headers = {**self.headers, **retry_headers(failure)}
        return json_reply({"error": self._error_object(shape, failure)}, status=shape.status, headers=headers)


# --- oracles: the SDK's types and its stream accumulator ------------------------------------------------------


def _is_responses(data: OracleInput) -> bool:
    return data.interaction.request.path.endswith("/responses")


def _events(data: OracleInput) -> list[Any] | None:
    response = data.interaction.response
    if response is None or "sse" not in response.body:
        return None
    return [e.get("data") for e in response.body["sse"]]


def _consume(value: Any) -> Any:
    """Force pydantic's lazy iterators (TypedDict `Iterable` fields) so nested items are validated too."""
    if isinstance(value, dict):
        return {k: _consume(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "ValidatorIterator":
        return [_consume(v) for v in value]
    return value


def check_sdk_types(data: OracleInput) -> list[str]:
    """The request against the SDK's `ResponseCreateParams`; answers and every stream event through its types."""
    if not _is_responses(data):
        return []
    from openai.types.responses import Response, ResponseStreamEvent, response_create_params
    from pydantic import TypeAdapter, ValidationError

    problems: list[str] = []
    body = body_value(data.interaction.request.body)
    params = TypeAdapter(response_create_params.ResponseCreateParamsNonStreaming)
    try:
        _consume(params.validate_python({k: v for k, v in body.items() if k != "stream"}))
    except ValidationError as exc:
        problems.append(f"request: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    response = data.interaction.response
    if response is None or response.status != 200:
        return problems
    events = _events(data)
    try:
        if events is None:
            Response.model_validate(body_value(response.body))
        else:
            parse = TypeAdapter(ResponseStreamEvent).validate_python
            for event in events:
                if isinstance(event, dict) and event.get("type") != "error":
                    parse(event)
    except ValidationError as exc:
        problems.append(f"response: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    return problems


def check_stream_accumulator(data: OracleInput) -> list[str]:
    """Differential: the SDK's `ResponseStreamState` and accord's aggregate agree on text, calls and usage."""
    events = _events(data)
    accord = data.accord_response
    if not _is_responses(data) or events is None or accord is None:
        return []
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    parse = TypeAdapter(ResponseStreamEvent).validate_python
    state: Any = ResponseStreamState(input_tools=omit, text_format=omit)
    final: Any = None
    for event in events:
        if isinstance(event, dict) and event.get("type") != "error":
            for out in state.handle_event(parse(event)):
                if out.type in ("response.completed", "response.incomplete"):
                    final = out.response
    if final is None:
        return []
    problems: list[str] = []
    if final.output_text != accord.text and not any(
        getattr(c, "type", "") == "refusal" for item in final.output for c in getattr(item, "content", None) or []
    ):
        problems.append(f"text: sdk {final.output_text!r} != accord {accord.text!r}")
    calls = [(i.call_id, json.loads(i.arguments or "{}")) for i in final.output if i.type == "function_call"]
    if calls != [(c.id, c.arguments) for c in accord.tool_calls]:
        problems.append(f"tool calls: sdk {calls!r} != accord {[(c.id, c.arguments) for c in accord.tool_calls]!r}")
    if final.usage is not None and (final.usage.input_tokens, final.usage.output_tokens) != (
        accord.usage.input_tokens,
        accord.usage.output_tokens,
    ):
        problems.append(f"usage: sdk {final.usage!r} != accord {accord.usage!r}")
    return problems


RESPONDERS = [OpenAIResponsesResponder()]

TARGETS = [
    Target(
        name="openai-responses",
        adapter="accord.adapters.openai_responses:OpenAIResponsesAdapter",
        model="gpt-4o-mini",
        wire="openai_responses",
        case_models={"completion.reasoning": "o4-mini"},
        live_credentials={"api_key": "OPENAI_API_KEY"},
    ),
]

ORACLES = [
    Oracle("openai-responses-sdk-types", "openai_responses", check_sdk_types, requires=("openai",)),
    Oracle(
        "openai-responses-sdk-stream-accumulator", "openai_responses", check_stream_accumulator, requires=("openai",)
    ),
]
