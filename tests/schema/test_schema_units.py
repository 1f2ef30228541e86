"""Unit cases for the walker, the dialect rules and the vendor-rule checkers (each checker must catch violations)."""

from __future__ import annotations

from typing import Any

import pytest

from accord.adapters import plan_schema
from accord.adapters._dialects._common import count_keys, name_chars, nesting_depth, relocated_description
from accord.conformance.dialect_rules import check_dialect
from accord.contracts.schema import (
    RestoreSpec,
    SchemaPlan,
    SchemaTransformer,
    accepts_null,
    build_plan,
    children,
    json_type,
    local_ref_name,
    recursive_refs,
    resolve_root_ref,
)


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props)}


def test_all_of_is_merged_where_the_dialect_lacks_it() -> None:
    schema = {
        "type": "object",
        "allOf": [obj(a={"type": "string"}), {"properties": {"b": {"type": "integer"}}, "required": ["b"]}],
    }
    plan = plan_schema(schema, "databricks", strict=False)
    assert set(plan.transformed["properties"]) == {"a", "b"}
    assert plan.transformed["required"] == ["a", "b"]
    assert any("allOf merged" in r for r in plan.reasons)
    conflicting = {"type": "object", "allOf": [{"type": "string"}, {"$ref": "#/$defs/X"}], "$defs": {"X": obj()}}
    plan = plan_schema(conflicting, "databricks", strict=False)
    assert plan.lossy


def test_type_lists_per_dialect() -> None:
    schema = obj(x={"type": ["string", "integer", "null"]}, y={"type": ["integer", "string"]})
    gemini_openapi = plan_schema(schema, "gemini-openapi").transformed["properties"]
    assert gemini_openapi["x"] == {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}
    databricks = plan_schema(schema, "databricks", strict=False)
    assert "type" not in databricks.transformed["properties"]["y"]
    assert databricks.lossy
    assert plan_schema(obj(z={"type": ["integer"]}), "gemini-openapi").transformed["properties"]["z"] == {
        "type": "integer"
    }


def test_unions_in_databricks() -> None:
    schema = obj(
        a={"anyOf": [{"type": "string"}, {"type": "integer"}]},
        b={"anyOf": [{"enum": ["x"]}, {"type": "null"}]},
        c={"oneOf": [{"type": "string"}]},
        d={"anyOf": [{"anyOf": [{"type": "string"}]}, {"type": "null"}]},
    )
    plan = plan_schema(schema, "databricks", strict=True)
    props = plan.transformed["properties"]
    assert props["b"]["enum"] == ["x", None]
    assert props["c"] == {"type": "string"}
    assert not plan.strict_applied
    assert check_dialect("databricks", plan.transformed, strict=False) == []


def test_enum_with_objects_is_lossy() -> None:
    plan = plan_schema(obj(e={"enum": [{"a": 1}, "x"]}), "gemini")
    assert "enum" not in plan.transformed["properties"]["e"]
    assert plan.lossy


def test_nullable_forms_under_strict() -> None:
    schema = {
        "type": "object",
        "properties": {
            "r": {"$ref": "#/$defs/X"},
            "c": {"const": "k", "type": "string"},
            "e": {"enum": ["a"]},
            "u": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "l": {"type": ["string", "integer"]},
        },
        "$defs": {"X": obj(v={"type": "string"})},
    }
    plan = plan_schema(schema, "openai", strict=True)
    props = plan.transformed["properties"]
    assert props["r"] == {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}
    assert props["c"] == {"type": ["string", "null"], "enum": ["k", None]}
    assert props["e"]["enum"] == ["a", None]
    assert props["u"]["anyOf"][-1] == {"type": "null"}
    assert props["l"]["type"] == ["string", "integer", "null"]
    assert plan.restore({"r": None, "c": None, "e": None, "u": None, "l": None}) == {}
    assert check_dialect("openai", plan.transformed) == []


