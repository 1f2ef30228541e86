"""JSON-Schema walking with a per-dialect `transform` hook, and `SchemaPlan`: what a transform changed and its undo."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from ._base import Frozen
from .errors import UnsupportedFeatureError

Schema = dict[str, Any] | bool

# Keywords whose value is one subschema, a list of subschemas, or a name → subschema map.
ONE_SCHEMA = (
    "additionalProperties",
    "items",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)
SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf", "items")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
DEF_KEYS = ("$defs", "definitions")


def children(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every direct subschema of `node` with its JSON-pointer path."""
    for key in SCHEMA_MAPS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, dict | bool):
                    yield f"{path}/{key}/{_escape(name)}", sub
    for key in ONE_SCHEMA:
        value = node.get(key)
        if isinstance(value, dict | bool) and not (key == "additionalProperties" and isinstance(value, bool)):
            yield f"{path}/{key}", value
    for key in SCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                if isinstance(sub, dict | bool):
                    yield f"{path}/{key}/{i}", sub


def iter_nodes(schema: Schema, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object-valued subschema, depth first, the root included."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for sub_path, sub in children(schema, path):
        yield from iter_nodes(sub, sub_path)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def local_ref_name(ref: str) -> tuple[str, str] | None:
    """`#/$defs/X` → (`$defs`, `X`); None for `#` and anything that is not a local definition."""
    for key in DEF_KEYS:
        prefix = f"#/{key}/"
        if ref.startswith(prefix) and "/" not in ref[len(prefix) :]:
            return key, ref[len(prefix) :].replace("~1", "/").replace("~0", "~")
    return None


def dangling_refs(schema: Schema) -> list[str]:
    """`$ref`s that point nowhere inside `schema` (after a transform every `$ref` must resolve)."""
    if not isinstance(schema, dict):
        return []
    missing = []
    for _, node in iter_nodes(schema):
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref == "#":
            continue
        target = local_ref_name(ref)
        defs = schema.get(target[0]) if target else None
        if target is None or not isinstance(defs, dict) or target[1] not in defs:
            missing.append(ref)
    return missing


def accepts_null(schema: Schema, root: dict[str, Any] | None = None, _seen: frozenset[str] = frozenset()) -> bool:
    """Whether `null` can be valid under `schema` (a shallow, conservative reading)."""
    if isinstance(schema, bool):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and root is not None and ref not in _seen:
        target = resolve_ref(root, ref)
        if target is not None and accepts_null(target, root, _seen | {ref}):
            return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind) or schema.get("nullable") is True:
        return True
    if "const" in schema:
        return schema["const"] is None
    if "enum" in schema:
        return None in schema["enum"]
    for key in ("anyOf", "oneOf"):
        if any(accepts_null(s, root, _seen) for s in schema.get(key) or ()):
            return True
    return kind is None and not ref and not any(k in schema for k in ("anyOf", "oneOf", "allOf", "not"))


def resolve_ref(root: dict[str, Any], ref: str) -> Schema | None:
    if ref == "#":
        return root
    target = local_ref_name(ref)
    if target is None:
        return None
    defs = root.get(target[0])
    found = defs.get(target[1]) if isinstance(defs, dict) else None
    return found if isinstance(found, dict | bool) else None


@dataclass(frozen=True)
class RestoreSpec:
    """The value rewrites a transform introduced, undone by `SchemaPlan.restore` in this order."""

    added_nulls: bool = False  # optional properties made required + nullable: drop the nulls the model sent
    map_pairs: bool = False  # `dict[str, X]` sent as an array of {"key", "value"}: rebuild the object
    stringified_enums: bool = False  # non-string enum values sent as strings: back to the original values
    wrapper: str | None = None  # a non-object root sent as {wrapper: value}: unwrap
    # With `stringified_enums`: the JSON types an enum may keep; an enum holding any other type was stringified.
    enum_types: tuple[str, ...] = ("string",)

    @property
    def identity(self) -> bool:
        return not (self.added_nulls or self.map_pairs or self.stringified_enums or self.wrapper)


PAIR_KEY, PAIR_VALUE = "key", "value"


