"""Tool-name sanitizing: accepted names unchanged, reversible, collision-free, per request."""

from __future__ import annotations

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from accord.adapters._toolnames import TOOL_NAME_RULES, ToolNameRule, sanitize_names

OPENAI = TOOL_NAME_RULES["openai"]


def test_accepted_names_unchanged() -> None:
    names = sanitize_names(["get_weather", "lookup-2"], OPENAI)
    assert names.wire("get_weather") == "get_weather"
    assert names.restore("lookup-2") == "lookup-2"


def test_rewritten_names_are_valid_stable_and_restorable() -> None:
    first = sanitize_names(["weather.get", "mcp:fs/read"], OPENAI)
    second = sanitize_names(["mcp:fs/read", "weather.get"], OPENAI)
    for name in ("weather.get", "mcp:fs/read"):
        wire = first.wire(name)
        assert OPENAI.accepts(wire)
        assert wire != name
        assert first.restore(wire) == name
        assert second.wire(name) == wire  # stable across requests
    assert first.wire("weather.get").startswith("weather_get_")
    assert sanitize_names(["weather.get"], TOOL_NAME_RULES["gemini"]).wire("weather.get") == "weather.get"


def test_collision_with_an_accepted_name_is_avoided() -> None:
    names = sanitize_names(["a.b", "a_b"], OPENAI)
    assert names.wire("a_b") == "a_b"
    assert names.wire("a.b") != "a_b"


def test_long_names_truncated_within_limit() -> None:
    long = "x" * 100
    names = sanitize_names([long, long + "y"], OPENAI)
    assert len(names.wire(long)) <= 64
    assert len(names.wire(long + "y")) <= 64
    assert names.wire(long) != names.wire(long + "y")


def test_unknown_wire_name_restores_to_itself_and_maps_are_per_request() -> None:
    a = sanitize_names(["x.y"], OPENAI)
    b = sanitize_names([], OPENAI)
    assert a.restore("made_up") == "made_up"
    assert b.wire("x.y") == "x.y"
    assert b.to_wire == {}


def test_all_bad_characters_and_digest_collision_loop() -> None:
    names = sanitize_names(["...", "ⓐⓑ"], OPENAI)
    assert all(OPENAI.accepts(names.wire(n)) for n in ("...", "ⓐⓑ"))
    rule = ToolNameRule(max_length=8)
    # force the short suffix to collide: the stem space is tiny
    many = [f"é{i}" for i in range(40)]
    mapped = sanitize_names(many, rule)
    wires = [mapped.wire(n) for n in many]
    assert len(set(wires)) == len(many)
    assert all(len(w) <= 8 and rule.accepts(w) for w in wires)


tool_names = st.lists(st.text(min_size=1, max_size=80), max_size=8)


@given(tool_names, st.sampled_from(sorted(TOOL_NAME_RULES)))
def test_sanitize_properties(names: list[str], provider: str) -> None:
    rule = TOOL_NAME_RULES[provider]
    mapping = sanitize_names(names, rule)
    wires = [mapping.wire(n) for n in dict.fromkeys(names)]
    assert len(set(wires)) == len(wires)  # no two names collide
    for name in names:
        wire = mapping.wire(name)
        assert rule.accepts(wire)
        assert mapping.restore(wire) == name  # restore ∘ sanitize = identity
        if rule.accepts(name):
            assert wire == name


def test_trailing_newline_is_not_an_accepted_name() -> None:
    # `$` matches before a final newline: a name ending in "\n" must still be rewritten
    assert not OPENAI.accepts("get_weather\n")
    names = sanitize_names(["get_weather\n"], OPENAI)
    wire = names.wire("get_weather\n")
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", wire)
    assert names.restore(wire) == "get_weather\n"


def test_candidate_colliding_with_an_accepted_name_gets_a_longer_digest() -> None:
    taken = "a_b_" + hashlib.sha256(b"a.b").hexdigest()[:6]
    names = sanitize_names(["a.b", taken], OPENAI)
    assert names.wire(taken) == taken
    assert names.wire("a.b") == "a_b_" + hashlib.sha256(b"a.b").hexdigest()[:8]


@given(tool_names, st.sampled_from(sorted(TOOL_NAME_RULES)))
def test_wire_names_fit_the_rule_independently(names: list[str], provider: str) -> None:
    rule = TOOL_NAME_RULES[provider]
    mapping = sanitize_names(names, rule)
    for name in names:
        assert re.fullmatch(f"[{rule.allowed}]{{1,{rule.max_length}}}", mapping.wire(name))
