"""Hypothesis strategies for the schema fuzzing: JSON Schemas (every keyword family) and pydantic models."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated, Any, Literal, Optional

from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

Schema = dict[str, Any]

PROPERTY_NAMES = ("id", "name", "value", "items", "kind", "count", "tags", "note", "score", "when", "child")
FORMATS = ("date-time", "date", "time", "email", "uuid", "ipv4", "ipv6", "hostname", "uri", "duration")
PATTERNS = ("^[a-z]+$", "^[A-Z][a-z]*$", "^[0-9]{2,4}$", "[a-z]")
_names = st.sampled_from(PROPERTY_NAMES)


def _annotated(base: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    """`base` with optional description, title, examples and default (annotations that validate nothing)."""
    return st.tuples(
        base,
        st.fixed_dictionaries(
            {},
            optional={
                "description": st.sampled_from(["A field.", "The value, in units.", "Ünïcode (with) parens"]),
                "title": st.sampled_from(["Field", "Value"]),
                "examples": st.just(["example"]),
                "default": st.sampled_from([None, 0, "x"]),
            },
        ),
    ).map(lambda pair: {**pair[0], **pair[1]})


def strings() -> st.SearchStrategy[Schema]:
    plain = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(5, 20),
            "pattern": st.sampled_from(PATTERNS),
        },
    )
    formatted = st.fixed_dictionaries({"type": st.just("string"), "format": st.sampled_from(FORMATS)})
    return plain | formatted


def integers() -> st.SearchStrategy[Schema]:
    return st.fixed_dictionaries(
        {"type": st.just("integer")},
        optional={
            "minimum": st.integers(-10, 0),
            "maximum": st.integers(10, 1000),
            "multipleOf": st.sampled_from([1, 2, 5]),
            "exclusiveMinimum": st.integers(-20, -11),
        },
    )


def numbers() -> st.SearchStrategy[Schema]:
    return st.fixed_dictionaries(
        {"type": st.just("number")},
        optional={"minimum": st.sampled_from([-1.5, 0]), "maximum": st.sampled_from([10, 99.5])},
    )


def enums() -> st.SearchStrategy[Schema]:
    strings_enum = st.lists(st.sampled_from(["a", "b", "c", "d e"]), min_size=1, max_size=4, unique=True).map(
        lambda v: {"type": "string", "enum": v}
    )
    int_enum = st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True).map(
        lambda v: {"type": "integer", "enum": v}
    )
    mixed = st.just({"enum": [1, "one", True, None]})
    const = st.sampled_from(["fixed", 3, True]).map(lambda v: {"const": v})
    return strings_enum | int_enum | mixed | const


def leaves() -> st.SearchStrategy[Schema]:
    simple = st.sampled_from([{"type": "boolean"}, {"type": "null"}])
    return _annotated(strings() | integers() | numbers() | enums() | simple)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    return (
        objects(children)
        | arrays(children)
        | tuples(children)
        | unions(children)
        | nullables(children)
        | maps(children)
        | discriminated(children)
    )


def objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    @st.composite
    def build(draw: st.DrawFn) -> Schema:
        props = draw(st.dictionaries(_names, children, max_size=4))
        node: Schema = {"type": "object", "properties": props}
        if props:
            node["required"] = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
        extra = draw(st.sampled_from(["absent", "false", "true", "schema"]))
        if extra == "false":
            node["additionalProperties"] = False
        elif extra == "true":
            node["additionalProperties"] = True
        elif extra == "schema":
            node["additionalProperties"] = draw(leaves())
        return node

    return build()


def arrays(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    bounded = st.tuples(children, st.integers(0, 2), st.integers(2, 4)).map(
        lambda t: {"type": "array", "items": t[0], "minItems": t[1], "maxItems": t[2]}
    )
    bare = st.just({"type": "array"})
    return bounded | children.map(lambda c: {"type": "array", "items": c, "uniqueItems": True}) | bare


def tuples(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    return st.tuples(st.lists(children, min_size=1, max_size=3), st.booleans()).map(
        lambda t: {"type": "array", "prefixItems": t[0], **({"items": False} if t[1] else {})}
    )


def unions(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    return st.lists(children, min_size=2, max_size=3).map(lambda branches: {"anyOf": branches})


def nullables(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    as_union = children.map(lambda c: {"anyOf": [c, {"type": "null"}]})
    as_type_list = st.sampled_from(["string", "integer", "number", "boolean"]).map(lambda t: {"type": [t, "null"]})
    return as_union | as_type_list


def maps(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    """`dict[str, X]`: an object whose only rule is a schema-valued additionalProperties."""
    return children.map(lambda c: {"type": "object", "additionalProperties": c})


def discriminated(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    @st.composite
    def build(draw: st.DrawFn) -> Schema:
        kinds = draw(st.lists(st.sampled_from(["cat", "dog", "fish"]), min_size=2, max_size=3, unique=True))
        branches = []
        for kind in kinds:
            extra = draw(st.dictionaries(st.sampled_from(["name", "size"]), children, max_size=2))
            branches.append(
                {
                    "type": "object",
                    "properties": {"kind": {"type": "string", "const": kind}, **extra},
                    "required": ["kind"],
                }
            )
        return {"oneOf": branches, "discriminator": {"propertyName": "kind"}}

    return build()


def subschemas(max_leaves: int = 8) -> st.SearchStrategy[Schema]:
    return st.recursive(leaves(), _extend, max_leaves=max_leaves)


@st.composite
def _with_defs(draw: st.DrawFn) -> Schema:
    """A root object using `$defs` through `$ref` (with and without sibling keywords)."""
    defs = {f"D{i}": draw(objects(subschemas(4))) for i in range(draw(st.integers(1, 2)))}
    props: Schema = {}
    for i, name in enumerate(sorted(defs)):
        ref: Schema = {"$ref": f"#/$defs/{name}"}
        if draw(st.booleans()):
            ref["description"] = f"Reference number {i}."
        props[f"ref{i}"] = draw(st.sampled_from([ref, {"type": "array", "items": {"$ref": f"#/$defs/{name}"}}]))
    return {"type": "object", "properties": props, "required": sorted(props)[:1], "$defs": defs}


@st.composite
def _recursive(draw: st.DrawFn) -> Schema:
    """A self-referencing definition: a tree (children array) or a linked list (nullable next); root `$ref` or not."""
    label = draw(leaves())
    if draw(st.booleans()):
        link: Schema = {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    else:
        link = {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}
    node = {"type": "object", "properties": {"label": label, "next": link}, "required": ["label"]}
    if draw(st.booleans()):
        return {"$defs": {"Node": node}, "$ref": "#/$defs/Node"}
    return {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "required": ["root"],
        "$defs": {"Node": node},
    }


def json_schemas() -> st.SearchStrategy[Schema]:
    """Root JSON Schemas of every shape the dialects must handle (object roots, defs, recursion, non-object roots)."""
    return (
        objects(subschemas()) | _with_defs() | _recursive() | subschemas(4).filter(lambda s: s.get("type") != "object")
    )


def object_schemas() -> st.SearchStrategy[Schema]:
    """Roots usable as tool parameters (type object, or a root `$ref` to an object)."""
    return objects(subschemas()) | _with_defs() | _recursive()


def closed(schema: Schema) -> Schema:
    """`schema` with every object lacking `additionalProperties` closed (accord's documented reading of pydantic)."""

    def close(node: Any) -> Any:
        if isinstance(node, list):
            return [close(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: close(v) if k not in ("enum", "const", "default", "examples") else v for k, v in node.items()}
        if (out.get("type") == "object" or "properties" in out) and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out

    result = close(schema)
    assert isinstance(result, dict)
    return result


# --- pydantic models ----------------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Leaf(BaseModel):
    """A nested model."""

    label: str
    weight: float = 1.0


FIELD_TYPES: tuple[Any, ...] = (
    int,
    str,
    float,
    bool,
    Optional[int],  # noqa: UP045 - the Optional spelling is what users write
    list[str],
    dict[str, int],
    Literal["a", "b"],
    Color,
    Level,
    dt.datetime,
    dt.date,
    uuid.UUID,
    Leaf,
    list[Leaf],
    Optional[Leaf],  # noqa: UP045
    Annotated[int, Field(ge=0, le=10)],
    Annotated[str, Field(min_length=1, max_length=8, pattern="^[a-z]+$")],
    tuple[int, str],
)


@st.composite
def pydantic_models(draw: st.DrawFn) -> type[BaseModel]:
    """A pydantic model with 1-5 fields of the types users write (required, optional, defaults)."""
    names = draw(st.lists(st.sampled_from(PROPERTY_NAMES), min_size=1, max_size=5, unique=True))
    fields: dict[str, Any] = {}
    for name in names:
        kind = draw(st.sampled_from(FIELD_TYPES))
        if draw(st.booleans()):
            fields[name] = (kind, ...)
        else:
            fields[name] = (Optional[kind], None)  # noqa: UP045
    return create_model("Generated", **fields)


# --- instances ----------------------------------------------------------------------------------------------
# hypothesis-jsonschema 0.23.1 fails on object schemas with current Hypothesis (`'many' object has no attribute
# 'more'`) and cannot do recursion, so instances come from this generator for the keyword families above.

_FORMAT_VALUES: dict[str, st.SearchStrategy[str]] = {
    "date-time": st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat()),
    "date": st.dates().map(lambda d: d.isoformat()),
    "time": st.times().map(lambda t: t.replace(microsecond=0).isoformat() + "Z"),
    "email": st.emails(),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
    "hostname": st.from_regex(r"\A[a-z]{1,10}(\.[a-z]{2,5})?\Z"),
    "uri": st.sampled_from(["https://example.com/", "urn:isbn:0451450523", "http://a.b/c?d=e"]),
    "duration": st.sampled_from(["P1D", "PT1H30M", "P2W"]),
}
_ANY_SCALAR = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)


