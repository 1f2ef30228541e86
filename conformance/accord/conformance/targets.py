"""Targets: an adapter under test — how to build it for replay and live recording, its model, wire and waivers."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from accord.contracts import Adapter, ConfigurationError

AdapterFactory = Callable[..., Adapter]


@dataclass(frozen=True)
class Target:
    """One adapter as the suite sees it.

    - `name`: the provider name, also the cassette folder (`cassettes/<name>/`).
    - `adapter`: `"package.module:Class"` (or a factory) called with `http_client=`, `max_retries=` and, when it
      accepts one, `retry_policy=`, plus `options` and the credentials below.
    - `wire`: the responder (wire protocol) that authors synthetic cassettes for it, e.g. `"openai_chat"`.
    - `model`: the model cases run against; `case_models` overrides it per case id (e.g. a reasoning model for
      `completion.reasoning`).
    - `replay_credentials`: constructor keywords used on replay (fake keys: cassettes hold no real ones).
    - `live_credentials`: constructor keyword → environment variable, for `accord record`.
    - `waivers`: case id → written reason; a waived case is reported as such, never as passing.
    """

    name: str
    adapter: str | AdapterFactory
    model: str
    wire: str
    case_models: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    replay_credentials: Mapping[str, Any] = field(default_factory=lambda: {"api_key": "test-key"})
    live_credentials: Mapping[str, str] = field(default_factory=dict)
    waivers: Mapping[str, str] = field(default_factory=dict)
    # Live recording only: JSON keys whose values change on every run (ids, timestamps, timings) → the stand-in
    # written instead, and a stand-in origin for a server on a random local port. A re-record then shows no drift.
    volatile: Mapping[str, Any] = field(default_factory=dict)
    recorded_origin: str | None = None
    # Vendor oracles (official specs and SDK types) judge the vendor's own format; a target served by an
    # independent implementation of the protocol (llama.cpp) says why they do not apply to it.
    vendor_oracles_skip: str | None = None

    def __post_init__(self) -> None:
        for case_id, reason in self.waivers.items():
            if not str(reason).strip():
                raise ConfigurationError(f"target {self.name}: waiver of {case_id!r} needs a written reason")

    def model_for(self, case_id: str) -> str:
        return self.case_models.get(case_id, self.model)

    def factory(self) -> AdapterFactory:
        if callable(self.adapter):
            return self.adapter
        factory: AdapterFactory = load_object(self.adapter)
        return factory

    def build(self, *, live: bool = False, **overrides: Any) -> Adapter:
        """The adapter, built with replay credentials (or, `live`, with the ones read from the environment)."""
        factory = self.factory()
        credentials = self.read_live_credentials() if live else dict(self.replay_credentials)
        options: dict[str, Any] = {**self.options, **credentials, **overrides}
        if "retry_policy" in options and not accepts(factory, "retry_policy"):
            options.pop("retry_policy")
        return factory(**options)

    def read_live_credentials(self) -> dict[str, str]:
        """The live credentials from the environment; a missing variable is refused by name."""
        values: dict[str, str] = {}
        for keyword, variable in self.live_credentials.items():
            value = os.environ.get(variable)
            if not value:
                raise ConfigurationError(f"{self.name}: set {variable} to record from the live service")
            values[keyword] = value
        return values

    def secrets(self) -> tuple[str, ...]:
        """Every credential value in play (replay fakes and live values), for scrubbing."""
        values = [str(v) for v in self.replay_credentials.values() if isinstance(v, str) and len(v) >= 6]
        values += [os.environ[v] for v in self.live_credentials.values() if os.environ.get(v)]
        return tuple(values)


def load_object(reference: str) -> Any:
    """`package.module:attr` → the object."""
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"{reference!r} is not a 'package.module:Name' reference")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise ConfigurationError(f"{module_name!r} has no attribute {attr!r}") from exc
    return obj


def accepts(factory: Callable[..., Any], keyword: str) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return keyword in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
