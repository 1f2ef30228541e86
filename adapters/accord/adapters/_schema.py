"""Schema dialects: `plan_schema` plans a JSON Schema for one provider dialect; `dialects` lists them."""

from __future__ import annotations

import json
from collections import OrderedDict
from threading import Lock
from typing import Any

from accord.contracts import ConfigurationError
from accord.contracts.schema import SchemaPlan, build_plan

_CACHE_SIZE = 512
_cache: OrderedDict[tuple[str, str, bool], SchemaPlan] = OrderedDict()
_lock = Lock()


def dialects() -> list[str]:
    """The dialect names `plan_schema` accepts."""
    from ._dialects import DIALECTS

    return sorted(DIALECTS)


def plan_schema(schema: dict[str, Any], dialect: str, *, strict: bool | None = None) -> SchemaPlan:
    """`schema` in `dialect`: the transformed schema, whether strict holds, every relaxation, and `restore`.

    `strict=None` means not requested. A strict request the dialect cannot honour gives a non-strict plan
    whose `reasons` say why (`strict_applied=False`). Plans are cached by the schema's JSON text.
    """
    from ._dialects import DIALECTS

    transformer = DIALECTS.get(dialect)
    if transformer is None:
        raise ConfigurationError(f"unknown schema dialect {dialect!r}; known: {', '.join(sorted(DIALECTS))}")
    wants_strict = bool(strict)
    try:
        key = (json.dumps(schema, separators=(",", ":"), ensure_ascii=False), dialect, wants_strict)
    except (TypeError, ValueError):
        key = None
    if key is not None:
        with _lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
                return cached if cached.original is schema else cached.model_copy(update={"original": schema})
    plan = build_plan(schema, lambda s: transformer(strict=s), strict=wants_strict, dialect=dialect)
    if key is not None:
        with _lock:
            _cache[key] = plan
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return plan