class SchemaPlan(Frozen):
    """A schema planned for one dialect: what is sent, whether strict holds, what was relaxed and how to undo it.

    `lossy` means the transformed schema accepts values the original rejects (or rejects some it accepts);
    every relaxation is named in `reasons`. Values produced under `transformed` go through `restore` and are
    then validated against `original`.
    """

    dialect: str
    original: dict[str, Any]
    transformed: dict[str, Any]
    strict_requested: bool
    strict_applied: bool
    lossy: bool = False
    reasons: list[str] = Field(default_factory=list)
    restore_spec: RestoreSpec = Field(default_factory=RestoreSpec)

    def restore(self, value: Any) -> Any:
        """A value produced under `transformed`, mapped back to the shape of `original`."""
        if self.restore_spec.identity:
            return value
        spec = self.restore_spec
        if spec.wrapper is not None:
            if not isinstance(value, dict) or spec.wrapper not in value:
                return value
            value = value[spec.wrapper]
        return _Codec(self.original, spec, restoring=True).convert(self.original, value, 0)

    def encode(self, value: Any) -> Any:
        """The inverse of `restore`: a value valid under `original`, in the shape `transformed` expects."""
        if self.restore_spec.identity:
            return value
        spec = self.restore_spec
        out = _Codec(self.original, spec, restoring=False).convert(self.original, value, 0)
        return {spec.wrapper: out} if spec.wrapper is not None else out


_MAX_DEPTH = 200


