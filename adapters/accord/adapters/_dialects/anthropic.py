"""Anthropic schema dialect: any schema for plain tools; the SDK's keep-list for strict tools and output_config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accord.contracts.schema import Schema, iter_nodes

from ._common import DialectTransformer

# anthropic-sdk-python lib/_parse/_transform.py `transform_schema()` keep-list (schema_rules.md §1.3).
STRICT_KEYWORDS = frozenset(
    {
        "type", "anyOf", "allOf", "enum", "const", "description", "$defs", "definitions", "$ref", "properties",
        "required", "additionalProperties", "format", "items", "minItems", "pattern",
    }
)  # fmt: skip
STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)

# Per-request limits of Anthropic structured outputs (schema_rules.md §1.3, §2). The optional and union budgets are
# shared by every strict schema of one request: strict tools' input schemas and `output_config.format`.
MAX_STRICT_TOOLS = 20
MAX_OPTIONAL_PARAMETERS = 24
MAX_UNION_PARAMETERS = 16
_UNION_KEYS = ("anyOf", "oneOf")  # oneOf only survives in non-strict plans; the API compiles it like anyOf


@dataclass(frozen=True)
class StrictLoad:
    """What strict schemas cost against Anthropic's per-request budgets; loads of several schemas add up."""

    optional: int = 0
    unions: int = 0

    def __add__(self, other: StrictLoad) -> StrictLoad:
        return StrictLoad(self.optional + other.optional, self.unions + other.unions)


def _is_union(schema: Any) -> bool:
    return isinstance(schema, dict) and (
        isinstance(schema.get("type"), list) or any(isinstance(schema.get(k), list) for k in _UNION_KEYS)
    )


def strict_load(schema: Schema) -> StrictLoad:
    """Optional parameters (a property missing from its object's `required`) and union parameters (a property
    whose own schema has `anyOf`/`oneOf` or a list `type`), over every object node, each `$defs` body once."""
    optional = unions = 0
    for _, node in iter_nodes(schema):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        required = node.get("required")
        required_names = set(required) if isinstance(required, list) else set()
        optional += sum(1 for name in properties if name not in required_names)
        unions += sum(1 for sub in properties.values() if _is_union(sub))
    return StrictLoad(optional, unions)


def over_limits(load: StrictLoad, *, strict_tools: int = 0) -> list[str]:
    """Each per-request limit `load` (and `strict_tools` strict tools) exceeds, as a sentence; empty when it fits."""
    problems = []
    if strict_tools > MAX_STRICT_TOOLS:
        problems.append(f"{strict_tools} strict tools, over the limit of {MAX_STRICT_TOOLS} per request")
    if load.optional > MAX_OPTIONAL_PARAMETERS:
        problems.append(
            f"{load.optional} optional parameters, over the limit of {MAX_OPTIONAL_PARAMETERS} across strict schemas"
        )
    if load.unions > MAX_UNION_PARAMETERS:
        problems.append(
            f"{load.unions} parameters with anyOf or type lists, over the limit of {MAX_UNION_PARAMETERS}"
            " across strict schemas"
        )
    return problems


class AnthropicDialect(DialectTransformer):
    """Strict: closed objects, no recursion, numeric and length constraints relocated, minItems only 0 or 1.

    A strict schema that alone exceeds the per-request optional/union budgets cannot be strict in any request, so
    the plan falls back to non-strict and says why; budgets shared between schemas are checked by the wire module.
    """

    name = "anthropic"
    accepted = None
    accepted_strict = STRICT_KEYWORDS
    formats_strict = STRICT_FORMATS
    closes_objects = True
    ref_siblings = "drop"
    root_object = True
    typed_strict = True
    recursion_blocks_strict = True
    max_min_items = 1
    lookaround_strict = True

    def finish(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = super().finish(schema)
        if self._strict:
            for problem in over_limits(strict_load(schema)):
                self.block_strict("", problem)
        return schema
