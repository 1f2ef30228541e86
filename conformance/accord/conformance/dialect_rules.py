"""Each schema dialect's documented rules as a checker, written from the vendors' docs (schema_rules.md §1-2).

These checkers are deliberately independent of `accord.adapters._dialects`: they read a schema the way the
vendor documents it and list what the vendor would reject or silently ignore. `check_dialect` is what the
conformance suite's schema area and the fuzz properties call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

Violations = list[str]
Node = dict[str, Any]

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_ONE = ("additionalProperties", "items", "contains", "propertyNames", "not", "if", "then", "else")
_SUBSCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf", "items")
_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_ANNOTATIONS = {"title", "description", "$comment"}


def _walk(schema: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every subschema (booleans included) with its JSON-pointer path."""
    yield path, schema
    if not isinstance(schema, dict):
        return
    for key in _SUBSCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield from _walk(sub, f"{path}/{key}/{name}")
    for key in _SUBSCHEMA_ONE:
        value = schema.get(key)
        if isinstance(value, dict) or (isinstance(value, bool) and key != "additionalProperties"):
            yield from _walk(value, f"{path}/{key}")
    for key in _SUBSCHEMA_LISTS:
        value = schema.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield from _walk(sub, f"{path}/{key}/{i}")


def _nodes(schema: Node) -> Iterator[tuple[str, Node]]:
    for path, node in _walk(schema):
        if isinstance(node, dict):
            yield path or "/", node


def _refs_resolve(schema: Node) -> Violations:
    out = []
    for path, node in _nodes(schema):
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref == "#":
            continue
        parts = ref.split("/")
        ok = len(parts) == 3 and parts[0] == "#" and isinstance(schema.get(parts[1]), dict)
        if not ok or parts[2] not in schema[parts[1]]:
            out.append(f"{path}: $ref {ref} does not resolve")
    return out


def _cyclic(schema: Node) -> bool:
    """Whether some definition reaches itself through `$ref`s (or anything refers to the root `#`)."""
    edges: dict[str, set[str]] = {}
    for key in ("$defs", "definitions"):
        for name, body in (schema.get(key) or {}).items():
            edges[f"#/{key}/{name}"] = {str(n["$ref"]) for _, n in _nodes(body) if isinstance(n.get("$ref"), str)}
    if any(n.get("$ref") == "#" for _, n in _nodes(schema)):
        return True
    for start in edges:
        todo, seen = list(edges[start]), set()
        while todo:
            ref = todo.pop()
            if ref == start:
                return True
            if ref not in seen:
                seen.add(ref)
                todo.extend(edges.get(ref, ()))
    return False


def _allowed_keys(schema: Node, allowed: set[str], dialect: str) -> Violations:
    return [
        f"{path}: keyword `{key}` is not accepted by {dialect}"
        for path, node in _nodes(schema)
        for key in node
        if key not in allowed
    ]


def _formats(schema: Node, formats: set[str], dialect: str) -> Violations:
    return [
        f"{path}: format `{node['format']}` is not accepted by {dialect}"
        for path, node in _nodes(schema)
        if isinstance(node.get("format"), str) and node["format"] not in formats
    ]


def _closed_objects(schema: Node, dialect: str, *, all_required: bool) -> Violations:
    out = []
    for path, node in _nodes(schema):
        if node.get("type") != "object" and "properties" not in node:
            continue
        if node.get("additionalProperties") is not False:
            out.append(f"{path}: {dialect} strict needs `additionalProperties: false` on every object")
        if all_required:
            missing = set(node.get("properties") or {}) - set(node.get("required") or [])
            if missing:
                out.append(f"{path}: {dialect} strict needs every property in `required` (missing {sorted(missing)})")
    return out


def _typed(schema: Node, dialect: str) -> Violations:
    out = []
    for path, node in _walk(schema):
        if isinstance(node, bool):
            out.append(f"{path or '/'}: boolean schema is not accepted by {dialect} strict")
        elif not any(k in node for k in ("type", "$ref", "anyOf", "allOf", "oneOf", "enum", "const")):
            out.append(f"{path or '/'}: schema without a type is not accepted by {dialect} strict")
    return out


def _ref_alone(schema: Node, dialect: str, *, dollar_ok: bool = False) -> Violations:
    out = []
    for path, node in _nodes(schema):
        if "$ref" in node:
            extra = [k for k in node if k != "$ref" and not (dollar_ok and k.startswith("$"))]
            if extra:
                out.append(f"{path}: {dialect} takes `$ref` without siblings (found {sorted(extra)})")
    return out


def _root_object(schema: Node, dialect: str) -> Violations:
    if schema.get("type") != "object":
        return [f"/: {dialect} needs a root of `type: object` (got {schema.get('type')!r})"]
    return []


