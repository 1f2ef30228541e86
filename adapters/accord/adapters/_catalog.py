"""The model catalog: profile data per provider, resolved by longest model-id prefix (never first match)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from accord.contracts import ModelProfile

# Characters after which a catalog key may end inside a longer model id ("gpt-4o" matches "gpt-4o-2024-08-06").
_BOUNDARIES = ("-", ":", "@", ".", "/", "_")


@cache
def _provider_data(provider: str) -> dict[str, Any]:
    """`data/catalog/<provider>.json`: `defaults` (profile fields) and `models` (id or family → profile fields)."""
    path = resources.files("accord.adapters").joinpath(f"data/catalog/{provider}.json")
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _best_key(keys: list[str], model: str) -> str | None:
    best: str | None = None
    for key in keys:
        matches = model == key or (model.startswith(key) and model[len(key)] in _BOUNDARIES)
        if matches and (best is None or len(key) > len(best)):
            best = key
    return best


def catalog_profile(provider: str, model: str) -> ModelProfile:
    """Provider defaults overridden by the longest catalog entry matching `model` (if any)."""
    entry = _provider_data(provider)
    profile = ModelProfile.model_validate({"provider": provider, "model": model, **entry.get("defaults", {})})
    models: dict[str, Any] = entry.get("models", {})
    key = _best_key(list(models), model)
    if key is not None:
        profile = profile.merged_with(ModelProfile.model_validate(models[key]))
    return profile
