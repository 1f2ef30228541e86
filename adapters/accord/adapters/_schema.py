"""Schema dialects: interim identity planning, replaced by the dialect transforms of the structured-output work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _IdentityPlan:
    original: dict[str, Any]
    transformed: dict[str, Any]
    strict_requested: bool
    strict_applied: bool

    def restore(self, value: Any) -> Any:
        return value


def plan_schema(schema: dict[str, Any], dialect: str, *, strict: bool | None = None) -> _IdentityPlan:
    return _IdentityPlan(schema, schema, bool(strict), bool(strict))


def dialects() -> list[str]:
    return []
