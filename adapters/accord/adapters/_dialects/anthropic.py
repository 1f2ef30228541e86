"""Anthropic schema dialect: any schema for plain tools; the SDK's keep-list for strict tools and output_config."""

from __future__ import annotations

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


class AnthropicDialect(DialectTransformer):
    """Strict: closed objects, no recursion, numeric and length constraints relocated, minItems only 0 or 1."""

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
