"""Azure OpenAI: deployments, `api-version`, key or Entra ID auth and content filtering over the OpenAI wires."""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import replace
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx

from accord.contracts import ConfigurationError, ModelProfile, ProviderInfo, Request, Response, StreamEvent

from . import openai_responses
from ._base import StreamDecoder, WireContext
from ._catalog import catalog_profile
from ._errors import ErrorDetails, openai_style_details
from .openai_chat import ChatStreamDecoder, OpenAIChatAdapter, VendorSpec

AzureAPI = Literal["chat", "responses"]
TokenProvider = Callable[[], str | Awaitable[str]]

# `api-version` when neither the caller nor AZURE_OPENAI_API_VERSION says: the GA version for chat completions,
# the first preview that serves the Responses API.
DEFAULT_API_VERSIONS: Mapping[str, str] = {"chat": "2024-10-21", "responses": "2025-04-01-preview"}
# `api_version="v1"` selects Azure's v1 API (`/openai/v1/...`), which takes no api-version parameter.
V1 = "v1"

AZURE = VendorSpec(
    name="azure",
    base_url="",
    env_var="AZURE_OPENAI_API_KEY",
    auth_header="api-key",
    auth_scheme="",
    catalog_provider="openai",
)

# Azure's in-body retry hint: "... Please retry after 7 seconds." (it also sends `retry-after`, which wins).
_RETRY_AFTER_PHRASE = re.compile(r"\bretry after (\d+(?:\.\d+)?) seconds?\b", re.IGNORECASE)

# Filter annotations Azure adds to a chat completion (per choice) and to the prompt, kept in provider metadata.
_FILTER_FIELDS = ("prompt_filter_results", "content_filter_results")


