"""`Tool.from_model` takes recursive models, whose schema is a root `$ref` into `$defs`."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from accord.contracts import Tool


class Node(BaseModel):
    """A tree node."""

    name: str
    children: list[Node] = []


def test_a_recursive_model_becomes_an_object_schema_that_keeps_its_definitions() -> None:
    tool = Tool.from_model(Node)
    assert tool.parameters["type"] == "object"
    assert "name" in tool.parameters["properties"]
    assert tool.parameters["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "Node" in tool.parameters["$defs"]


def test_a_root_ref_to_a_non_object_is_still_refused() -> None:
    with pytest.raises(ValueError, match="type 'object'"):
        Tool(name="t", parameters={"$ref": "#/$defs/S", "$defs": {"S": {"type": "string"}}})
