"""Model-id resolution: exact, alias, dated, family (longest match, never file order), and file validation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from accord.adapters._catalog import CATALOG, catalog_profile, match_entry, parse_catalog, price_tiers


def _file(models: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"defaults": {"supports_tools": True}, "models": models, **extra}


def test_dated_snapshot_gets_its_own_family_price_not_the_shorter_key() -> None:
    # The defect this prevents: first-registered prefix gave gpt-4o-mini-2024-07-18 gpt-4o's price.
    mini = catalog_profile("openai", "gpt-4o-mini-2024-07-18")
    assert (mini.pricing.input, mini.pricing.output) == (0.15, 0.6)
    assert CATALOG.resolve("openai", "gpt-4o-mini-2024-07-18").match == "dated"
    assert CATALOG.resolve("openai", "o3-mini-2025-01-31").entry.model == "o3-mini"  # type: ignore[union-attr]


def test_a_snapshot_with_its_own_price_has_its_own_entry() -> None:
    assert catalog_profile("openai", "gpt-4o-2024-05-13").pricing.input == 5.0
    assert catalog_profile("openai", "gpt-4o-2024-08-06").pricing.input == 2.5


def test_alias() -> None:
    resolved = CATALOG.resolve("openai", "gpt-4-turbo-preview")
    assert resolved.match == "alias"
    assert resolved.entry is not None
    assert resolved.entry.model == "gpt-4-turbo"
    assert resolved.profile.pricing.input == 10.0
    assert resolved.profile.model == "gpt-4-turbo-preview"


def test_family_match_gives_capabilities_but_no_price() -> None:
    resolved = CATALOG.resolve("openai", "gpt-4o-audio-preview")
    assert resolved.match == "family"
    assert resolved.profile.supports_vision is True
    assert resolved.profile.pricing.input is None
    assert catalog_profile("openai", "gpt-5-pro").pricing.input == 15.0  # listed variant: its own price


def test_unknown_model_gets_defaults_only() -> None:
    resolved = CATALOG.resolve("openai", "totally-new")
    assert (resolved.match, resolved.entry, resolved.sources) == ("none", None, ())
    assert resolved.profile.provider == "openai"
    assert resolved.profile.model == "totally-new"
    assert resolved.profile.pricing.input is None
    assert catalog_profile("no-such-provider", "m").provider == "no-such-provider"


@pytest.mark.parametrize("order", [["a", "a-b"], ["a-b", "a"]])
def test_longest_match_wins_whatever_the_file_order(order: list[str]) -> None:
    models = {"a": {"pricing": {"input": 1, "output": 1}}, "a-b": {"pricing": {"input": 2, "output": 2}}}
    catalog = parse_catalog("p", _file({k: models[k] for k in order}))
    entry, how = match_entry(catalog, "a-b-c")
    assert entry is not None
    assert (entry.model, how) == ("a-b", "family")
    entry, how = match_entry(catalog, "a-b-2025-01-02")
    assert entry is not None
    assert (entry.model, how) == ("a-b", "dated")
    assert match_entry(catalog, "ab") == (None, "none")  # no boundary after the key


def test_file_id_rules_strip_prefixes_and_suffixes_repeatedly() -> None:
    catalog = parse_catalog(
        "bedrock",
        _file(
            {"anthropic.claude-x": {"pricing": {"input": 3, "output": 15}}, "m": {}},
            id_rules={"strip_prefixes": ["us.", "eu."], "strip_suffixes": [r"-v\d+(:\d+)?"]},
        ),
    )
    entry, how = match_entry(catalog, "us.anthropic.claude-x-20250929-v1:0")
    assert entry is not None
    assert (entry.model, how) == ("anthropic.claude-x", "dated")
    assert match_entry(catalog, "us.")[1] == "none"  # a bare prefix is not stripped to nothing


def test_alias_of_an_alias_family() -> None:
    catalog = parse_catalog("p", _file({"model-a": {"aliases": ["short"]}}))
    entry, how = match_entry(catalog, "short-preview")
    assert entry is not None
    assert (entry.model, how) == ("model-a", "family")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modelz": {}}, "unknown top-level keys"),
        ({"models": {"m": {"supports_toolz": True}}}, "p:m"),
        ({"models": {"m": {"released": "2024-13-01"}}}, "p:m.released"),
        ({"models": {"m": {"released": 20240101}}}, "YYYY-MM-DD"),
        ({"models": {"m": {"deprecated": "2025-02-01", "shutdown": "2025-01-01"}}}, "before deprecation"),
        ({"models": {"m": {"aliases": "x"}}}, "aliases"),
        ({"models": {"m": {"aliases": ["n"]}, "n": {}}}, "alias 'n'"),
        ({"models": {"m": {"aliases": ["x"]}, "n": {"aliases": ["x"]}}}, "alias 'x'"),
        ({"models": {"m": {"model": "other"}}}, "come from the file"),
        ({"models": {"m": 3}}, "object of profile fields"),
        ({"defaults": {"max_context": -1}}, "p.defaults"),
        ({"id_rules": {"strip": []}}, "p.id_rules"),
        ({"models": {"m": {"pricing": {"input": 1, "tiers": [{"above_input_tokens": 0}]}}}}, "above_input_tokens"),
    ],
)
def test_invalid_files_are_rejected_with_the_entry_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_catalog("p", data)


def test_price_tiers_live_with_the_entry_and_dates_parse() -> None:
    catalog = parse_catalog(
        "p",
        _file(
            {
                "m": {
                    "pricing": {"input": 3, "output": 15, "tiers": [{"above_input_tokens": 200000, "input": 6}]},
                    "released": "2025-01-01",
                    "deprecated": "2025-06-01",
                    "shutdown": "2025-12-01",
                }
            }
        ),
    )
    entry = catalog.entries["m"]
    assert [t.input for t in entry.price_tiers] == [6]
    assert entry.profile.pricing.input == 3
    assert (entry.released, entry.shutdown) == (dt.date(2025, 1, 1), dt.date(2025, 12, 1))


def test_price_tiers_of_packaged_models_are_empty_without_tiers() -> None:
    assert price_tiers("openai", "gpt-4o") == ()
