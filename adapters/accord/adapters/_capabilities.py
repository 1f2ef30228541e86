"""Request checks against a model profile: what the model cannot do is refused before any network call."""

from __future__ import annotations

from accord.contracts import (
    DocumentPart,
    ImagePart,
    ModelProfile,
    Request,
    ToolResult,
    UnsupportedFeatureError,
)


def _refuse(feature: str, provider: str, profile: ModelProfile, why: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{provider}:{profile.model} {why}", feature=feature, provider=provider, model=profile.model
    )


def _media_in(request: Request) -> tuple[bool, bool, bool]:
    images = documents = tool_media = False
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                images = True
            elif isinstance(part, DocumentPart):
                documents = True
            elif isinstance(part, ToolResult) and not isinstance(part.content, str):
                for item in part.content:
                    if isinstance(item, ImagePart | DocumentPart):
                        tool_media = True
                        images = images or isinstance(item, ImagePart)
                        documents = documents or isinstance(item, DocumentPart)
    return images, documents, tool_media


def check_request(request: Request, profile: ModelProfile, provider: str) -> None:
    """Raise `UnsupportedFeatureError` for the first thing `request` needs that `profile` denies."""
    uses_tools = bool(request.tools) or any(m.tool_calls or m.tool_results for m in request.messages)
    if uses_tools and not profile.supports_tools:
        raise _refuse("tools", provider, profile, "does not support tool calling")
    choice = request.tool_choice
    if choice is not None and choice.mode == "required" and not profile.supports_tool_choice_required:
        raise _refuse("tool_choice_required", provider, profile, "cannot be forced to call a tool")
    if request.parallel_tool_calls and not profile.supports_parallel_tools:
        raise _refuse("parallel_tools", provider, profile, "does not make parallel tool calls")
    if any(t.strict for t in request.tools) and not profile.supports_strict_tools:
        raise _refuse("strict_tools", provider, profile, "does not support strict tool schemas")
    images, documents, tool_media = _media_in(request)
    if images and not profile.supports_vision:
        raise _refuse("vision", provider, profile, "does not accept image input")
    if documents and not profile.supports_documents:
        raise _refuse("documents", provider, profile, "does not accept document input")
    if tool_media and not profile.supports_tool_result_media:
        raise _refuse("tool_result_media", provider, profile, "does not accept images or documents in tool results")
    if request.reasoning is not None and request.reasoning.effort != "none" and not profile.supports_reasoning:
        raise _refuse("reasoning", provider, profile, "is not a reasoning model")
    if (request.system or any(m.role == "system" for m in request.messages)) and not profile.supports_system_prompt:
        raise _refuse("system_prompt", provider, profile, "does not take a system prompt")
    unsupported = profile.parameters.unsupported
    for param in sorted(unsupported):
        if getattr(request, param) is not None:
            raise _refuse(param, provider, profile, f"does not accept `{param}`")
    output = request.output
    if output is not None:
        if output.mode == "native" and not profile.supports_native_output:
            raise _refuse("native_output", provider, profile, "has no native structured output")
        if output.mode == "tool" and not profile.supports_tools:
            raise _refuse("tool_output", provider, profile, "cannot produce output through a tool call")
    if request.max_tokens is not None and profile.max_output is not None and request.max_tokens > profile.max_output:
        raise _refuse(
            "max_tokens",
            provider,
            profile,
            f"generates at most {profile.max_output} tokens (max_tokens={request.max_tokens})",
        )
