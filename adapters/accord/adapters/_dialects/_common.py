"""The table-driven transformer every schema dialect configures: keyword allow-lists, strict rules, rewrites."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal

from accord.contracts.schema import (
    ONE_SCHEMA,
    PAIR_KEY,
    PAIR_VALUE,
    SCHEMA_LISTS,
    SCHEMA_MAPS,
    Schema,
    SchemaTransformer,
    accepts_null,
    iter_nodes,
    json_type,
)

# Keys that only annotate: removed where the dialect does not take them, with no effect on validation.
ANNOTATIONS = frozenset(
    {
        "title",
        "$schema",
        "$id",
        "$comment",
        "$anchor",
        "examples",
        "example",
        "discriminator",
        "readOnly",
        "writeOnly",
        "deprecated",
        "contentMediaType",
        "contentEncoding",
        "propertyOrdering",
    }
)
COMPOSITION = ("anyOf", "oneOf", "allOf")
_ALL_SCALARS = frozenset({"string", "integer", "number", "boolean", "null"})
_LOOKAROUND = re.compile(r"(?<!\\)\((\?=|\?!|\?<=|\?<!)")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def relocated_description(description: str | None, moved: dict[str, Any]) -> str:
    """The description with removed keywords appended as ` (k=v, …)` in sorted key order (deterministic bytes)."""
    text = ", ".join(f"{k}={_dumps(moved[k])}" for k in sorted(moved))
    return f"{description} ({text})" if description else f"({text})"


def count_keys(schema: Schema) -> int:
    """The one key counter: property names over every object node, each definition body counted once."""
    return sum(len(node["properties"]) for _, node in iter_nodes(schema) if isinstance(node.get("properties"), dict))


def name_chars(schema: Schema) -> int:
    """Characters of every property name, definition name, enum value and const value (OpenAI's size budget)."""
    total = 0
    if isinstance(schema, dict):
        total = sum(len(name) for key in ("$defs", "definitions") for name in schema.get(key) or {})
    for _, node in iter_nodes(schema):
        if isinstance(node.get("properties"), dict):
            total += sum(len(name) for name in node["properties"])
        if isinstance(node.get("enum"), list):
            total += sum(len(str(value)) for value in node["enum"])
        if "const" in node:
            total += len(str(node["const"]))
    return total


def nesting_depth(schema: Schema) -> int:
    """Object nesting levels (the root object is level 1), not following `$ref`."""

    def depth(node: Schema) -> int:
        if not isinstance(node, dict):
            return 0
        inner = 0
        for key in ("properties",):
            for sub in (node.get(key) or {}).values():
                inner = max(inner, depth(sub))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                inner = max(inner, depth(node[key]))
        for key in (*COMPOSITION, "prefixItems"):
            for sub in node.get(key) or ():
                inner = max(inner, depth(sub) - 1 if _is_object(sub) else depth(sub))
        return inner + (1 if _is_object(node) else 0)

    return (
        depth({k: v for k, v in schema.items() if k not in ("$defs", "definitions")}) if isinstance(schema, dict) else 0
    )


def _is_object(node: Schema) -> bool:
    return isinstance(node, dict) and (node.get("type") == "object" or "properties" in node)


def _is_typed(node: dict[str, Any]) -> bool:
    return any(k in node for k in ("type", "$ref", "enum", "const", *COMPOSITION))


class DialectTransformer(SchemaTransformer):
    """A dialect as data: subclasses set the class attributes; `transform` applies them node by node."""

    name: ClassVar[str] = "generic"
    # Keywords the dialect accepts (None: any JSON Schema). `accepted_strict` applies when strict is requested.
    accepted: ClassVar[frozenset[str] | None] = None
    accepted_strict: ClassVar[frozenset[str] | None] = None
    formats: ClassVar[frozenset[str] | None] = None
    formats_strict: ClassVar[frozenset[str] | None] = None
    strict_capable: ClassVar[bool] = True
    closes_objects: ClassVar[bool] = False  # strict forces additionalProperties: false on every object
    requires_all: ClassVar[bool] = False  # strict needs every property in `required`
    ref_siblings: ClassVar[Literal["keep", "wrap", "drop"]] = "keep"
    type_arrays: ClassVar[Literal["any", "nullable", "none"]] = "any"
    nullable_keyword: ClassVar[bool] = False  # OpenAPI `nullable: true` instead of type arrays
    root_object: ClassVar[bool] = False
    typed_strict: ClassVar[bool] = False  # strict needs a type (or union/ref/enum) on every node
    recursion_blocks_strict: ClassVar[bool] = False
    recursion_note: ClassVar[str | None] = None
    recursion_placeholder: ClassVar[bool] = False  # recursive $refs become {} and the definitions go
    # JSON types an `enum` may hold; other values are sent as strings (restore() maps them back).
    enum_types_allowed: ClassVar[frozenset[str]] = frozenset({"string", "integer", "number", "boolean", "null"})
    max_min_items: ClassVar[int | None] = None
    lookaround_strict: ClassVar[bool] = False  # strict rejects lookaround in `pattern`
    anchored_patterns: ClassVar[bool] = False  # grammar engines need ^…$ patterns
    integer_bounds_only: ClassVar[bool] = False  # numeric bounds enforced only on integers
    items_default: ClassVar[dict[str, Any] | None] = None  # inserted into arrays without `items`
    max_keys: ClassVar[int | None] = None
    boolean_schemas: ClassVar[bool] = True  # False: `true`/`false` subschemas are replaced by `{}`
    max_depth: ClassVar[int | None] = None
    max_enum_values: ClassVar[int | None] = None
    max_name_chars: ClassVar[int | None] = None
    # (values, characters): a string enum with more than `values` values may hold at most `characters` in all.
    large_enum_limit: ClassVar[tuple[int, int] | None] = None
    reason_word: ClassVar[str] = "not supported"

    def run(self, schema: dict[str, Any]) -> dict[str, Any]:
        # With uniqueItems, "absent" and "null" (conflated by all-required strict forms) are different items.
        self._has_unique_items = "uniqueItems" in json.dumps(schema)
        return super().run(schema)

    @property
    def _strict(self) -> bool:
        return self.strict and self.strict_capable

    def _accepted(self) -> frozenset[str] | None:
        return self.accepted_strict if self._strict and self.accepted_strict is not None else self.accepted

    def _formats(self) -> frozenset[str] | None:
        return self.formats_strict if self._strict and self.formats_strict is not None else self.formats

    def _takes(self, key: str) -> bool:
        accepted = self._accepted()
        return accepted is None or key in accepted

    # --- the per-node rules ---------------------------------------------------------------------------------

    def transform_bool(self, value: bool, path: str) -> Schema:
        if self._strict and self.typed_strict:
            self.block_strict(path, f"boolean schema `{str(value).lower()}` has no type")
        return value

    def transform(self, node: dict[str, Any], path: str) -> Schema:
        if self._accepted() is None and not self._strict and not self.rewrites_enums:
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._ref_node(node, ref, path)
        return self._typed_rules(self._plain(node, path), path)

    def _ref_node(self, node: dict[str, Any], ref: str, path: str) -> Schema:
        if (ref in self.recursive_refs or ref == "#") and self.recursion_placeholder:
            self.note(
                path, f"recursive $ref {ref} replaced by an unconstrained schema ({self.reason_word})", lossy=True
            )
            return self._plain({k: v for k, v in node.items() if k != "$ref"}, path)
        if ref in self.recursive_refs or ref == "#":
            if self.recursion_blocks_strict and self._strict:
                self.block_strict(path, f"recursive $ref {ref}")
            if self.recursion_note:
                self.note(path, f"recursive $ref {ref}: {self.recursion_note}", lossy=True)
        siblings: dict[str, Any] = self._plain({k: v for k, v in node.items() if k != "$ref"}, path)
        if not siblings:
            return {"$ref": ref}
        if self.ref_siblings == "wrap":
            return {"anyOf": [{"$ref": ref}], **siblings}
        if self.ref_siblings == "drop":
            self.note(path, f"{', '.join(sorted(siblings))} next to $ref dropped ({self.name} takes $ref alone)")
            return {"$ref": ref}
        return {"$ref": ref, **siblings}

    def _plain(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        """Keyword-level rules: annotations, const, oneOf/allOf, type arrays, enums, constraints."""
        out = dict(node)
        for key in sorted(ANNOTATIONS & out.keys()):
            if not self._takes(key):
                del out[key]
        if "default" in out and not self._takes("default"):
            out.pop("default")
            self.note(path, f"default dropped ({self.name}{' strict' if self._strict else ''} does not take it)")
        if "const" in out and not self._takes("const") and self._takes("enum"):
            out["enum"] = [out.pop("const")]
            if "type" not in out:
                kind = json_type(out["enum"][0])
                if kind is not None:
                    out["type"] = kind
        if "oneOf" in out and not self._takes("oneOf"):
            branches = out.pop("oneOf")
            if self._takes("anyOf"):
                out["anyOf"] = [*out.get("anyOf", []), *branches]
                self.note(path, "oneOf rewritten as anyOf (exclusivity not enforced)", lossy=True)
            else:
                out.setdefault("__unsupported_union", branches)
        if "allOf" in out and not self._takes("allOf"):
            out = self._merge_all_of(out, path)
        out = self._type_arrays(out, path)
        if "anyOf" in out and not self._takes("anyOf"):
            out = self._drop_union(out, "anyOf", out.pop("anyOf"), path)
        if "__unsupported_union" in out:
            out = self._drop_union(out, "oneOf", out.pop("__unsupported_union"), path)
        if "enum" in out:
            out = self._enum(out, path)
        return self._relocate(out, path)

    def _merge_all_of(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        branches = node.pop("allOf")
        merged = dict(node)
        for branch in branches:
            if not isinstance(branch, dict) or "$ref" in branch:
                self.note(path, "allOf branch that cannot be merged dropped", lossy=True)
                continue
            for key, value in branch.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
                elif key in merged and merged[key] != value:
                    self.note(path, f"allOf: conflicting `{key}` kept from the outer schema", lossy=True)
                else:
                    merged[key] = value
        self.note(path, "allOf merged into one schema")
        return merged

    def _type_arrays(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        kinds = node.get("type")
        if not isinstance(kinds, list) or self.type_arrays == "any":
            return node
        non_null = [k for k in kinds if k != "null"]
        nullable = len(non_null) < len(kinds)
        if len(non_null) == 1 and (self.type_arrays == "nullable" or not nullable):
            node = {**node, "type": non_null[0] if self.nullable_keyword or not nullable else kinds}
            if nullable and self.nullable_keyword:
                node["nullable"] = True
            return node
        if len(non_null) == 1 and self.nullable_keyword:
            return {**node, "type": non_null[0], "nullable": True}
        if self._takes("anyOf") and non_null:
            rest = {k: v for k, v in node.items() if k != "type"}
            out: dict[str, Any] = {**rest, "anyOf": [{"type": k} for k in non_null]}
            if nullable:
                if self.nullable_keyword:
                    out["nullable"] = True
                else:
                    out["anyOf"].append({"type": "null"})
            self.note(path, f"type list {kinds} rewritten as anyOf")
            return out
        self.note(path, f"type list {kinds} cannot be expressed; type dropped", lossy=True)
        return {k: v for k, v in node.items() if k != "type"}

    def _drop_union(self, node: dict[str, Any], key: str, branches: list[Any], path: str) -> dict[str, Any]:
        """A dialect without unions: keep `X | null` as a nullable X, anything else is lossy."""
        non_null = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(non_null) == 1 and isinstance(non_null[0], dict) and len(non_null) < len(branches):
            merged = {**non_null[0], **node}
            kind = merged.get("type")
            if self.nullable_keyword:
                merged["nullable"] = True
                return merged
            if isinstance(kind, str):
                merged["type"] = [kind, "null"]
                if "const" in merged:
                    merged["enum"] = [merged.pop("const")]
                if "enum" in merged and None not in merged["enum"]:
                    merged["enum"] = [*merged["enum"], None]
                return merged
            if "enum" in merged:
                merged["enum"] = [*merged["enum"], None]
                return merged
        if len(non_null) == 1 and isinstance(non_null[0], dict) and len(non_null) == len(branches):
            self.note(path, f"single-branch {key} flattened")
            return {**non_null[0], **node}
        self.note(path, f"{key} with {len(branches)} branches {self.reason_word}; union dropped", lossy=True)
        if self._strict:
            self.block_strict(path, f"{key} union {self.reason_word}")
        return node

    @property
    def rewrites_enums(self) -> bool:
        return self.enum_types_allowed != _ALL_SCALARS

    def _enum(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        values = node["enum"]
        kinds = {json_type(v) for v in values}
        if kinds - {"string", "integer", "number", "boolean", "null"}:
            self.note(path, f"enum with non-scalar values {self.reason_word}", lossy=True)
            return {k: v for k, v in node.items() if k != "enum"}
        if kinds <= self.enum_types_allowed:
            return node
        from accord.contracts.schema import _enum_text

        self.stringified_enums = True
        self.enum_types = tuple(sorted(self.enum_types_allowed))
        self.note(
            path,
            f"enum values of type {', '.join(sorted(str(k) for k in kinds - self.enum_types_allowed))} "
            "sent as strings; restore() maps them back",
        )
        out = {**node, "enum": [_enum_text(v) for v in values], "type": "string"}
        out.pop("nullable", None)
        return out

    def _relocate(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        moved: dict[str, Any] = {}
        formats = self._formats()
        for key in list(node):
            if key in ("description", "$ref", "$defs", "definitions", "nullable", "prefixItems") or key.startswith(
                "__"
            ):
                continue
            if not self._takes(key):
                moved[key] = node.pop(key)
        fmt = node.get("format")
        if isinstance(fmt, str) and formats is not None and fmt not in formats:
            moved["format"] = node.pop("format")
        limit = self.max_min_items
        if limit is not None and isinstance(node.get("minItems"), int) and node["minItems"] > limit:
            moved["minItems"] = node.pop("minItems")
        pattern = node.get("pattern")
        if isinstance(pattern, str) and self._pattern_unusable(pattern):
            moved["pattern"] = node.pop("pattern")
        if self.integer_bounds_only and node.get("type") != "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
                if key in node:
                    moved[key] = node.pop(key)
        if not moved:
            return node
        structural = sorted(k for k in moved if isinstance(moved[k], dict | list) and k not in ("enum",))
        for key in structural:
            if key in ("properties", "items", "additionalProperties", "required"):
                node[key] = moved.pop(key)  # structure is never moved to prose; handled by the object/array rules
        if not moved:
            return node
        node["description"] = relocated_description(node.get("description"), moved)
        self.note(
            path,
            f"{', '.join(sorted(moved))} moved to the description ({self.reason_word} by {self.name}"
            f"{' strict' if self._strict else ''})",
            lossy=True,
        )
        return node

    def _pattern_unusable(self, pattern: str) -> bool:
        if self.lookaround_strict and self._strict and _LOOKAROUND.search(pattern):
            return True
        return self.anchored_patterns and not (pattern.startswith("^") and pattern.endswith("$"))

    # --- objects and arrays ---------------------------------------------------------------------------------

    def _typed_rules(self, node: dict[str, Any], path: str) -> Schema:
        if self._strict and self.typed_strict and not _is_typed(node):
            self.block_strict(path, "schema without a type")
        if _is_object(node) or "additionalProperties" in node:
            return self._object(node, path)
        if node.get("type") == "array" or "prefixItems" in node or "items" in node:
            return self._array(node, path)
        return node

    def _object(self, node: dict[str, Any], path: str) -> Schema:
        extra = node.get("additionalProperties")
        props = node.get("properties")
        closing = self._strict and self.closes_objects
        takes_extra = self._takes("additionalProperties")
        if isinstance(extra, dict) and (closing or not takes_extra):
            if not props:
                return self._map_as_pairs(node, extra, path)
            if closing:
                self.block_strict(path, "object mixes properties with an additionalProperties schema")
            else:
                node = {k: v for k, v in node.items() if k != "additionalProperties"}
                self.note(path, "additionalProperties schema next to properties dropped", lossy=True)
        elif extra is True and (closing or not takes_extra):
            if closing:
                self.block_strict(path, "open object (additionalProperties: true)")
            else:
                node = {k: v for k, v in node.items() if k != "additionalProperties"}
                self.note(path, "additionalProperties: true dropped (extra keys not produced)", lossy=True)
        elif extra is False and not takes_extra:
            node = {k: v for k, v in node.items() if k != "additionalProperties"}
        if closing:
            node = {**node, "additionalProperties": False}
            node.setdefault("properties", {})
            if self.requires_all:
                node = self._require_all(node, path)
        return node

    def _map_as_pairs(self, node: dict[str, Any], value_schema: dict[str, Any], path: str) -> Schema:
        self.map_pairs = True
        pair: dict[str, Any] = {
            "type": "object",
            "properties": {PAIR_KEY: {"type": "string"}, PAIR_VALUE: value_schema},
            "required": [PAIR_KEY, PAIR_VALUE],
        }
        if self._takes("additionalProperties"):
            pair["additionalProperties"] = False
        out: dict[str, Any] = {"type": "array", "items": pair}
        if "description" in node:
            out["description"] = node["description"]
        moved = {k: v for k, v in node.items() if k in ("minProperties", "maxProperties", "propertyNames")}
        if moved:
            out["description"] = relocated_description(out.get("description"), moved)
        if self.nullable_keyword and node.get("nullable"):
            out["nullable"] = True
        self.note(
            path,
            "map (additionalProperties schema) sent as an array of {key, value} pairs; restore() rebuilds the object",
            lossy=bool(moved),
        )
        return out

    def _require_all(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        props: dict[str, Any] = dict(node["properties"])
        required = list(node.get("required") or [])
        optional = [k for k in props if k not in required]
        if not optional:
            return node
        changed = []
        for key in optional:
            if not accepts_null(props[key]):
                props[key] = self._nullable(props[key], f"{path}/properties/{key}")
                changed.append(key)
        self.added_nulls = True
        if changed:
            self.note(path, f"optional {', '.join(changed)} made required and nullable; restore() drops the nulls")
        kept = [k for k in optional if k not in changed]
        if kept:
            self.note(
                path,
                f"optional {', '.join(kept)} (already nullable) made required; the model sends null",
                lossy=self._has_unique_items,
            )
        return {**node, "properties": props, "required": [*required, *optional]}

    def _nullable(self, sub: Schema, path: str) -> Schema:
        if not isinstance(sub, dict):
            return sub
        kind = sub.get("type")
        if self.nullable_keyword:
            return {**sub, "nullable": True}
        out = dict(sub)
        if isinstance(kind, str) and (self.type_arrays != "none"):
            out["type"] = [kind, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            if "const" in out:
                out["enum"] = [out.pop("const"), None]
            return out
        if isinstance(kind, list):
            out["type"] = [*kind, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
            return out
        if isinstance(out.get("anyOf"), list) and self._takes("anyOf"):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
            return out
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
            return out
        if self._takes("anyOf"):
            siblings = {k: out.pop(k) for k in ("description",) if k in out}
            return {"anyOf": [out, {"type": "null"}], **siblings}
        self.block_strict(path, "optional property cannot be made nullable")
        return sub

    def _array(self, node: dict[str, Any], path: str) -> Schema:
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and not self._takes("prefixItems"):
            node = {k: v for k, v in node.items() if k != "prefixItems"}
            if self._strict and self.strict_capable and self._relaxable_strict:
                self.block_strict(path, "prefixItems (tuple) has no strict form")
            items = node.get("items")
            unique: list[Any] = []
            for item in prefix:
                if item not in unique:
                    unique.append(item)
            if items is False or items is None:
                node["minItems"] = (
                    max(node.get("minItems", 0), len(prefix)) if items is False else node.get("minItems", len(prefix))
                )
                if items is False:
                    node["maxItems"] = len(prefix)
                node = {k: v for k, v in node.items() if k != "items"}
                if len(unique) == 1:
                    node["items"] = unique[0]
                elif unique and self._takes("anyOf"):
                    node["items"] = {"anyOf": unique}
                for key in ("minItems", "maxItems"):
                    if key in node and not self._takes(key):
                        node.pop(key)
            self.note(path, "prefixItems (tuple) relaxed to a homogeneous items schema", lossy=True)
        if "items" not in node and "prefixItems" not in node and self.items_default is not None:
            node = {**node, "items": dict(self.items_default)}
            self.note(
                path, f"array without items given items {_dumps(self.items_default)}", lossy=bool(self.items_default)
            )
        untyped = node.get("items") is True or node.get("items") == {} or not ({"items", "prefixItems"} & node.keys())
        if untyped and self._strict and self.typed_strict:
            self.block_strict(path, "array items without a type")
        return node

    @property
    def _relaxable_strict(self) -> bool:
        return True

    # --- the root -------------------------------------------------------------------------------------------

    def _no_booleans(self, node: Any, path: str) -> Any:
        if isinstance(node, bool):
            self.note(path, f"boolean schema `{str(node).lower()}` replaced by {{}}", lossy=not node)
            return {}
        if not isinstance(node, dict):
            return node
        out = dict(node)
        for key in SCHEMA_MAPS:
            if isinstance(node.get(key), dict):
                out[key] = {n: self._no_booleans(v, f"{path}/{key}/{n}") for n, v in node[key].items()}
        for key in ONE_SCHEMA:
            if key != "additionalProperties" and isinstance(node.get(key), dict | bool):
                out[key] = self._no_booleans(node[key], f"{path}/{key}")
        for key in SCHEMA_LISTS:
            if isinstance(node.get(key), list):
                out[key] = [self._no_booleans(v, f"{path}/{key}/{i}") for i, v in enumerate(node[key])]
        return out

    def finish(self, schema: dict[str, Any]) -> dict[str, Any]:
        if not self.boolean_schemas:
            schema = self._no_booleans(schema, "")
        if self.recursion_placeholder and self.recursive_refs:
            schema = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
        if self.strict and not self.strict_capable:
            self.block_strict("", f"{self.name} has no strict mode; output is validated client-side")
        if self.root_object and not (schema.get("type") == "object" and "$ref" not in schema):
            schema = self._wrap(schema)
        if self._strict and self.recursive_refs and self.recursion_blocks_strict:
            self.block_strict("", "recursive schema")
        if self.map_pairs:
            self._note_ambiguous_unions(schema)
        if self.max_keys is not None and count_keys(schema) > self.max_keys:
            message = f"schema has {count_keys(schema)} keys, over the {self.max_keys}-key limit of {self.name}"
            self.note("", message)
            if self._strict:
                self.block_strict("", message)
        if self.max_depth is not None and self._strict and nesting_depth(schema) > self.max_depth:
            self.block_strict("", f"nesting deeper than {self.max_depth} levels")
        if self.max_enum_values is not None and self._strict:
            total = sum(len(n["enum"]) for _, n in iter_nodes(schema) if isinstance(n.get("enum"), list))
            if total > self.max_enum_values:
                self.block_strict("", f"{total} enum values, over the limit of {self.max_enum_values}")
        if self.max_name_chars is not None and self._strict:
            size = name_chars(schema)
            if size > self.max_name_chars:
                self.block_strict("", f"{size} characters of names and enum/const values, over {self.max_name_chars}")
        if self.large_enum_limit is not None and self._strict:
            self._check_large_enums(schema, *self.large_enum_limit)
        return schema

    def _note_ambiguous_unions(self, schema: dict[str, Any]) -> None:
        for path, node in iter_nodes(schema):
            branches = [b for b in node.get("anyOf") or () if isinstance(b, dict) and b.get("type") == "array"]
            if len(branches) > 1 and any(_is_pairs(b) for b in branches):
                self.note(
                    path,
                    "an empty map and an empty array both travel as []; restore() reads [] as the array",
                    lossy=True,
                )

    def _check_large_enums(self, schema: dict[str, Any], values: int, characters: int) -> None:
        for path, node in iter_nodes(schema):
            enum = node.get("enum")
            if isinstance(enum, list) and len(enum) > values and all(isinstance(v, str) for v in enum):
                size = sum(map(len, enum))
                if size > characters:
                    self.block_strict(path, f"a {len(enum)}-value string enum of {size} characters, over {characters}")

    def _wrap(self, schema: dict[str, Any]) -> dict[str, Any]:
        defs: dict[str, Any] = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
        body = {k: v for k, v in schema.items() if k not in defs}
        self.wrapper = "response"
        self.note("", 'non-object root wrapped as {"response": …}; restore() unwraps it')
        wrapped: dict[str, Any] = {"type": "object", "properties": {"response": body}, "required": ["response"]}
        if self._strict and self.closes_objects:
            wrapped["additionalProperties"] = False
        return {**wrapped, **defs}


def _is_pairs(node: dict[str, Any]) -> bool:
    """A map sent as an array of {key, value} pairs (see `_map_as_pairs`)."""
    items = node.get("items")
    return isinstance(items, dict) and set(items.get("properties") or ()) == {PAIR_KEY, PAIR_VALUE}
