"""Ollama / llama.cpp schema dialect: what json-schema-to-grammar enforces; the rest is relocated, never trusted."""

from __future__ import annotations

from ._common import DialectTransformer

# ggml-org/llama.cpp grammars/README.md (schema_rules.md §1.7): skipped silently by the grammar converter.
KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "anyOf", "oneOf", "allOf", "enum",
        "const", "description", "$defs", "definitions", "$ref", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minLength", "maxLength", "title",
        "default",
    }
)  # fmt: skip
FORMATS = frozenset({"date", "time", "date-time", "uuid"})


class OllamaDialect(DialectTransformer):
    """No strict mode: unenforced keywords are relocated and the output is always validated client-side."""

    name = "ollama"
    accepted = KEYWORDS
    formats = FORMATS
    strict_capable = False
    inline_defs = True  # nested $refs are broken in the grammar converter
    recursion_placeholder = True  # the grammar cannot follow cycles; the output is validated client-side
    anchored_patterns = True
    integer_bounds_only = True
    reason_word = "not enforced"
