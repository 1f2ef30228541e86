"""A fixed corpus of realistic pydantic models through every dialect: rules hold, values round-trip."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import given
from pydantic import BaseModel, Field

from accord.adapters import dialects, plan_schema
from accord.conformance.dialect_rules import check_dialect
from accord.conformance.strategies import as_json_schema, pydantic_models, same_but_added_nulls
from accord.contracts import UnsupportedFeatureError
from accord.contracts.schema import SchemaPlan


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    street: str
    city: str
    postcode: str | None = None


class Person(BaseModel):
    """Nested, Optional, constrained, formats."""

    id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=80)]
    email: Annotated[str, Field(json_schema_extra={"format": "email"})]
    age: Annotated[int, Field(ge=0, le=150)] | None = None
    born: dt.date
    updated: dt.datetime
    address: Address
    previous: list[Address] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


class Ticket(BaseModel):
    """Enums, literals, discriminated unions, maps."""

    status: Status
    priority: Priority
    channel: Literal["email", "phone"]
    pet: Cat | Dog = Field(discriminator="kind")
    labels: dict[str, int] = {}
    extra: dict[str, Address] | None = None
    coords: tuple[float, float] | None = None


class Tree(BaseModel):
    """Recursive."""

    label: str
    children: list[Tree] = []


class Folder(BaseModel):
    name: str
    root: Tree


CORPUS: dict[type[BaseModel], list[dict[str, Any]]] = {
    Person: [
        {
            "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "name": "Ada",
            "email": "ada@example.com",
            "born": "1815-12-10",
            "updated": "2024-01-01T00:00:00Z",
            "address": {"street": "1 Main St", "city": "London"},
        },
        {
            "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "name": "Bob",
            "email": "bob@example.com",
            "age": 40,
            "born": "1984-02-29",
            "updated": "2024-01-01T10:00:00+02:00",
            "address": {"street": "2 High St", "city": "Leeds", "postcode": "LS1"},
            "previous": [{"street": "3 Low St", "city": "York", "postcode": None}],
        },
    ],
    Ticket: [
        {"status": "open", "priority": 2, "channel": "email", "pet": {"kind": "cat", "lives": 3}},
        {
            "status": "closed",
            "priority": 1,
            "channel": "phone",
            "pet": {"kind": "dog"},
            "labels": {"urgent": 1, "vip": 2},
            "extra": {"home": {"street": "s", "city": "c"}},
            "coords": [1.5, 2.5],
        },
    ],
    Tree: [{"label": "root", "children": [{"label": "a"}, {"label": "b", "children": [{"label": "c"}]}]}],
    Folder: [{"name": "docs", "root": {"label": "r", "children": [{"label": "x"}]}}],
}
RECURSIVE = {Tree, Folder}


def _plan(model: type[BaseModel], dialect: str, strict: bool) -> SchemaPlan | None:
    if model in RECURSIVE and dialect in ("databricks", "gemini-openapi"):
        with pytest.raises(UnsupportedFeatureError, match="recursive"):
            plan_schema(model.model_json_schema(), dialect, strict=strict)
        return None
    return plan_schema(model.model_json_schema(), dialect, strict=strict)


@pytest.mark.parametrize("dialect", dialects())
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("model", list(CORPUS), ids=lambda m: m.__name__)
def test_corpus(model: type[BaseModel], dialect: str, strict: bool) -> None:
    plan = _plan(model, dialect, strict)
    if plan is None:
        return
    assert check_dialect(dialect, plan.transformed, strict=plan.strict_applied) == []
    validator = jsonschema.Draft202012Validator(as_json_schema(plan.transformed))
    for value in CORPUS[model]:
        instance = model.model_validate(value)
        dumped = instance.model_dump(mode="json")
        encoded = plan.encode(dumped)
        if not validator.is_valid(encoded):
            assert plan.lossy, [e.message for e in validator.iter_errors(encoded)]
        restored = plan.restore(encoded)
        assert same_but_added_nulls(restored, dumped)
        assert model.model_validate(restored) == instance


def test_openai_strict_holds_for_the_plain_corpus() -> None:
    for model in (Person, Tree, Folder):
        assert plan_schema(model.model_json_schema(), "openai", strict=True).strict_applied, model
    ticket = plan_schema(Ticket.model_json_schema(), "openai", strict=True)
    assert not ticket.strict_applied  # the tuple field has no strict form, and the plan says so
    assert any("prefixItems" in r for r in ticket.reasons)


@given(model=pydantic_models())
def test_generated_models_plan_in_every_dialect(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    for dialect in dialects():
        for strict in (True, False):
            plan = plan_schema(schema, dialect, strict=strict)
            assert check_dialect(dialect, plan.transformed, strict=plan.strict_applied) == [], (dialect, plan.reasons)
            assert plan.restore(plan.encode({})) == {} or plan.restore_spec.wrapper is None
