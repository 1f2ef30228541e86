"""Every packaged catalog file (whoever wrote it) loads through ModelProfile and resolves to complete profiles."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from accord.adapters._catalog import catalog_providers, load_provider, match_entry, parse_catalog

FOLDER = Path(str(resources.files("accord.adapters").joinpath("data/catalog")))
FILES = sorted(FOLDER.glob("*.json"), key=lambda p: p.stem)


def test_there_are_catalog_files() -> None:
    assert "openai" in catalog_providers()
    assert [p.stem for p in FILES] == catalog_providers()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_file_validates(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    parsed = parse_catalog(path.stem, data)
    assert set(parsed.entries) == set(data.get("models", {}))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_entry_resolves_to_itself(path: Path) -> None:
    catalog = load_provider(path.stem)
    for model, entry in catalog.entries.items():
        assert match_entry(catalog, model) == (entry, "exact")
        for alias in entry.aliases:
            assert match_entry(catalog, alias) == (entry, "alias")


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_model_entry_is_complete(path: Path) -> None:
    """A model (not a `family` prefix) has a context size and known input and output prices."""
    catalog = load_provider(path.stem)
    incomplete = []
    for model, entry in catalog.entries.items():
        profile = catalog.defaults.merged_with(entry.profile)
        if entry.family:
            assert "pricing" not in entry.profile.model_fields_set, f"family {model} carries prices"
            continue
        if profile.max_context is None or profile.pricing.input is None or profile.pricing.output is None:
            incomplete.append(model)
    assert not incomplete, f"{path.stem}: entries without max_context or input/output prices: {incomplete}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_dates_are_ordered(path: Path) -> None:
    for model, entry in load_provider(path.stem).entries.items():
        if entry.released and entry.deprecated:
            assert entry.released <= entry.deprecated, model


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_file_with_prices_says_when_and_where_they_were_read(path: Path) -> None:
    catalog = load_provider(path.stem)
    priced = [m for m, e in catalog.entries.items() if "pricing" in e.profile.model_fields_set]
    if priced or "pricing" in catalog.defaults.model_fields_set:
        assert catalog.as_of is not None, f"{path.stem}: 'about.as_of' is missing"
        assert catalog.sources, f"{path.stem}: 'about.sources' is missing"


@pytest.mark.parametrize(
    ("about", "problem"),
    [
        ({"as_of": "2026-13-01"}, "about.as_of"),
        ({"sources": "https://example.com"}, "about.sources"),
        ({"sources": [""]}, "about.sources"),
        ({"checked_by": "me"}, "'as_of' and 'sources' only"),
        ("2026-01-01", "'as_of' and 'sources' only"),
    ],
)
def test_a_malformed_about_is_refused_with_its_place(about: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_catalog("demo", {"about": about, "models": {}})


def test_about_is_read() -> None:
    parsed = parse_catalog("demo", {"about": {"as_of": "2026-12-07", "sources": ["https://example.com/pricing"]}})
    assert str(parsed.as_of) == "2026-12-07"
    assert parsed.sources == ("https://example.com/pricing",)
