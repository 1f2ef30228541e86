"""Databricks Foundation Model API schema dialect: no $ref, no unions, nullable only as [T, "null"]."""

from __future__ import annotations

from ._common import DialectTransformer

# Documented "not supported": pattern, anyOf/oneOf/allOf, prefixItems, $ref; "not enforced": maxProperties,
# minProperties, maxLength (schema_rules.md §1.6). Keywords outside this list are relocated to the description.
KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "description",
        "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems",
        "maxItems", "minLength",
    }
)  # fmt: skip


class DatabricksDialect(DialectTransformer):
    """Definitions inlined (recursion rejected), unions other than `X | null` dropped with a reason."""

    name = "databricks"
    accepted = KEYWORDS
    inline_defs = True
    supports_refs = False
    supports_recursion = False
    closes_objects = True
    requires_all = True
    type_arrays = "nullable"
    root_object = True
    typed_strict = True
    max_keys = 64
    reason_word = "not supported"