def _filter_results(payload: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if payload.get("prompt_filter_results") is not None:
        found["prompt_filter_results"] = payload["prompt_filter_results"]
    choices = payload.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index", 0) == 0 and choice.get("content_filter_results"):
                found["content_filter_results"] = choice["content_filter_results"]
    return found


class TokenAuth(httpx.Auth):
    """Entra ID: asks the token provider for a bearer token on every request (it caches and refreshes)."""

    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider

    def __repr__(self) -> str:
        return "TokenAuth(<provider>)"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._provider()
        if inspect.isawaitable(token):
            close = getattr(token, "close", None)
            if callable(close):
                close()
            raise ConfigurationError("azure: an async token provider needs the async client")
        request.headers["Authorization"] = "Bearer " + str(token)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._provider()
        if inspect.isawaitable(token):
            token = await token
        request.headers["Authorization"] = "Bearer " + str(token)
        yield request


class AzureChatStreamDecoder(ChatStreamDecoder):
    """Chat stream that also keeps Azure's filter annotations (some chunks have empty `choices`)."""

    def __init__(self, adapter: OpenAIChatAdapter, ctx: WireContext, headers: Mapping[str, str]) -> None:
        super().__init__(adapter, ctx, headers)
        self.filters: dict[str, Any] = {}

    def _on_event(self, data: str) -> list[StreamEvent]:
        events = super()._on_event(data)
        if "filter_results" in data:  # cheap test before parsing the chunk a second time
            obj = json.loads(data)
            if isinstance(obj, dict):
                self.filters.update(_filter_results(obj))
        return events

    def _info(self) -> ProviderInfo:
        info: ProviderInfo = super()._info()
        return info.model_copy(update={"extra": {**info.extra, **self.filters}}) if self.filters else info


class AzureOpenAIAdapter(OpenAIChatAdapter):
    """Azure OpenAI. The model name is the deployment; `api="responses"` speaks the Responses API instead of chat."""

    name: ClassVar[str] = "azure"

    def __init__(
        self,
        *,
        api: AzureAPI = "chat",
        endpoint: str | None = None,
        api_version: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        base_model: str | None = None,
        **options: Any,
    ) -> None:
        if api not in DEFAULT_API_VERSIONS:
            raise ConfigurationError(f"azure: api must be 'chat' or 'responses', not {api!r}")
        self.api: AzureAPI = api
        self.api_version = api_version or os.environ.get("AZURE_OPENAI_API_VERSION") or DEFAULT_API_VERSIONS[api]
        self.base_model = base_model
        self._token_auth = TokenAuth(azure_ad_token_provider) if azure_ad_token_provider is not None else None
        base_url = options.pop("base_url", None) or endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not base_url:
            raise ConfigurationError("azure: no endpoint; set AZURE_OPENAI_ENDPOINT or pass endpoint=...")
        vendor = VendorSpec(
            name=AZURE.name,
            base_url=base_url,
            env_var=AZURE.env_var,
            requires_key=azure_ad_token_provider is None,
            auth_header=AZURE.auth_header,
            auth_scheme=AZURE.auth_scheme,
            catalog_provider=AZURE.catalog_provider,
        )
        super().__init__(vendor=vendor, **options)

    def __repr__(self) -> str:
        return f"AzureOpenAIAdapter(base_url={self.base_url!r}, api={self.api!r}, api_version={self.api_version!r})"

    def profile(self, model: str) -> ModelProfile:
        """Deployment names are the caller's: `base_model` says which catalog model a deployment runs."""
        cached = self._profiles.get(model)
        if cached is None:
            cached = catalog_profile(self._catalog_provider, self.base_model or model).model_copy(
                update={"model": model}
            )
            if self.api == "responses":
                cached = openai_responses.responses_profile(cached)
            if self._profile_override is not None:
                cached = cached.merged_with(self._profile_override)
            self._profiles[model] = cached
        return cached

    def _headers(self, ctx: WireContext) -> dict[str, str]:
        headers = super()._headers(ctx)
        if self._token_auth is not None:
            headers.pop("api-key", None)
        return headers

    def _wire_url(self, ctx: WireContext) -> str:
        root = self.base_url.removesuffix("/v1").removesuffix("/openai") + "/openai"
        if self.api_version == V1:
            # The v1 API: OpenAI's own paths, the deployment named as `model` in the body, no api-version.
            return f"{root}/v1/{'responses' if self.api == 'responses' else 'chat/completions'}"
        if self.api == "responses":
            return root + "/responses"
        return f"{root}/deployments/{quote(ctx.model, safe='')}/chat/completions"

    def _wire_params(self, ctx: WireContext) -> dict[str, str] | None:
        return None if self.api_version == V1 else {"api-version": self.api_version}

    def _wire_auth(self, ctx: WireContext) -> httpx.Auth | None:
        return self._token_auth

    def _wire_request(self, request: Request, ctx: WireContext) -> dict[str, Any]:
        if self.api == "responses":
            return openai_responses.to_wire(request, ctx, self.name)
        return super()._wire_request(request, ctx)

    def _wire_response(self, payload: Any, ctx: WireContext, headers: Mapping[str, str]) -> Response:
        if self.api == "responses":
            return openai_responses.from_wire(payload, ctx, self, headers)
        response = super()._wire_response(payload, ctx, headers)
        filters = _filter_results(payload) if isinstance(payload, dict) else {}
        if not filters:
            return response
        info = response.provider.model_copy(update={"extra": {**response.provider.extra, **filters}})
        return response.model_copy(update={"provider": info})

    def _wire_decoder(self, ctx: WireContext, headers: Mapping[str, str]) -> StreamDecoder:
        if self.api == "responses":
            return openai_responses.ResponsesStreamDecoder(self, ctx, headers)
        return AzureChatStreamDecoder(self, ctx, headers)

    def _wire_error_details(self, body: Any, status: int | None) -> ErrorDetails:
        details = openai_style_details(body, fallback=f"HTTP {status}")
        hint = _RETRY_AFTER_PHRASE.search(details.message)
        if hint is not None:
            details = replace(details, retry_after=float(hint.group(1)))
        # A blocked prompt sometimes says so only in `innererror.code` (ResponsibleAIPolicyViolation).
        error = body.get("error") if isinstance(body, dict) else None
        inner = error.get("innererror") if isinstance(error, dict) else None
        if details.code is None and isinstance(inner, dict) and inner.get("code") == "ResponsibleAIPolicyViolation":
            return ErrorDetails(message=details.message, code="content_filter", type=details.type, param=details.param)
        return details