class _Codec:
    """Walks a value alongside the original schema, applying or undoing the rewrites named in a RestoreSpec."""

    def __init__(self, root: dict[str, Any], spec: RestoreSpec, *, restoring: bool) -> None:
        self.root = root
        self.spec = spec
        self.restoring = restoring

    def _resolve(self, node: Schema) -> Schema:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
            target = resolve_ref(self.root, node["$ref"])
            if target is None:
                return node
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
            seen += 1
        return node

    def convert(self, node: Schema, value: Any, depth: int) -> Any:
        node = self._resolve(node)
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            return value
        for key in ("anyOf", "oneOf"):
            branches = node.get(key)
            if isinstance(branches, list):
                fitting = [b for b in branches if self._fits(b, value)]
                if self.restoring and value == [] and len(fitting) > 1:
                    # An empty map and an empty array both travel as []: the array reading wins (the dialect
                    # notes this loss when it sends a map next to an array in one union).
                    fitting = [b for b in fitting if not self._is_map(_as_node(self._resolve(b)))] or fitting
                exact = [b for b in fitting if self._has_options(b)]
                branch = (exact or fitting or [None])[0]
                if branch is not None:
                    return self.convert(branch, value, depth + 1)
        for branch in node.get("allOf") or ():
            value = self.convert(branch, value, depth + 1)
        if isinstance(value, dict):
            return self._object(node, value, depth)
        if isinstance(value, list):
            return self._array(node, value, depth)
        return self._scalar(node, value)

    def _has_options(self, branch: Schema) -> bool:
        node = self._resolve(branch)
        return isinstance(node, dict) and ("enum" in node or "const" in node)

    def _is_map(self, node: dict[str, Any]) -> bool:
        return isinstance(node.get("additionalProperties"), dict) and not node.get("properties")

    def _object(self, node: dict[str, Any], value: dict[str, Any], depth: int) -> Any:
        props: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
        extra = node.get("additionalProperties")
        if self.spec.map_pairs and not self.restoring and isinstance(extra, dict) and not props:
            return [{PAIR_KEY: k, PAIR_VALUE: self.convert(extra, v, depth + 1)} for k, v in value.items()]
        required = set(node.get("required") or ())
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub: Schema | None = props.get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if (
                self.spec.added_nulls
                and self.restoring
                and item is None
                and key in props
                and key not in required
                and not accepts_null(props[key], self.root)
            ):
                continue
            out[key] = item if sub is None else self.convert(sub, item, depth + 1)
        if self.spec.added_nulls and not self.restoring:
            for key in props:
                if key not in out and key not in required:
                    out[key] = None
        return out

    def _array(self, node: dict[str, Any], value: list[Any], depth: int) -> Any:
        if self.spec.map_pairs and self.restoring and self._is_map(node):
            pairs = [p for p in value if isinstance(p, dict) and PAIR_KEY in p and PAIR_VALUE in p]
            if len(pairs) == len(value) and all(isinstance(p[PAIR_KEY], str) for p in pairs):
                extra = node["additionalProperties"]
                return {p[PAIR_KEY]: self.convert(extra, p[PAIR_VALUE], depth + 1) for p in pairs}
            return value
        prefix: list[Any] = node["prefixItems"] if isinstance(node.get("prefixItems"), list) else []
        items = node.get("items")
        out = []
        for i, item in enumerate(value):
            sub: Schema | None = prefix[i] if i < len(prefix) else items if isinstance(items, dict) else None
            out.append(item if sub is None else self.convert(sub, item, depth + 1))
        return out

    def _stringified(self, options: list[Any]) -> bool:
        return self.spec.stringified_enums and any(json_type(o) not in self.spec.enum_types for o in options)

    def _scalar(self, node: dict[str, Any], value: Any) -> Any:
        if not self.spec.stringified_enums:
            return value
        options = node.get("enum") if "enum" in node else [node["const"]] if "const" in node else None
        if not isinstance(options, list) or not self._stringified(options):
            return value
        if self.restoring and isinstance(value, str):
            return next((o for o in options if _enum_text(o) == value), value)
        if not self.restoring and value in options:
            return _enum_text(value)
        return value

    def _fits(self, branch: Schema, value: Any) -> bool:
        """A shallow check choosing the union branch a value belongs to."""
        node = self._resolve(branch)
        if isinstance(node, bool):
            return node
        if self.spec.map_pairs and self._is_map(node):
            extra = node["additionalProperties"]
            if self.restoring and isinstance(value, list):
                return all(isinstance(p, dict) and self._fits(extra, p.get(PAIR_VALUE)) for p in value)
            if not self.restoring and isinstance(value, dict):
                return all(self._fits(extra, v) for v in value.values())
        options = node.get("enum") if "enum" in node else [node["const"]] if "const" in node else None
        if self.restoring and isinstance(options, list) and isinstance(value, str) and self._stringified(options):
            return value in options or value in [_enum_text(o) for o in options]
        kinds = node.get("type")
        if kinds is not None:
            allowed = kinds if isinstance(kinds, list) else [kinds]
            if not any(_is_type(value, k) for k in allowed):
                return False
        if isinstance(options, list) and value not in options:
            texts = [_enum_text(o) for o in options] if self._stringified(options) else []
            if value not in texts:
                return False
        if isinstance(value, dict):
            props: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
            if not self.restoring and not set(node.get("required") or ()) <= set(value):
                return False
            for key, sub in props.items():
                resolved = self._resolve(sub)
                has_options = isinstance(resolved, dict) and ("const" in resolved or "enum" in resolved)
                added_null = self.restoring and self.spec.added_nulls and value.get(key) is None
                if key in value and has_options and not added_null and not self._fits(resolved, value[key]):
                    return False
            if node.get("additionalProperties") is False and not set(value) <= set(props):
                return False
        for sub in node.get("anyOf") or node.get("oneOf") or ():
            if self._fits(sub, value):
                return True
        return not (node.get("anyOf") or node.get("oneOf"))


def _as_node(schema: Schema) -> dict[str, Any]:
    return schema if isinstance(schema, dict) else {}


