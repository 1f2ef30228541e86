"""Which adapter serves a provider name: the built-in table, then the `accord.adapters` entry-point group."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from accord.contracts import Adapter, ConfigurationError

ENTRY_POINT_GROUP = "accord.adapters"


@dataclass(frozen=True)
class ProviderEntry:
    """A provider name bound to an adapter factory (`module:attr`) and the options it is built with."""

    target: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> Callable[..., Adapter]:
        module_name, _, attr = self.target.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        if self.options:
            base = factory
            preset = dict(self.options)

            def bound(**options: Any) -> Adapter:
                return base(**{**preset, **options})  # type: ignore[no-any-return]

            return bound
        return factory  # type: ignore[no-any-return]


# Built-ins are data: a name, the wire module's adapter, and (for OpenAI-compatible vendors) their spec.
_VENDOR = "accord.adapters.providers:vendor_adapter"

BUILTIN: dict[str, ProviderEntry] = {
    "openai": ProviderEntry("accord.adapters.openai_chat:OpenAIChatAdapter"),
    "openai-responses": ProviderEntry("accord.adapters.openai_responses:OpenAIResponsesAdapter"),
    "azure": ProviderEntry("accord.adapters.azure:AzureOpenAIAdapter"),
    "anthropic": ProviderEntry("accord.adapters.anthropic:AnthropicAdapter"),
    "gemini": ProviderEntry("accord.adapters.gemini:GeminiAdapter"),
    "bedrock": ProviderEntry("accord.adapters.bedrock:BedrockAdapter"),
    "ollama": ProviderEntry("accord.adapters.ollama:OllamaAdapter"),
    "watsonx": ProviderEntry("accord.adapters.watsonx:WatsonxAdapter"),
    **{
        name: ProviderEntry(_VENDOR, {"vendor_name": name})
        for name in (
            "groq",
            "mistral",
            "deepseek",
            "together",
            "perplexity",
            "openrouter",
            "databricks",
            "llamacpp",
            "vllm",
            "lmstudio",
            "openai-compatible",
        )
    },
}


@cache
def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def provider_names() -> list[str]:
    return sorted({*BUILTIN, *_plugins()})


def adapter_factory(provider: str) -> Callable[..., Adapter]:
    """The factory for `provider`; built-ins first, so a plugin cannot silently replace one."""
    entry = BUILTIN.get(provider)
    if entry is not None:
        return entry.load()
    plugin = _plugins().get(provider)
    if plugin is None:
        known = ", ".join(provider_names())
        raise ConfigurationError(f"unknown provider {provider!r}; known providers: {known}")
    loaded = plugin.load()
    if not callable(loaded):
        raise ConfigurationError(f"entry point {provider!r} does not name an adapter class or factory")
    return loaded  # type: ignore[no-any-return]


def split_ref(ref: str) -> tuple[str, str]:
    """`provider:model` or `provider/model` → (provider, model). The model id may itself hold `:` or `/`."""
    colon, slash = ref.find(":"), ref.find("/")
    cuts = [i for i in (colon, slash) if i > 0]
    if not cuts:
        raise ConfigurationError(f"model reference {ref!r} needs a provider: 'provider:model'")
    cut = min(cuts)
    provider, model = ref[:cut], ref[cut + 1 :]
    if not model:
        raise ConfigurationError(f"model reference {ref!r} names no model")
    return provider, model
