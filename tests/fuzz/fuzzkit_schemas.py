"""Vendor response schemas as standalone JSON Schemas: OpenAPI components and botocore shapes, refs inlined."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs"
_DROP = ("example", "examples", "discriminator", "x-oaiMeta", "x-stainless-const", "deprecated", "readOnly")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _DROP or key.startswith("x-"):
                continue
            if key == "$ref" and isinstance(value, str):
                value = "#/definitions/" + value.rsplit("/", 1)[-1]
            out[key] = _clean(value) if key not in ("properties",) else {k: _clean(v) for k, v in value.items()}
        return out
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def standalone(components: dict[str, Any], root: str) -> dict[str, Any]:
    """`root` and every schema it reaches, under `definitions`, refs rewritten to point there."""
    seen: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = components[name]
        todo.extend(_refs(components[name]))
    return {"$ref": f"#/definitions/{root}", "definitions": {k: _clean(v) for k, v in seen.items()}}


@cache
def _openapi(relative: str) -> dict[str, Any]:
    path = SPECS / relative
    if path.suffix == ".json":
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    import yaml

    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def openai_schema(name: str) -> dict[str, Any]:
    return standalone(_openapi("openai-openapi.normalized-nullable.json")["components"]["schemas"], name)


def ollama_schema(name: str) -> dict[str, Any]:
    return standalone(_openapi("ollama/openapi.yaml")["components"]["schemas"], name)


def mistral_schema(name: str) -> dict[str, Any]:
    schema = standalone(_openapi("mistral/openapi.yaml")["components"]["schemas"], name)
    if name == "ChatCompletionResponse":
        # The published spec requires a `data` field real responses never carry (specs/README.md).
        for part in schema["definitions"][name].get("allOf", []):
            if "data" in part.get("required", []):
                part["required"] = [r for r in part["required"] if r != "data"]
    return schema


# --- botocore shapes → JSON Schema ------------------------------------------------------------------------------


@cache
def _bedrock_shapes() -> dict[str, Any]:
    return json.loads((SPECS / "bedrock-runtime" / "service-2.json").read_text())["shapes"]  # type: ignore[no-any-return]


def _shape_schema(name: str, defs: dict[str, Any], skip: frozenset[str]) -> dict[str, Any]:
    if name not in defs:
        defs[name] = {}  # placeholder: recursion goes through the ref
        shape = _bedrock_shapes()[name]
        kind = shape["type"]
        out: dict[str, Any]
        if kind == "structure":
            members = {m: spec["shape"] for m, spec in shape.get("members", {}).items() if m not in skip}
            props = {m: _shape_schema(s, defs, skip) for m, s in members.items()}
            if shape.get("union"):
                out = (
                    {
                        "oneOf": [
                            {"type": "object", "properties": {m: p}, "required": [m], "additionalProperties": False}
                            for m, p in props.items()
                        ]
                    }
                    if props
                    else {"type": "object"}
                )
            else:
                out = {
                    "type": "object",
                    "properties": props,
                    "required": [r for r in shape.get("required", []) if r in props],
                }
        elif kind == "list":
            out = {"type": "array", "items": _shape_schema(shape["member"]["shape"], defs, skip)}
            if "min" in shape:
                out["minItems"] = shape["min"]
            out["maxItems"] = min(shape.get("max", 4), 4)
        elif kind == "map":
            out = {
                "type": "object",
                "additionalProperties": _shape_schema(shape["value"]["shape"], defs, skip),
                "maxProperties": 3,
            }
        elif kind == "string":
            out = {"type": "string", "enum": shape["enum"]} if "enum" in shape else {"type": "string"}
            if "min" in shape and "enum" not in shape:
                out["minLength"] = shape["min"]
        elif kind in ("integer", "long"):
            out = {"type": "integer", **({"minimum": shape["min"]} if "min" in shape else {})}
        elif kind in ("double", "float"):
            out = {"type": "number"}
        elif kind == "boolean":
            out = {"type": "boolean"}
        elif kind == "blob":
            out = {"type": "string", "pattern": "^(?:[A-Za-z0-9+/]{4})*$"}
        elif kind == "timestamp":
            out = {"type": "string", "format": "date-time"}
        elif kind == "document":
            out = {"type": ["object", "array", "string", "number", "boolean", "null"]}
        else:
            out = {}
        defs[name] = out
    return {"$ref": f"#/definitions/{name}"}


def bedrock_schema(name: str, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A botocore shape as JSON Schema (`skip`: member names left out, e.g. binary media irrelevant to text)."""
    defs: dict[str, Any] = {}
    root = _shape_schema(name, defs, skip)
    return {**root, "definitions": defs}