def json_type(value: Any) -> str | None:
    """The JSON Schema type name of a decoded JSON value (`True` is a boolean, not an integer); None otherwise."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _enum_text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


# --- the walker ---------------------------------------------------------------------------------------------


class SchemaTransformer:
    """Walks a JSON Schema bottom-up, calling `transform(node, path)` on every subschema.

    Before the walk the root `$ref` is resolved (so no dialect can skip the root) and, when `inline_defs` is set,
    every non-recursive `$ref` is replaced by its definition. Subclasses record relaxations with `note`, mark
    things strict mode cannot express with `block_strict`, and declare value rewrites in `restore_spec`.
    """

    name: ClassVar[str] = "identity"
    inline_defs: ClassVar[bool] = False
    supports_refs: ClassVar[bool] = True
    supports_recursion: ClassVar[bool] = True

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.reasons: list[str] = []
        self.lossy = False
        self.strict_blockers: list[str] = []
        self.added_nulls = False
        self.map_pairs = False
        self.stringified_enums = False
        self.enum_types: tuple[str, ...] = ("string",)
        self.wrapper: str | None = None
        self.recursive_refs: set[str] = set()

    # --- hooks ---

    def transform(self, node: dict[str, Any], path: str) -> Schema:
        """One subschema (its children already transformed) in this dialect."""
        return node

    def transform_bool(self, value: bool, path: str) -> Schema:
        return value

    def finish(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The whole transformed schema, after the walk (root-level rules)."""
        return schema

    # --- recording ---

    def note(self, path: str, message: str, *, lossy: bool = False) -> None:
        text = f"{path or '/'}: {message}"
        if text not in self.reasons:
            self.reasons.append(text)
        self.lossy = self.lossy or lossy

    def block_strict(self, path: str, message: str) -> None:
        text = f"{path or '/'}: {message}"
        if text not in self.strict_blockers:
            self.strict_blockers.append(text)

    @property
    def restore_spec(self) -> RestoreSpec:
        return RestoreSpec(self.added_nulls, self.map_pairs, self.stringified_enums, self.wrapper, self.enum_types)

    # --- the walk ---

    def run(self, schema: dict[str, Any]) -> dict[str, Any]:
        work = resolve_root_ref(copy.deepcopy(schema))
        self.recursive_refs = recursive_refs(work)
        if self.inline_defs or not self.supports_refs:
            work = self._inline(work)
        if self.recursive_refs and not self.supports_recursion:
            names = ", ".join(sorted(self.recursive_refs))
            raise UnsupportedFeatureError(
                f"{self.name}: recursive schemas cannot be expressed in this dialect ({names})",
                feature="recursive_schema",
            )
        walked = self._walk(work, "")
        result = walked if isinstance(walked, dict) else {} if walked else {"not": {}}
        result = self.finish(result)
        missing = dangling_refs(result)
        if missing:
            raise UnsupportedFeatureError(
                f"{self.name}: schema has unresolvable $ref {', '.join(sorted(set(missing)))}",
                feature="schema_ref",
            )
        return result

    def _walk(self, node: Schema, path: str) -> Schema:
        if isinstance(node, bool):
            return self.transform_bool(node, path)
        out = dict(node)
        for key in SCHEMA_MAPS:
            value = node.get(key)
            if isinstance(value, dict):
                out[key] = {
                    name: self._walk(sub, f"{path}/{key}/{_escape(name)}") if isinstance(sub, dict | bool) else sub
                    for name, sub in value.items()
                }
        for key in ONE_SCHEMA:
            value = node.get(key)
            if isinstance(value, dict) or (isinstance(value, bool) and key != "additionalProperties"):
                out[key] = self._walk(value, f"{path}/{key}")
        for key in SCHEMA_LISTS:
            value = node.get(key)
            if isinstance(value, list):
                out[key] = [
                    self._walk(sub, f"{path}/{key}/{i}") if isinstance(sub, dict | bool) else sub
                    for i, sub in enumerate(value)
                ]
        return self.transform(out, path)

    def _inline(self, root: dict[str, Any]) -> dict[str, Any]:
        """Replace non-recursive local `$ref`s by their definitions; keep only definitions still referenced."""

        def expand(node: Schema, stack: tuple[str, ...]) -> Schema:
            if isinstance(node, bool):
                return node
            ref = node.get("$ref")
            if isinstance(ref, str) and ref != "#" and ref not in self.recursive_refs:
                target = resolve_ref(root, ref)
                if target is not None and ref not in stack:
                    siblings = {k: v for k, v in node.items() if k != "$ref"}
                    merged = copy.deepcopy(target)
                    if isinstance(merged, dict):
                        merged = {**merged, **siblings}
                    return expand(merged, (*stack, ref))
            out = dict(node)
            for key in SCHEMA_MAPS:
                if key in DEF_KEYS:
                    continue
                value = node.get(key)
                if isinstance(value, dict):
                    out[key] = {n: expand(s, stack) if isinstance(s, dict | bool) else s for n, s in value.items()}
            for key in ONE_SCHEMA:
                value = node.get(key)
                if isinstance(value, dict):
                    out[key] = expand(value, stack)
            for key in SCHEMA_LISTS:
                value = node.get(key)
                if isinstance(value, list):
                    out[key] = [expand(s, stack) if isinstance(s, dict | bool) else s for s in value]
            return out

        defs_by_key = {key: root.get(key) for key in DEF_KEYS if isinstance(root.get(key), dict)}
        body = {k: v for k, v in root.items() if k not in DEF_KEYS}
        expanded = expand(body, ())
        assert isinstance(expanded, dict)
        kept: dict[str, dict[str, Any]] = {}
        for key, defs in defs_by_key.items():
            assert isinstance(defs, dict)
            for name, target in defs.items():
                if f"#/{key}/{_escape(name)}" in self.recursive_refs:
                    kept.setdefault(key, {})[name] = expand(target, (f"#/{key}/{_escape(name)}",))
        return {**expanded, **kept}