def instances(schema: Schema, *, max_depth: int = 3) -> st.SearchStrategy[Any]:
    """Values valid under `schema` (for the keywords these strategies emit); recursion stops after `max_depth`."""
    root = schema

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            target = root if ref == "#" else root.get(ref.split("/")[1], {}).get(ref.split("/")[-1])
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def refs_deep(node: Any) -> bool:
        return isinstance(node, dict) and "$ref" in node

    def gen(node: Any, depth: int) -> st.SearchStrategy[Any]:
        if node is True:
            return _ANY_SCALAR
        if node is False:
            return st.nothing()
        if refs_deep(node) and depth >= max_depth:
            return st.nothing()
        node = resolve(node)
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        for key in ("anyOf", "oneOf"):
            if key in node:
                branches = [b for b in node[key] if not (refs_deep(b) and depth + 1 >= max_depth)]
                rest = {k: v for k, v in node.items() if k not in (key, "discriminator")}
                return st.one_of([gen({**resolve(b), **rest} if rest else b, depth + 1) for b in branches])
        kind = node.get("type")
        if isinstance(kind, list):
            return st.one_of([gen({**node, "type": k}, depth) for k in kind])
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low = node.get("minimum", -100)
            if "exclusiveMinimum" in node:
                low = max(low, node["exclusiveMinimum"] + 1)
            high = node.get("maximum", 1000)
            step = node.get("multipleOf", 1)
            return st.integers(-(-low // step), high // step).map(lambda n: n * step)
        if kind == "number":
            return st.floats(node.get("minimum", -1e6), node.get("maximum", 1e6), allow_nan=False)
        if kind == "string":
            return _strings(node)
        if kind == "array" or "items" in node or "prefixItems" in node:
            return _arrays(node, depth)
        if kind == "object" or "properties" in node or "additionalProperties" in node:
            return _objects(node, depth)
        return _ANY_SCALAR

    def _strings(node: Schema) -> st.SearchStrategy[str]:
        low, high = node.get("minLength", 0), node.get("maxLength", 20)
        if node.get("format") in _FORMAT_VALUES:
            base = _FORMAT_VALUES[node["format"]]
        elif "pattern" in node:
            pattern: str = node["pattern"]
            base = st.from_regex(pattern, fullmatch=pattern.startswith("^"))
        else:
            return st.text(min_size=low, max_size=high)
        return base.filter(lambda s: low <= len(s) <= high)

    def _arrays(node: Schema, depth: int) -> st.SearchStrategy[list[Any]]:
        prefix = node.get("prefixItems") or []
        items = node.get("items", True)
        head = st.tuples(*[gen(p, depth + 1) for p in prefix]).map(list)
        low = max(node.get("minItems", 0) - len(prefix), 0)
        high = node.get("maxItems", len(prefix) + 3) - len(prefix)
        if items is False or (refs_deep(items) and depth + 1 >= max_depth):
            high = 0
        tail_items = gen(items, depth + 1) if high > 0 else st.nothing()
        unique = node.get("uniqueItems", False)
        tail = st.lists(tail_items, min_size=low, max_size=max(high, low), unique_by=_key if unique else None)
        if high <= 0:
            tail = st.just([]) if low == 0 else st.nothing()
        return st.tuples(head, tail).map(lambda t: t[0] + t[1])

    def _objects(node: Schema, depth: int) -> st.SearchStrategy[dict[str, Any]]:
        props = node.get("properties") or {}
        required = set(node.get("required") or ())
        fixed = {k: gen(v, depth + 1) for k, v in props.items() if k in required}
        optional = {
            k: gen(v, depth + 1)
            for k, v in props.items()
            if k not in required and not (refs_deep(v) and depth + 1 >= max_depth)
        }
        extra = node.get("additionalProperties")
        extras: st.SearchStrategy[dict[str, Any]] = st.just({})
        if isinstance(extra, dict) or extra is True:
            key = st.text("xyz", min_size=1, max_size=3).map(lambda s: f"extra_{s}")
            extras = st.dictionaries(key, gen(extra, depth + 1), max_size=2)
        return st.tuples(st.fixed_dictionaries(fixed, optional=optional), extras).map(lambda t: {**t[1], **t[0]})

    return gen(schema, 0)


def _key(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


# --- comparing instances ------------------------------------------------------------------------------------


def as_json_schema(schema: Schema) -> Schema:
    """OpenAPI `nullable: true` read as JSON Schema (jsonschema does not know the keyword)."""

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: convert(v) if k not in ("enum", "const") else v for k, v in node.items()}
        if out.pop("nullable", False):
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
                if "enum" in out:
                    out["enum"] = [*out["enum"], None]
            elif "anyOf" in out:
                out["anyOf"] = [*out["anyOf"], {"type": "null"}]
        return out

    converted = convert(schema)
    assert isinstance(converted, dict)
    return converted


def same_but_added_nulls(restored: Any, instance: Any) -> bool:
    """Equal, except that `restored` may hold `null` for keys `instance` omits (nullable optional properties)."""
    if isinstance(restored, dict) and isinstance(instance, dict):
        extra = set(restored) - set(instance)
        if any(restored[k] is not None for k in extra) or set(instance) - set(restored):
            return False
        return all(same_but_added_nulls(restored[k], instance[k]) for k in instance)
    if isinstance(restored, list) and isinstance(instance, list):
        return len(restored) == len(instance) and all(map(same_but_added_nulls, restored, instance))
    return bool(restored == instance and type(restored) is type(instance))
