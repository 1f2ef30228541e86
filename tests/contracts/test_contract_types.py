"""Contract types: construction errors, constructors, invariants and layered profiles."""

from __future__ import annotations

import base64
from enum import Enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError

from accord.contracts import (
    Adapter,
    DocumentPart,
    ImagePart,
    Message,
    ModelProfile,
    OutputSpec,
    ParameterRules,
    Pricing,
    ProviderInfo,
    Reasoning,
    Request,
    Response,
    ResponseStream,
    StreamEnd,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCall,
    ToolChoice,
    ToolResult,
    Usage,
)

PNG = base64.b64encode(b"\x89PNG fake").decode()


def _resp(**kw: Any) -> Response:
    base: dict[str, Any] = {"id": "r1", "model": "m", "finish_reason": "stop", "provider": ProviderInfo(name="p")}
    return Response(**{**base, **kw})


# --- parts -------------------------------------------------------------------------------------------------


def test_image_part_needs_url_or_data() -> None:
    with pytest.raises(ValidationError, match="needs exactly one of `url` or `data`"):
        ImagePart()


def test_image_part_refuses_both_url_and_data() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        ImagePart(url="https://x/a.png", data=PNG, media_type="image/png")


def test_image_data_needs_media_type_and_valid_base64() -> None:
    with pytest.raises(ValidationError, match="needs a `media_type`"):
        ImagePart(data=PNG)
    with pytest.raises(ValidationError, match="not valid base64"):
        ImagePart(data="not base64!!", media_type="image/png")


def test_media_from_bytes_round_trips_raw() -> None:
    image = ImagePart.from_bytes(b"abc", "image/png")
    assert image.raw == b"abc"
    assert image.media_type == "image/png"
    assert ImagePart(url="https://x/y.png").raw is None
    doc = DocumentPart.from_bytes(b"%PDF", name="a.pdf")
    assert doc.media_type == "application/pdf"
    assert doc.name == "a.pdf"
    assert doc.raw == b"%PDF"


def test_tool_call_needs_id_and_name() -> None:
    with pytest.raises(ValidationError):
        ToolCall(id="", name="f")
    with pytest.raises(ValidationError):
        ToolCall(id="c", name="")
    assert ToolCall(id="c", name="f").arguments == {}


def test_tool_result_text() -> None:
    assert ToolResult(call_id="c", content="plain").text == "plain"
    mixed = ToolResult(call_id="c", content=[TextPart(text="a"), ImagePart(url="https://x"), TextPart(text="b")])
    assert mixed.text == "ab"


def test_frozen_and_extra_forbidden() -> None:
    part = TextPart(text="x")
    with pytest.raises(ValidationError):
        part.text = "y"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        TextPart(text="x", colour="red")  # type: ignore[call-arg]


# --- messages ----------------------------------------------------------------------------------------------


def test_message_user_shorthand() -> None:
    message = Message.user("hi")
    assert message.role == "user"
    assert message.parts == [TextPart(text="hi")]
    assert message.text == "hi"
    multi = Message.user([TextPart(text="look"), ImagePart(url="https://x/y.png")])
    assert len(multi.parts) == 2


def test_message_constructors() -> None:
    assert Message.system("be brief").role == "system"
    call = ToolCall(id="c1", name="f", arguments={"a": 1})
    assistant = Message.assistant("thinking aloud", tool_calls=[call])
    assert assistant.tool_calls == [call]
    assert assistant.text == "thinking aloud"
    assert Message.assistant(tool_calls=[call]).parts == [call]  # no empty text part
    assert Message.assistant([ThinkingPart(text="t"), TextPart(text="x")]).text == "x"
    tool = Message.tool("c1", "42", is_error=True)
    assert tool.tool_results[0].is_error
    assert tool.tool_results[0].text == "42"
    assert Message.tool("c1", [TextPart(text="r")]).tool_results[0].text == "r"


def test_message_empty_parts_refused() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        Message(role="user", parts=[])
    with pytest.raises(ValidationError, match="at least 1"):
        Message.assistant("")


