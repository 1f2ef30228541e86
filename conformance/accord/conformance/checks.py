"""Checks on a case's outcome: contract invariants (always) and scenario-exact values (synthetic cassettes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accord.contracts import (
    AccordError,
    Response,
    StreamEnd,
    StreamEvent,
    StreamInterruptedError,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageUpdate,
)

from .scenario import Answer, Scenario


@dataclass
class Outcome:
    """What running a case produced. `exact` is True when the cassette is synthetic, so its answer is the
    scenario's and values (text, usage, arguments) can be compared exactly; live cassettes get invariants only."""

    response: Response | None = None
    events: list[StreamEvent] = field(default_factory=list)
    error: BaseException | None = None
    requests: int = 0
    streamed: bool = False
    complete_response: Response | None = None  # `complete()` on equivalent wire data (equivalence cases)
    scenario: Scenario = ()
    exact: bool = True

    @property
    def answers(self) -> list[Answer]:
        return [s for s in self.scenario if isinstance(s, Answer)]

    @property
    def answer(self) -> Answer | None:
        """The answer the case ends on (the last successful step)."""
        answers = self.answers
        return answers[-1] if answers else None


Check = Callable[[Outcome], list[str]]


def _need_response(outcome: Outcome) -> Response | None:
    return outcome.response


# --- invariants ---------------------------------------------------------------------------------------------


def stream_invariants(outcome: Outcome) -> list[str]:
    """ARCHITECTURE.md's stream invariants, on whatever events arrived."""
    problems: list[str] = []
    events = outcome.events
    ends = [i for i, e in enumerate(events) if isinstance(e, StreamEnd)]
    if outcome.error is None:
        if len(ends) != 1:
            problems.append(f"expected exactly one StreamEnd, got {len(ends)}")
        elif ends[0] != len(events) - 1:
            problems.append("StreamEnd is not the last event")
    elif ends:
        problems.append("a stream that raised must not have yielded StreamEnd")
    response = events[ends[0]].response if ends and isinstance(events[ends[0]], StreamEnd) else None  # type: ignore[union-attr]
    if response is None and outcome.error is not None:
        partial = getattr(outcome.error, "partial", None)
        response = partial if isinstance(partial, Response) else None
    text_deltas: dict[int, list[str]] = {}
    thinking_deltas: dict[int, list[str]] = {}
    starts: dict[int, ToolCallStart] = {}
    fragments: dict[int, list[str]] = {}
    ended: dict[int, ToolCallEnd] = {}
    for event in events:
        if isinstance(event, TextDelta):
            text_deltas.setdefault(event.index, []).append(event.text)
        elif isinstance(event, ThinkingDelta):
            thinking_deltas.setdefault(event.index, []).append(event.text)
        elif isinstance(event, ToolCallStart):
            if event.index in starts:
                problems.append(f"tool call index {event.index} started twice")
            starts[event.index] = event
        elif isinstance(event, ToolCallDelta):
            if event.index not in starts:
                problems.append(f"ToolCallDelta for index {event.index} before its ToolCallStart")
            if event.index in ended:
                problems.append(f"ToolCallDelta for index {event.index} after its ToolCallEnd")
            fragments.setdefault(event.index, []).append(event.arguments_fragment)
        elif isinstance(event, ToolCallEnd):
            start = starts.get(event.index)
            if start is None:
                problems.append(f"ToolCallEnd for index {event.index} without ToolCallStart")
            elif (start.id, start.name) != (event.call.id, event.call.name):
                problems.append(
                    f"tool call {event.index}: id/name changed between start ({start.id}, {start.name})"
                    f" and end ({event.call.id}, {event.call.name})"
                )
            ended[event.index] = event
            joined = "".join(fragments.get(event.index, []))
            if joined.strip() and event.call.raw_arguments is None:
                try:
                    parsed = json.loads(joined)
                except ValueError:
                    problems.append(f"tool call {event.index}: fragments do not join to valid JSON: {joined[:80]!r}")
                else:
                    if parsed != event.call.arguments:
                        problems.append(
                            f"tool call {event.index}: fragments join to {parsed!r}, "
                            f"ToolCallEnd has {event.call.arguments!r}"
                        )
    if outcome.error is None:
        for index in starts:
            if index not in ended:
                problems.append(f"tool call {index} started but never ended")
    if response is None:
        return problems
    all_text = "".join("".join(v) for _, v in sorted(text_deltas.items()))
    if all_text != response.text:
        problems.append(f"text deltas join to {all_text!r}, response.text is {response.text!r}")
    for index, pieces in text_deltas.items():
        part = response.parts[index] if index < len(response.parts) else None
        if not isinstance(part, TextPart) or part.text != "".join(pieces):
            problems.append(f"text deltas at index {index} do not equal response.parts[{index}]")
    for index, pieces in thinking_deltas.items():
        part = response.parts[index] if index < len(response.parts) else None
        if not isinstance(part, ThinkingPart) or part.text != "".join(pieces):
            problems.append(f"thinking deltas at index {index} do not equal response.parts[{index}]")
    if outcome.error is None:
        end_calls = [ended[i].call for i in sorted(ended)]
        if end_calls != response.tool_calls:
            problems.append("the ToolCallEnd calls differ from response.tool_calls")
        updates = [e.usage for e in events if isinstance(e, UsageUpdate)]
        if updates and updates[-1] != response.usage:
            problems.append(f"last UsageUpdate {updates[-1]!r} != response.usage {response.usage!r}")
    return problems


