"""Groq schema dialect: schemas pass through; strict (select models) needs closed objects and all-required."""

from __future__ import annotations

from ._common import DialectTransformer


class GroqDialect(DialectTransformer):
    """Strict mode closes every object and requires every property (optional ones become nullable)."""

    name = "groq"
    accepted = None
    closes_objects = True
    requires_all = True
    root_object = True
    typed_strict = True
