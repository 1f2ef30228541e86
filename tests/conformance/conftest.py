"""Fixtures for the conformance tests: a loopback "provider" (a real socket server) speaking Chat Completions."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from accord.conformance.responders import SentRequest
from accord.conformance.responders.openai_chat import OpenAIChatResponder
from accord.conformance.scenario import Answer, ToolCallSpec
from accord.contracts import Usage

# Real-looking, never real: the shape of an OpenAI project key.
LEAKY_KEY = "sk-proj-" + "Zx9" * 15 + "T3BlbkFJ" + "q7" * 10


@dataclass
class Provider:
    """What the loopback provider answers. `version` 2 changes the response shape (drift), `leak` echoes the
    caller's key back in headers and bodies (scrubbing must catch it)."""

    url: str = ""
    leaky_key: str = LEAKY_KEY
    version: int = 1
    leak: bool = True
    seen_keys: list[str] = field(default_factory=list)

    def respond(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], list[bytes]]:
        key = headers.get("authorization", "").removeprefix("Bearer ")
        self.seen_keys.append(key)
        request = SentRequest(method, httpx.URL(self.url + path), httpx.Headers(headers), body)
        payload: Any = json.loads(body or b"{}")
        responder = OpenAIChatResponder()
        if payload.get("model") == "gpt-nonexistent":
            reply = json.dumps(
                {
                    "error": {
                        "message": f"Incorrect API key provided: {key}.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                }
            )
            return 401, {"content-type": "application/json", "x-echo": key}, [reply.encode()]
        tools = payload.get("tools") or []
        if tools and payload.get("tool_choice") != "none":
            answer = Answer(
                tool_calls=(ToolCallSpec(arguments={"city": "Paris", "unit": "celsius"}),),
                finish="tool_calls",
                usage=Usage(input_tokens=20, output_tokens=7),
            )
        else:
            answer = Answer(text=("Live", " answer."), usage=Usage(input_tokens=20, output_tokens=7))
        reply = responder.answer(answer, request, responder.is_streaming(request))
        out_headers = dict(reply.headers)
        if self.leak:
            out_headers["x-echo"] = key
            out_headers["set-cookie"] = f"session={key}"
        chunks = [self._evolve(c, key) for c in reply.chunks]
        if self.version == 2 and responder.is_streaming(request):
            extra = {"id": "chatcmpl-x", "object": "chat.completion.annotation", "note": "new event type"}
            chunks.insert(-1, f"data: {json.dumps(extra)}\n\n".encode())
        return reply.status, out_headers, chunks

    def _evolve(self, chunk: bytes, key: str) -> bytes:
        text = chunk.decode()
        prefix = "data: " if text.startswith("data: ") else ""
        raw = text[len(prefix) :].strip()
        try:
            obj = json.loads(raw)
        except ValueError:
            return chunk
        if self.leak:
            obj["echo"] = f"Bearer {key}"
        if self.version == 2:
            obj["created"] = str(obj.get("created"))  # retyped: number → string
            obj["service_tier_details"] = {"tier": "flex"}  # added
            obj.pop("system_fingerprint", None)  # removed
        dumped = json.dumps(obj, ensure_ascii=False)
        return f"{prefix}{dumped}\n\n".encode() if prefix else dumped.encode()


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out, chunks = state.respond("POST", self.path, headers, body)
            self.send_response(status)
            for name, value in out.items():
                self.send_header(name, value)
            self.send_header("content-length", str(sum(len(c) for c in chunks)))
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