def response_basics(outcome: Outcome) -> list[str]:
    response = outcome.response
    if response is None:
        return ["no response"]
    problems: list[str] = []
    if not response.id:
        problems.append("response.id is empty")
    if not response.model:
        problems.append("response.model is empty")
    usage = response.usage
    if usage.cache_read_tokens + usage.cache_write_tokens > usage.input_tokens:
        problems.append("cached tokens exceed input tokens")
    return problems


def has_text(outcome: Outcome) -> list[str]:
    response = outcome.response
    if response is None:
        return ["no response"]
    return [] if response.text.strip() else ["response.text is empty"]


def usage_positive(outcome: Outcome) -> list[str]:
    response = outcome.response
    if response is None:
        return ["no response"]
    usage = response.usage
    if usage.input_tokens <= 0 or usage.output_tokens <= 0:
        return [f"usage not reported: {usage!r}"]
    return []


def finish_is(*reasons: str) -> Check:
    def check(outcome: Outcome) -> list[str]:
        response = outcome.response
        if response is None:
            return ["no response"]
        if response.finish_reason not in reasons:
            return [f"finish_reason {response.finish_reason!r}, expected {' or '.join(reasons)}"]
        return []

    return check


def tool_calls_valid(schemas: dict[str, dict[str, Any]]) -> Check:
    """Every call names a declared tool, has an id, and arguments valid against that tool's schema."""

    def check(outcome: Outcome) -> list[str]:
        import jsonschema

        response = outcome.response
        if response is None:
            return ["no response"]
        problems: list[str] = []
        if not response.tool_calls:
            problems.append("no tool calls")
        for call in response.tool_calls:
            if not call.id:
                problems.append("a tool call has no id")
            schema = schemas.get(call.name)
            if schema is None:
                problems.append(f"tool call names undeclared tool {call.name!r}")
                continue
            try:
                jsonschema.validate(call.arguments, schema)
            except jsonschema.ValidationError as exc:
                problems.append(f"{call.name} arguments invalid: {exc.message}")
        return problems

    return check


def tool_call_count(count: int) -> Check:
    def check(outcome: Outcome) -> list[str]:
        response = outcome.response
        if response is None:
            return ["no response"]
        got = len(response.tool_calls)
        return [] if got == count else [f"expected {count} tool call(s), got {got}"]

    return check


def tool_names_are(*names: str) -> Check:
    def check(outcome: Outcome) -> list[str]:
        response = outcome.response
        if response is None:
            return ["no response"]
        got = [c.name for c in response.tool_calls]
        return [] if got == list(names) else [f"tool call names {got}, expected {list(names)}"]

    return check


def no_tool_calls(outcome: Outcome) -> list[str]:
    response = outcome.response
    if response is None:
        return ["no response"]
    return [f"unexpected tool calls: {response.tool_calls}"] if response.tool_calls else []


# --- scenario-exact checks (synthetic cassettes only) --------------------------------------------------------


def exact(check: Check) -> Check:
    """Apply `check` only when the cassette's answer is the scenario's (origin synthetic)."""

    def wrapped(outcome: Outcome) -> list[str]:
        return check(outcome) if outcome.exact else []

    wrapped.__name__ = getattr(check, "__name__", "exact")
    return wrapped


def _text_equals(outcome: Outcome) -> list[str]:
    response, answer = outcome.response, outcome.answer
    if response is None or answer is None:
        return ["no response"]
    return [] if response.text == answer.full_text else [f"text {response.text!r} != {answer.full_text!r}"]


def _usage_equals(outcome: Outcome) -> list[str]:
    response, answer = outcome.response, outcome.answer
    if response is None or answer is None:
        return ["no response"]
    return [] if response.usage == answer.usage else [f"usage {response.usage!r} != scenario {answer.usage!r}"]


def _arguments_equal(outcome: Outcome) -> list[str]:
    response, answer = outcome.response, outcome.answer
    if response is None or answer is None:
        return ["no response"]
    got = [c.arguments for c in response.tool_calls]
    want = [c.arguments for c in answer.tool_calls]
    return [] if got == want else [f"tool arguments {got!r} != scenario {want!r}"]


