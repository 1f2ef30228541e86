"""A loopback HTTP/1.1 fault server: real sockets on 127.0.0.1, scripted misbehaviour, bounded lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# Every wait inside the server is bounded by this, so a test that forgets to stop it cannot hang the run.
MAX_LIFETIME = 20.0
MAX_STALL = 5.0


@dataclass
class Received:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Action = Callable[["Conn", Received], Awaitable[bool]]  # returns True to keep the connection alive


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def reset(self) -> None:
        """Close with an RST instead of a FIN (SO_LINGER 0)."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


def _head(status: int, headers: Sequence[tuple[str, str]], *, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


# --- actions ---------------------------------------------------------------------------------------------------


def respond(
    status: int, body: bytes, headers: Sequence[tuple[str, str]] = (("Content-Type", "application/json"),)
) -> Action:
    async def act(conn: Conn, req: Received) -> bool:
        await conn.send(_head(status, headers, length=len(body)) + body)
        return True

    return act


def stream(
    frames: Sequence[bytes],
    content_type: str,
    *,
    then: str = "end",
    gap: float = 0.0,
    stall: float = MAX_STALL,
) -> Action:
    """A chunked 200 answer, one chunk per frame; `then` is `end` (clean), `cut` (FIN without the final chunk),
    `reset` (RST after the frames), `stall` (hold the connection open, silent, until the client gives up)."""

    async def act(conn: Conn, req: Received) -> bool:
        await conn.send(_head(200, (("Content-Type", content_type),), length=None))
        for frame in frames:
            await conn.send(_chunk(frame))
            if gap:
                await asyncio.sleep(gap)
        if then == "end":
            await conn.send(b"0\r\n\r\n")
            return True
        if then == "stall":
            await _wait_for_close(conn, stall)
        elif then == "reset":
            conn.reset()
            return False
        conn.writer.close()
        return False

    return act


def endless(frame: bytes, content_type: str, *, gap: float = 0.001) -> Action:
    """A stream that never ends: the same frame again and again until the client hangs up (or the lifetime)."""

    async def act(conn: Conn, req: Received) -> bool:
        await conn.send(_head(200, (("Content-Type", content_type),), length=None))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_LIFETIME
        with contextlib.suppress(ConnectionError, OSError):
            while loop.time() < deadline and not conn.writer.is_closing():
                await conn.send(_chunk(frame))
                await asyncio.sleep(gap)
        conn.writer.close()
        return False

    return act


def reset_before_headers() -> Action:
    async def act(conn: Conn, req: Received) -> bool:
        conn.reset()
        return False

    return act


def reset_mid_body(body: bytes, *, keep: int, content_type: str = "application/json") -> Action:
    """Promise the whole body in Content-Length, send `keep` bytes, then RST."""

    async def act(conn: Conn, req: Received) -> bool:
        await conn.send(_head(200, (("Content-Type", content_type),), length=len(body)) + body[:keep])
        await asyncio.sleep(0.01)
        conn.reset()
        return False

    return act


def stall_before_headers(seconds: float = MAX_STALL) -> Action:
    async def act(conn: Conn, req: Received) -> bool:
        await _wait_for_close(conn, seconds)
        conn.writer.close()
        return False

    return act


async def _wait_for_close(conn: Conn, seconds: float) -> None:
    """Stay silent until the client closes its side (or `seconds` pass, bounded)."""
    with contextlib.suppress(TimeoutError, ConnectionError, OSError):
        async with asyncio.timeout(min(seconds, MAX_STALL)):
            while await conn.reader.read(65536):
                pass


# --- the server ------------------------------------------------------------------------------------------------


@dataclass
class FaultServer:
    """Serves a script of actions, one per request, on 127.0.0.1:<free port>; `aux` answers side routes
    (e.g. token exchanges) by path substring without consuming the script."""

    script: list[Action] = field(default_factory=list)
    aux: dict[str, Action] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    open_connections: int = 0
    total_connections: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _watchdog: asyncio.TimerHandle | None = None
    _all_closed: asyncio.Event = field(default_factory=asyncio.Event)
    got_request: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        return len(self.received)

    async def __aenter__(self) -> FaultServer:
        self._all_closed.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=2**20, backlog=2048)
        # Stops itself: a forgotten server cannot outlive its bound.
        self._watchdog = asyncio.get_running_loop().call_later(MAX_LIFETIME, self._abort)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _abort(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._abort()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def idle(self, within: float = 2.0) -> bool:
        """Wait until the client has closed every connection; False if some stay open past `within` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._all_closed.wait()
        return self.open_connections == 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.open_connections += 1
        self._all_closed.clear()
        self.total_connections += 1
        conn = Conn(reader, writer)
        try:
            async with asyncio.timeout(MAX_LIFETIME):
                while True:
                    req = await _read_request(reader)
                    if req is None:
                        break
                    action = next((a for key, a in self.aux.items() if key in req.path), None)
                    if action is None:
                        self.received.append(req)
                        self.got_request.set()
                        index = len(self.received) - 1
                        action = self.script[index] if index < len(self.script) else _exhausted
                    if not await action(conn, req):
                        break
        except (ConnectionError, OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # our own stop(): end quietly (asyncio logs a cancelled connection callback as an error)
        finally:
            self.open_connections -= 1
            if self.open_connections == 0:
                self._all_closed.set()
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.transport.abort()


async def _exhausted(conn: Conn, req: Received) -> bool:
    # More requests than the test scripted: answer with a status no retry loop treats as retryable.
    body = b'{"error": {"message": "fault script exhausted", "type": "invalid_request_error"}}'
    await conn.send(_head(418, (("Content-Type", "application/json"),), length=len(body)) + body)
    return True


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Received(method, path, headers, body)


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was just released), so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
