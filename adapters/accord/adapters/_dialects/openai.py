"""OpenAI schema dialect: any JSON Schema when not strict; the Structured Outputs subset when strict."""

from __future__ import annotations

from ._common import DialectTransformer

# developers.openai.com structured-outputs "supported schemas" (schema_rules.md §1.1).
STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const",
        "description", "$defs", "definitions", "$ref", "pattern", "format", "multipleOf", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
    }
)  # fmt: skip
STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})


class OpenAIDialect(DialectTransformer):
    """Strict: closed objects, every property required (optional ones nullable), constraints it lacks relocated."""

    name = "openai"
    accepted = None
    accepted_strict = STRICT_KEYWORDS
    formats_strict = STRICT_FORMATS
    closes_objects = True
    requires_all = True
    ref_siblings = "wrap"
    root_object = True
    typed_strict = True
    lookaround_strict = True
    max_keys = 5000
    max_depth = 10
    max_enum_values = 1000
    max_name_chars = 120_000
    large_enum_limit = (250, 15_000)