def _ids_equal(outcome: Outcome) -> list[str]:
    response, answer = outcome.response, outcome.answer
    if response is None or answer is None:
        return ["no response"]
    got = [c.id for c in response.tool_calls]
    want = [c.id for c in answer.tool_calls]
    return [] if got == want else [f"tool call ids {got!r} != scenario {want!r}"]


def _summed_usage(outcome: Outcome) -> list[str]:
    response = outcome.response
    if response is None:
        return ["no response"]
    total = None
    for answer in outcome.answers:
        total = answer.usage if total is None else total + answer.usage
    return [] if response.usage == total else [f"usage {response.usage!r} != sum over attempts {total!r}"]


def _thinking_apart(outcome: Outcome) -> list[str]:
    """Reasoning never leaks into `response.text`; when the wire returns it, it is the scenario's, in order."""
    response, answer = outcome.response, outcome.answer
    if response is None or answer is None:
        return ["no response"]
    thought = "".join(answer.thinking)
    problems = []
    if thought and thought in response.text:
        problems.append("the reasoning text leaked into response.text")
    got = "".join(p.text for p in response.thinking)
    if response.thinking and got != thought:
        problems.append(f"thinking {got!r} != scenario {thought!r}")
    return problems


thinking_apart = exact(_thinking_apart)
text_equals = exact(_text_equals)
usage_equals = exact(_usage_equals)
arguments_equal = exact(_arguments_equal)
ids_equal = exact(_ids_equal)
summed_usage = exact(_summed_usage)


def output_equals(expected: Any) -> Check:
    def check(outcome: Outcome) -> list[str]:
        response = outcome.response
        if response is None:
            return ["no response"]
        got = response.output
        if hasattr(got, "model_dump"):
            got = got.model_dump()
        return [] if got == expected else [f"output {got!r} != {expected!r}"]

    return exact(check)


def attempts_are(count: int) -> Check:
    def check(outcome: Outcome) -> list[str]:
        response = outcome.response
        if response is None:
            return ["no response"]
        return [] if response.attempts == count else [f"attempts {response.attempts}, expected {count}"]

    return check


def matches_complete(outcome: Outcome) -> list[str]:
    """The streamed response equals `complete()`'s on equivalent wire data (ids, parts, finish, usage)."""
    streamed, completed = outcome.response, outcome.complete_response
    if streamed is None or completed is None:
        return ["need both a streamed and a completed response"]
    fields: tuple[str, ...] = ("id", "model", "parts", "finish_reason", "provider_finish_reason", "usage", "cost")
    if not outcome.exact:
        fields = ("finish_reason",)
    problems = []
    for name in fields:
        a, b = getattr(streamed, name), getattr(completed, name)
        if a != b:
            problems.append(f"{name}: stream {a!r} != complete {b!r}")
    return problems


# --- errors --------------------------------------------------------------------------------------------------


def error_is(cls: type[AccordError], *, retryable: bool, retry_after: float | None = None) -> Check:
    """The error is exactly of `cls` (a subclass would be another branch of the taxonomy) with `retryable`."""

    def check(outcome: Outcome) -> list[str]:
        error = outcome.error
        if error is None:
            return [f"expected {cls.__name__}, got no error"]
        if type(error) is not cls:
            return [f"expected {cls.__name__}, got {type(error).__name__}: {str(error)[:200]}"]
        problems = []
        if getattr(error, "retryable", None) is not retryable:
            problems.append(f"retryable is {getattr(error, 'retryable', None)}, expected {retryable}")
        if retry_after is not None:
            got = getattr(error, "retry_after", None)
            if got is None or abs(got - retry_after) > 1e-6:
                problems.append(f"retry_after is {got}, expected {retry_after}")
        return problems

    check.expects_error = True  # type: ignore[attr-defined]
    return check


def partial_text(outcome: Outcome) -> list[str]:
    """A stream that broke carries what it delivered: the partial response's text equals the deltas."""
    error = outcome.error
    partial = getattr(error, "partial", None)
    if not isinstance(partial, Response):
        return ["the error carries no partial response"]
    delivered = "".join(e.text for e in outcome.events if isinstance(e, TextDelta))
    if partial.text != delivered:
        return [f"partial text {partial.text!r} != delivered {delivered!r}"]
    if outcome.exact and outcome.answer is not None and delivered != outcome.answer.full_text:
        return [f"delivered {delivered!r} != scenario {outcome.answer.full_text!r}"]
    return []


def interrupted(outcome: Outcome) -> list[str]:
    if not isinstance(outcome.error, StreamInterruptedError):
        got = "no error" if outcome.error is None else type(outcome.error).__name__
        return [f"expected StreamInterruptedError, got {got}"]
    return []


interrupted.expects_error = True  # type: ignore[attr-defined]
