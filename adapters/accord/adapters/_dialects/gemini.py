"""Gemini schema dialects: the JSON-Schema fields (responseJsonSchema) and the older OpenAPI subset (responseSchema)."""

from __future__ import annotations

from ._common import DialectTransformer

# The responseJsonSchema / parametersJsonSchema whitelist (generative_service.proto comment, §1.4a). `title` is
# left out on purpose: it breaks requests (googleapis/python-genai#1732).
JSON_KEYWORDS = frozenset(
    {
        "$id", "$defs", "$ref", "$anchor", "type", "format", "description", "enum", "items", "prefixItems",
        "minItems", "maxItems", "minimum", "maximum", "anyOf", "properties", "additionalProperties", "required",
        "propertyOrdering",
    }
)  # fmt: skip

# The proto `Schema` fields (responseSchema / FunctionDeclaration.parameters, §1.4b).
OPENAPI_KEYWORDS = frozenset(
    {
        "type", "format", "description", "nullable", "enum", "items", "minItems", "maxItems", "properties",
        "required", "minProperties", "maxProperties", "minimum", "maximum", "minLength", "maxLength", "pattern",
        "anyOf", "propertyOrdering",
    }
)  # fmt: skip


class GeminiDialect(DialectTransformer):
    """The JSON-Schema dialect: $defs and anyOf stay; const becomes enum; unlisted keywords are relocated."""

    name = "gemini"
    accepted = JSON_KEYWORDS
    ref_siblings = "drop"
    items_default = {}
    recursion_note = "Gemini unrolls cycles only to a limited depth"
    enum_types_allowed = frozenset({"string", "integer", "number"})


class GeminiOpenAPIDialect(DialectTransformer):
    """The OpenAPI subset: definitions inlined (no recursion), `nullable` instead of type lists, string enums."""

    name = "gemini-openapi"
    accepted = OPENAPI_KEYWORDS
    inline_defs = True
    supports_refs = False
    supports_recursion = False
    type_arrays = "none"
    nullable_keyword = True
    enum_types_allowed = frozenset({"string"})
    boolean_schemas = False
    items_default = {"type": "string"}
