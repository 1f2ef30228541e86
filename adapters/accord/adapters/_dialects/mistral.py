"""Mistral schema dialect: no published keyword subset; strict closes objects and requires every property."""

from __future__ import annotations

from ._common import DialectTransformer


class MistralDialect(DialectTransformer):
    """Schemas pass through; strict follows the documented `additionalProperties: false` + all-required form."""

    name = "mistral"
    accepted = None
    closes_objects = True
    requires_all = True
    root_object = True
    typed_strict = True