def test_unknown_role_refused_with_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown role 'robot'; expected one of system, user, assistant, tool"):
        Message(role="robot", parts=[TextPart(text="x")])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "part"),
    [
        ("system", ImagePart(url="https://x")),
        ("user", ToolCall(id="c", name="f")),
        ("assistant", ImagePart(url="https://x")),
        ("tool", TextPart(text="x")),
    ],
)
def test_parts_must_fit_role(role: str, part: Any) -> None:
    with pytest.raises(ValidationError, match=f"a {role} message cannot hold a {part.type} part"):
        Message(role=role, parts=[part])  # type: ignore[arg-type]


# --- tools -------------------------------------------------------------------------------------------------


def test_tool_parameters_must_be_object_schema() -> None:
    with pytest.raises(ValidationError, match="must be a JSON Schema of type 'object', got type 'string'"):
        Tool(name="t", parameters={"type": "string"})
    with pytest.raises(ValidationError, match="type 'object'"):
        Tool(name="t", parameters={"items": {}})
    assert Tool(name="t", parameters={}).parameters == {"type": "object", "properties": {}}
    assert Tool(name="t", parameters={"properties": {"a": {}}}).parameters == {"properties": {"a": {}}}


class Weather(BaseModel):
    """Weather for a city."""

    city: str
    days: int = 1


class NoDoc(BaseModel):
    x: int


def test_tool_from_model() -> None:
    tool = Tool.from_model(Weather)
    assert tool.name == "Weather"
    assert tool.description == "Weather for a city."
    assert tool.parameters["properties"]["city"] == {"title": "City", "type": "string"}
    assert tool.parameters["required"] == ["city"]
    named = Tool.from_model(NoDoc, name="nd", description="d", strict=True)
    assert (named.name, named.description, named.strict) == ("nd", "d", True)
    assert Tool.from_model(NoDoc).description == ""


def get_weather(city: str, unit: str = "C", days=1) -> str:  # type: ignore[no-untyped-def]
    """Look up the weather."""
    return city


def test_tool_from_function() -> None:
    tool = Tool.from_function(get_weather)
    assert tool.name == "get_weather"
    assert tool.description == "Look up the weather."
    props = tool.parameters["properties"]
    assert props["city"]["type"] == "string"
    assert props["unit"]["default"] == "C"
    assert "days" in props
    assert tool.parameters["required"] == ["city"]
    assert "title" not in tool.parameters
    assert Tool.from_function(get_weather, name="w", description="").description == ""


def test_tool_from_function_refuses_varargs() -> None:
    def bad(*args: int) -> None: ...

    with pytest.raises(ValueError, match="cannot take \\*args or \\*\\*kwargs"):
        Tool.from_function(bad)


def test_tool_choice_rules() -> None:
    assert ToolChoice.auto().mode == "auto"
    assert ToolChoice.none().mode == "none"
    assert ToolChoice.required().mode == "required"
    assert ToolChoice.named("a", "b").names == ["a", "b"]
    with pytest.raises(ValidationError, match="needs at least one tool name"):
        ToolChoice(mode="specific")
    with pytest.raises(ValidationError, match="takes no tool names"):
        ToolChoice(mode="auto", names=["a"])
    assert ToolChoice.coerce("required") == ToolChoice.required()
    assert ToolChoice.coerce(["a"]) == ToolChoice.named("a")
    assert ToolChoice.coerce(5) == 5


# --- request -----------------------------------------------------------------------------------------------


def test_request_needs_messages() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        Request(messages=[])


def test_duplicate_tools_refused() -> None:
    with pytest.raises(ValidationError, match="duplicate tool names: a"):
        Request(messages=[Message.user("x")], tools=[Tool(name="a"), Tool(name="a"), Tool(name="b")])


def test_tool_choice_needs_and_names_tools() -> None:
    with pytest.raises(ValidationError, match="tool_choice 'required' needs at least one tool"):
        Request(messages=[Message.user("x")], tool_choice="required")
    with pytest.raises(ValidationError, match="tool_choice names unknown tools: nope"):
        Request(messages=[Message.user("x")], tools=[Tool(name="a")], tool_choice=["a", "nope"])
    ok = Request(messages=[Message.user("x")], tools=[Tool(name="a")], tool_choice=["a"])
    assert ok.tool_choice == ToolChoice.named("a")


