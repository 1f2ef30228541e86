"""Live targets: llama.cpp's server speaking OpenAI Chat, Anthropic Messages and OpenAI Responses."""

from __future__ import annotations

from accord.contracts import ModelProfile, ParameterRules

from ..llamacpp_live import MODEL_ALIAS
from ..targets import Target

# What this server and model really do (measured): no real tool calls (the model writes JSON as text), JSON-schema
# output constrained by a grammar, no images, no reasoning, usage in streams, a 2,048-token context.
LLAMACPP_PROFILE = ModelProfile(
    supports_tools=False,
    supports_parallel_tools=False,
    supports_tool_choice_required=False,
    supports_vision=False,
    supports_documents=False,
    supports_native_output=True,
    supports_json_mode=True,
    supports_strict_tools=False,
    supports_reasoning=False,
    supports_streaming_usage=True,
    max_context=2048,
    schema_dialect="ollama",
    parameters=ParameterRules(max_tokens_field="max_tokens", requires_max_tokens=False),
)

# Per wire, what this server does differently (measured): its Messages endpoint has no schema-less JSON mode;
# its Responses endpoint accepts `text.format` but does not constrain the output with it.
ANTHROPIC_WIRE_PROFILE = LLAMACPP_PROFILE.merged_with(ModelProfile(supports_json_mode=False))
RESPONSES_WIRE_PROFILE = LLAMACPP_PROFILE.merged_with(ModelProfile(supports_native_output=False))

_LOCAL = {"profile": LLAMACPP_PROFILE, "base_url": "http://127.0.0.1:8080"}

# What changes on every run of the same model (measured over two recordings): ids, timestamps, timings.
# The values stand in for them in the cassettes, so a re-record that says the same thing shows no drift.
VOLATILE: dict[str, object] = {
    "id": "live-id",
    "created": 0,
    "created_at": 0,
    "completed_at": 0,
    "timings": {},
    "system_fingerprint": "llama.cpp",
}
ORIGIN = "http://llamacpp.local"
# Measured: llama.cpp leaves out fields the vendors' schemas require (Chat `logprobs`, Responses
# `sequence_number` ...). The suite's contract checks still run on every live cassette.
NOT_THE_VENDOR = "served by llama.cpp, an independent implementation: the vendor's own schemas do not bind it"

TARGETS = [
    Target(
        name="live-llamacpp",
        adapter="accord.adapters.providers:vendor_adapter",
        model=MODEL_ALIAS,
        wire="openai_chat",
        options={"vendor_name": "llamacpp", **_LOCAL, "base_url": "http://127.0.0.1:8080/v1"},
        replay_credentials={},
        volatile=VOLATILE,
        recorded_origin=ORIGIN,
        vendor_oracles_skip=NOT_THE_VENDOR,
    ),
    Target(
        name="live-llamacpp-anthropic",
        adapter="accord.adapters.anthropic:AnthropicAdapter",
        model=MODEL_ALIAS,
        wire="anthropic",
        options={
            **_LOCAL,
            "profile": ANTHROPIC_WIRE_PROFILE,
            "base_url": "http://127.0.0.1:8080",
            "api_key": "no-key-local",
        },
        replay_credentials={},  # llama.cpp asks for no key; these adapters still send the placeholder above
        volatile=VOLATILE,
        recorded_origin=ORIGIN,
        vendor_oracles_skip=NOT_THE_VENDOR,
    ),
    Target(
        name="live-llamacpp-responses",
        adapter="accord.adapters.openai_responses:OpenAIResponsesAdapter",
        model=MODEL_ALIAS,
        wire="openai_responses",
        options={
            **_LOCAL,
            "profile": RESPONSES_WIRE_PROFILE,
            "base_url": "http://127.0.0.1:8080/v1",
            "api_key": "no-key-local",
        },
        replay_credentials={},  # llama.cpp asks for no key; these adapters still send the placeholder above
        waivers={
            "completion.max_tokens": "llama.cpp's /v1/responses answers status 'completed' with no incomplete_details "
            "when max_output_tokens cuts the answer (measured), so the cut cannot be told from a finished answer",
        },
        volatile=VOLATILE,
        recorded_origin=ORIGIN,
        vendor_oracles_skip=NOT_THE_VENDOR,
    ),
]
