"""Conversation: a running message list with usage and cost totals, across turns and providers, saved as JSON.

    chat = Conversation("openai:gpt-4o-mini", system="Be brief.", tools=[weather])
    response = await chat.send("Weather in Paris?")
    for call in chat.pending_tool_calls:
        chat.add_tool_result(call.id, run(call))
    await chat.send(model="anthropic:claude-sonnet-4-5")   # continue on another provider
    chat.save("chat.json"); chat = Conversation.load("chat.json")

A failed `send` leaves the conversation as it was. Tool-call ids are kept as each provider produced them; when the
history goes to a provider whose id rules an id breaks (Anthropic and Bedrock accept `[A-Za-z0-9_-]`, Mistral
exactly 9 alphanumerics), the ids are rewritten for that request only, the same way for a call and its result.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from accord.contracts import (
    Frozen,
    Message,
    Part,
    Request,
    Response,
    ResponseStream,
    Tool,
    ToolCall,
    ToolResult,
    Usage,
)
from accord.contracts.parts import ToolResultContent

from ._front import Model, connect
from ._pricing import sum_costs
from ._sync import run_sync

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_FORMAT = 1


@dataclass(frozen=True)
class CallIdRule:
    """The tool-call ids a provider accepts (`pattern`, full match) and how a replacement is made."""

    pattern: str
    length: int  # length of a replacement id (after `prefix`)
    prefix: str = ""

    def accepts(self, call_id: str) -> bool:
        return re.fullmatch(self.pattern, call_id) is not None

    def make(self, call_id: str, salt: int = 0) -> str:
        """A replacement derived only from `call_id`, so every request replaying the history agrees."""
        seed = call_id if salt == 0 else f"{call_id}#{salt}"
        number = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
        chars = []
        for _ in range(self.length):
            number, digit = divmod(number, 62)
            chars.append(_BASE62[digit])
        return self.prefix + "".join(chars)


# Providers whose tool-call ids have rules; ids from elsewhere that break them are rewritten per request.
CALL_ID_RULES: Mapping[str, CallIdRule] = {
    "anthropic": CallIdRule(r"[A-Za-z0-9_-]{1,64}", 24, "toolu_"),
    "bedrock": CallIdRule(r"[A-Za-z0-9_-]{1,64}", 24, "tooluse_"),
    "mistral": CallIdRule(r"[A-Za-z0-9]{9}", 9),
    # OpenAI rejects tool_call ids longer than 40 characters.
    "openai": CallIdRule(r".{1,40}", 24, "call_"),
    "azure": CallIdRule(r".{1,40}", 24, "call_"),
}


def portable_messages(messages: Sequence[Message], provider: str) -> list[Message]:
    """`messages` with every tool-call id that `provider` would reject replaced (call and result alike)."""
    rule = CALL_ID_RULES.get(provider)
    if rule is None:
        return list(messages)
    ids = [p.id for m in messages for p in m.parts if isinstance(p, ToolCall)]
    mapping: dict[str, str] = {}
    taken = {i for i in ids if rule.accepts(i)}
    for call_id in dict.fromkeys(ids):
        if rule.accepts(call_id):
            continue
        salt = 0
        new = rule.make(call_id)
        while new in taken:
            salt += 1
            new = rule.make(call_id, salt)
        mapping[call_id] = new
        taken.add(new)
    if not mapping:
        return list(messages)
    out = []
    for message in messages:
        parts: list[Part] = []
        for part in message.parts:
            if isinstance(part, ToolCall) and part.id in mapping:
                part = part.model_copy(update={"id": mapping[part.id]})
            elif isinstance(part, ToolResult) and part.call_id in mapping:
                part = part.model_copy(update={"call_id": mapping[part.call_id]})
            parts.append(part)
        out.append(Message(role=message.role, parts=parts))
    return out


class Turn(Frozen):
    """What one model answer cost: who answered, usage, cost (None when unknown), attempts."""

    provider: str
    model: str
    response_id: str
    usage: Usage = Field(default_factory=Usage)
    cost: float | None = None
    attempts: int = 1


class _Saved(Frozen):
    """The JSON document `save` writes."""

    format: int = _FORMAT
    model: str | None = None
    system: str | None = None
    tools: list[Tool] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)


def _ref(model: Model) -> str:
    return f"{model.provider}:{model.model}"


class Conversation:
    """A running chat with one or more models. Not safe to `send` on from two tasks at once."""

    def __init__(
        self,
        model: Model | str | None = None,
        *,
        system: str | None = None,
        tools: Sequence[Tool] = (),
        messages: Sequence[Message] = (),
        **fields: Any,
    ) -> None:
        """`model`: a `Model` or a `"provider:model"` reference (connected on first use). `fields` are `Request`
        fields sent with every turn (`max_tokens`, `temperature`, `reasoning`...)."""
        self._model: Model | None = model if isinstance(model, Model) else None
        self._model_ref: str | None = model if isinstance(model, str) else None
        self.system = system
        self.tools: list[Tool] = list(tools)
        self.messages: list[Message] = list(messages)
        self.turns: list[Turn] = []
        self.fields: dict[str, Any] = fields

    def __repr__(self) -> str:
        return f"Conversation(model={self.model_ref!r}, messages={len(self.messages)}, turns={len(self.turns)})"

    # --- state ---------------------------------------------------------------------------------------------

    @property
    def model_ref(self) -> str | None:
        """`provider:model` of the current model (None when none is set)."""
        return _ref(self._model) if self._model is not None else self._model_ref

    @property
    def usage(self) -> Usage:
        """Tokens used by every turn so far (retries and structured-output attempts included)."""
        total = Usage()
        for turn in self.turns:
            total = total + turn.usage
        return total

    @property
    def cost(self) -> float | None:
        """USD spent so far; None when any turn's price was unknown (a partial sum would be a guess)."""
        return sum_costs([turn.cost for turn in self.turns])

    @property
    def pending_tool_calls(self) -> list[ToolCall]:
        """Tool calls in the last assistant message that have no result yet."""
        for index in range(len(self.messages) - 1, -1, -1):
            message = self.messages[index]
            if message.role == "assistant":
                answered = {r.call_id for m in self.messages[index + 1 :] for r in m.tool_results}
                return [c for c in message.tool_calls if c.id not in answered]
        return []

    def add(self, message: Message) -> None:
        """Append any message (e.g. an assistant message written by hand, or a user message to send later)."""
        self.messages.append(message)

    def add_tool_result(
        self, call_id: str, content: str | Sequence[ToolResultContent], *, is_error: bool = False
    ) -> None:
        """Answer the pending tool call `call_id`."""
        if call_id not in {c.id for c in self.pending_tool_calls}:
            raise ValueError(f"no pending tool call with id {call_id!r}")
        self.messages.append(Message.tool(call_id, content, is_error=is_error))

    # --- sending -------------------------------------------------------------------------------------------

    def _target(self, model: Model | str | None) -> Model:
        if model is not None:
            self._model = model if isinstance(model, Model) else connect(model)
            self._model_ref = None
        elif self._model is None:
            if self._model_ref is None:
                raise ValueError("this conversation has no model: pass model=... to send()")
            self._model = connect(self._model_ref)
        return self._model

    def request(self, prompt: Any = None, *, provider: str | None = None, **fields: Any) -> Request:
        """The `Request` the next `send` would make (ids made portable for `provider`, when given)."""
        messages = list(self.messages)
        if prompt is not None:
            messages.append(prompt if isinstance(prompt, Message) else Message.user(prompt))
        if provider is not None:
            messages = portable_messages(messages, provider)
        options = {**self.fields, **fields}
        if self.system is not None:
            options.setdefault("system", self.system)
        if self.tools:
            options.setdefault("tools", self.tools)
        return Request(messages=messages, **options)

    def _record(self, prompt: Any, response: Response, model: Model) -> None:
        if prompt is not None:
            self.messages.append(prompt if isinstance(prompt, Message) else Message.user(prompt))
        self.messages.append(response.to_message())
        self.turns.append(
            Turn(
                provider=model.provider,
                model=response.model or model.model,
                response_id=response.id,
                usage=response.usage,
                cost=response.cost,
                attempts=response.attempts,
            )
        )

    async def send(self, prompt: Any = None, *, model: Model | str | None = None, **fields: Any) -> Response:
        """Send the history (plus `prompt`, a user text/parts or a `Message`) and append the answer.

        `model` switches the conversation to another model from now on. `fields` apply to this turn only.
        """
        target = self._target(model)
        request = self.request(prompt, provider=target.adapter.name, **fields)
        response = await target.complete(request)
        self._record(prompt, response, target)
        return response

    def send_sync(self, prompt: Any = None, *, model: Model | str | None = None, **fields: Any) -> Response:
        """`send` for synchronous code (works inside a running event loop too)."""
        return run_sync(self.send(prompt, model=model, **fields))

    @asynccontextmanager
    async def stream(
        self, prompt: Any = None, *, model: Model | str | None = None, **fields: Any
    ) -> AsyncIterator[ResponseStream]:
        """Stream the next answer; it is appended once the stream has been read to the end."""
        target = self._target(model)
        request = self.request(prompt, provider=target.adapter.name, **fields)
        async with target.stream(request) as stream:
            yield stream
            try:
                response = stream.response
            except RuntimeError:
                return  # the caller stopped early: nothing complete to record
            self._record(prompt, response, target)

    # --- JSON ----------------------------------------------------------------------------------------------

    def to_json(self, *, indent: int | None = 2) -> str:
        saved = _Saved(
            model=self.model_ref, system=self.system, tools=self.tools, messages=self.messages, turns=self.turns
        )
        return saved.model_dump_json(indent=indent, exclude_none=True)

    @classmethod
    def from_json(cls, text: str | bytes, *, model: Model | str | None = None, **fields: Any) -> Conversation:
        """A conversation from `to_json` output; `model` replaces the saved model reference."""
        saved = _Saved.model_validate_json(text)
        if saved.format != _FORMAT:
            raise ValueError(f"unsupported conversation format {saved.format} (this accord reads {_FORMAT})")
        chat = cls(model if model is not None else saved.model, system=saved.system, tools=saved.tools, **fields)
        chat.messages = list(saved.messages)
        chat.turns = list(saved.turns)
        return chat

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the conversation as JSON (messages, tools, system, model reference, per-turn usage and cost)."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, model: Model | str | None = None, **fields: Any) -> Conversation:
        return cls.from_json(Path(path).read_text(encoding="utf-8"), model=model, **fields)
