"""The contract as data: every case's id, area, required capabilities, request, scenario and checks."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from accord.contracts import (
    AuthenticationError,
    ContextWindowExceededError,
    ImagePart,
    InvalidRequestError,
    Message,
    ModelProfile,
    NotFoundError,
    OutputMode,
    OutputSpec,
    OverloadedError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    Request,
    RequestTimeoutError,
    ServerError,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    UnsupportedFeatureError,
    Usage,
)

from . import checks as c
from .scenario import Answer, Failure, Scenario, Timeout, ToolCallSpec

Area = Literal["completion", "streaming", "tools", "structured", "errors", "schema"]
AREAS: tuple[Area, ...] = ("completion", "streaming", "tools", "structured", "errors", "schema")
Mode = Literal["complete", "stream", "property"]

ScenarioSource = Scenario | Callable[[ModelProfile], Scenario]


@dataclass(frozen=True)
class Case:
    """One contract case.

    `requires` names capabilities checked against the adapter's `ModelProfile`: a profile field
    (`supports_tools`) that must be true, or `param:<name>` (a request parameter the profile must not reject).
    When the profile denies one, the case instead expects `UnsupportedFeatureError` before any network call and
    is reported "unsupported". `profile_override` builds the adapter with those profile fields (cases about
    refusal). `mode`: `complete`, `stream`, or `property` (no cassette: a property run, e.g. schema dialects).
    `live`: whether `accord record` re-records it from the live service (errors cannot be provoked live).
    """

    id: str
    area: Area
    title: str
    request: Request | None = None
    scenario: ScenarioSource = ()
    mode: Mode = "complete"
    requires: tuple[str, ...] = ()
    checks: tuple[c.Check, ...] = ()
    max_retries: int = 0
    live: bool = True
    also_complete: bool = False  # stream case that first runs complete() on equivalent wire data
    profile_override: Mapping[str, Any] | None = None
    expect_refusal: bool = False  # the case itself is about refusing before the network
    property_check: Callable[[ModelProfile], list[str]] | None = None

    def scenario_for(self, profile: ModelProfile) -> Scenario:
        return self.scenario(profile) if callable(self.scenario) else self.scenario


def denied(profile: ModelProfile, requires: Iterable[str]) -> list[str]:
    """The requirements `profile` does not meet."""
    missing: list[str] = []
    for requirement in requires:
        if requirement.startswith("param:"):
            if requirement[6:] in profile.parameters.unsupported:
                missing.append(requirement)
        elif not getattr(profile, requirement, False):
            missing.append(requirement)
    return missing


# --- building blocks -----------------------------------------------------------------------------------------

HELLO = Request(messages=[Message.user("Say hello in one short sentence.")], max_tokens=50)
USAGE = Usage(input_tokens=14, output_tokens=9)

WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
)
TIME = Tool(
    name="get_time",
    description="Current local time in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
NO_ARGS = Tool(name="roll_die", description="Roll a six-sided die.", parameters={"type": "object", "properties": {}})
# Dots and slashes are outside most providers' tool-name alphabet: the adapter must sanitize and restore.
ODD_NAME = Tool(
    name="weather.lookup/v2",
    description="Weather lookup, version 2.",
    parameters=TIME.parameters,
)
SCHEMAS = {t.name: t.parameters for t in (WEATHER, TIME, NO_ARGS, ODD_NAME)}

PARIS = ToolCallSpec(arguments={"city": "Paris", "unit": "celsius"}, id="call_weather_1")
TOKYO = ToolCallSpec(arguments={"city": "Tokyo", "unit": "celsius"}, id="call_weather_2")

# 1x1 transparent PNG.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

CITY_SCHEMA: dict[str, Any] = {
    "title": "City",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "country": {"type": "string"},
        "population": {"type": "integer"},
    },
    "required": ["name", "country", "population"],
    "additionalProperties": False,
}
CITY = {"name": "Paris", "country": "France", "population": 2102650}
CITY_INVALID = {"name": "Paris", "country": "France"}  # `population` missing: fails validation
CITY_PROMPT = [Message.user("Give the name, country and population of the capital of France.")]


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def resolved_mode(profile: ModelProfile, requested: OutputMode) -> OutputMode:
    """The mode `auto` resolves to (ARCHITECTURE.md: native → tool → prompted from the profile)."""
    if requested != "auto":
        return requested
    if profile.default_output_mode != "auto":
        return profile.default_output_mode
    if profile.supports_native_output:
        return "native"
    if profile.supports_tools:
        return "tool"
    return "prompted"


def structured_answer(value: Any, mode: OutputMode, usage: Usage, answer_id: str = "resp_0001") -> Answer:
    """How a model answers in `mode`: a tool call carrying the value, or the value as JSON text."""
    if mode == "tool":
        return Answer(
            tool_calls=(ToolCallSpec(arguments=value, id="call_output_1"),),
            finish="tool_calls",
            usage=usage,
            id=answer_id,
        )
    text = _dumps(value)
    return Answer(text=(text[: len(text) // 2], text[len(text) // 2 :]), usage=usage, id=answer_id)


def _structured(requested: OutputMode, *values: Any) -> Callable[[ModelProfile], Scenario]:
    def build(profile: ModelProfile) -> Scenario:
        mode = resolved_mode(profile, requested)
        usages = (Usage(input_tokens=40, output_tokens=12), Usage(input_tokens=95, output_tokens=14))
        return tuple(
            structured_answer(v, mode, usages[i % 2], answer_id=f"resp_{i + 1:04d}") for i, v in enumerate(values)
        )

    return build


def _failure_case(
    case_id: str,
    title: str,
    failure: Failure,
    cls: type[Any],
    *,
    retryable: bool,
    retry_after: float | None = None,
) -> Case:
    return Case(
        id=case_id,
        area="errors",
        title=title,
        request=HELLO,
        scenario=(failure,),
        checks=(c.error_is(cls, retryable=retryable, retry_after=retry_after),),
        live=False,
    )


def _schema_dialect_property(profile: ModelProfile) -> list[str]:
    from .schema_area import dialect_properties

    return dialect_properties(profile.schema_dialect)


ANSWER_CHECKS = (c.response_basics, c.text_equals, c.usage_equals)

# --- the cases -----------------------------------------------------------------------------------------------

CASES: tuple[Case, ...] = (
    # completion
    Case(
        "completion.basic",
        "completion",
        "a plain answer: text, stop, usage, id and model",
        HELLO,
        (Answer(text=("Hello", "! Nice to meet you."), usage=USAGE),),
        checks=(*ANSWER_CHECKS, c.has_text, c.usage_positive, c.finish_is("stop")),
    ),
    Case(
        "completion.system_prompt",
        "completion",
        "a system prompt is sent and answered",
        HELLO.with_(system="You are a pirate. Answer in pirate speak."),
        scenario=(Answer(text=("Ahoy, matey!",), usage=Usage(input_tokens=25, output_tokens=5)),),
        requires=("supports_system_prompt",),
        checks=(*ANSWER_CHECKS, c.has_text),
    ),
    Case(
        "completion.multi_turn",
        "completion",
        "an earlier exchange is sent back and continued",
        Request(
            messages=[
                Message.user("My name is Ada."),
                Message.assistant("Nice to meet you, Ada."),
                Message.user("What is my name?"),
            ],
            max_tokens=50,
        ),
        (Answer(text=("Your name is ", "Ada."), usage=Usage(input_tokens=30, output_tokens=6)),),
        checks=(*ANSWER_CHECKS, c.has_text),
    ),
    Case(
        "completion.max_tokens",
        "completion",
        "max_tokens cuts the answer: finish reason length",
        # A prompt no model answers in five tokens (a live 0.5B model answered "Count..." with "One hundred words.").
        Request(messages=[Message.user("Write the numbers from 1 to 100, separated by commas.")], max_tokens=5),
        (Answer(text=("1, 2, 3",), finish="length", usage=Usage(input_tokens=18, output_tokens=5)),),
        checks=(*ANSWER_CHECKS, c.finish_is("length")),
    ),
    Case(
        "completion.stop_sequences",
        "completion",
        "stop sequences are sent; the answer stops before them",
        Request(messages=[Message.user("List three colours, one per line.")], max_tokens=50, stop=["3."]),
        (Answer(text=("1. red\n2. green\n",), usage=Usage(input_tokens=18, output_tokens=8)),),
        requires=("param:stop",),
        checks=(*ANSWER_CHECKS, c.finish_is("stop")),
    ),
    Case(
        "completion.sampling",
        "completion",
        "temperature, top_p and seed are mapped (or refused per profile)",
        HELLO.with_(temperature=0.2, top_p=0.9, seed=7),
        (Answer(text=("Hello there.",), usage=USAGE),),
        requires=("param:temperature", "param:top_p", "param:seed"),
        checks=ANSWER_CHECKS,
    ),
    Case(
        "completion.image_url",
        "completion",
        "an image by URL",
        Request(
            messages=[
                Message.user(
                    [
                        TextPart(text="What is in this picture? One word."),
                        ImagePart(url="https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"),
                    ]
                )
            ],
            max_tokens=20,
        ),
        (Answer(text=("Cat.",), usage=Usage(input_tokens=280, output_tokens=2)),),
        requires=("supports_vision",),
        checks=(*ANSWER_CHECKS, c.has_text),
    ),
    Case(
        "completion.image_base64",
        "completion",
        "an image as base64 data",
        Request(
            messages=[
                Message.user(
                    [
                        TextPart(text="What colour is this pixel?"),
                        ImagePart(data=PNG_1X1, media_type="image/png"),
                    ]
                )
            ],
            max_tokens=20,
        ),
        (Answer(text=("Transparent.",), usage=Usage(input_tokens=90, output_tokens=3)),),
        requires=("supports_vision",),
        checks=(*ANSWER_CHECKS, c.has_text),
    ),
    Case(
        "completion.reasoning",
        "completion",
        "a reasoning request: thinking kept apart from text, reasoning tokens counted within output",
        Request(messages=[Message.user("Is 221 prime? Answer yes or no.")], max_tokens=2000, reasoning="low"),
        (
            Answer(
                thinking=("221 = 13 * 17, ", "so it is not prime."),
                text=("No.",),
                usage=Usage(input_tokens=20, output_tokens=150, reasoning_tokens=128),
            ),
        ),
        requires=("supports_reasoning",),
        checks=(c.response_basics, c.text_equals, c.usage_equals, c.thinking_apart),
    ),
    Case(
        "completion.unicode",
        "completion",
        "non-ASCII text round-trips unchanged both ways",
        Request(messages=[Message.user("Répète exactement : naïve café — 日本語 🎉 «ok»")], max_tokens=50),
        (Answer(text=("naïve café — ", "日本語 🎉 «ok»"), usage=Usage(input_tokens=22, output_tokens=12)),),
        checks=ANSWER_CHECKS,
    ),
    Case(
        "completion.cached_usage",
        "completion",
        "cached prompt tokens are a subset of input tokens, never double counted",
        HELLO,
        (Answer(text=("Hello again.",), usage=Usage(input_tokens=2048, output_tokens=4, cache_read_tokens=1920)),),
        checks=(*ANSWER_CHECKS, c.usage_positive),
    ),
    # streaming
    Case(
        "streaming.text",
        "streaming",
        "a text stream keeps the stream invariants",
        HELLO,
        (Answer(text=("Hel", "lo", ", wor", "ld!"), usage=USAGE),),
        mode="stream",
        checks=(c.stream_invariants, *ANSWER_CHECKS, c.finish_is("stop")),
    ),
    Case(
        "streaming.tool_call",
        "streaming",
        "a streamed tool call: fragments join to the final arguments",
        Request(messages=[Message.user("Weather in Paris, in celsius?")], tools=[WEATHER], max_tokens=100),
        (Answer(tool_calls=(PARIS,), finish="tool_calls", usage=USAGE),),
        mode="stream",
        requires=("supports_tools",),
        checks=(
            c.stream_invariants,
            c.finish_is("tool_calls"),
            c.tool_calls_valid(SCHEMAS),
            c.arguments_equal,
            c.ids_equal,
        ),
    ),
    Case(
        "streaming.parallel_tool_calls",
        "streaming",
        "two tool calls streamed in one answer",
        Request(
            messages=[Message.user("Weather in Paris and in Tokyo, celsius?")],
            tools=[WEATHER],
            parallel_tool_calls=True,
            max_tokens=200,
        ),
        (Answer(tool_calls=(PARIS, TOKYO), finish="tool_calls", usage=USAGE),),
        mode="stream",
        requires=("supports_tools", "supports_parallel_tools", "param:parallel_tool_calls"),
        checks=(c.stream_invariants, c.tool_call_count(2), c.tool_calls_valid(SCHEMAS), c.arguments_equal, c.ids_equal),
    ),
    Case(
        "streaming.usage",
        "streaming",
        "usage arrives in the stream and ends up in the response",
        HELLO,
        (Answer(text=("Hi!",), usage=Usage(input_tokens=11, output_tokens=3, cache_read_tokens=0)),),
        mode="stream",
        requires=("supports_streaming_usage",),
        checks=(c.stream_invariants, c.usage_positive, c.usage_equals),
    ),
    Case(
        "streaming.error_event",
        "streaming",
        "an error event inside an HTTP 200 stream raises the typed error, keeping the partial text",
        HELLO,
        (Answer(text=("Hello",), usage=USAGE, stream_error=Failure("server", 500)),),
        mode="stream",
        checks=(c.stream_invariants, c.error_is(ServerError, retryable=True), c.partial_text),
        live=False,
    ),
    Case(
        "streaming.cut",
        "streaming",
        "a stream cut mid-way raises StreamInterruptedError holding the partial text",
        HELLO,
        (Answer(text=("Hello", ", wor"), usage=USAGE, cut=True),),
        mode="stream",
        checks=(c.stream_invariants, c.interrupted, c.partial_text),
        live=False,
    ),
    Case(
        "streaming.matches_complete",
        "streaming",
        "the streamed response equals complete() on equivalent wire data",
        Request(messages=[Message.user("Weather in Paris? Say something first.")], tools=[WEATHER], max_tokens=100),
        (
            Answer(text=("Let me check.",), tool_calls=(PARIS,), finish="tool_calls", usage=USAGE),
            Answer(text=("Let me", " check."), tool_calls=(PARIS,), finish="tool_calls", usage=USAGE),
        ),
        mode="stream",
        also_complete=True,
        requires=("supports_tools",),
        checks=(c.stream_invariants, c.matches_complete),
    ),
    # tools
    Case(
        "tools.single",
        "tools",
        "one tool call with arguments valid against the tool's schema",
        Request(messages=[Message.user("Weather in Paris, in celsius?")], tools=[WEATHER, TIME], max_tokens=100),
        (Answer(tool_calls=(PARIS,), finish="tool_calls", usage=USAGE),),
        requires=("supports_tools",),
        checks=(
            c.response_basics,
            c.finish_is("tool_calls"),
            c.tool_call_count(1),
            c.tool_names_are("get_weather"),
            c.tool_calls_valid(SCHEMAS),
            c.arguments_equal,
            c.ids_equal,
            c.usage_equals,
        ),
    ),
    Case(
        "tools.choice_required",
        "tools",
        "tool_choice required forces a call",
        Request(messages=[Message.user("Hi!")], tools=[WEATHER], tool_choice=ToolChoice.required(), max_tokens=100),
        (Answer(tool_calls=(PARIS,), finish="tool_calls", usage=USAGE),),
        requires=("supports_tools", "supports_tool_choice_required"),
        checks=(c.response_basics, c.tool_call_count(1), c.tool_calls_valid(SCHEMAS)),
    ),
    Case(
        "tools.choice_none",
        "tools",
        "tool_choice none: the model answers in text",
        Request(messages=[Message.user("Weather in Paris?")], tools=[WEATHER], tool_choice="none", max_tokens=100),
        (Answer(text=("I would need to look that up.",), usage=USAGE),),
        requires=("supports_tools",),
        checks=(c.response_basics, c.no_tool_calls, c.has_text, c.text_equals),
    ),
    Case(
        "tools.choice_named",
        "tools",
        "tool_choice naming one tool: that tool is called",
        Request(
            messages=[Message.user("What time is it in Tokyo?")],
            tools=[WEATHER, TIME],
            tool_choice=ToolChoice.named("get_time"),
            max_tokens=100,
        ),
        (
            Answer(
                tool_calls=(ToolCallSpec(arguments={"city": "Tokyo"}, tool=1, id="call_time_1"),),
                finish="tool_calls",
                usage=USAGE,
            ),
        ),
        requires=("supports_tools",),
        checks=(c.response_basics, c.tool_names_are("get_time"), c.tool_calls_valid(SCHEMAS), c.arguments_equal),
    ),
    Case(
        "tools.parallel",
        "tools",
        "parallel tool calls in one answer",
        Request(
            messages=[Message.user("Weather in Paris and in Tokyo, celsius?")],
            tools=[WEATHER],
            parallel_tool_calls=True,
            max_tokens=200,
        ),
        (Answer(tool_calls=(PARIS, TOKYO), finish="tool_calls", usage=USAGE),),
        requires=("supports_tools", "supports_parallel_tools", "param:parallel_tool_calls"),
        checks=(c.response_basics, c.tool_call_count(2), c.tool_calls_valid(SCHEMAS), c.arguments_equal, c.ids_equal),
    ),
    Case(
        "tools.result_round_trip",
        "tools",
        "a tool result is sent back and the model answers from it",
        Request(
            messages=[
                Message.user("Weather in Paris, in celsius?"),
                Message.assistant(
                    tool_calls=[
                        ToolCall(
                            id="call_weather_1", name="get_weather", arguments={"city": "Paris", "unit": "celsius"}
                        )
                    ]
                ),
                Message.tool("call_weather_1", '{"temperature": 18, "sky": "clear"}'),
            ],
            tools=[WEATHER],
            max_tokens=100,
        ),
        (Answer(text=("It is 18 °C and clear in Paris.",), usage=Usage(input_tokens=80, output_tokens=11)),),
        requires=("supports_tools",),
        checks=(*ANSWER_CHECKS, c.finish_is("stop"), c.no_tool_calls),
    ),
    Case(
        "tools.no_arguments",
        "tools",
        "a tool without parameters is called with {}",
        Request(messages=[Message.user("Roll a die.")], tools=[NO_ARGS], max_tokens=50),
        (Answer(tool_calls=(ToolCallSpec(arguments={}, id="call_die_1"),), finish="tool_calls", usage=USAGE),),
        requires=("supports_tools",),
        checks=(c.response_basics, c.tool_names_are("roll_die"), c.arguments_equal),
    ),
    Case(
        "tools.sanitized_names",
        "tools",
        "a tool name outside the provider's alphabet is sanitized on the wire and restored in the answer",
        Request(messages=[Message.user("Weather in Oslo?")], tools=[ODD_NAME], max_tokens=100),
        (
            Answer(
                tool_calls=(ToolCallSpec(arguments={"city": "Oslo"}, id="call_odd_1"),),
                finish="tool_calls",
                usage=USAGE,
            ),
        ),
        requires=("supports_tools",),
        checks=(c.response_basics, c.tool_names_are("weather.lookup/v2"), c.arguments_equal),
    ),
    Case(
        "tools.unicode_arguments",
        "tools",
        "non-ASCII tool arguments arrive unchanged",
        Request(messages=[Message.user("Weather in São Paulo?")], tools=[WEATHER], max_tokens=100),
        (
            Answer(
                tool_calls=(ToolCallSpec(arguments={"city": "São Paulo — 東京 🎉", "unit": "celsius"}),),
                finish="tool_calls",
                usage=USAGE,
            ),
        ),
        requires=("supports_tools",),
        checks=(c.response_basics, c.tool_calls_valid(SCHEMAS), c.arguments_equal),
    ),
    Case(
        "tools.denied",
        "tools",
        "tools on a model whose profile denies them are refused before the network",
        Request(messages=[Message.user("Weather in Paris?")], tools=[WEATHER]),
        profile_override={"supports_tools": False},
        expect_refusal=True,
    ),
    # structured output
    Case(
        "structured.native",
        "structured",
        "native structured output parses into response.output",
        Request(messages=CITY_PROMPT, output=OutputSpec.of(CITY_SCHEMA, mode="native"), max_tokens=200),
        _structured("native", CITY),
        requires=("supports_native_output",),
        checks=(c.response_basics, c.output_equals(CITY)),
    ),
    Case(
        "structured.tool",
        "structured",
        "structured output through a tool call",
        Request(messages=CITY_PROMPT, output=OutputSpec.of(CITY_SCHEMA, mode="tool"), max_tokens=200),
        _structured("tool", CITY),
        requires=("supports_tools",),
        checks=(c.response_basics, c.output_equals(CITY)),
    ),
    Case(
        "structured.prompted",
        "structured",
        "structured output by prompting for JSON",
        Request(messages=CITY_PROMPT, output=OutputSpec.of(CITY_SCHEMA, mode="prompted"), max_tokens=200),
        _structured("prompted", CITY),
        checks=(c.response_basics, c.output_equals(CITY)),
    ),
    Case(
        "structured.auto",
        "structured",
        "auto picks the best mode the profile allows",
        Request(messages=CITY_PROMPT, output=OutputSpec.of(CITY_SCHEMA, mode="auto"), max_tokens=200),
        _structured("auto", CITY),
        checks=(c.response_basics, c.output_equals(CITY)),
    ),
    Case(
        "structured.retry",
        "structured",
        "an invalid answer is fed back and retried; usage is summed over attempts",
        Request(messages=CITY_PROMPT, output=OutputSpec.of(CITY_SCHEMA, mode="auto"), max_tokens=200),
        _structured("auto", CITY_INVALID, CITY),
        checks=(c.output_equals(CITY), c.summed_usage),
    ),
    Case(
        "structured.native_denied",
        "structured",
        "native mode on a profile without it is refused before the network",
        Request(messages=CITY_PROMPT, output=OutputSpec.of(CITY_SCHEMA, mode="native")),
        profile_override={"supports_native_output": False},
        expect_refusal=True,
    ),
    # errors
    _failure_case(
        "errors.auth", "401: AuthenticationError", Failure("auth", 401), AuthenticationError, retryable=False
    ),
    _failure_case(
        "errors.permission",
        "403: PermissionDeniedError",
        Failure("permission", 403),
        PermissionDeniedError,
        retryable=False,
    ),
    _failure_case(
        "errors.not_found",
        "404 unknown model: NotFoundError",
        Failure("not_found", 404),
        NotFoundError,
        retryable=False,
    ),
    _failure_case(
        "errors.invalid", "400: InvalidRequestError", Failure("invalid", 400), InvalidRequestError, retryable=False
    ),
    _failure_case(
        "errors.context_window",
        "400 prompt too long, in the provider's wording: ContextWindowExceededError",
        Failure("context_window", 400),
        ContextWindowExceededError,
        retryable=False,
    ),
    _failure_case(
        "errors.rate_limit.retry_after",
        "429 with Retry-After seconds",
        Failure("rate_limit", 429, retry_hint="retry-after", retry_after=7.0),
        RateLimitError,
        retryable=True,
        retry_after=7.0,
    ),
    _failure_case(
        "errors.rate_limit.retry_after_date",
        "429 with Retry-After as an HTTP-date, measured from the response's Date",
        Failure("rate_limit", 429, retry_hint="retry-after-date", retry_after=45.0),
        RateLimitError,
        retryable=True,
        retry_after=45.0,
    ),
    _failure_case(
        "errors.rate_limit.retry_after_ms",
        "429 with retry-after-ms",
        Failure("rate_limit", 429, retry_hint="retry-after-ms", retry_after=1.5),
        RateLimitError,
        retryable=True,
        retry_after=1.5,
    ),
    _failure_case(
        "errors.rate_limit.body_hint",
        "429 with the hint inside the body (the vendor's form)",
        Failure("rate_limit", 429, retry_hint="body", retry_after=2.5),
        RateLimitError,
        retryable=True,
        retry_after=2.5,
    ),
    _failure_case(
        "errors.quota",
        "quota / billing: QuotaExceededError, not retryable",
        Failure("quota", 402),
        QuotaExceededError,
        retryable=False,
    ),
    _failure_case(
        "errors.overloaded",
        "overloaded: OverloadedError, retryable",
        Failure("overloaded", 529),
        OverloadedError,
        retryable=True,
    ),
    _failure_case("errors.server", "500: ServerError, retryable", Failure("server", 500), ServerError, retryable=True),
    Case(
        "errors.recovered",
        "errors",
        "500 then 200: recovered by one retry, attempts counted",
        HELLO,
        (Failure("server", 500), Answer(text=("Hello!",), usage=USAGE)),
        max_retries=1,
        checks=(*ANSWER_CHECKS, c.attempts_are(2)),
        live=False,
    ),
    Case(
        "errors.timeout",
        "errors",
        "a read timeout: RequestTimeoutError, retryable",
        HELLO,
        (Timeout(),),
        checks=(c.error_is(RequestTimeoutError, retryable=True),),
        live=False,
    ),
    # schema
    Case(
        "schema.dialect",
        "schema",
        "generated schemas transformed into the profile's dialect obey the vendor's documented rules",
        mode="property",
        property_check=_schema_dialect_property,
    ),
)

CASES_BY_ID: dict[str, Case] = {case.id: case for case in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"


def select(patterns: Sequence[str] = (), areas: Sequence[str] = ()) -> list[Case]:
    """Cases whose id matches any glob in `patterns` (all when empty), in `areas` (all when empty)."""
    chosen = []
    for case in CASES:
        if patterns and not any(fnmatch.fnmatchcase(case.id, p) or case.id.startswith(p + ".") for p in patterns):
            continue
        if areas and case.area not in areas:
            continue
        chosen.append(case)
    return chosen


__all__ = ["AREAS", "CASES", "CASES_BY_ID", "Area", "Case", "UnsupportedFeatureError", "denied", "select"]
