"""The suite catches faults: deliberately broken adapters fail exactly the cases about their fault."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from accord.adapters._base import WireContext
from accord.adapters.openai_chat import OpenAIChatAdapter
from accord.conformance import checks as c
from accord.conformance.cases import CASES, CASES_BY_ID, Case, denied, resolved_mode, select
from accord.conformance.responders import registry, responder_for, split_text, targets
from accord.conformance.runner import run_case, run_suite
from accord.conformance.scenario import Answer
from accord.conformance.targets import Target, load_object
from accord.contracts import (
    ConfigurationError,
    ModelProfile,
    Request,
    Response,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    UnsupportedFeatureError,
    Usage,
)

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
OPENAI = targets()["openai"]


def _with(factory: Callable[..., Any]) -> Target:
    return dataclasses.replace(OPENAI, adapter=factory)


async def _status(target: Target, case_id: str) -> tuple[str, str]:
    result = await run_case(target, CASES_BY_ID[case_id], CASSETTES)
    return result.status, result.detail


@pytest.fixture(autouse=True)
def _need_cassettes() -> None:
    if not (CASSETTES / "openai").is_dir():
        pytest.skip("no openai cassettes")


async def test_the_reference_adapter_passes_every_applicable_case() -> None:
    report = await run_suite([OPENAI], CASES, CASSETTES)
    bad = [(r.case, r.status, r.detail) for r in report.results if r.status not in ("pass", "unsupported")]
    assert bad == []
    assert {r.area for r in report.results} == {"completion", "streaming", "tools", "structured", "errors", "schema"}
    assert not report.failed


async def test_dropping_a_request_field_fails_the_replay_with_a_diff() -> None:
    class NoStop(OpenAIChatAdapter):
        def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
            body = super()._wire_request(request, ctx)
            body.pop("stop", None)
            return body

    status, detail = await _status(_with(NoStop), "completion.stop_sequences")
    assert status == "fail"
    assert '-  "stop": [' in detail
    assert (await _status(_with(NoStop), "completion.basic"))[0] == "pass"


async def test_double_counted_cache_tokens_fail_the_usage_check() -> None:
    class DoubleCount(OpenAIChatAdapter):
        def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
            response = super()._wire_response(payload, ctx, headers)
            usage = response.usage
            doubled = Usage(
                input_tokens=usage.input_tokens + usage.cache_read_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
            )
            return response.model_copy(update={"usage": doubled})

    status, detail = await _status(_with(DoubleCount), "completion.cached_usage")
    assert status == "fail"
    assert "input_tokens=3968" in detail


async def test_a_stream_that_repeats_a_delta_breaks_the_invariants() -> None:
    class Stutter(OpenAIChatAdapter):
        def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> Any:
            inner = super()._wire_decoder(ctx, headers)

            class Decoder:
                def feed(self, chunk: bytes) -> list[Any]:
                    events = inner.feed(chunk)
                    return [e for ev in events for e in ((ev, ev) if isinstance(ev, TextDelta) else (ev,))]

                def close(self) -> list[Any]:
                    return inner.close()

                def partial(self) -> Response:
                    return inner.partial()

            return Decoder()

    status, detail = await _status(_with(Stutter), "streaming.text")
    assert status == "fail"
    assert "text deltas join to 'HelHelloloi" in detail or "text deltas join to" in detail


async def test_unrestored_tool_names_and_wrong_error_classes_fail() -> None:
    class NoRestore(OpenAIChatAdapter):
        def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
            response = super()._wire_response(payload, ctx, headers)
            parts = [
                p.model_copy(update={"name": ctx.names.wire(p.name)}) if isinstance(p, ToolCall) else p
                for p in response.parts
            ]
            return response.model_copy(update={"parts": parts})

    status, detail = await _status(_with(NoRestore), "tools.sanitized_names")
    assert status == "fail"
    assert "weather.lookup/v2" in detail

    class Misclassify(OpenAIChatAdapter):
        error_rules = ()

        def _error(self, status: int, headers: Mapping[str, str], raw: bytes, model: str) -> Any:
            from accord.contracts import RateLimitError

            error = super()._error(status, headers, raw, model)
            return RateLimitError(error.message, provider="openai", status=status) if status == 429 else error

    status, detail = await _status(_with(Misclassify), "errors.quota")
    assert status == "fail"
    assert "expected QuotaExceededError, got RateLimitError" in detail


async def test_refusals_must_happen_before_the_network() -> None:
    class Careless(OpenAIChatAdapter):
        def _prepare(self, request: Request) -> tuple[str, ModelProfile]:
            assert request.model is not None
            return request.model, self.profile(request.model)

    status, detail = await _status(_with(Careless), "tools.denied")
    assert status == "fail"
    assert "expected UnsupportedFeatureError before any request" in detail
    assert "NetworkForbidden" in detail
    # A denied capability on the real adapter is "unsupported", without a cassette.
    no_vision = dataclasses.replace(OPENAI, options={"profile": ModelProfile(supports_vision=False)})
    assert (await _status(no_vision, "completion.image_url"))[0] == "unsupported"


async def test_an_adapter_that_never_retries_fails_the_recovery_case() -> None:
    def no_retries(**options: Any) -> OpenAIChatAdapter:
        options["max_retries"] = 0
        options.pop("retry_policy", None)
        return OpenAIChatAdapter(**options)

    status, detail = await _status(_with(no_retries), "errors.recovered")
    assert status == "fail"
    assert "ServerError" in detail


async def test_waivers_missing_cassettes_and_unbuildable_adapters(tmp_path: Path) -> None:
    waived = dataclasses.replace(OPENAI, waivers={"completion.basic": "not recorded yet"})
    result = await run_case(waived, CASES_BY_ID["completion.basic"], tmp_path)
    assert (result.status, result.waiver) == ("waived", "not recorded yet")
    assert "would be missing" in result.detail
    assert (await run_case(OPENAI, CASES_BY_ID["completion.basic"], tmp_path)).status == "missing"
    with pytest.raises(ConfigurationError, match="written reason"):
        dataclasses.replace(OPENAI, waivers={"x": " "})

    def boom(**options: Any) -> Any:
        raise RuntimeError("cannot construct")

    result = await run_case(_with(boom), CASES_BY_ID["completion.basic"], CASSETTES)
    assert result.status == "fail"
    assert "cannot build the adapter" in result.detail
    report = await run_suite([OPENAI], CASES[:1], tmp_path)
    assert report.no_cassettes == ["openai"]
    assert report.results == []


async def test_authoring_reports_why_nothing_was_written(tmp_path: Path) -> None:
    class Refuses(OpenAIChatAdapter):
        async def complete(self, request: Request) -> Response:
            raise UnsupportedFeatureError("nope")

    result = await run_case(_with(Refuses), CASES_BY_ID["completion.basic"], tmp_path, record_mode="once")
    assert result.status == "fail"
    assert "nothing to write: UnsupportedFeatureError: nope" in result.detail


def test_case_selection_requirements_and_modes() -> None:
    assert [c.id for c in select(["tools"])] == [c.id for c in CASES if c.area == "tools"]
    assert [c.id for c in select(["errors.rate_limit.*"])] == [
        "errors.rate_limit.retry_after",
        "errors.rate_limit.retry_after_date",
        "errors.rate_limit.retry_after_ms",
        "errors.rate_limit.body_hint",
    ]
    assert {c.area for c in select(areas=["schema"])} == {"schema"}
    profile = ModelProfile(supports_tools=False, parameters={"unsupported": frozenset({"temperature"})})
    assert denied(profile, ("supports_tools", "param:temperature", "param:seed")) == [
        "supports_tools",
        "param:temperature",
    ]
    assert resolved_mode(ModelProfile(supports_native_output=True), "auto") == "native"
    assert resolved_mode(ModelProfile(), "auto") == "tool"
    assert resolved_mode(ModelProfile(supports_tools=False), "auto") == "prompted"
    assert resolved_mode(ModelProfile(default_output_mode="prompted"), "auto") == "prompted"
    assert resolved_mode(ModelProfile(), "native") == "native"
    assert split_text("abcdefg", 3) == ["abc", "def", "g"]
    assert split_text("") == []


def test_registry_and_targets() -> None:
    found = registry()
    assert "openai_chat" in found.responders
    assert responder_for("openai_chat").wire == "openai_chat"
    with pytest.raises(LookupError, match="no responder"):
        responder_for("no-such-wire")
    assert OPENAI.model_for("completion.reasoning") == "o4-mini"
    assert OPENAI.model_for("completion.basic") == "gpt-4o-mini"
    assert load_object("accord.adapters.openai_chat:OpenAIChatAdapter") is OpenAIChatAdapter
    for bad in ("nocolon", "no_such_module_xyz:X", "accord.adapters.openai_chat:Nope"):
        with pytest.raises(ConfigurationError):
            load_object(bad)


def _end(parts: list[Any], usage: Usage | None = None) -> StreamEnd:
    return StreamEnd(
        response=Response(
            id="r", model="m", parts=parts, finish_reason="stop", usage=usage or Usage(), provider={"name": "x"}
        )
    )


def test_stream_invariants_catch_each_violation() -> None:
    from accord.contracts import TextPart, UsageUpdate

    call = ToolCall(id="c1", name="f", arguments={"a": 1})
    good = [
        TextDelta(index=0, text="Hi"),
        ToolCallStart(index=1, id="c1", name="f"),
        ToolCallDelta(index=1, arguments_fragment='{"a":'),
        ToolCallDelta(index=1, arguments_fragment="1}"),
        ToolCallEnd(index=1, call=call),
        _end([TextPart(text="Hi"), call]),
    ]
    assert c.stream_invariants(c.Outcome(events=good)) == []
    cases = {
        "exactly one StreamEnd": [*good, good[-1]],
        "not the last": [good[-1], TextDelta(index=0, text="x")],
        "before its ToolCallStart": [ToolCallDelta(index=3, arguments_fragment="{}"), good[-1]],
        "do not join to valid JSON": [
            good[1],
            ToolCallDelta(index=1, arguments_fragment="{"),
            ToolCallEnd(index=1, call=call),
            _end([call]),
        ],
        "fragments join to": [
            good[1],
            ToolCallDelta(index=1, arguments_fragment='{"a":2}'),
            ToolCallEnd(index=1, call=call),
            _end([call]),
        ],
        "id/name changed": [
            ToolCallStart(index=1, id="other", name="f"),
            ToolCallEnd(index=1, call=call),
            _end([call]),
        ],
        "never ended": [ToolCallStart(index=1, id="c1", name="f"), _end([])],
        "without ToolCallStart": [ToolCallEnd(index=1, call=call), _end([call])],
        "started twice": [good[1], good[1], ToolCallEnd(index=1, call=call), _end([call])],
        "after its ToolCallEnd": [
            good[1],
            ToolCallEnd(index=1, call=call),
            ToolCallDelta(index=1, arguments_fragment="x"),
            _end([call]),
        ],
        "text deltas join": [TextDelta(index=0, text="Hx"), _end([TextPart(text="Hi")])],
        "differ from response.tool_calls": [_end([call])],
        "last UsageUpdate": [UsageUpdate(usage=Usage(input_tokens=1)), _end([], Usage(input_tokens=2))],
        "thinking deltas": [
            __import__("accord.contracts", fromlist=["x"]).ThinkingDelta(index=0, text="t"),
            _end([TextPart(text="")]),
        ],
    }
    for expected, events in cases.items():
        problems = c.stream_invariants(c.Outcome(events=events))
        assert any(expected in p for p in problems), (expected, problems)
    raised = c.Outcome(events=[good[-1]], error=RuntimeError("x"))
    assert "must not have yielded StreamEnd" in c.stream_invariants(raised)[0]


def test_checks_report_missing_responses_and_mismatches() -> None:
    empty = c.Outcome()
    for check in (
        c.response_basics,
        c.has_text,
        c.usage_positive,
        c.finish_is("stop"),
        c.tool_call_count(1),
        c.tool_names_are("f"),
        c.no_tool_calls,
        c.text_equals,
        c.usage_equals,
        c.arguments_equal,
        c.ids_equal,
        c.summed_usage,
        c.attempts_are(1),
        c.matches_complete,
        c.tool_calls_valid({}),
        c.output_equals(1),
    ):
        assert check(empty), check
    response = Response(
        id="", model="", finish_reason="length", provider={"name": "x"}, parts=[ToolCall(id="c", name="undeclared")]
    )
    outcome = c.Outcome(
        response=response,
        scenario=(Answer(text=("x",)),),
        complete_response=response.model_copy(update={"id": "other"}),
    )
    assert "response.id is empty" in c.response_basics(outcome)
    assert "tool call names undeclared tool" in c.tool_calls_valid({})(outcome)[0]
    assert c.matches_complete(outcome) == ["id: stream '' != complete 'other'"]
    live = dataclasses.replace(outcome, exact=False)
    assert c.text_equals(live) == []
    assert c.matches_complete(live) == []
    assert c.error_is(ValueError, retryable=False)(c.Outcome()) == ["expected ValueError, got no error"]  # type: ignore[arg-type]
    assert c.interrupted(c.Outcome()) == ["expected StreamInterruptedError, got no error"]
    assert c.partial_text(c.Outcome(error=RuntimeError())) == ["the error carries no partial response"]


def test_cases_are_well_formed() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert case.id.split(".")[0] == case.area
        assert case.title
        if case.mode == "property":
            assert case.property_check is not None
        else:
            assert isinstance(case.request, Request)
            assert case.expect_refusal or case.scenario_for(ModelProfile())
    assert isinstance(CASES_BY_ID["structured.retry"], Case)


async def test_malformed_cassettes_crashing_checks_and_properties_fail_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "openai").mkdir()
    (tmp_path / "openai" / "completion.basic.yaml").write_text("interactions: [")
    result = await run_case(OPENAI, CASES_BY_ID["completion.basic"], tmp_path)
    assert result.status == "fail"
    assert "not valid YAML" in result.detail

    def crash(outcome: c.Outcome) -> list[str]:
        raise KeyError("boom")

    crashing = dataclasses.replace(CASES_BY_ID["completion.basic"], checks=(crash,))
    result = await run_case(OPENAI, crashing, CASSETTES)
    assert result.status == "fail"
    assert "crashed: KeyError" in result.detail

    def broken_property(profile: ModelProfile) -> list[str]:
        raise ValueError("no rules")

    prop = dataclasses.replace(CASES_BY_ID["schema.dialect"], property_check=broken_property)
    result = await run_case(OPENAI, prop, CASSETTES)
    assert (result.status, result.detail) == ("fail", "crashed: ValueError: no rules")


def test_progress_bar_advances_and_stops() -> None:
    from accord.conformance.cli import _progress
    from accord.conformance.runner import CaseResult

    advance, stop = _progress(2, True)
    advance(CaseResult("openai", "completion.basic", "completion", "pass"))
    stop()
    advance, stop = _progress(2, False)
    advance(CaseResult("openai", "completion.basic", "completion", "pass"))
    stop()


async def test_structured_cases_fail_without_a_working_output_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import accord.adapters._output as engine

    async def no_engine(send: Any, request: Request, profile: ModelProfile) -> Response:
        return await send(request.with_(output=None), None)  # ignores the output spec entirely

    monkeypatch.setattr(engine, "complete_structured", no_engine)
    for case_id in ("structured.native", "structured.tool", "structured.prompted", "structured.auto"):
        status, _ = await _status(OPENAI, case_id)
        assert status == "fail", case_id
    status, _ = await _status(OPENAI, "structured.retry")
    assert status == "fail"

    async def one_attempt(send: Any, request: Request, profile: ModelProfile) -> Response:
        raise engine.OutputValidationError("invalid", attempts=1, errors=["population"], usage=Usage())

    monkeypatch.setattr(engine, "complete_structured", one_attempt)
    assert (await _status(OPENAI, "structured.retry"))[0] == "fail"
