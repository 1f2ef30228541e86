"""Bedrock Converse schema dialect: any schema for plain tools; strict follows Claude-on-Bedrock's rules."""

from __future__ import annotations

from ._common import DialectTransformer
from .anthropic import STRICT_FORMATS
from .anthropic import STRICT_KEYWORDS as ANTHROPIC_KEYWORDS

# Claude on Bedrock ≈ Anthropic rules; minLength/maxLength are accepted (verified live by pydantic-ai, §1.5).
STRICT_KEYWORDS = ANTHROPIC_KEYWORDS | {"minLength", "maxLength"}


class BedrockDialect(DialectTransformer):
    """Strict: closed objects, no recursion, numeric bounds and minItems > 1 relocated to the description."""

    name = "bedrock"
    accepted = None
    accepted_strict = STRICT_KEYWORDS
    formats_strict = STRICT_FORMATS
    closes_objects = True
    ref_siblings = "drop"
    root_object = True
    typed_strict = True
    recursion_blocks_strict = True
    max_min_items = 1
    lookaround_strict = True