def _object_depth(node: Any) -> int:
    if not isinstance(node, dict):
        return 0
    inner = 0
    for sub in (node.get("properties") or {}).values():
        inner = max(inner, _object_depth(sub))
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            inner = max(inner, _object_depth(node[key]))
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in node.get(key) or ():
            inner = max(inner, _object_depth(sub) - (1 if isinstance(sub, dict) and sub.get("type") == "object" else 0))
    return inner + (1 if node.get("type") == "object" else 0)


# --- OpenAI (§1.1) ------------------------------------------------------------------------------------------

OPENAI_STRICT_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const", "description",
    "$defs", "definitions", "$ref", "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "minItems", "maxItems", "title",
}  # fmt: skip
OPENAI_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}


def check_openai(schema: Node, *, strict: bool = True) -> Violations:
    out = _root_object(schema, "openai") + _refs_resolve(schema)
    if not strict:
        return out
    out += _allowed_keys(schema, OPENAI_STRICT_KEYWORDS, "openai strict")
    out += _formats(schema, OPENAI_FORMATS, "openai strict")
    out += _closed_objects(schema, "openai", all_required=True)
    out += _typed(schema, "openai")
    out += [
        f"{path}: openai strict takes no siblings next to `$ref`"
        for path, node in _nodes(schema)
        if "$ref" in node and set(node) - {"$ref"}
    ]
    out += [
        f"{path}: openai strict rejects lookaround in `pattern`"
        for path, node in _nodes(schema)
        if isinstance(node.get("pattern"), str) and re.search(r"\(\?(=|!|<=|<!)", node["pattern"])
    ]
    total_props = sum(len(n.get("properties") or {}) for _, n in _nodes(schema))
    if total_props > 5000:
        out.append(f"/: {total_props} object properties, over openai's 5,000")
    enum_values = sum(len(n["enum"]) for _, n in _nodes(schema) if isinstance(n.get("enum"), list))
    if enum_values > 1000:
        out.append(f"/: {enum_values} enum values, over openai's 1,000")
    if _object_depth(schema) > 10:
        out.append("/: more than 10 levels of object nesting")
    return out


# --- Anthropic and Bedrock (§1.3, §1.5) ---------------------------------------------------------------------

ANTHROPIC_STRICT_KEYWORDS = {
    "type", "anyOf", "allOf", "enum", "const", "title", "description", "$defs", "definitions", "$ref", "properties",
    "required", "additionalProperties", "format", "items", "minItems", "pattern",
}  # fmt: skip
ANTHROPIC_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}


def _claude_strict(schema: Node, dialect: str, keywords: set[str]) -> Violations:
    out = _refs_resolve(schema) + _root_object(schema, dialect)
    out += _allowed_keys(schema, keywords, f"{dialect} strict")
    out += _formats(schema, ANTHROPIC_FORMATS, f"{dialect} strict")
    out += _closed_objects(schema, dialect, all_required=False)
    out += _typed(schema, dialect)
    out += _ref_alone(schema, dialect)
    if _cyclic(schema):
        out.append(f"/: {dialect} strict does not support recursive schemas")
    for path, node in _nodes(schema):
        if isinstance(node.get("minItems"), int) and node["minItems"] > 1:
            out.append(f"{path}: {dialect} strict supports minItems of 0 or 1 only")
        pattern = node.get("pattern")
        if isinstance(pattern, str) and re.search(r"\(\?(=|!|<=|<!)|\\b|\\[1-9]", pattern):
            out.append(f"{path}: {dialect} strict rejects backreferences, lookaround and \\b in `pattern`")
    return out


def check_anthropic(schema: Node, *, strict: bool = True) -> Violations:
    if not strict:
        return _refs_resolve(schema) + _root_object(schema, "anthropic")
    return _claude_strict(schema, "anthropic", ANTHROPIC_STRICT_KEYWORDS)


def check_bedrock(schema: Node, *, strict: bool = True) -> Violations:
    if not strict:
        return _refs_resolve(schema) + _root_object(schema, "bedrock")
    return _claude_strict(schema, "bedrock", ANTHROPIC_STRICT_KEYWORDS | {"minLength", "maxLength"})


# --- Gemini (§1.4) ------------------------------------------------------------------------------------------

GEMINI_JSON_KEYWORDS = {
    "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items", "prefixItems",
    "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties", "additionalProperties",
    "required", "propertyOrdering",
}  # fmt: skip
GEMINI_OPENAPI_KEYWORDS = {
    "type", "format", "title", "description", "nullable", "enum", "items", "minItems", "maxItems", "properties",
    "required", "minProperties", "maxProperties", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "example", "anyOf", "propertyOrdering", "default",
}  # fmt: skip


def check_gemini(schema: Node, *, strict: bool = True) -> Violations:
    out = _refs_resolve(schema) + _allowed_keys(schema, GEMINI_JSON_KEYWORDS, "gemini responseJsonSchema")
    out += _ref_alone(schema, "gemini", dollar_ok=True)
    for path, node in _nodes(schema):
        for value in node.get("enum") or ():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                out.append(f"{path}: gemini enums take strings and numbers only (got {value!r})")
    return out


