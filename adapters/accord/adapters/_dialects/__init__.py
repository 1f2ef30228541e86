"""The schema dialects, one module each; `DIALECTS` maps a dialect name to its transformer class."""

from __future__ import annotations

from ._common import DialectTransformer
from .anthropic import AnthropicDialect
from .bedrock import BedrockDialect
from .databricks import DatabricksDialect
from .gemini import GeminiDialect, GeminiOpenAPIDialect
from .groq import GroqDialect
from .mistral import MistralDialect
from .ollama import OllamaDialect
from .openai import OpenAIDialect

DIALECTS: dict[str, type[DialectTransformer]] = {
    cls.name: cls
    for cls in (
        OpenAIDialect,
        AnthropicDialect,
        GeminiDialect,
        GeminiOpenAPIDialect,
        BedrockDialect,
        DatabricksDialect,
        OllamaDialect,
        MistralDialect,
        GroqDialect,
    )
}

__all__ = ["DIALECTS", "DialectTransformer"]