def test_tool_results_must_answer_an_earlier_call() -> None:
    with pytest.raises(ValidationError, match=r"tool result answers no earlier tool call \(call_id='c9'\)"):
        Request(messages=[Message.user("x"), Message.tool("c9", "r")])
    call = ToolCall(id="c1", name="f")
    ok = Request(messages=[Message.user("x"), Message.assistant(tool_calls=[call]), Message.tool("c1", "r")])
    assert len(ok.messages) == 3
    with pytest.raises(ValidationError, match="no earlier"):  # the result before its call
        Request(messages=[Message.tool("c1", "r"), Message.assistant(tool_calls=[call])])


def test_request_coercions() -> None:
    req = Request(messages=[Message.user("x")], stop="END", reasoning="high")
    assert req.stop == ["END"]
    assert req.reasoning == Reasoning(effort="high")
    assert Request(messages=[Message.user("x")], reasoning=2048).reasoning == Reasoning(budget_tokens=2048)
    assert Reasoning.model_validate("low").effort == "low"
    out = Request(messages=[Message.user("x")], output=Weather).output
    assert out is not None
    assert out.python_type is Weather
    assert out.name == "Weather"
    raw = Request(messages=[Message.user("x")], output={"type": "object", "title": "T", "properties": {}}).output
    assert raw is not None
    assert raw.name == "T"
    assert raw.python_type is None
    with pytest.raises(ValidationError):
        Request(messages=[Message.user("x")], temperature=-1)
    with pytest.raises(ValidationError):
        Request(messages=[Message.user("x")], max_tokens=0)
    with pytest.raises(ValidationError, match="output schema must be a JSON Schema object"):
        OutputSpec(json_schema={"type": 5})


def test_output_spec_of() -> None:
    spec = OutputSpec.of(Weather, mode="native", strict=True)
    assert spec.description == "Weather for a city."
    assert spec.mode == "native"
    assert spec.strict is True
    assert OutputSpec.of({"type": "object"}).name == "final_result"
    assert OutputSpec.of({"type": "object", "description": "d"}, name="n").name == "n"


def test_request_with_revalidates() -> None:
    req = Request(messages=[Message.user("x")], tools=[Tool(name="a")])
    assert req.with_(model="m").model == "m"
    with pytest.raises(ValidationError, match="duplicate"):
        req.with_(tools=[Tool(name="a"), Tool(name="a")])


# --- usage -------------------------------------------------------------------------------------------------


def test_usage_invariants() -> None:
    with pytest.raises(ValidationError, match=r"cache_read_tokens \+ cache_write_tokens \(6 \+ 5\) exceed input"):
        Usage(input_tokens=10, cache_read_tokens=6, cache_write_tokens=5)
    with pytest.raises(ValidationError, match=r"reasoning_tokens \(3\) exceed output_tokens \(2\)"):
        Usage(output_tokens=2, reasoning_tokens=3)
    with pytest.raises(ValidationError):
        Usage(input_tokens=-1)


def test_usage_total_add_bool_round_trip() -> None:
    a = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=4, reasoning_tokens=2)
    b = Usage(input_tokens=1, output_tokens=1, cache_write_tokens=1)
    total = a + b
    assert total == Usage(
        input_tokens=11, output_tokens=6, cache_read_tokens=4, cache_write_tokens=1, reasoning_tokens=2
    )
    assert total.total_tokens == 17
    assert a.model_dump()["total_tokens"] == 15
    assert Usage.model_validate(a.model_dump()) == a
    assert Usage.model_validate_json(a.model_dump_json()) == a
    with pytest.raises(ValidationError, match=r"total_tokens 99 != input_tokens \+ output_tokens \(15\)"):
        Usage.model_validate({**a.model_dump(), "total_tokens": 99})
    assert not Usage()
    assert bool(Usage(output_tokens=1))
    assert a.__add__(3) is NotImplemented  # type: ignore[operator]
    with pytest.raises(TypeError):
        a + 3  # type: ignore[operator]


# --- response ----------------------------------------------------------------------------------------------