def check_gemini_openapi(schema: Node, *, strict: bool = True) -> Violations:
    out = _allowed_keys(schema, GEMINI_OPENAPI_KEYWORDS, "gemini responseSchema")
    for path, node in _walk(schema):
        if isinstance(node, bool):
            out.append(f"{path or '/'}: gemini responseSchema has no boolean schemas")
            continue
        kind = node.get("type")
        if kind is not None and not (isinstance(kind, str) and kind.lower() in _TYPES):
            out.append(f"{path or '/'}: gemini responseSchema takes one type name (got {kind!r})")
        for value in node.get("enum") or ():
            if not isinstance(value, str):
                out.append(f"{path or '/'}: gemini responseSchema enums take strings only (got {value!r})")
    return out


# --- Databricks (§1.6) --------------------------------------------------------------------------------------

DATABRICKS_UNSUPPORTED = {"pattern", "anyOf", "oneOf", "allOf", "prefixItems", "$ref", "$defs", "definitions"}


def check_databricks(schema: Node, *, strict: bool = True) -> Violations:
    out = [
        f"{path}: keyword `{key}` is not supported by databricks"
        for path, node in _nodes(schema)
        for key in node
        if key in DATABRICKS_UNSUPPORTED
    ]
    for path, node in _nodes(schema):
        kind = node.get("type")
        if isinstance(kind, list) and not (len(kind) == 2 and "null" in kind):
            out.append(f'{path}: databricks takes type lists only as [T, "null"] (got {kind})')
    keys = sum(len(n.get("properties") or {}) for _, n in _nodes(schema))
    if strict and keys > 64:
        out.append(f"/: {keys} keys, over databricks' 64 per structured-output schema")
    if strict:
        out += _closed_objects(schema, "databricks", all_required=True)
    return out


# --- Ollama / llama.cpp (§1.7) ------------------------------------------------------------------------------

OLLAMA_SKIPPED = {"patternProperties", "uniqueItems", "contains", "not", "if", "then", "else", "prefixItems"}


def check_ollama(schema: Node, *, strict: bool = False) -> Violations:
    out = _refs_resolve(schema)
    for path, node in _nodes(schema):
        for key in sorted(OLLAMA_SKIPPED & node.keys()):
            out.append(f"{path}: `{key}` is skipped by llama.cpp's grammar converter")
        pattern = node.get("pattern")
        if isinstance(pattern, str) and not (pattern.startswith("^") and pattern.endswith("$")):
            out.append(f"{path}: llama.cpp needs anchored ^…$ patterns")
        if node.get("format") in ("uri", "email"):
            out.append(f"{path}: llama.cpp has no `{node['format']}` format")
        bounds = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & node.keys()
        if bounds and node.get("type") != "integer":
            out.append(f"{path}: llama.cpp enforces {sorted(bounds)} only for integers")
        if "properties" in node and ("anyOf" in node or "oneOf" in node):
            out.append(f"{path}: llama.cpp cannot mix properties with anyOf/oneOf")
    for key in ("$defs", "definitions"):
        for name, body in (schema.get(key) or {}).items():
            if any("$ref" in n for _, n in _nodes(body) if isinstance(body, dict)):
                out.append(f"/{key}/{name}: nested $ref is broken in llama.cpp's grammar converter")
    return out


# --- Mistral and Groq (§1.8, §1.9) --------------------------------------------------------------------------


def check_mistral(schema: Node, *, strict: bool = True) -> Violations:
    out = _refs_resolve(schema) + _root_object(schema, "mistral")
    return out + (_closed_objects(schema, "mistral", all_required=True) if strict else [])


def check_groq(schema: Node, *, strict: bool = True) -> Violations:
    out = _refs_resolve(schema) + _root_object(schema, "groq")
    return out + (_closed_objects(schema, "groq", all_required=True) if strict else [])


CHECKERS: dict[str, Callable[..., Violations]] = {
    "openai": check_openai,
    "anthropic": check_anthropic,
    "bedrock": check_bedrock,
    "gemini": check_gemini,
    "gemini-openapi": check_gemini_openapi,
    "databricks": check_databricks,
    "ollama": check_ollama,
    "mistral": check_mistral,
    "groq": check_groq,
}


def check_dialect(dialect: str, schema: dict[str, Any], *, strict: bool = True) -> list[str]:
    """The violations of `dialect`'s documented rules in `schema` (empty when the vendor would accept it as is)."""
    checker = CHECKERS.get(dialect)
    if checker is None:
        raise KeyError(f"no rule checker for dialect {dialect!r}; known: {', '.join(sorted(CHECKERS))}")
    return checker(schema, strict=strict)
