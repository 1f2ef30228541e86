"""The schema area: schemas planned into an adapter's dialect must obey that vendor's documented rules."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

# A fixed corpus covering the shapes that trip dialects up; the structured-output helper's hypothesis strategies
# (`strategies.json_schemas`, when present) add generated ones.
CORPUS: tuple[dict[str, Any], ...] = (
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[A-Z]"},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "email": {"type": "string", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
        },
        "required": ["name"],
    },
    {
        "type": "object",
        "properties": {
            "kind": {"enum": ["a", "b"]},
            "value": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            "fixed": {"const": 3},
            "maybe": {"type": ["string", "null"], "default": None},
        },
        "required": ["kind", "value"],
    },
    {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["label", "children"],
            }
        },
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "required": ["root"],
    },
    {
        "type": "object",
        "properties": {
            "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
            "meta": {"type": "object", "additionalProperties": {"type": "string"}},
            "when": {"type": "string", "format": "date-time", "description": "a timestamp"},
        },
        "required": ["point"],
        "additionalProperties": False,
    },
    {
        "title": "Pet",
        "type": "object",
        "properties": {
            "pet": {
                "oneOf": [
                    {"type": "object", "properties": {"meow": {"type": "boolean"}}, "required": ["meow"]},
                    {"type": "object", "properties": {"bark": {"type": "number", "exclusiveMinimum": 0}}},
                ]
            }
        },
    },
)


@cache
def _generated(count: int) -> tuple[dict[str, Any], ...]:
    """Schemas from the structured-output helper's strategies, drawn deterministically once per process (the
    draw is the slow part; every adapter's dialect reuses it)."""
    if count < 1:
        return ()
    try:
        from . import strategies
    except ImportError:
        return ()
    strategy = getattr(strategies, "json_schemas", None)
    if strategy is None:
        return ()
    from hypothesis import HealthCheck, given, settings

    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy())
    def collect(schema: dict[str, Any]) -> None:
        drawn.append(schema)

    collect()
    return tuple(drawn)


def dialect_properties(dialect: str, *, generated: int = 30) -> list[str]:
    """Problems found planning the corpus (and generated schemas) into `dialect` with strict requested:
    a transformed schema the dialect's rule checker rejects, or a plan that is not deterministic."""
    from accord.adapters import plan_schema
    from accord.contracts import UnsupportedFeatureError

    from .dialect_rules import CHECKERS, check_dialect

    if dialect not in CHECKERS:
        return [f"no documented-rule checker for dialect {dialect!r}"]
    problems: list[str] = []
    for i, schema in enumerate([*CORPUS, *_generated(generated)]):
        try:
            plan = plan_schema(schema, dialect, strict=True)
        except UnsupportedFeatureError:
            continue  # the dialect cannot express this shape and says so: a refusal, not a violation
        again = plan_schema(schema, dialect, strict=True)
        if json.dumps(plan.transformed, sort_keys=True) != json.dumps(again.transformed, sort_keys=True):
            problems.append(f"schema {i}: transform is not deterministic")
        violations = check_dialect(dialect, plan.transformed, strict=bool(plan.strict_applied))
        if violations:
            problems.append(
                f"schema {i}: {violations[0]}" + (f" (+{len(violations) - 1} more)" if len(violations) > 1 else "")
            )
        if plan.lossy and not plan.reasons:
            problems.append(f"schema {i}: the plan is lossy but names no reason")
    return problems[:10]