def test_response_views_and_to_message() -> None:
    call = ToolCall(id="c", name="f")
    resp = _resp(parts=[ThinkingPart(text="hmm"), TextPart(text="a"), TextPart(text="b"), call])
    assert resp.text == "ab"
    assert resp.tool_calls == [call]
    assert resp.thinking == [ThinkingPart(text="hmm")]
    message = resp.to_message()
    assert message.role == "assistant"
    assert message.parts == resp.parts
    assert _resp().to_message().parts == [TextPart(text="")]
    with pytest.raises(ValidationError):
        _resp(finish_reason="bored")
    with pytest.raises(ValidationError):
        _resp(attempts=0)


# --- profile -----------------------------------------------------------------------------------------------


def test_profile_merge_unset_never_clobbers() -> None:
    base = ModelProfile(
        provider="p",
        model="m",
        supports_vision=True,
        max_context=1000,
        parameters=ParameterRules(max_tokens_field="max_completion_tokens", system_role="developer"),
        pricing=Pricing(input=1.0, output=2.0),
    )
    layer = ModelProfile(
        max_output=50, parameters=ParameterRules(requires_max_tokens=True), pricing=Pricing(output=3.0)
    )
    merged = base.merged_with(layer)
    assert merged.supports_vision is True
    assert merged.max_context == 1000
    assert merged.max_output == 50
    assert merged.parameters.max_tokens_field == "max_completion_tokens"
    assert merged.parameters.system_role == "developer"
    assert merged.parameters.requires_max_tokens is True
    assert merged.pricing == Pricing(input=1.0, output=3.0)
    # an explicitly set default value does override
    assert base.merged_with(ModelProfile(supports_vision=False)).supports_vision is False
    assert base.merged_with(ModelProfile()) == base


def test_profile_merge_is_associative_over_layers() -> None:
    a = ModelProfile(provider="p", max_context=10)
    b = ModelProfile(max_output=5)
    c = ModelProfile(supports_reasoning=True)
    left = a.merged_with(b).merged_with(c)
    right = a.merged_with(b.merged_with(c))
    assert left == right
    assert left.model_fields_set >= {"provider", "max_context", "max_output", "supports_reasoning"}


def test_profile_validation() -> None:
    with pytest.raises(ValidationError):
        ModelProfile(max_context=0)
    with pytest.raises(ValidationError):
        Pricing(input=-1)
    with pytest.raises(ValidationError):
        ParameterRules(unsupported=frozenset({"colour"}))  # type: ignore[arg-type]


# --- protocols ---------------------------------------------------------------------------------------------


def test_protocols_are_runtime_checkable() -> None:
    class Fake:
        name = "fake"

        def profile(self, model: str) -> ModelProfile:
            return ModelProfile()

        async def complete(self, request: Request) -> Response:
            return _resp()

        def stream(self, request: Request) -> Any:
            return None

        async def aclose(self) -> None:
            return None

    assert isinstance(Fake(), Adapter)
    assert not isinstance(object(), Adapter)

    class Stream:
        def __aiter__(self) -> Any:
            return self

        @property
        def response(self) -> Response:
            return _resp()

    assert isinstance(Stream(), ResponseStream)
    assert StreamEnd(response=_resp()).type == "end"


class Unit(Enum):
    C = "C"
    F = "F"


class Place(BaseModel):
    city: str


def forecast(place: Place, unit: Unit = Unit.C, mode: Literal["a", "b"] = "a") -> str:
    """Forecast for a place."""
    return place.city


def test_tool_from_function_resolves_string_annotations() -> None:
    # this module uses `from __future__ import annotations`: every annotation is a string until evaluated
    tool = Tool.from_function(forecast)
    props = tool.parameters["properties"]
    assert props["place"] == {"$ref": "#/$defs/Place"}
    assert tool.parameters["$defs"]["Unit"]["enum"] == ["C", "F"]
    assert props["mode"]["enum"] == ["a", "b"]
    assert tool.parameters["required"] == ["place"]


def test_usage_bad_counts_fail_as_validation_errors() -> None:
    with pytest.raises(ValidationError, match="input_tokens"):
        Usage.model_validate({"input_tokens": None, "output_tokens": 1, "total_tokens": 1})
    with pytest.raises(ValidationError, match="output_tokens"):
        Usage.model_validate({"input_tokens": 1, "output_tokens": "many", "total_tokens": 1})
