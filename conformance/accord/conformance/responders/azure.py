"""The Azure OpenAI responder: Chat Completions bodies as OpenAI's, with Azure's error bodies and headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..oracle_openai import check_sdk_types, check_spec, check_stream_accumulator, spec_path
from ..oracles import Oracle
from ..scenario import ErrorKind, Failure
from ..targets import Target
from .openai_chat import OPENAI_ERRORS, ErrorShape, OpenAIChatResponder

# Azure's own error bodies (`{"error": {"code", "message"}}`) where it answers before the model; validation and
# context-window errors come from the model service and read as OpenAI's. Quota keeps OpenAI's 429
# `insufficient_quota` form: Azure documents no billing error of its own (unverified against live traffic).
AZURE_ERRORS: Mapping[ErrorKind, ErrorShape] = {
    **OPENAI_ERRORS,
    "auth": ErrorShape(
        401,
        None,
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for "
        "an active subscription and use a correct regional API endpoint for your resource.",
    ),
    "permission": ErrorShape(403, None, "PermissionDenied", "Principal does not have access to API/Operation."),
    "not_found": ErrorShape(
        404,
        None,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment within the last 5 "
        "minutes, please wait a moment and try again.",
    ),
    "rate_limit": ErrorShape(
        429,
        None,
        "429",
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded "
        "token rate limit of your current OpenAI S0 pricing tier.",
    ),
    "overloaded": ErrorShape(
        503, None, "ServiceUnavailable", "The service is temporarily unable to process your request."
    ),
    "server": ErrorShape(
        500,
        None,
        "InternalServerError",
        "The server had an error processing your request. Sorry about that! You can retry your request.",
    ),
}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class AzureChatResponder(OpenAIChatResponder):
    """OpenAI's chat bodies; Azure's error wording and its in-body hint, "Please retry after N seconds"."""

    wire: str = "azure"
    errors: Mapping[ErrorKind, ErrorShape] = field(default_factory=lambda: dict(AZURE_ERRORS))
    headers: Mapping[str, str] = field(
        default_factory=lambda: {
            "apim-request-id": "0f6e4b2a-0000-4000-8000-000000000001",
            "x-ratelimit-remaining-requests": "99",
            "x-ratelimit-remaining-tokens": "99000",
        }
    )

    def _error_object(self, shape: ErrorShape, failure: Failure) -> dict[str, Any]:
        message = failure.message or shape.message
        if failure.retry_hint == "body" and failure.retry_after is not None:
            message = f"{message} Please retry after {_seconds(failure.retry_after)} seconds."
        error: dict[str, Any] = {"code": shape.code, "message": message}
        if shape.type is not None:
            error.update(type=shape.type, param=shape.param)
        return error


RESPONDERS = [AzureChatResponder()]

TARGETS = [
    Target(
        name="azure",
        adapter="accord.adapters.azure:AzureOpenAIAdapter",
        model="gpt-4o-mini",  # the deployment name; deployments named after their model find catalog facts
        wire="azure",
        case_models={"completion.reasoning": "o4-mini"},
        options={"endpoint": "https://accord-test.openai.azure.com"},
        live_credentials={"api_key": "AZURE_OPENAI_API_KEY", "endpoint": "AZURE_OPENAI_ENDPOINT"},
    ),
]

ORACLES = [
    Oracle("openai-openapi-spec", "azure", check_spec, requires=("jsonschema", str(spec_path()))),
    Oracle("openai-sdk-types", "azure", check_sdk_types, requires=("openai",)),
    Oracle("openai-sdk-stream-accumulator", "azure", check_stream_accumulator, requires=("openai",)),
]
