"""One regression test per schema pitfall of schema_rules.md §7 (numbers in the test names)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel, Field

from accord.adapters import dialects, plan_schema
from accord.adapters._dialects._common import count_keys
from accord.adapters._toolnames import TOOL_NAME_RULES, sanitize_names
from accord.conformance.dialect_rules import check_dialect
from accord.contracts import ConfigurationError, UnsupportedFeatureError
from accord.contracts.schema import dangling_refs


class Scores(BaseModel):
    scores: dict[str, int]


class Node(BaseModel):
    value: int
    children: list[Node] = []


def test_p01_map_fields_are_never_clobbered() -> None:
    schema = Scores.model_json_schema()
    for dialect in ("openai", "anthropic", "bedrock", "mistral", "groq"):
        plan = plan_schema(schema, dialect, strict=True)
        field = plan.transformed["properties"]["scores"]
        assert field["type"] == "array", dialect  # the lossless pairs form, never a closed empty object
        assert any("map" in r and "/properties/scores" in r for r in plan.reasons)
        assert plan.restore({"scores": [{"key": "a", "value": 1}]}) == {"scores": {"a": 1}}
    mixed = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}}
    plan = plan_schema(mixed, "openai", strict=True)
    assert not plan.strict_applied
    assert plan.transformed["additionalProperties"] == {"type": "integer"}
    assert any("additionalProperties" in r for r in plan.reasons)


@pytest.mark.parametrize("dialect", dialects())
def test_p02_root_ref_is_transformed(dialect: str) -> None:
    schema = Node.model_json_schema()
    assert "$ref" in schema
    if dialect in ("databricks", "gemini-openapi"):
        with pytest.raises(UnsupportedFeatureError, match="recursive"):
            plan_schema(schema, dialect, strict=True)
        return
    plan = plan_schema(schema, dialect, strict=True)
    assert plan.transformed.get("type") == "object"
    assert "$ref" not in plan.transformed
    assert dangling_refs(plan.transformed) == []


@pytest.mark.parametrize("dialect", dialects())
def test_p03_nullability_is_kept(dialect: str) -> None:
    schema = {"type": "object", "properties": {"x": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}
    plan = plan_schema(schema, dialect, strict=True)
    x = plan.transformed["properties"]["x"]
    text = json.dumps(x)
    assert "null" in text or x.get("nullable") is True


def test_p04_optional_fields_become_nullable_and_restore_drops_nulls() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    plan = plan_schema(schema, "openai", strict=True)
    assert plan.transformed["required"] == ["a", "b"]
    assert plan.transformed["properties"]["b"]["type"] == ["integer", "null"]
    assert plan.restore({"a": "x", "b": None}) == {"a": "x"}
    assert plan.encode({"a": "x"}) == {"a": "x", "b": None}


def test_p05_capability_checks_run_on_the_transformed_schema() -> None:
    # Optional[X] is an anyOf in the original; Databricks turns it into a type list, so it is compatible.
    schema = {"type": "object", "properties": {"x": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}
    plan = plan_schema(schema, "databricks", strict=True)
    assert plan.strict_applied
    assert check_dialect("databricks", plan.transformed) == []


def test_p06_one_key_counter() -> None:
    class Inner(BaseModel):
        a: int
        b: int

    class Outer(BaseModel):
        one: Inner
        two: Inner

    inlined = plan_schema(Outer.model_json_schema(), "databricks", strict=True).transformed
    assert count_keys(inlined) == 2 + 2 + 2
    over = {"type": "object", "properties": {f"k{i}": {"type": "string"} for i in range(65)}}
    plan = plan_schema(over, "databricks", strict=True)
    assert not plan.strict_applied
    assert any("65 keys" in r for r in plan.reasons)


@pytest.mark.parametrize("dialect", ["openai", "anthropic", "bedrock", "gemini", "ollama", "mistral", "groq"])
def test_p07_no_dangling_refs(dialect: str) -> None:
    for strict in (True, False):
        plan = plan_schema(Node.model_json_schema(), dialect, strict=strict)
        assert dangling_refs(plan.transformed) == []
    with pytest.raises(UnsupportedFeatureError, match="unresolvable"):
        plan_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}, "openai", strict=True)


def test_p08_relocated_text_is_byte_identical_across_processes() -> None:
    script = (
        "import json; from accord.adapters import plan_schema;"
        "s={'type':'object','properties':{'n':{'type':'integer','minimum':0,'maximum':150,'multipleOf':5}},"
        "'required':['n']};"
        "print(json.dumps(plan_schema(s,'anthropic',strict=True).transformed))"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True).stdout)
    assert len(outputs) == 1
    assert "(maximum=150, minimum=0, multipleOf=5)" in outputs.pop()


def test_p09_constraints_do_not_disable_strict() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "minLength": 2}}, "required": ["s"]}
    plan = plan_schema(schema, "openai", strict=True)
    assert plan.strict_applied
    assert plan.transformed["properties"]["s"]["description"] == "(minLength=2)"
    assert plan.lossy


def test_p10_title_alone_does_not_disable_strict() -> None:
    schema = {"title": "T", "type": "object", "properties": {"a": {"title": "A", "type": "string"}}, "required": ["a"]}
    for dialect in ("openai", "databricks", "anthropic"):
        plan = plan_schema(schema, dialect, strict=True)
        assert plan.strict_applied
        assert not plan.lossy
        assert "title" not in json.dumps(plan.transformed)


def test_p11_default_dropped_under_strict_with_a_reason() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "default": 3}}, "required": ["a"]}
    plan = plan_schema(schema, "openai", strict=True)
    assert "default" not in plan.transformed["properties"]["a"]
    assert any("default" in r for r in plan.reasons)
    assert plan_schema(schema, "openai", strict=False).transformed == schema


def test_p12_ref_siblings() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A", "description": "the a"}},
        "required": ["a"],
        "$defs": {"A": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}},
    }
    openai = plan_schema(schema, "openai", strict=True).transformed["properties"]["a"]
    assert openai == {"anyOf": [{"$ref": "#/$defs/A"}], "description": "the a"}
    anthropic = plan_schema(schema, "anthropic", strict=True)
    assert anthropic.transformed["properties"]["a"] == {"$ref": "#/$defs/A"}
    assert any("description next to $ref" in r for r in anthropic.reasons)


def test_p13_gemini_keeps_refs_in_the_json_schema_dialect() -> None:
    class Pair(BaseModel):
        left: Node
        right: Node | None = None

    plan = plan_schema(Pair.model_json_schema(), "gemini")
    assert "$defs" in plan.transformed
    assert check_dialect("gemini", plan.transformed) == []


def test_p14_non_string_enums_round_trip() -> None:
    schema = {"type": "object", "properties": {"level": {"type": "integer", "enum": [1, 2]}}, "required": ["level"]}
    plan = plan_schema(schema, "gemini-openapi")
    assert plan.transformed["properties"]["level"] == {"type": "string", "enum": ["1", "2"]}
    assert plan.restore({"level": "2"}) == {"level": 2}
    assert any("enum" in r for r in plan.reasons)


def test_p15_array_without_items() -> None:
    schema = {"type": "object", "properties": {"xs": {"type": "array"}}, "required": ["xs"]}
    plan = plan_schema(schema, "gemini")
    assert plan.transformed["properties"]["xs"]["items"] == {}
    assert any("without items" in r for r in plan.reasons)
    strict = plan_schema(schema, "openai", strict=True)
    assert not strict.strict_applied  # an untyped array cannot be strict; the plan says why


def test_p16_no_openapi_nullable_in_json_schema_fields() -> None:
    schema = {"type": "object", "properties": {"x": {"type": ["string", "null"]}}}
    assert "nullable" not in json.dumps(plan_schema(schema, "gemini").transformed)
    assert plan_schema(schema, "gemini-openapi").transformed["properties"]["x"] == {"type": "string", "nullable": True}


@pytest.mark.parametrize("dialect", dialects())
def test_p17_double_transform_is_stable(dialect: str) -> None:
    class Model(BaseModel):
        name: str = Field(min_length=1)
        tags: dict[str, int] = {}
        level: int | None = Field(default=None, ge=0)

    first = plan_schema(Model.model_json_schema(), dialect, strict=True)
    second = plan_schema(first.transformed, dialect, strict=first.strict_applied)
    assert second.transformed == first.transformed


def test_p18_p19_tool_name_sanitizer_is_collision_safe_and_allow_listed() -> None:
    names = sanitize_names(["a.b", "a_b", "café menu!"], TOOL_NAME_RULES["openai"])
    wire = [names.wire(n) for n in ("a.b", "a_b", "café menu!")]
    assert len(set(wire)) == 3
    assert all(all((c.isalnum() and c.isascii()) or c in "_-" for c in w) for w in wire)
    assert [names.restore(w) for w in wire] == ["a.b", "a_b", "café menu!"]


def test_p24_p25_unenforced_keywords_are_named() -> None:
    schema = {"type": "object", "properties": {"e": {"type": "string", "format": "email"}}, "required": ["e"]}
    plan = plan_schema(schema, "ollama")
    assert "format" not in plan.transformed["properties"]["e"]
    assert any("not enforced" in r for r in plan.reasons)


def test_unknown_dialect_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="known"):
        plan_schema({"type": "object"}, "nope")


def test_plans_are_cached_but_keep_the_callers_schema() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    copy = json.loads(json.dumps(schema))
    first = plan_schema(schema, "openai", strict=True)
    second = plan_schema(copy, "openai", strict=True)
    assert second.transformed == first.transformed
    assert second.original is copy
