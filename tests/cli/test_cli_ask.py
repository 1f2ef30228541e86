"""The `accord` command: --version, help, `ask` streaming against a loopback server, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from accord.adapters import __version__, _front
from accord.adapters.cli import main

SEEN: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        SEEN.append({"path": self.path, "auth": self.headers.get("authorization"), "body": body})
        if self.server.status != 200:  # type: ignore[attr-defined]
            payload = json.dumps({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})
            self.send_response(self.server.status)  # type: ignore[attr-defined]
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        frames = [
            {"choices": [{"index": 0, "delta": {"reasoning_content": "pondering"}}]},
            {"choices": [{"index": 0, "delta": {"content": "Hello"}}]},
            {"choices": [{"index": 0, "delta": {"content": ", world"}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}},
        ]
        for frame in frames:
            self.wfile.write(f"data: {json.dumps(frame)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    monkeypatch.setattr(_front, "_SHARED", {})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-" + "c" * 30)
    SEEN.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"accord {__version__}\n"
    assert main([]) == 0
    help_text = capsys.readouterr().out
    assert "ask" in help_text
    assert "usage: accord" in help_text
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_console_script_version() -> None:
    exe = str(Path(sys.executable).parent / "accord")  # the console script beside this interpreter
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"accord {__version__}"


def test_ask_streams_answer_and_prints_usage(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "ask",
            "openai:gpt-4o-mini",
            "Say hello",
            "--base-url",
            url(server),
            "--system",
            "be brief",
            "--max-tokens",
            "20",
            "--temperature",
            "0.5",
            "--show-thinking",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert out == "Hello, world\n"
    assert "pondering" in err
    assert "[stop; 12 in, 3 out, $" in err
    request = SEEN[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"].startswith("Bearer sk-cli-")
    assert request["body"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "Say hello"},
    ]
    assert request["body"]["max_tokens"] == 20
    assert request["body"]["temperature"] == 0.5
    assert request["body"]["stream"] is True


def test_ask_plain_unknown_price(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "openai:some-unlisted-model", "hi", "--base-url", url(server)]) == 0
    out, err = capsys.readouterr()
    assert out == "Hello, world\n"
    assert "pondering" not in err
    assert err.strip() == "[stop; 12 in, 3 out]"


def test_ask_errors_exit_1_without_secrets(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.status = 401  # type: ignore[attr-defined]
    assert main(["ask", "openai:gpt-4o-mini", "hi", "--base-url", url(server)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("accord: AuthenticationError: openai gpt-4o-mini 401 [invalid_api_key]")
    assert "sk-cli-" not in err


def test_ask_configuration_errors(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_front, "_SHARED", {})
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["ask", "openai:gpt-4o-mini", "hi"]) == 1
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert main(["ask", "nope:x", "hi"]) == 1
    assert "unknown provider 'nope'" in capsys.readouterr().err


def test_lazy_subcommand_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    from accord.adapters import cli

    calls: list[list[str]] = []
    module = type(sys)("fake_accord_cmd")
    module.run = lambda argv: calls.append(list(argv)) or 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_accord_cmd", module)
    monkeypatch.setitem(cli.SUBCOMMANDS, "fake", ("fake_accord_cmd:run", "a fake command"))
    assert main(["fake", "--x"]) == 3
    assert calls == [["--x"]]

    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    module.run = interrupted  # type: ignore[attr-defined]
    assert main(["fake"]) == 130


def test_ask_refused_request_is_a_usage_error(server: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "openai:gpt-4o-mini", "hi", "--base-url", url(server), "--max-tokens", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accord: invalid request:")
    assert "max_tokens" in err
    assert SEEN == []  # refused before any network call
