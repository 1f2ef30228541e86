"""Oracle hooks: checks of cassettes against schemas and parsers nobody on this team wrote (vendor SDKs, specs)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .cassette import Cassette, Interaction

if TYPE_CHECKING:
    from accord.contracts import Response


@dataclass(frozen=True)
class OracleInput:
    """What an oracle looks at: one interaction of a cassette, and (for the last 2xx one) the response accord
    assembled from it when the case ran — the other side of a differential check."""

    cassette: Cassette
    interaction: Interaction
    accord_response: Response | None = None
    streamed: bool = False


@dataclass(frozen=True)
class Oracle:
    """A named independent check for one wire protocol. `requires` lists importable modules (the vendor SDK)
    or files; when one is absent the oracle is skipped, never passed. `check` returns problems (empty: agrees)."""

    name: str
    wire: str
    check: Callable[[OracleInput], list[str]]
    requires: Sequence[str] = field(default_factory=tuple)

    def missing(self) -> str | None:
        """Why this oracle cannot run here, or None."""
        from pathlib import Path

        for requirement in self.requires:
            if "/" in requirement:
                if not Path(requirement).exists():
                    return f"{requirement} is absent"
            elif importlib.util.find_spec(requirement.split(".")[0]) is None:
                return f"{requirement} is not installed"
        return None
