"""The structured-output engine: mode choice, schema planning, parsing, validation and the bounded retry loop."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from accord.contracts import (
    Message,
    ModelProfile,
    OutputDelta,
    OutputSpec,
    OutputValidationError,
    Request,
    Response,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolChoice,
    UnsupportedFeatureError,
    Usage,
)
from accord.contracts.schema import SchemaPlan, resolve_root_ref

from ._base import EventStream, NativeOutput
from ._schema import plan_schema

Send = Callable[[Request, NativeOutput | None], Awaitable[Response]]
Open = Callable[[Request, NativeOutput | None], AbstractAsyncContextManager[EventStream]]
Mode = Literal["native", "tool", "prompted"]

DEFAULT_OUTPUT_RETRIES = 2  # validation retries after the first attempt: three attempts in all
OPTIONS_KEY = "accord"  # provider_options["accord"]["output_retries"]: accord's own options, never sent
TOOL_DESCRIPTION = "The final response which ends this conversation."
# Dialects whose providers reject a forced tool choice while thinking (schema_rules.md §1.3, §4).
_NO_FORCED_TOOL_WITH_THINKING = frozenset({"anthropic", "bedrock"})
# Dialects whose native output field is always enforced: a schema planned non-strict cannot be sent there at all,
# so `auto` skips native best-effort and goes on to prompted output.
_NATIVE_ALWAYS_ENFORCED = frozenset({"anthropic"})
_NOT_RETRIED = frozenset({"refusal", "content_filter"})
_MAX_ERRORS = 20
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")

PROMPT = (
    "Always respond with a JSON value that's compatible with this JSON Schema:\n\n{schema}\n\n"
    "Don't include any text or Markdown fencing before or after."
)
FEEDBACK = (
    "The previous response failed validation. Please fix these errors:\n{errors}\n\nProvide a corrected response."
)


@dataclass
class _Setup:
    """One structured request, decided before any network call."""

    request: Request
    spec: OutputSpec
    mode: Mode
    plan: SchemaPlan
    native: NativeOutput | None
    tool_name: str | None
    tool_wrapped: bool
    max_attempts: int
    reasons: list[str] = field(default_factory=list)


def _output_name(name: str, taken: set[str]) -> str:
    base = _NAME_RE.sub("_", name)[:64] or "final_result"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[:60]}_{n}"
    return candidate


def _max_attempts(request: Request) -> int:
    options = request.provider_options.get(OPTIONS_KEY, {})
    retries = options.get("output_retries", DEFAULT_OUTPUT_RETRIES)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise UnsupportedFeatureError(
            f"provider_options['accord']['output_retries'] must be an int >= 0, got {retries!r}",
            feature="output_retries",
        )
    return retries + 1


def _deny(profile: ModelProfile, mode: str, why: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{profile.provider}:{profile.model} cannot produce {mode} structured output: {why}",
        feature=f"{mode}_output",
        provider=profile.provider or None,
        model=profile.model or None,
    )


def prepare(request: Request, profile: ModelProfile, *, streaming: bool = False) -> _Setup:
    """Choose the mode and plan the schema; raise `UnsupportedFeatureError` for a mode the profile denies
    (`streaming`: the answer will be streamed, which some providers' native output refuses)."""
    spec = request.output
    assert spec is not None
    dialect = profile.schema_dialect
    base = request.with_(
        output=None,
        provider_options={k: v for k, v in request.provider_options.items() if k != OPTIONS_KEY},
    )
    attempts = _max_attempts(request)
    thinking = request.reasoning is not None and request.reasoning.effort != "none"
    tool_blocked = None
    if not profile.supports_tools:
        tool_blocked = "the model does not support tool calling"
    elif request.tool_choice is not None:
        tool_blocked = "the request already sets tool_choice, and tool output forces it"
    elif thinking and dialect in _NO_FORCED_TOOL_WITH_THINKING:
        tool_blocked = "a forced tool choice is rejected while thinking"
    native_strict = spec.strict if spec.strict is not None else True
    native_usable = profile.supports_native_output and (not streaming or profile.supports_native_output_streaming)
    native_plan = plan_schema(spec.json_schema, dialect, strict=native_strict) if native_usable else None

    if spec.mode == "native" or (spec.mode == "auto" and profile.default_output_mode == "native"):
        if native_plan is None:
            if spec.mode == "native":
                why = "it cannot be streamed" if profile.supports_native_output else "the model has none"
                raise _deny(profile, "native", f"native structured output: {why}")
        elif spec.mode == "native" or native_plan.strict_applied or not native_plan.strict_requested:
            if spec.strict is True and not native_plan.strict_applied:
                raise _deny(profile, "native", "strict cannot hold: " + "; ".join(native_plan.reasons))
            return _native(base, spec, native_plan, attempts)
    if spec.mode == "tool" or (spec.mode == "auto" and profile.default_output_mode == "tool"):
        if tool_blocked is None:
            return _tool(base, spec, profile, attempts)
        if spec.mode == "tool":
            raise _deny(profile, "tool", tool_blocked)
    if spec.mode == "prompted" or (spec.mode == "auto" and profile.default_output_mode == "prompted"):
        return _prompted(base, spec, profile, attempts)
    # auto: native when the plan holds strictly, else a forced tool, else native best-effort, else prompted
    if native_plan is not None and native_plan.strict_applied:
        return _native(base, spec, native_plan, attempts)
    if tool_blocked is None:
        return _tool(base, spec, profile, attempts)
    if native_plan is not None and dialect not in _NATIVE_ALWAYS_ENFORCED:
        return _native(base, spec, native_plan, attempts)
    return _prompted(base, spec, profile, attempts)


def _native(base: Request, spec: OutputSpec, plan: SchemaPlan, attempts: int) -> _Setup:
    native = NativeOutput(
        name=_output_name(spec.name, set()),
        schema=plan.transformed,
        strict=plan.strict_applied,
        description=spec.description,
    )
    return _Setup(base, spec, "native", plan, native, None, False, attempts, list(plan.reasons))


def _tool_parameters(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Tool arguments are an object: a non-object output schema is wrapped as {"response": …}."""
    resolved = resolve_root_ref(schema)
    if resolved.get("type") == "object" and "$ref" not in resolved:
        return resolved, False
    defs: dict[str, Any] = {k: resolved[k] for k in ("$defs", "definitions") if k in resolved}
    body = {k: v for k, v in resolved.items() if k not in defs}
    return {"type": "object", "properties": {"response": body}, "required": ["response"], **defs}, True


def _tool(base: Request, spec: OutputSpec, profile: ModelProfile, attempts: int) -> _Setup:
    name = _output_name(spec.name, {t.name for t in base.tools})
    parameters, wrapped = _tool_parameters(spec.json_schema)
    strict = profile.supports_strict_tools if spec.strict is None else spec.strict and profile.supports_strict_tools
    tool = Tool(name=name, description=spec.description or TOOL_DESCRIPTION, parameters=parameters, strict=strict)
    request = base.with_(tools=[*base.tools, tool], tool_choice=ToolChoice.named(name))
    # The adapter plans the tool itself (same call, cached) and restores the arguments before they reach us.
    plan = plan_schema(parameters, profile.schema_dialect, strict=strict)
    return _Setup(request, spec, "tool", plan, None, name, wrapped, attempts, list(plan.reasons))


def _prompted(base: Request, spec: OutputSpec, profile: ModelProfile, attempts: int) -> _Setup:
    plan = plan_schema(spec.json_schema, profile.schema_dialect, strict=False)
    instructions = PROMPT.format(schema=json.dumps(spec.json_schema, ensure_ascii=False))
    if profile.supports_system_prompt:
        system = f"{base.system}\n\n{instructions}" if base.system else instructions
        request = base.with_(system=system)
    else:
        # A separate part after the user's own parts: images and documents in the message are kept.
        messages = list(base.messages)
        last = messages[-1]
        if last.role == "user":
            messages[-1] = last.model_copy(update={"parts": [*last.parts, TextPart(text=instructions)]})
        else:
            messages.append(Message.user(instructions))
        request = base.with_(messages=messages)
    native = None
    if profile.supports_json_mode:
        native = NativeOutput(
            name=_output_name(spec.name, set()),
            schema=plan.transformed,
            strict=False,
            description=spec.description,
            json_mode=True,
        )
    return _Setup(request, spec, "prompted", plan, native, None, False, attempts, list(plan.reasons))


# --- parsing and validation ---------------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str) -> str:
    """The JSON in a text answer: a fenced block, the text itself, or the outermost {…} / […] slice."""
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    stripped = text.strip()
    if stripped[:1] in "{[" and stripped[-1:] in "}]":
        return stripped
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = stripped.find(open_), stripped.rfind(close)
        if start != -1 and end > start:
            return stripped[start : end + 1]
    return stripped


def _raw_output(setup: _Setup, response: Response) -> tuple[Any, list[str]]:
    """The answer's JSON value (restored to the original shape), or the reasons it has none."""
    problems: list[str] = []
    if response.finish_reason == "length":
        problems.append("the answer was cut off (finish_reason=length)")
    if setup.mode == "tool":
        calls = [c for c in response.tool_calls if c.name == setup.tool_name]
        if not calls:
            return None, [*problems, f"no call to the tool `{setup.tool_name}` in the answer"]
        value: Any = calls[0].arguments
        if setup.tool_wrapped:
            if not isinstance(value, dict) or "response" not in value:
                return value, [*problems, "the tool arguments have no `response` field"]
            value = value["response"]
        return value, problems
    text = extract_json(response.text)
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, [*problems, f"the answer is not valid JSON: {exc}"]
    if setup.mode == "native":
        value = setup.plan.restore(value)
    return value, problems


def validate(spec: OutputSpec, value: Any) -> tuple[Any, list[str]]:
    """`value` checked against the ORIGINAL schema: the pydantic type when given, else the raw JSON Schema.

    A raw JSON Schema is validated with `jsonschema` when it is installed (the `conformance` extra); without it
    only the JSON parse is checked, and the dict is returned as it is.
    """
    if spec.python_type is not None:
        try:
            return spec.python_type.model_validate(value), []
        except ValidationError as exc:
            return None, [
                f"{'/'.join(str(p) for p in err['loc']) or '/'}: {err['msg']}" for err in exc.errors()[:_MAX_ERRORS]
            ]
    try:
        import jsonschema
    except ImportError:  # the conformance extra is absent: JSON-parse checking only
        return value, []
    validator_cls = jsonschema.validators.validator_for(spec.json_schema)
    errors = sorted(validator_cls(spec.json_schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        return None, [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"[:500] for e in errors[:_MAX_ERRORS]]
    return value, []


def _feedback(setup: _Setup, request: Request, response: Response, errors: list[str]) -> Request:
    """The next attempt's request: the failed answer and the errors appended to the conversation."""
    text = FEEDBACK.format(errors="\n".join(f"- {e}" for e in errors))
    messages = [*request.messages]
    if response.parts:
        messages.append(response.to_message())
    calls = response.tool_calls
    if setup.mode == "tool" and calls:
        # Every call gets an answer so the transcript stays valid for every provider.
        for call in calls:
            note = text + " Fix the errors and try again." if call.name == setup.tool_name else "Not run."
            messages.append(Message.tool(call.id, note, is_error=True))
    else:
        if setup.mode == "tool":
            text += f"\nCall the tool `{setup.tool_name}` with your answer."
        messages.append(Message.user(text))
    return request.with_(messages=messages)


def _total_cost(responses: list[Response]) -> float | None:
    costs = [r.cost for r in responses if r.cost is not None]
    return sum(costs) if costs else None


def _total_usage(responses: list[Response]) -> Usage:
    total = Usage()
    for r in responses:
        total = total + r.usage
    return total


def _exhausted(setup: _Setup, responses: list[Response], errors: list[str], last: Any) -> OutputValidationError:
    attempts = len(responses)
    return OutputValidationError(
        f"structured output still invalid after {attempts} attempt(s) ({setup.mode} mode): {'; '.join(errors[:3])}",
        attempts=attempts,
        errors=errors,
        usage=_total_usage(responses),
        last_output=last,
        responses=responses,
    )


def _judge(setup: _Setup, response: Response) -> tuple[Any, list[str], Any]:
    """(output, errors, raw value) for one answer."""
    value, problems = _raw_output(setup, response)
    if problems and (value is None or response.finish_reason == "length"):
        return None, problems, value
    output, errors = validate(setup.spec, value)
    return output, [*problems, *errors], value


def _final(responses: list[Response], output: Any) -> Response:
    return responses[-1].model_copy(
        update={
            "output": output,
            "attempts": len(responses),
            "usage": _total_usage(responses),
            "cost": _total_cost(responses),
        }
    )


async def complete_structured(send: Send, request: Request, profile: ModelProfile) -> Response:
    """Send, parse, validate against the original schema, feed errors back; at most `max_attempts` calls."""
    setup = prepare(request, profile)
    current = setup.request
    responses: list[Response] = []
    while True:
        response = await send(current, setup.native)
        responses.append(response)
        output, errors, raw = _judge(setup, response)
        if not errors:
            return _final(responses, output)
        if response.finish_reason in _NOT_RETRIED or len(responses) >= setup.max_attempts:
            raise _exhausted(setup, responses, errors, raw)
        current = _feedback(setup, current, response, errors)


# --- streaming ----------------------------------------------------------------------------------------------


def stream_structured(open_: Open, request: Request, profile: ModelProfile) -> AbstractAsyncContextManager[EventStream]:
    """Stream with `OutputDelta` partial objects as the JSON arrives; validated at the end like `complete`.

    When an attempt fails validation and attempts remain, the next attempt's events follow in the same stream.
    """
    setup = prepare(request, profile, streaming=True)  # raises before any network call
    return _stream(open_, setup)


@asynccontextmanager
async def _stream(open_: Open, setup: _Setup) -> AsyncIterator[EventStream]:
    yield EventStream(_events(open_, setup))


async def _events(open_: Open, setup: _Setup) -> AsyncIterator[StreamEvent]:
    current = setup.request
    responses: list[Response] = []
    while True:
        end: Response | None = None
        async with open_(current, setup.native) as stream:
            buffer: list[str] = []
            tool_index: int | None = None
            last_partial: Any = _MISSING
            async for event in stream:
                if isinstance(event, StreamEnd):
                    end = event.response
                    break
                yield event
                chunk = None
                if setup.mode != "tool" and isinstance(event, TextDelta):
                    chunk = event.text
                elif isinstance(event, ToolCallStart) and event.name == setup.tool_name and tool_index is None:
                    tool_index = event.index
                elif isinstance(event, ToolCallDelta) and event.index == tool_index:
                    chunk = event.arguments_fragment
                elif isinstance(event, ToolCallEnd) and event.index == tool_index:
                    tool_index = -1  # later calls of the same tool are not mixed into the partial output
                if chunk:
                    buffer.append(chunk)
                    partial = parse_partial("".join(buffer))
                    if setup.tool_wrapped and isinstance(partial, dict):
                        partial = partial.get("response", _MISSING)
                    if partial is not _MISSING and partial != last_partial:
                        last_partial = partial
                        yield OutputDelta(partial_output=partial)
        if end is None:
            raise RuntimeError("the stream ended without StreamEnd")
        responses.append(end)
        output, errors, raw = _judge(setup, end)
        if not errors:
            yield StreamEnd(response=_final(responses, output))
            return
        if end.finish_reason in _NOT_RETRIED or len(responses) >= setup.max_attempts:
            raise _exhausted(setup, responses, errors, raw)
        current = _feedback(setup, current, end, errors)


# --- partial JSON -------------------------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()
_WS = " \t\r\n"
_LITERALS = {"true": True, "false": False, "null": None}


class _Incomplete(Exception):
    """The text ended inside a token that cannot be shown yet (a number or literal still growing)."""


def parse_partial(text: str) -> Any:
    """The value of a JSON prefix: open strings, arrays and objects are closed; a member still arriving is left out.

    Leading prose or a Markdown fence before the first `{`/`[` is skipped. Returns `_MISSING` when nothing is known.
    """
    starts = [i for i in (text.find("{"), text.find("[")) if i != -1]
    if not starts:
        return _MISSING
    parser = _PartialParser(text, min(starts))
    try:
        value, _ = parser.value()
    except (_Incomplete, ValueError):
        return _MISSING
    return value


class _PartialParser:
    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def _ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def _eof(self) -> bool:
        self._ws()
        return self.pos >= len(self.text)

    def value(self) -> tuple[Any, bool]:
        """(value, complete). Raises `_Incomplete` when not even a partial value can be shown."""
        if self._eof():
            raise _Incomplete
        ch = self.text[self.pos]
        if ch == "{":
            return self._object()
        if ch == "[":
            return self._array()
        if ch == '"':
            return self._string()
        return self._scalar()

    def _object(self) -> tuple[dict[str, Any], bool]:
        self.pos += 1
        out: dict[str, Any] = {}
        while True:
            if self._eof():
                return out, False
            if self.text[self.pos] == "}":
                self.pos += 1
                return out, True
            if self.text[self.pos] == ",":
                self.pos += 1
                continue
            key, done = self._string()
            if not done or self._eof():
                return out, False
            if self.text[self.pos] != ":":
                raise ValueError("expected ':'")
            self.pos += 1
            try:
                item, complete = self.value()
            except _Incomplete:
                return out, False
            out[key] = item
            if not complete:
                return out, False

    def _array(self) -> tuple[list[Any], bool]:
        self.pos += 1
        out: list[Any] = []
        while True:
            if self._eof():
                return out, False
            if self.text[self.pos] == "]":
                self.pos += 1
                return out, True
            if self.text[self.pos] == ",":
                self.pos += 1
                continue
            try:
                item, complete = self.value()
            except _Incomplete:
                return out, False
            out.append(item)
            if not complete:
                return out, False

    def _string(self) -> tuple[str, bool]:
        if self.text[self.pos] != '"':
            raise ValueError("expected a string")
        end = self.pos + 1
        while end < len(self.text):
            ch = self.text[end]
            if ch == "\\":
                end += 2
                continue
            if ch == '"':
                raw = self.text[self.pos : end + 1]
                self.pos = end + 1
                return json.loads(raw), True
            end += 1
        body = self.text[self.pos + 1 :]
        self.pos = len(self.text)
        # Drop a trailing incomplete escape so the prefix decodes.
        for cut in range(7):
            try:
                return json.loads('"' + body[: len(body) - cut] + '"'), False
            except ValueError:
                continue
        raise _Incomplete

    def _scalar(self) -> tuple[Any, bool]:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",]}" + _WS:
            self.pos += 1
        token = self.text[start : self.pos]
        if self.pos >= len(self.text):
            raise _Incomplete  # a number or literal may still grow
        if token in _LITERALS:
            return _LITERALS[token], True
        return json.loads(token), True