def resolve_root_ref(schema: dict[str, Any]) -> dict[str, Any]:
    """A root `{"$ref": "#/$defs/X", "$defs": …}` becomes X's body at the root; X stays defined if referenced."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target = resolve_ref(schema, ref) if ref != "#" else None
    if not isinstance(target, dict):
        return schema
    key_name = local_ref_name(ref)
    assert key_name is not None
    siblings = {k: v for k, v in schema.items() if k != "$ref" and k not in DEF_KEYS}
    body = {k: v for k, v in copy.deepcopy(target).items() if k not in DEF_KEYS}
    merged: dict[str, Any] = {**body, **siblings}
    for key in DEF_KEYS:
        if isinstance(schema.get(key), dict):
            merged[key] = dict(schema[key])
    still_used = any(node.get("$ref") == ref for _, node in iter_nodes(merged))
    if not still_used:
        defs = merged[key_name[0]]
        defs.pop(key_name[1], None)
        if not defs:
            merged.pop(key_name[0])
    return merged


def recursive_refs(schema: dict[str, Any]) -> set[str]:
    """The local `$ref`s that lie on a cycle (a definition reachable from itself, or `#`)."""
    graph: dict[str, set[str]] = {}

    def refs_in(node: Schema) -> set[str]:
        found = set()
        for _, sub in iter_nodes(node):
            ref = sub.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
        return found

    root_body = {k: v for k, v in schema.items() if k not in DEF_KEYS}
    graph["#"] = refs_in(root_body)
    for key in DEF_KEYS:
        defs = schema.get(key)
        if isinstance(defs, dict):
            for name, target in defs.items():
                graph[f"#/{key}/{_escape(name)}"] = refs_in(target) if isinstance(target, dict) else set()
    cyclic: set[str] = set()
    for start in graph:
        stack, seen = list(graph.get(start, ())), set()
        while stack:
            current = stack.pop()
            if current == start:
                cyclic.add(start)
                break
            if current in seen:
                continue
            seen.add(current)
            stack.extend(graph.get(current, ()))
    return cyclic


def build_plan(
    schema: dict[str, Any],
    make: Callable[[bool], SchemaTransformer],
    *,
    strict: bool,
    dialect: str,
    strict_fallback: Literal["non-strict", "keep"] = "non-strict",
) -> SchemaPlan:
    """Run a dialect's transformer; when strict was asked for but cannot hold, run it again non-strict and say why."""
    first = make(strict)
    transformed = first.run(schema)
    used = first
    if strict and first.strict_blockers:
        used = make(False)
        transformed = used.run(schema)
        used.reasons = [
            *(f"{b} (strict not applied)" for b in first.strict_blockers),
            *used.reasons,
        ]
    return SchemaPlan(
        dialect=dialect,
        original=schema,
        transformed=transformed,
        strict_requested=strict,
        strict_applied=strict and not first.strict_blockers,
        lossy=used.lossy,
        reasons=used.reasons,
        restore_spec=used.restore_spec,
    )
