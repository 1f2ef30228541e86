"""The Bedrock Converse responder: documented Converse bodies, AWS event-stream frames and error answers."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cassette import BodyCodec, body_value, register_codec
from ..oracles import Oracle, OracleInput
from ..scenario import Answer, ErrorKind, Failure
from ..targets import Target
from . import SentRequest, WireReply, bytes_reply, dumps, json_reply, split_text, tool_name_at

EVENT_STREAM = "application/vnd.amazon.eventstream"

# accord finish reason → the stopReason Converse sends for it (Converse has no refusal: a model says no in text).
STOP_REASONS: Mapping[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
    "refusal": "end_turn",
    "error": "malformed_model_output",
    "other": "end_turn",
}


@dataclass(frozen=True)
class ErrorShape:
    """One Bedrock error: HTTP status, the exception name (`x-amzn-ErrorType`), the message it sends."""

    status: int
    exception: str
    message: str


# The exceptions of the Converse operation in service-2.json, with wording the service uses.
BEDROCK_ERRORS: Mapping[ErrorKind, ErrorShape] = {
    "auth": ErrorShape(403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "permission": ErrorShape(
        403, "AccessDeniedException", "You don't have access to the model with the specified model ID."
    ),
    "not_found": ErrorShape(
        404, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."
    ),
    "invalid": ErrorShape(
        400,
        "ValidationException",
        "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    "context_window": ErrorShape(400, "ValidationException", "Input is too long for requested model."),
    "rate_limit": ErrorShape(429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "quota": ErrorShape(
        400,
        "ServiceQuotaExceededException",
        "Your request exceeds the service quota for your account. You can view your quotas at "
        "https://docs.aws.amazon.com/servicequotas/latest/userguide/gs-request-quota.html.",
    ),
    "overloaded": ErrorShape(503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "server": ErrorShape(500, "InternalServerException", "The server encountered an internal error."),
}
# Which exception member a ConverseStream sends inside the 200 stream for each kind (the stream's own members).
STREAM_EXCEPTIONS: Mapping[ErrorKind, str] = {
    "rate_limit": "throttlingException",
    "overloaded": "serviceUnavailableException",
    "invalid": "validationException",
    "context_window": "validationException",
}


# --- AWS event-stream frames (test data; decoding is always botocore's) ---------------------------------------


def frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers: prelude, prelude CRC, headers, payload, message CRC."""
    raw = b"".join(
        bytes([len(n)]) + n.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode()
        for n, v in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(raw) + len(payload), len(raw))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + raw + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_frame(name: str, body: Mapping[str, Any]) -> bytes:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, dumps(body).encode())


def exception_frame(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, dumps({"message": message}).encode())


def _encode_frames(raw: bytes) -> Any:
    """Frames as a readable list (`{headers, payload}`), through botocore's decoder; None when not frames."""
    try:
        from botocore.eventstream import EventStreamBuffer, ParserError
    except ImportError:
        return None
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    frames: list[dict[str, Any]] = []
    try:
        for message in buffer:
            text = message.payload.decode("utf-8")
            frames.append({"headers": dict(message.headers), "payload": json.loads(text) if text else None})
    except (ParserError, UnicodeDecodeError, ValueError):
        return None
    return frames


def _decode_frames(frames: Any) -> list[bytes]:
    return [frame(f["headers"], b"" if f["payload"] is None else dumps(f["payload"]).encode()) for f in frames or []]


register_codec(BodyCodec("eventstream", (EVENT_STREAM,), _encode_frames, _decode_frames))


# --- the responder -------------------------------------------------------------------------------------------


def _signature(answer: Answer) -> str:
    """A deterministic stand-in for the opaque reasoning signature."""
    return base64.b64encode(f"accord-synthetic-signature:{answer.id}".encode()).decode()


