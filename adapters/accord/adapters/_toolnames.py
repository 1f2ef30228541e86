"""Tool-name sanitizing: per provider rules as data, reversible, collision-safe, built fresh for each request."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ToolNameRule:
    """Which characters a provider accepts in a tool name (`allowed` is a regex character class body)."""

    allowed: str = "a-zA-Z0-9_-"
    max_length: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bad", re.compile(f"[^{self.allowed}]"))
        object.__setattr__(self, "_ok", re.compile(f"^[{self.allowed}]{{1,{self.max_length}}}$"))

    def accepts(self, name: str) -> bool:
        return bool(self._ok.fullmatch(name))  # type: ignore[attr-defined]  # `$` alone accepts a final "\n"

    def clean(self, name: str) -> str:
        return self._bad.sub("_", name)  # type: ignore[attr-defined, no-any-return]


TOOL_NAME_RULES: Mapping[str, ToolNameRule] = {
    "openai": ToolNameRule(),
    "anthropic": ToolNameRule(max_length=128),
    "gemini": ToolNameRule(allowed="a-zA-Z0-9_.:-", max_length=64),
    "bedrock": ToolNameRule(),
    "ollama": ToolNameRule(allowed="a-zA-Z0-9_.-"),
    "watsonx": ToolNameRule(),
}


@dataclass(frozen=True)
class ToolNameMap:
    """Original ↔ wire names for one request. Names the provider accepts map to themselves."""

    to_wire: Mapping[str, str] = field(default_factory=dict)
    from_wire: Mapping[str, str] = field(default_factory=dict)

    def wire(self, name: str) -> str:
        return self.to_wire.get(name, name)

    def restore(self, wire_name: str) -> str:
        """The original name; a name we never sent (the model made it up) comes back unchanged."""
        return self.from_wire.get(wire_name, wire_name)


def _digest(name: str, length: int = 6) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:length]


def sanitize_names(names: Iterable[str], rule: ToolNameRule) -> ToolNameMap:
    """Map each name to one the provider accepts, never two to the same wire name.

    Accepted names are kept as they are and reserved first, so they never change because of other names.
    A rewritten name gets a short hash of the original, which keeps it stable across requests.
    """
    ordered = list(dict.fromkeys(names))
    to_wire: dict[str, str] = {}
    taken: set[str] = set()
    for name in ordered:
        if rule.accepts(name):
            to_wire[name] = name
            taken.add(name)
    for name in ordered:
        if name in to_wire:
            continue
        suffix = "_" + _digest(name)
        stem = rule.clean(name)[: rule.max_length - len(suffix)] or "tool"
        candidate = stem + suffix
        extra = 8
        while candidate in taken:
            suffix = "_" + _digest(name, extra)
            candidate = stem[: rule.max_length - len(suffix)] + suffix
            extra += 2
        to_wire[name] = candidate
        taken.add(candidate)
    return ToolNameMap(to_wire=to_wire, from_wire={w: o for o, w in to_wire.items()})