def test_tuples_and_limits() -> None:
    tup = obj(t={"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False})
    plan = plan_schema(tup, "openai", strict=True)
    assert not plan.strict_applied
    relaxed = plan_schema(tup, "gemini-openapi").transformed["properties"]["t"]
    assert relaxed["minItems"] == relaxed["maxItems"] == 2
    assert relaxed["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(11):
        deep = obj(n=deep)
    assert nesting_depth(deep) == 11
    assert not plan_schema(deep, "openai", strict=True).strict_applied
    many = obj(e={"type": "integer", "enum": list(range(1001))})
    assert not plan_schema(many, "openai", strict=True).strict_applied


def test_openai_size_budget_counts_names_definitions_enums_and_consts() -> None:
    schema = {
        "type": "object",
        "properties": {"ab": {"enum": ["xyz", 12]}, "c": {"const": "four"}, "d": {"$ref": "#/$defs/Node"}},
        "required": ["ab", "c", "d"],
        "$defs": {"Node": obj(leaf={"type": "string"})},
    }
    # names ab, c, d, leaf (2 + 1 + 1 + 4) + definition Node (4) + enum xyz, 12 (3 + 2) + const four (4) = 21
    assert name_chars(schema) == 21

    # 10 enums of 100 values of 121 characters: under the enum-count limit, over the 120,000-character budget.
    def enums(width: int) -> dict[str, Any]:
        return obj(
            **{f"e{k}": {"type": "string", "enum": [f"{k}{i:0{width - 1}d}" for i in range(100)]} for k in range(10)}
        )

    plan = plan_schema(enums(121), "openai", strict=True)
    assert not plan.strict_applied
    assert any("120000" in r for r in plan.reasons)
    assert plan_schema(enums(119), "openai", strict=True).strict_applied  # 119,000 + 20 name characters


def test_openai_large_string_enums_have_their_own_character_limit() -> None:
    # More than 250 values: at most 15,000 characters in that enum. 251 x 60 = 15,060; 251 x 59 = 14,809.
    over = plan_schema(obj(e={"type": "string", "enum": [f"{i:060d}" for i in range(251)]}), "openai", strict=True)
    assert not over.strict_applied
    assert any("251-value string enum" in r for r in over.reasons)
    under = obj(e={"type": "string", "enum": [f"{i:059d}" for i in range(251)]})
    assert plan_schema(under, "openai", strict=True).strict_applied
    short = obj(e={"type": "string", "enum": [f"{i:0100d}" for i in range(250)]})  # 250 values: no such limit
    assert plan_schema(short, "openai", strict=True).strict_applied


def test_strict_blockers_name_themselves() -> None:
    open_object = obj(o={"type": "object", "additionalProperties": True})
    plan = plan_schema(open_object, "openai", strict=True)
    assert any("additionalProperties: true" in r and "strict not applied" in r for r in plan.reasons)
    boolean = obj(b=True)
    assert not plan_schema(boolean, "anthropic", strict=True).strict_applied
    lookaround = obj(p={"type": "string", "pattern": "^(?!x).*$"})
    moved = plan_schema(lookaround, "openai", strict=True).transformed["properties"]["p"]
    assert "pattern" not in moved
    ollama = plan_schema(obj(n={"type": "number", "minimum": 1}, p={"type": "string", "pattern": "[a-z]"}), "ollama")
    assert "minimum" not in ollama.transformed["properties"]["n"]
    assert "pattern" not in ollama.transformed["properties"]["p"]


def test_gemini_openapi_open_objects_and_booleans() -> None:
    schema = obj(o={"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True}, f=False)
    plan = plan_schema(schema, "gemini-openapi")
    assert "additionalProperties" not in plan.transformed["properties"]["o"]
    assert plan.transformed["properties"]["f"] == {}
    assert plan.lossy


def test_wrapper_and_restore_edge_cases() -> None:
    plan = plan_schema({"type": "array", "items": {"type": "integer"}}, "openai", strict=True)
    assert plan.restore_spec.wrapper == "response"
    assert plan.restore({"response": [1]}) == [1]
    assert plan.restore([1]) == [1]  # not wrapped: left as it is
    assert plan.encode([1]) == {"response": [1]}
    identity = SchemaPlan(dialect="x", original={}, transformed={}, strict_requested=False, strict_applied=False)
    assert identity.restore({"a": 1}) == {"a": 1}
    assert identity.encode({"a": 1}) == {"a": 1}
    assert RestoreSpec().identity


def test_walker_helpers() -> None:
    schema = {"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}
    assert recursive_refs(schema) == {"#/$defs/A", "#/$defs/B"}
    assert local_ref_name("#/definitions/x~1y") == ("definitions", "x/y")
    assert local_ref_name("http://x") is None
    assert resolve_root_ref({"$ref": "#"}) == {"$ref": "#"}
    assert resolve_root_ref({"$ref": "#/$defs/X", "$defs": {"X": obj()}}) == obj()
    paths = [p for p, _ in children({"not": {}, "items": [{}, True], "properties": {"a/b": {}}})]
    assert paths == ["/properties/a~1b", "/not", "/items/0", "/items/1"]
    assert accepts_null({"$ref": "#/$defs/N"}, {"$defs": {"N": {"type": "null"}}})
    assert not accepts_null({"not": {}})
    assert accepts_null(True)
    assert count_keys(obj(a={}, b=obj(c={}))) == 3
    assert relocated_description(None, {"b": 1, "a": "x"}) == '(a="x", b=1)'


def test_identity_transformer_and_external_refs() -> None:
    plan = build_plan(obj(a={"type": "string"}), lambda s: SchemaTransformer(strict=s), strict=True, dialect="id")
    assert plan.transformed == obj(a={"type": "string"})
    assert plan.strict_applied
    with pytest.raises(Exception, match="unresolvable"):
        plan_schema(obj(a={"$ref": "https://example.com/s.json"}), "openai")


BAD: dict[str, list[dict[str, Any]]] = {
    "openai": [
        {"type": "array"},
        {"type": "object", "properties": {"a": {"type": "string"}}},
        obj(a={"type": "string", "format": "uri"}) | {"additionalProperties": False},
        obj(a={"allOf": []}) | {"additionalProperties": False},
        obj(a={"$ref": "#/$defs/X", "description": "d"}) | {"additionalProperties": False},
    ],
    "anthropic": [
        obj(a={"type": "integer", "minimum": 1}) | {"additionalProperties": False},
        obj(a={"type": "array", "items": {"type": "string"}, "minItems": 2}) | {"additionalProperties": False},
        obj(a={"type": "string", "pattern": "\\bx"}) | {"additionalProperties": False},
        {"type": "object", "properties": {"n": {"$ref": "#"}}, "additionalProperties": False},
    ],
    "bedrock": [obj(a={"type": "integer", "maximum": 1}) | {"additionalProperties": False}],
    "gemini": [obj(a={"type": "string", "pattern": "x"}), obj(a={"enum": [True]}), obj(a={"$ref": "#", "x": 1})],
    "gemini-openapi": [obj(a={"type": ["string", "null"]}), obj(a={"enum": [1]}), obj(a=True)],
    "databricks": [
        obj(a={"anyOf": []}),
        obj(a={"type": ["string", "integer"]}),
        obj(**{f"k{i}": {} for i in range(65)}),
    ],
    "ollama": [
        obj(a={"type": "string", "pattern": "x"}),
        obj(a={"type": "number", "minimum": 1}),
        obj(a={"type": "string", "format": "email"}),
        {"type": "object", "properties": {}, "anyOf": [], "uniqueItems": True},
        {"$defs": {"A": {"$ref": "#/$defs/A"}}},
    ],
    "mistral": [{"type": "object", "properties": {"a": {}}}],
    "groq": [{"type": "string"}],
}


@pytest.mark.parametrize(("dialect", "schema"), [(d, s) for d, schemas in BAD.items() for s in schemas])
def test_checkers_catch_documented_violations(dialect: str, schema: dict[str, Any]) -> None:
    assert check_dialect(dialect, schema) != []


def test_checkers_accept_good_schemas_and_know_their_dialects() -> None:
    good = obj(a={"type": "string"}) | {"additionalProperties": False}
    for dialect in BAD:
        expected = good if dialect != "gemini-openapi" else obj(a={"type": "string"})
        assert check_dialect(dialect, expected) == [], dialect
    assert check_dialect("openai", {"type": "object", "properties": {}}, strict=False) == []
    assert check_dialect("anthropic", {"type": "object"}, strict=False) == []
    assert check_dialect("bedrock", {"type": "object"}, strict=False) == []
    with pytest.raises(KeyError):
        check_dialect("nope", {})


def test_a_map_next_to_an_array_in_a_union_says_that_empty_values_are_ambiguous() -> None:
    schema = obj(m={"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "array"}]})
    plan = plan_schema(schema, "gemini-openapi", strict=False)
    assert plan.lossy
    assert any("both travel as []" in r for r in plan.reasons)
    assert plan.restore(plan.encode({"m": []})) == {"m": []}
    assert plan.restore(plan.encode({"m": {"a": "b"}})) == {"m": {"a": "b"}}
    assert plan.restore(plan.encode({"m": {}})) == {"m": []}  # the documented loss
    # Alone (or next to null) a map is never ambiguous: {} comes back as {}.
    alone = plan_schema(obj(m={"anyOf": [{"type": "object", "additionalProperties": {}}, {"type": "null"}]}), "gemini")
    assert not any("both travel as []" in r for r in alone.reasons)
    assert alone.restore(alone.encode({"m": {}})) == {"m": {}}


@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, "null"), (True, "boolean"), (3, "integer"), (2.5, "number"), ("x", "string"), ([], "array"),
     ({}, "object"), (b"raw", None), ((1, 2), None)],
)  # fmt: skip
def test_json_type_names_decoded_json_values_only(value: object, kind: str | None) -> None:
    assert json_type(value) == kind