@dataclass(frozen=True)
class BedrockResponder:
    """Converse (`/model/{id}/converse`) and ConverseStream (`/converse-stream`, AWS event-stream frames)."""

    wire: str = "bedrock"
    errors: Mapping[ErrorKind, ErrorShape] = field(default_factory=lambda: dict(BEDROCK_ERRORS))
    headers: Mapping[str, str] = field(
        default_factory=lambda: {"x-amzn-requestid": "6f1c7a52-0000-4000-8000-000000000001"}
    )

    def is_streaming(self, request: SentRequest) -> bool:
        return request.url.path.endswith("/converse-stream")

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        """accord's usage in Converse's convention: `inputTokens` excludes cache reads and writes."""
        u = answer.usage
        usage = {
            "inputTokens": u.input_tokens - u.cache_read_tokens - u.cache_write_tokens,
            "outputTokens": u.output_tokens,
            "totalTokens": u.total_tokens,
        }
        if u.cache_read_tokens or u.cache_write_tokens:
            usage["cacheReadInputTokens"] = u.cache_read_tokens
            usage["cacheWriteInputTokens"] = u.cache_write_tokens
        return usage

    @staticmethod
    def _tool_names(request: SentRequest) -> list[str]:
        body = request.json if isinstance(request.json, dict) else {}
        tools = (body.get("toolConfig") or {}).get("tools") or []
        return [str(t["toolSpec"].get("name", "")) for t in tools if "toolSpec" in t]

    def answer(self, answer: Answer, request: SentRequest, streaming: bool) -> WireReply:
        if streaming:
            return self._stream(answer, request)
        names = self._tool_names(request)
        content: list[dict[str, Any]] = []
        if answer.thinking:
            reasoning = {"text": "".join(answer.thinking), "signature": _signature(answer)}
            content.append({"reasoningContent": {"reasoningText": reasoning}})
        if answer.full_text:
            content.append({"text": answer.full_text})
        for call in answer.tool_calls:
            use = {"toolUseId": call.id, "name": tool_name_at(names, call), "input": call.arguments}
            content.append({"toolUse": use})
        payload = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": STOP_REASONS[answer.finish],
            "usage": self.usage(answer),
            "metrics": {"latencyMs": 412},
        }
        return json_reply(payload, headers=self.headers)

    def _stream(self, answer: Answer, request: SentRequest) -> WireReply:
        names = self._tool_names(request)
        frames = [event_frame("messageStart", {"role": "assistant"})]
        index = 0
        if answer.thinking:
            for piece in answer.thinking:
                delta = {"reasoningContent": {"text": piece}}
                frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}))
            delta = {"reasoningContent": {"signature": _signature(answer)}}
            frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}))
            frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if answer.text:
            for piece in answer.text:
                frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
            if answer.cut:
                return bytes_reply(frames, EVENT_STREAM, headers=self.headers, cut=True)
            frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        for call in answer.tool_calls:
            start = {"toolUse": {"toolUseId": call.id, "name": tool_name_at(names, call)}}
            frames.append(event_frame("contentBlockStart", {"contentBlockIndex": index, "start": start}))
            for fragment in split_text(dumps(call.arguments)):
                delta = {"toolUse": {"input": fragment}}
                frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}))
            frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if answer.cut:
            return bytes_reply(frames, EVENT_STREAM, headers=self.headers, cut=True)
        if answer.stream_error is not None:
            failure = answer.stream_error
            name = STREAM_EXCEPTIONS.get(failure.kind, "internalServerException")
            frames.append(exception_frame(name, failure.message or self.errors[failure.kind].message))
            return bytes_reply(frames, EVENT_STREAM, headers=self.headers)
        frames.append(event_frame("messageStop", {"stopReason": STOP_REASONS[answer.finish]}))
        frames.append(event_frame("metadata", {"usage": self.usage(answer), "metrics": {"latencyMs": 412}}))
        return bytes_reply(frames, EVENT_STREAM, headers=self.headers)

    def failure(self, failure: Failure, request: SentRequest) -> WireReply:
        shape = self.errors[failure.kind]
        # Bedrock sends no retry hint (no Retry-After, nothing in the body): clients back off on their own.
        headers = {
            **self.headers,
            "x-amzn-errortype": f"{shape.exception}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        }
        return json_reply({"message": failure.message or shape.message}, status=shape.status, headers=headers)


# --- oracle: botocore's own validator and parser -------------------------------------------------------------


def _service_model() -> Any:
    from botocore.loaders import Loader
    from botocore.model import ServiceModel

    return ServiceModel(Loader().load_service_model("bedrock-runtime", "service-2"), "bedrock-runtime")


def check_botocore(data: OracleInput) -> list[str]:
    """The request against botocore's Converse input shape; answers through botocore's rest-json parser."""
    path = data.interaction.request.path
    if "/model/" not in path:
        return []
    from urllib.parse import unquote

    from botocore.parsers import create_parser
    from botocore.validate import ParamValidator

    service = _service_model()
    streaming = path.endswith("/converse-stream")
    operation = service.operation_model("ConverseStream" if streaming else "Converse")
    model_id = unquote(path.split("/model/", 1)[1].rsplit("/", 1)[0])
    body = body_value(data.interaction.request.body)
    report = ParamValidator().validate({"modelId": model_id, **body}, operation.input_shape)
    problems = [f"request: {report.generate_report()}"] if report.has_errors() else []
    response = data.interaction.response
    if response is None or response.status != 200 or streaming:
        return problems
    parsed = create_parser("rest-json").parse(
        {"status_code": 200, "headers": {}, "body": dumps(body_value(response.body)).encode()},
        operation.output_shape,
    )
    accord = data.accord_response
    if accord is not None:
        texts = "".join(b.get("text", "") for b in parsed["output"]["message"]["content"])
        if texts != accord.text:
            problems.append(f"text: botocore {texts!r} != accord {accord.text!r}")
        if parsed["stopReason"] != accord.provider_finish_reason:
            problems.append(
                f"stopReason: botocore {parsed['stopReason']!r} != accord {accord.provider_finish_reason!r}"
            )
    return problems


RESPONDERS = [BedrockResponder()]

TARGETS = [
    Target(
        name="bedrock",
        adapter="accord.adapters.bedrock:BedrockAdapter",
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        wire="bedrock",
        options={"region": "us-east-1"},
        # Claude on Bedrock takes a token budget, not an effort: the effort case runs on Nova 2, which takes one.
        case_models={"completion.reasoning": "us.amazon.nova-2-lite-v1:0"},
        # Replay signs with fake static keys (the Authorization header is scrubbed, the body is not signed data).
        replay_credentials={
            "aws_access_key_id": "AKIDACCORDTESTKEY",
            "aws_secret_access_key": "accord-test-secret-access-key",
        },
        waivers={
            "completion.image_url": "Converse takes images as bytes or s3:// locations only; the adapter refuses "
            "an https URL with UnsupportedFeatureError before sending",
            "completion.reasoning": "Converse usage has no reasoning-token field (reasoning is inside outputTokens), "
            "so the exact usage check cannot hold; the reasoning text itself round-trips",
            "errors.rate_limit.retry_after": "Bedrock sends no retry hint (no Retry-After header, nothing in the body)",
            "errors.rate_limit.retry_after_date": "Bedrock sends no retry hint (no Retry-After header)",
            "errors.rate_limit.retry_after_ms": "Bedrock sends no retry hint (no retry-after-ms header)",
            "errors.rate_limit.body_hint": "Bedrock sends no retry hint in its error bodies",
        },
    ),
]

ORACLES = [Oracle("botocore-converse", "bedrock", check_botocore, requires=("botocore",))]