def available() -> bool:
    return SPECS.is_dir()


# --- JSON Schema → hypothesis strategy -------------------------------------------------------------------------
# hypothesis-jsonschema 0.23.1 calls `many.more()`, which the installed hypothesis removed; this covers the subset
# of JSON Schema the vendor specs use, and every generated value is checked with `jsonschema` before use.

_MAX_DEPTH = 6


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _merge_all_of(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in node["allOf"]:
        part = _resolve(part, defs)
        if "allOf" in part:
            part = _merge_all_of(part, defs)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            else:
                merged.setdefault(key, value)
    return merged


def strategy(schema: dict[str, Any]) -> Any:
    """A hypothesis strategy for instances of `schema` (a `standalone` or `bedrock_schema` result)."""
    import hypothesis.strategies as st

    defs = schema.get("definitions", {})
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), text)

    def build(node: Any, depth: int) -> Any:
        if node is True or node == {}:
            return scalar
        if node is False:
            return st.nothing()
        node = _resolve(node, defs)
        if "allOf" in node:
            node = _merge_all_of(node, defs)
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"]) if node["enum"] else st.nothing()
        for key in ("anyOf", "oneOf"):
            if key in node:
                rest = {k: v for k, v in node.items() if k not in (key, "description", "title")}
                branches = [build({**rest, **_resolve(b, defs)} if rest else b, depth) for b in node[key]]
                return st.one_of(*branches)
        kinds = node.get("type")
        if isinstance(kinds, list):
            return st.one_of(*[build({**node, "type": k}, depth) for k in kinds])
        if kinds is None:
            kinds = "object" if "properties" in node else ("array" if "items" in node else None)
        if kinds == "null":
            return st.none()
        if kinds == "boolean":
            return st.booleans()
        if kinds == "integer":
            lo = node.get("minimum", node.get("exclusiveMinimum", -10) + (1 if "exclusiveMinimum" in node else 0))
            hi = node.get("maximum", lo + 10_000 if lo is not None else 10_000)
            return st.integers(int(lo), int(max(lo, hi)))
        if kinds == "number":
            lo = node.get("minimum", 0)
            return st.floats(lo, node.get("maximum", lo + 1000.0), allow_nan=False)
        if kinds == "string":
            if "pattern" in node:
                return st.from_regex(node["pattern"], fullmatch=True).filter(lambda s: len(s) < 40)
            return st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs",)),
                min_size=node.get("minLength", 0),
                max_size=max(node.get("minLength", 0), 16),
            )
        if kinds == "array":
            lo = node.get("minItems", 0)
            hi = min(node.get("maxItems", 3), lo + 3) if depth < _MAX_DEPTH else lo
            return st.lists(build(node.get("items", {}), depth + 1), min_size=lo, max_size=max(lo, hi))
        if kinds == "object" or kinds is None:
            props: dict[str, Any] = node.get("properties", {})
            required = [r for r in node.get("required", []) if r in props]
            optional = [p for p in props if p not in required] if depth < _MAX_DEPTH else []
            fixed = st.fixed_dictionaries(
                {r: build(props[r], depth + 1) for r in required},
                optional={o: build(props[o], depth + 1) for o in optional},
            )
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and not props and depth < _MAX_DEPTH:
                return st.dictionaries(text, build(extra, depth + 1), max_size=node.get("maxProperties", 2))
            return fixed
        return scalar

    return build(schema, 0)


def validator(schema: dict[str, Any]) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema)
