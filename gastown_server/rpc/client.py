"""Python clients for gastown-server: :class:`Client` (blocking) and :class:`AsyncClient`.

Both speak Content-Length framed JSON-RPC over a unix socket, TCP, or the
stdio of a server they spawn; neither imports pygls, so a script starts
fast.  Errors come back as :class:`~gastown_server.rpc.errors.RpcError`
(``code``, ``message``, ``data``).  Notifications received while waiting
for a response are queued: read them with :meth:`Client.next_notification`
or iterate :meth:`Client.notifications`.

    with Client.connect(town="/path/to/town") as c:
        c.initialize()
        print(c.call("convoy/list")["convoys"])
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from .errors import RpcError

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def _frame(message: dict) -> bytes:
    body = _encode(message)
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def server_command(*args: str) -> list[str]:
    """How to start the server from this interpreter (works without the console script)."""
    return [sys.executable, "-m", "gastown_server.rpc.server", *args]


def default_socket(town: str | os.PathLike[str]) -> Path:
    return Path(town) / ".gastown" / "rpc.sock"


class ProtocolError(ConnectionError):
    """The server sent bytes that are not a Content-Length frame of JSON: the stream cannot be followed."""


def _content_length(value: bytes) -> int:
    text = value.strip()
    if not text.isdigit():  # int() would also take "-5", "+5", "1_0" and " 5"
        raise ProtocolError(f"gastown-server sent a bad Content-Length {text[:40]!r}")
    return int(text)


def _decode_body(body: bytes) -> dict:
    try:
        msg = _decode(body)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"gastown-server sent a frame that is not JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"gastown-server sent a frame that is not a JSON object: {body[:60]!r}")
    return msg


class _Buffer:
    """Parses frames out of a byte stream."""

    def __init__(self) -> None:
        self.data = bytearray()

    def next_frame(self) -> bytes | None:
        end = self.data.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = None
        for line in bytes(self.data[:end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = _content_length(value)
        if length is None:
            raise ProtocolError("gastown-server sent a frame without Content-Length")
        start = end + 4
        if len(self.data) < start + length:
            return None
        body = bytes(self.data[start : start + length])
        del self.data[: start + length]
        return body


class Client:
    """A blocking client.  Not thread-safe: one thread uses it at a time."""

    def __init__(self, read_fd: int, write: Any, *, closer: Any = None, process: subprocess.Popen | None = None) -> None:
        self._fd = read_fd
        self._write = write
        self._closer = closer
        self.process = process
        self._buf = _Buffer()
        self._ids = itertools.count(1)
        self._pending: collections.deque[dict] = collections.deque()
        self._responses: dict[Any, dict] = {}
        self.server_info: dict | None = None

    # -- construction ----------------------------------------------------------------

    @classmethod
    def connect_socket(cls, path: str | os.PathLike[str]) -> Client:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        return cls(sock.fileno(), sock.sendall, closer=sock.close)

    @classmethod
    def connect_tcp(cls, host: str, port: int) -> Client:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock.fileno(), sock.sendall, closer=sock.close)

    @classmethod
    def spawn(cls, *args: str, town: str | os.PathLike[str] | None = None, command: list[str] | None = None,
              env: dict[str, str] | None = None, stderr: Any = None) -> Client:
        """Start ``gastown-server --stdio`` and talk to it over its stdio."""
        argv = list(command or server_command("--stdio"))
        if town is not None:
            argv += ["--town", str(town)]
        argv += list(args)
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env)
        assert proc.stdin is not None and proc.stdout is not None

        def write(data: bytes) -> None:
            proc.stdin.write(data)  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]

        def close() -> None:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]

        return cls(proc.stdout.fileno(), write, closer=close, process=proc)

    @classmethod
    def connect(cls, *, town: str | os.PathLike[str] | None = None, socket_path: str | os.PathLike[str] | None = None,
                tcp: str | None = None) -> Client:
        """The town's socket if a server listens there, else a spawned stdio server."""
        if tcp:
            from .address import parse_tcp_address

            return cls.connect_tcp(*parse_tcp_address(tcp))
        if socket_path:
            return cls.connect_socket(socket_path)
        if town is not None:
            path = default_socket(town)
            if path.exists():
                try:
                    return cls.connect_socket(path)
                except OSError:
                    pass
        return cls.spawn(town=town)

    # -- calls -------------------------------------------------------------------------

    def initialize(self, *, actor: str | None = None, token: str | None = None, town: str | None = None,
                   timeout: float | None = 30) -> dict:
        params: dict[str, Any] = {"clientInfo": {"name": "gastown.rpc.client", "version": "1"}, "processId": os.getpid()}
        for key, value in (("actor", actor), ("token", token), ("town", town)):
            if value is not None:
                params[key] = value
        self.server_info = self.call("initialize", params, timeout=timeout)
        return self.server_info

    def request(self, method: str, params: Any = None) -> int:
        """Send a request without waiting; returns its id (see :meth:`wait`)."""
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self._write(_frame(msg))
        return msg_id

    def wait(self, msg_id: Any, *, timeout: float | None = 30, type: Any = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while msg_id not in self._responses:
            self._read_one(deadline)
        reply = self._responses.pop(msg_id)
        if "error" in reply:
            err = reply["error"] or {}
            raise RpcError(err.get("code", -32603), err.get("message", "unknown error"), data=err.get("data"))
        result = reply.get("result")
        return result if type is None else msgspec.convert(result, type)

    def call(self, method: str, params: Any = None, *, timeout: float | None = 30, type: Any = None) -> Any:
        return self.wait(self.request(method, params), timeout=timeout, type=type)

    def notify(self, method: str, params: Any = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._write(_frame(msg))

    def cancel(self, msg_id: Any) -> None:
        self.notify("$/cancelRequest", {"id": msg_id})

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (for tests of the server's framing)."""
        self._write(data)

    # -- notifications -------------------------------------------------------------------

    def next_notification(self, timeout: float | None = 5, *, method: str | None = None) -> dict | None:
        """The next queued notification (``{"method", "params"}``), or None after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for i, note in enumerate(self._pending):
                if method is None or note["method"] == method:
                    del self._pending[i]
                    return note
            try:
                self._read_one(deadline)
            except TimeoutError:
                return None

    def notifications(self, timeout: float | None = 5, *, method: str | None = None) -> Iterator[dict]:
        while (note := self.next_notification(timeout, method=method)) is not None:
            yield note

    def read_message(self, timeout: float | None = 5) -> dict:
        """The next raw message from the server (tests of replies without ids)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frame = self._buf.next_frame()
            if frame is not None:
                return _decode_body(frame)
            self._fill(deadline)

    # -- plumbing ------------------------------------------------------------------------

    def _fill(self, deadline: float | None) -> None:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([self._fd], [], [], remaining)
        if not ready:
            raise TimeoutError("no answer from gastown-server in time")
        chunk = os.read(self._fd, 1 << 16)
        if not chunk:
            raise ConnectionError("gastown-server closed the connection")
        self._buf.data += chunk

    def _read_one(self, deadline: float | None) -> None:
        msg = self.read_message(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        if "method" in msg and "id" not in msg:
            self._pending.append(msg)
        elif "id" in msg:
            self._responses[msg["id"]] = msg

    def close(self) -> None:
        if self._closer is not None:
            closer, self._closer = self._closer, None
            closer()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient:
    """An asyncio client: concurrent requests, notifications on a queue."""

    def __init__(self, reader: asyncio.StreamReader, writer: Any, *, process: Any = None) -> None:
        self._reader = reader
        self._writer = writer
        self.process = process
        self._ids = itertools.count(1)
        self._futures: dict[Any, asyncio.Future] = {}
        self.notifications: asyncio.Queue[dict] = asyncio.Queue()
        self._skipped: collections.deque[dict] = collections.deque()
        #: Why the read loop ended: later calls fail at once instead of waiting out their timeout.
        self._broken: ConnectionError | None = None
        self._task = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def connect_socket(cls, path: str | os.PathLike[str]) -> AsyncClient:
        reader, writer = await asyncio.open_unix_connection(str(path))
        return cls(reader, writer)

    @classmethod
    async def connect_tcp(cls, host: str, port: int) -> AsyncClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    @classmethod
    async def spawn(cls, *args: str, town: str | os.PathLike[str] | None = None, stderr: Any = None) -> AsyncClient:
        argv = server_command("--stdio")
        if town is not None:
            argv += ["--town", str(town)]
        proc = await asyncio.create_subprocess_exec(
            *argv, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
        assert proc.stdout is not None
        return cls(proc.stdout, proc.stdin, process=proc)

    async def _read_loop(self) -> None:
        try:
            while True:
                length = None
                while True:
                    line = await self._reader.readline()
                    if not line:
                        raise ConnectionError("gastown-server closed the connection")
                    if not line.strip():
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = _content_length(value)
                if length is None:
                    raise ProtocolError("gastown-server sent a frame without Content-Length")
                msg = _decode_body(await self._reader.readexactly(length))
                if "id" in msg and "method" not in msg:
                    fut = self._futures.pop(msg["id"], None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                elif "method" in msg:
                    self.notifications.put_nowait(msg)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._broken = exc if isinstance(exc, ConnectionError) else ConnectionError(str(exc))
            for fut in self._futures.values():
                if not fut.done():
                    fut.set_exception(self._broken)
            self._futures.clear()

    async def initialize(self, *, actor: str | None = None, token: str | None = None) -> dict:
        params: dict[str, Any] = {"clientInfo": {"name": "gastown.rpc.client", "version": "1"}}
        if actor is not None:
            params["actor"] = actor
        if token is not None:
            params["token"] = token
        return await self.call("initialize", params)

    async def call(self, method: str, params: Any = None, *, timeout: float | None = 30, type: Any = None) -> Any:
        if self._broken is not None:
            raise self._broken
        msg_id = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._futures[msg_id] = fut
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self._writer.write(_frame(msg))
        await self._writer.drain()
        try:
            reply = await asyncio.wait_for(fut, timeout)
        except asyncio.CancelledError:
            self._writer.write(_frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": msg_id}}))
            raise
        if "error" in reply:
            err = reply["error"] or {}
            raise RpcError(err.get("code", -32603), err.get("message", "unknown error"), data=err.get("data"))
        result = reply.get("result")
        return result if type is None else msgspec.convert(result, type)

    async def notify(self, method: str, params: Any = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._writer.write(_frame(msg))
        await self._writer.drain()

    async def next_notification(self, timeout: float | None = 5, *, method: str | None = None) -> dict | None:
        """The next notification (of ``method``); others stay queued for later calls."""
        for i, note in enumerate(self._skipped):
            if method is None or note["method"] == method:
                del self._skipped[i]
                return note
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
            try:
                note = await asyncio.wait_for(self.notifications.get(), remaining)
            except asyncio.TimeoutError:
                return None
            if method is None or note["method"] == method:
                return note
            self._skipped.append(note)

    async def close(self) -> None:
        self._task.cancel()
        try:
            self._writer.close()
            if hasattr(self._writer, "wait_closed"):
                await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
