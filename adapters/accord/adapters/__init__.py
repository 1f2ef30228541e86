"""accord.adapters: the provider implementations, the shared HTTP core and the front door (`connect`, `ask`).

Importing this package imports no wire module and no optional dependency: names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._base import EventStream as EventStream
    from ._base import HTTPAdapter as HTTPAdapter
    from ._base import NativeOutput as NativeOutput
    from ._base import WireContext as WireContext
    from ._front import Model as Model
    from ._front import ask as ask
    from ._front import ask_sync as ask_sync
    from ._front import connect as connect
    from ._registry import provider_names as provider_names
    from ._sync import SyncStream as SyncStream

__version__ = "0.1.0"

# public name → module that defines it (loaded lazily to keep `import accord.adapters` cheap)
_LAZY: dict[str, str] = {
    "Model": "._front",
    "connect": "._front",
    "ask": "._front",
    "ask_sync": "._front",
    "provider_names": "._registry",
    "SyncStream": "._sync",
    "EventStream": "._base",
    "HTTPAdapter": "._base",
    "NativeOutput": "._base",
    "WireContext": "._base",
    # structured output and schema dialects
    "plan_schema": "._schema",
    "dialects": "._schema",
    # catalog, pricing, conversations
    "find_models": "._catalog",
    "Catalog": "._catalog",
    "CATALOG": "._catalog",
    "CatalogModel": "._catalog",
    "discover": "._catalog",
    "Hooks": "._hooks",
    "HookEvent": "._hooks",
    "RequestStart": "._hooks",
    "AttemptStart": "._hooks",
    "RetryScheduled": "._hooks",
    "FirstChunk": "._hooks",
    "ResponseDone": "._hooks",
    "RequestFailed": "._hooks",
    "OpenTelemetryHook": "._telemetry",
    "Turn": "._conversation",
    "PriceTier": "accord.contracts",
    "cost_of": "._pricing",
    "Conversation": "._conversation",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accord.adapters' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
