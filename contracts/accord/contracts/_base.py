"""The frozen pydantic base every contract model shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable, strict-about-unknown-fields base: a typo in a field name is an error, never silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
