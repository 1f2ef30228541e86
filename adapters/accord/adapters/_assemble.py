"""Assembling responses: tool-argument parsing and the stream assembler every wire decoder feeds."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from accord.contracts import (
    FinishReason,
    Part,
    ProviderInfo,
    Response,
    ResponseParseError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
    UsageUpdate,
)

from ._toolnames import ToolNameMap


def parse_arguments(raw: str, *, truncated: bool, provider: str | None = None) -> tuple[dict[str, Any], str | None]:
    """Tool arguments from the wire's JSON text: `({}, None)` for empty text.

    Invalid JSON raises `ResponseParseError`, unless the output was cut off (`truncated`), in which case the raw
    fragment is kept as the second item and the arguments are empty.
    """
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        if truncated:
            return {}, raw
        raise ResponseParseError(f"tool arguments are not valid JSON: {exc}", raw=raw, provider=provider) from exc
    if not isinstance(value, dict):
        if truncated:
            return {}, raw
        raise ResponseParseError("tool arguments are not a JSON object", raw=raw, provider=provider)
    return value, None


@dataclass
class _ToolSlot:
    index: int
    id: str
    name: str
    fragments: list[str] = field(default_factory=list)
    arguments: dict[str, Any] | None = None
    ended: bool = False


@dataclass
class _ThinkingSlot:
    index: int
    text: list[str] = field(default_factory=list)
    signature: str | None = None
    redacted: bool = False


class StreamAssembler:
    """Turns a wire decoder's observations into contract events and the final `Response`.

    Wire decoders address blocks by their own keys (a choice's content, an Anthropic block index, a Responses
    item id); each new key opens a new part, numbered in order of first appearance.
    """

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        names: ToolNameMap,
        thinking_provider: str | None = None,
        restore: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ):
        self.provider = provider
        self.restore = restore
        self.model = model
        self.response_id = ""
        self.names = names
        self.thinking_provider = thinking_provider
        self.usage: Usage | None = None
        self.finish_reason: FinishReason | None = None
        self.provider_finish_reason: str | None = None
        self.info: dict[str, Any] = {}
        self._slots: list[_ToolSlot | _ThinkingSlot | list[str]] = []
        self._by_key: dict[Hashable, int] = {}

    # --- observations -------------------------------------------------------------------------------------

    def text(self, key: Hashable, text: str) -> list[StreamEvent]:
        if not text:
            return []
        index = self._index(key, list)
        slot = self._slots[index]
        assert isinstance(slot, list)
        slot.append(text)
        return [TextDelta(index=index, text=text)]

    def thinking(
        self, key: Hashable, text: str = "", *, signature: str | None = None, redacted: bool = False
    ) -> list[StreamEvent]:
        index = self._index(key, lambda: _ThinkingSlot(index=len(self._slots)))
        slot = self._slots[index]
        assert isinstance(slot, _ThinkingSlot)
        if signature:
            slot.signature = (slot.signature or "") + signature
        slot.redacted = slot.redacted or redacted
        if not text:
            return []
        slot.text.append(text)
        return [ThinkingDelta(index=index, text=text)]

    def tool_start(self, key: Hashable, call_id: str, wire_name: str) -> list[StreamEvent]:
        if key in self._by_key:
            return []
        name = self.names.restore(wire_name)
        index = self._index(key, lambda: _ToolSlot(index=len(self._slots), id=call_id, name=name))
        return [ToolCallStart(index=index, id=call_id, name=name)]

    def has_tool(self, key: Hashable) -> bool:
        return key in self._by_key

    def tool_args(self, key: Hashable, fragment: str) -> list[StreamEvent]:
        if not fragment:
            return []
        index = self._by_key[key]
        slot = self._slots[index]
        assert isinstance(slot, _ToolSlot)
        slot.fragments.append(fragment)
        return [ToolCallDelta(index=index, arguments_fragment=fragment)]

    def tool_end(self, key: Hashable, arguments: dict[str, Any] | None = None) -> list[StreamEvent]:
        """Close a tool call; `arguments` given whole (wire sent them complete) replaces the joined fragments."""
        index = self._by_key[key]
        slot = self._slots[index]
        assert isinstance(slot, _ToolSlot)
        if slot.ended:
            return []
        events: list[StreamEvent] = []
        if arguments is not None:
            slot.arguments = self.restore(slot.name, arguments) if self.restore else arguments
            if not slot.fragments:
                # A wire that sends arguments only whole still yields one fragment, so fragments always join.
                fragment = json.dumps(arguments, ensure_ascii=False)
                slot.fragments.append(fragment)
                events.append(ToolCallDelta(index=index, arguments_fragment=fragment))
        slot.ended = True
        events.append(ToolCallEnd(index=index, call=self._tool_call(slot)))
        return events

    def set_usage(self, usage: Usage) -> list[StreamEvent]:
        self.usage = usage
        return [UsageUpdate(usage=usage)]

    def finish(self, mapped: FinishReason, raw: str | None) -> None:
        self.finish_reason = mapped
        self.provider_finish_reason = raw

    # --- results ------------------------------------------------------------------------------------------

    def end(self, provider_info: ProviderInfo) -> list[StreamEvent]:
        """Close open tool calls and emit the single `StreamEnd`."""
        events: list[StreamEvent] = []
        for key, index in self._by_key.items():
            slot = self._slots[index]
            if isinstance(slot, _ToolSlot) and not slot.ended:
                events.extend(self.tool_end(key))
        events.append(StreamEnd(response=self.response(provider_info)))
        return events

    def response(self, provider_info: ProviderInfo, *, partial: bool = False) -> Response:
        parts: list[Part] = []
        for slot in self._slots:
            if isinstance(slot, list):
                parts.append(TextPart(text="".join(slot)))
            elif isinstance(slot, _ThinkingSlot):
                parts.append(
                    ThinkingPart(
                        text="".join(slot.text),
                        signature=slot.signature,
                        redacted=slot.redacted,
                        provider=self.thinking_provider,
                    )
                )
            elif partial and not slot.ended:
                parts.append(self._tool_call(slot, truncated=True))
            else:
                parts.append(self._tool_call(slot))
        finish = self.finish_reason or ("error" if partial else "stop")
        return Response(
            id=self.response_id,
            model=self.model,
            parts=parts,
            finish_reason=finish,
            provider_finish_reason=self.provider_finish_reason,
            usage=self.usage or Usage(),
            provider=provider_info,
        )

    def _tool_call(self, slot: _ToolSlot, *, truncated: bool = False) -> ToolCall:
        if slot.arguments is None:
            arguments, raw = parse_arguments(
                "".join(slot.fragments),
                truncated=truncated or self.finish_reason == "length",
                provider=self.provider,
            )
            if raw is not None:
                return ToolCall(id=slot.id, name=slot.name, arguments=arguments, raw_arguments=raw)
            slot.arguments = self.restore(slot.name, arguments) if self.restore else arguments
        return ToolCall(id=slot.id, name=slot.name, arguments=slot.arguments)

    def _index(self, key: Hashable, make: Any) -> int:
        index = self._by_key.get(key)
        if index is None:
            index = len(self._slots)
            self._slots.append(make())
            self._by_key[key] = index
        return index
