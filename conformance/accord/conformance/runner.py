"""Running cases: replay from cassettes, author synthetic ones, record live ones; one result per case."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from accord.contracts import Adapter, ModelProfile, Response, StreamEvent, UnsupportedFeatureError

from .cases import Case, denied
from .cassette import Cassette, CassetteError, load_cassette, save_cassette, sha256_file
from .checks import Outcome
from .responders import responder_for
from .scrub import Scrubber
from .targets import Target, accepts
from .transports import ForbiddenTransport, RecordingTransport, ReplayTransport, ResponderTransport

Status = Literal["pass", "fail", "unsupported", "waived", "missing"]
RecordMode = Literal["none", "once", "rewrite"]
RECORD_MODES: tuple[str, ...] = ("none", "once", "rewrite")
Source = Literal["synthetic", "live"]


def accord_version() -> str:
    from accord.adapters import __version__

    return __version__


@dataclass
class CaseResult:
    adapter: str
    case: str
    area: str
    status: Status
    detail: str = ""
    seconds: float = 0.0
    cassette: str | None = None
    sha256: str | None = None
    origin: str | None = None
    waiver: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


class _Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return await self.inner.handle_async_request(request)


def build_adapter(
    target: Target,
    case: Case,
    transport: httpx.AsyncBaseTransport,
    *,
    live: bool = False,
    base_url: str | None = None,
) -> tuple[Adapter, httpx.AsyncClient]:
    from accord.adapters._retry import RetryPolicy

    client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(60.0))
    overrides: dict[str, Any] = {
        "http_client": client,
        "max_retries": case.max_retries,
        "retry_policy": RetryPolicy(max_retries=case.max_retries, sleep=_no_sleep, rng=lambda: 0.0),
    }
    if case.profile_override is not None:
        overrides["profile"] = ModelProfile(**case.profile_override)
    if base_url:
        overrides["base_url"] = base_url
    return target.build(live=live, **overrides), client


async def execute(
    target: Target,
    case: Case,
    transport: httpx.AsyncBaseTransport,
    *,
    exact: bool = True,
    live: bool = False,
    base_url: str | None = None,
) -> Outcome:
    """Run one case through `transport` and collect what happened (never raises for the adapter's errors)."""
    counting = _Counting(transport)
    model = target.model_for(case.id)
    outcome = Outcome(exact=exact, streamed=case.mode == "stream")
    try:
        adapter, client = build_adapter(target, case, counting, live=live, base_url=base_url)
    except Exception as exc:
        outcome.error = exc
        return outcome
    assert case.request is not None
    request = case.request.with_(model=model)
    outcome.scenario = case.scenario_for(adapter.profile(model))
    try:
        if case.mode == "complete":
            outcome.response = await adapter.complete(request)
        else:
            if case.also_complete:
                outcome.complete_response = await adapter.complete(request)
            events: list[StreamEvent] = outcome.events
            async with adapter.stream(request) as stream:
                async for event in stream:
                    events.append(event)
                final: Response = stream.response
            outcome.response = final
    except Exception as exc:
        outcome.error = exc
    finally:
        outcome.requests = counting.count
        await adapter.aclose()
        await client.aclose()
    return outcome


def _scrubbed(text: str, target: Target) -> str:
    return Scrubber(secrets=target.secrets()).text(text)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def evaluate(case: Case, outcome: Outcome) -> list[str]:
    """The problems with an outcome: an unexpected error, or what the case's checks report."""
    if isinstance(outcome.error, CassetteError):
        return [str(outcome.error)]
    if outcome.error is not None and not any(getattr(check, "expects_error", False) for check in case.checks):
        return [f"raised {_describe(outcome.error)}"]
    problems: list[str] = []
    for check in case.checks:
        try:
            problems.extend(check(outcome))
        except Exception as exc:  # a check that crashes is a failed check, with its reason
            problems.append(f"check {getattr(check, '__name__', check)!r} crashed: {_describe(exc)}")
    return problems


async def _refusal(target: Target, case: Case, missing: list[str]) -> tuple[Status, str]:
    """A denied capability (or a refusal case): UnsupportedFeatureError, no network call."""
    if case.profile_override is not None and not accepts(target.factory(), "profile"):
        return "unsupported", "the adapter takes no `profile=` override, so this refusal cannot be set up"
    outcome = await execute(target, case, ForbiddenTransport())
    why = ", ".join(missing) if missing else "profile override " + repr(dict(case.profile_override or {}))
    if isinstance(outcome.error, UnsupportedFeatureError) and outcome.requests == 0:
        return ("unsupported" if missing else "pass"), f"refused before the network ({why})"
    got = "no error" if outcome.error is None else _describe(outcome.error)
    return "fail", f"the profile denies {why}: expected UnsupportedFeatureError before any request, got {got}" + (
        f" after {outcome.requests} request(s)" if outcome.requests else ""
    )


def _meta(target: Target, case: Case, origin: str) -> dict[str, Any]:
    return {
        "case": case.id,
        "adapter": target.name,
        "wire": target.wire,
        "origin": origin,
        "model": target.model_for(case.id),
        "recorded": dt.date.today().isoformat(),
        "accord_version": accord_version(),
    }


async def write_cassette(
    target: Target,
    case: Case,
    root: Path,
    *,
    source: Source = "synthetic",
    base_url: str | None = None,
    folder: Path | None = None,
) -> tuple[Path | None, str]:
    """Author (synthetic: the wire's responder answers the real request) or record (live) one cassette."""
    scrubber = Scrubber(secrets=target.secrets())
    if source == "live":
        scrubber = Scrubber(secrets=target.secrets(), volatile=target.volatile, origin=target.recorded_origin)
    if source == "synthetic":
        extra: dict[str, Any] = {}
        if case.profile_override:
            extra["profile"] = ModelProfile(**case.profile_override)
        probe = target.build(**extra)
        profile = probe.profile(target.model_for(case.id))
        await probe.aclose()
        inner: httpx.AsyncBaseTransport = ResponderTransport(responder_for(target.wire), case.scenario_for(profile))
    else:
        inner = httpx.AsyncHTTPTransport(retries=0)
    recorder = RecordingTransport(inner, scrubber)
    outcome = await execute(target, case, recorder, live=source == "live", base_url=base_url)
    interactions = recorder.interactions()
    if not interactions:
        why = _describe(outcome.error) if outcome.error else "no request was sent"
        return None, _scrubbed(f"nothing to write: {why}", target)
    if isinstance(outcome.error, CassetteError):
        return None, _scrubbed(str(outcome.error), target)
    path = (folder or root / target.name) / f"{case.id}.yaml"
    save_cassette(path, Cassette(meta=_meta(target, case, source), interactions=interactions), scrubber)
    return path, ""


async def run_case(
    target: Target,
    case: Case,
    root: Path,
    *,
    record_mode: RecordMode = "none",
    source: Source = "synthetic",
    base_url: str | None = None,
    folder: Path | None = None,
) -> CaseResult:
    """Run one case. Cassettes live in `folder` (default `root/<adapter>`)."""
    started = time.perf_counter()
    result = await _run_case(
        target, case, folder or root / target.name, record_mode=record_mode, source=source, base_url=base_url
    )
    result.seconds = round(time.perf_counter() - started, 4)
    result.detail = _scrubbed(result.detail, target)
    reason = target.waivers.get(case.id)
    if reason and result.status in ("fail", "missing"):
        result.detail = f"waived ({reason}); would be {result.status}: {result.detail}"
        result.status, result.waiver = "waived", reason
    elif reason:
        result.waiver = reason
    return result


async def _run_case(
    target: Target, case: Case, folder: Path, *, record_mode: RecordMode, source: Source, base_url: str | None
) -> CaseResult:
    result = CaseResult(adapter=target.name, case=case.id, area=case.area, status="fail")
    model = target.model_for(case.id)
    try:
        probe = target.build()
        profile = probe.profile(model)
        await probe.aclose()
    except Exception as exc:
        result.detail = f"cannot build the adapter: {_describe(exc)}"
        return result
    if case.mode == "property":
        assert case.property_check is not None
        try:
            problems = case.property_check(profile)
        except Exception as exc:
            problems = [f"crashed: {_describe(exc)}"]
        result.status = "fail" if problems else "pass"
        result.detail = "; ".join(problems)
        return result
    missing = denied(profile, case.requires)
    if missing or case.expect_refusal:
        result.status, result.detail = await _refusal(target, case, missing)
        return result
    path = folder / f"{case.id}.yaml"
    if record_mode == "rewrite" or (record_mode == "once" and not path.exists()):
        if source == "live" and not case.live:
            pass  # errors and faults cannot be provoked live: keep the synthetic cassette
        else:
            written, why = await write_cassette(
                target, case, folder.parent, source=source, base_url=base_url, folder=folder
            )
            if written is None:
                result.detail = why
                return result
    if not path.exists():
        result.status, result.detail = "missing", f"no cassette {path}"
        return result
    try:
        cassette = load_cassette(path)
    except CassetteError as exc:
        result.detail = str(exc)
        return result
    result.cassette, result.sha256, result.origin = str(path), sha256_file(path), cassette.origin
    outcome = await execute(
        target,
        case,
        ReplayTransport(cassette, Scrubber(secrets=target.secrets())),
        exact=cassette.origin == "synthetic",
    )
    problems = evaluate(case, outcome)
    result.status = "fail" if problems else "pass"
    result.detail = "; ".join(problems)
    return result


@dataclass
class Report:
    results: list[CaseResult] = field(default_factory=list)
    no_cassettes: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return any(r.status in ("fail", "missing") for r in self.results) or bool(self.broken)


async def run_suite(
    targets: Sequence[Target],
    cases: Sequence[Case],
    root: Path,
    *,
    record_mode: RecordMode = "none",
    source: Source = "synthetic",
    base_url: str | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    folders: Mapping[str, Path] | None = None,
) -> Report:
    """Every case for every target; a target with no cassettes (replay only) is listed, not failed."""
    report = Report()
    started = time.perf_counter()
    for target in targets:
        folder = (folders or {}).get(target.name, root / target.name)
        if record_mode == "none" and not (folder.is_dir() and any(folder.glob("*.yaml"))):
            report.no_cassettes.append(target.name)
            continue
        for case in cases:
            result = await run_case(
                target, case, root, record_mode=record_mode, source=source, base_url=base_url, folder=folder
            )
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
