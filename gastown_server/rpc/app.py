"""The server's state and its connections.

One :class:`App` serves one town to any number of :class:`Connection` s
(stdio is one connection; a socket accepts many).  Each connection is a
pygls :class:`~pygls.protocol.JsonRPCProtocol` (request bookkeeping,
handler execution, cancellation) fed by our own framing reader and
writing msgspec-encoded messages.

Threads: everything runs on the event loop except ``write`` methods, which
run one at a time on a writer thread with its own ledger connection, and
calls into tmux or that wait (worker threads, see :meth:`App.sessions_async`
and :meth:`App.in_town_thread`).  A
connection's reads wait for its own earlier writes, so a client that
pipelines ``bead/create`` then ``bead/show`` sees its bead.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
from cattrs import Converter
from pygls.protocol import JsonRPCProtocol

from .. import __version__
from ..beads.store import Ledger
from ..errors import Conflict, NoTown
from ..paths import ledger_path
from . import errors as E
from . import framing
from .registry import METHODS, Method, load_all

log = logging.getLogger("gastown.rpc")

#: A client whose unread output exceeds this is dropped (it stopped reading).
MAX_WRITE_BUFFER = 64 * 1024 * 1024
#: How long a tmux sessions snapshot is reused (one subprocess per refresh).
SNAPSHOT_TTL_S = 0.5
#: Calls that may wait (nudge up to its timeout, seance/talk) get their own
#: threads, so a few of them (even for clients that went away) never make
#: short calls queue.  Each holds only a sleeping thread.
WAIT_THREADS = 32


class Envelope(msgspec.Struct, omit_defaults=True):
    """Any JSON-RPC message; which fields are present says what it is."""

    jsonrpc: str | msgspec.UnsetType = msgspec.UNSET
    id: int | str | None | msgspec.UnsetType = msgspec.UNSET
    method: str | msgspec.UnsetType = msgspec.UNSET
    params: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    result: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    error: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


_decode_envelope = msgspec.json.Decoder(Envelope).decode
_encoder = msgspec.json.Encoder()
_EMPTY = b"{}"


class Call:
    """What a handler sees: who is calling, which ledger to use, how to report progress."""

    __slots__ = ("app", "conn", "ledger", "msg_id", "progress_token")

    def __init__(self, app: App, conn: Connection, ledger: Ledger | None, msg_id: Any) -> None:
        self.app = app
        self.conn = conn
        self.ledger = ledger
        self.msg_id = msg_id
        self.progress_token: int | str | None = None

    @property
    def actor(self) -> str:
        return self.conn.actor

    @property
    def town_root(self) -> Path:
        if self.app.town_root is None:
            raise NoTown(self.app.no_town_message())
        return self.app.town_root

    def progress(self, kind: str, message: str = "", percentage: int | None = None) -> None:
        """Send ``$/progress`` if the request asked for it (``progress_token``)."""
        if self.progress_token is None:
            return
        value: dict[str, Any] = {"kind": kind, "message": message}
        if percentage is not None:
            value["percentage"] = percentage
        self.conn.notify("$/progress", {"token": self.progress_token, "value": value})


class Connection(JsonRPCProtocol):
    """One client: its session state, its subscriptions, its writer."""

    _ids = 0

    def __init__(self, app: App, writer: asyncio.StreamWriter | Any, *, name: str = "") -> None:
        super().__init__(app, app.converter)  # type: ignore[arg-type]
        Connection._ids += 1
        self.app = app
        self.cid = Connection._ids
        self.name = name or f"client-{self.cid}"
        self.stream = writer
        self.actor = "overseer"
        self.initialized = False
        self.authenticated = app.token is None
        #: Set by the transport for a client it will not serve (a peer inside an agent sandbox): every call gets it.
        self.refused = ""
        self.closed = False
        self._pending_write: asyncio.Future | None = None
        self._cancellable: set[Any] = set()
        self.tasks: set[asyncio.Task] = set()

    # -- output ------------------------------------------------------------------

    def send_bytes(self, body: bytes) -> None:
        if self.closed:
            return
        try:
            self.stream.write(framing.encode(body))
        except (ConnectionError, RuntimeError, OSError, ValueError):
            self.close()
            return
        transport = getattr(self.stream, "transport", None)
        if transport is not None and transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("%s: not reading its output; dropping the connection", self.name)
            self.close()

    def send_message(self, message: dict) -> None:
        try:
            body = _encoder.encode(message)
        except (TypeError, ValueError, OverflowError) as exc:  # a result we cannot encode is a bug
            log.error("cannot encode a message for %s: %s", self.name, exc)
            if "id" in message:
                err = E.RpcError(E.INTERNAL_ERROR, f"internal error: unencodable result: {exc}")
                body = _encoder.encode({"jsonrpc": "2.0", "id": message["id"], "error": err.to_wire()})
            else:
                return
        self.send_bytes(body)

    def send_error(self, msg_id: Any, err: E.RpcError) -> None:
        self.send_message({"jsonrpc": "2.0", "id": msg_id, "error": err.to_wire()})

    def notify(self, method: str, params: Any | None = None) -> None:  # type: ignore[override]
        self.send_message({"jsonrpc": "2.0", "method": method, "params": params})

    def _send_response(self, msg_id, result=None, error=None):  # type: ignore[override]
        if error is not None:
            err = error if isinstance(error, E.RpcError) else E.RpcError(error.code, error.message)
            self.send_error(msg_id, err)
        else:
            self.send_message({"jsonrpc": "2.0", "id": msg_id, "result": result})

    def _send_handler_result(self, future, *, msg_id):  # type: ignore[override]
        """pygls' completion callback, without tracebacks on the wire."""
        self._request_futures.pop(msg_id, None)
        self._cancellable.discard(msg_id)
        if future.cancelled():
            self.send_error(msg_id, E.RpcError(E.REQUEST_CANCELLED, f"request {msg_id!r} was cancelled"))
            return
        exc = future.exception()
        if exc is None:
            self._send_response(msg_id, result=future.result())
            return
        method = getattr(exc, "_gastown_method", "")
        err = E.from_exception(exc, method, ledger=self.app.ledger_path)
        if err.code == E.INTERNAL_ERROR:
            log.error("%s failed", method or "request", exc_info=exc)
        self.send_error(msg_id, err)

    async def drain(self) -> None:
        if not self.closed and hasattr(self.stream, "drain"):
            try:
                await self.stream.drain()
            except (ConnectionError, RuntimeError, OSError):
                self.close()

    # -- input ---------------------------------------------------------------------

    def handle_body(self, body: bytes) -> None:
        """Decode one frame body and dispatch it; every failure gets an answer."""
        try:
            env = _decode_envelope(body)
        except msgspec.ValidationError as exc:  # (a DecodeError subclass: first)
            text = str(exc)
            if "got `array`" in text and "- at" not in text:
                msg = "batch requests are not supported: send one JSON-RPC object per frame"
            elif "- at" not in text:
                msg = f"invalid request: a JSON-RPC message must be an object ({text})"
            else:
                msg = f"invalid request: {text}"
            self.send_error(_salvage_id(body), E.RpcError(E.INVALID_REQUEST, msg))
            return
        except msgspec.DecodeError as exc:
            self.send_error(None, E.RpcError(E.PARSE_ERROR, f"parse error: {exc}"))
            return
        msg_id = None if env.id is msgspec.UNSET else env.id
        if env.jsonrpc != "2.0":
            if env.id is not msgspec.UNSET or env.method is msgspec.UNSET:
                self.send_error(msg_id, E.RpcError(E.INVALID_REQUEST, 'invalid request: "jsonrpc" must be "2.0"'))
            return
        if env.method is msgspec.UNSET:
            return  # a response to a request we never send: ignore
        params = _EMPTY if env.params is msgspec.UNSET or bytes(env.params) == b"null" else bytes(env.params)
        if env.id is msgspec.UNSET:
            self._on_notification(env.method, params)
        elif env.id is None:
            self.send_error(None, E.RpcError(E.INVALID_REQUEST, 'invalid request: "id" must not be null'))
        else:
            self._on_request(env.id, env.method, params)

    def _on_notification(self, name: str, params: bytes) -> None:
        if name == "$/cancelRequest":
            try:
                msg_id = msgspec.json.decode(params, type=_CancelParams).id
            except msgspec.MsgspecError:
                return
            if msg_id in self._cancellable:
                self._handle_cancel_notification(msg_id)
            return
        if name == "exit":
            self.close()
            return
        m = METHODS.get(name)
        if m is None:
            return  # unknown notifications are ignored (JSON-RPC: no reply possible)
        try:
            handler = self._handler_for(m, None, params)
            self._execute_handler(f"n{id(params)}", handler, self._check_notification, args=(None,))
        except Exception as exc:  # noqa: BLE001 - a notification has nobody to tell
            log.warning("notification %s failed: %s", name, exc)

    def _check_notification(self, future) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.warning("notification failed: %s", future.exception())

    def _on_request(self, msg_id: Any, name: str, params: bytes) -> None:
        m = METHODS.get(name)
        if m is None:
            self.send_error(
                msg_id, E.RpcError(E.METHOD_NOT_FOUND, f"unknown method {name!r} (see initialize's capabilities)")
            )
            return
        if m.cancellable:
            self._cancellable.add(msg_id)
        self._next_handler = self._handler_for(m, msg_id, params)
        self._handle_request(msg_id, name, None)

    def _get_handler(self, feature_name: str):  # type: ignore[override]
        """pygls looks the handler up by name; ours was prepared for this very call."""
        return self._next_handler

    def _handler_for(self, m: Method, msg_id: Any, raw: bytes):
        """A pygls handler (plain function or coroutine function) for one call."""
        app = self.app

        def prepare() -> tuple[Call, Any]:
            if self.refused:
                raise E.RpcError(E.UNAUTHORIZED, self.refused)
            if not self.authenticated and m.name != "initialize":
                raise E.RpcError(E.UNAUTHORIZED, "unauthorized: call initialize with the server's token first")
            try:
                params = msgspec.json.decode(raw, type=m.params)
            except msgspec.ValidationError as exc:
                raise E.invalid_params(m.name, exc) from None
            except msgspec.DecodeError as exc:
                raise E.RpcError(E.PARSE_ERROR, f"parse error in params: {exc}") from None
            if m.needs_town and app.ledger is None:
                raise NoTown(app.no_town_message())
            call = Call(app, self, app.ledger, msg_id)
            call.progress_token = getattr(params, "progress_token", None)
            return call, params

        def tagged(exc: BaseException) -> BaseException:
            exc._gastown_method = m.name  # type: ignore[attr-defined]
            return exc

        if m.mode == "read" and self._pending_write is None:

            def run_read(_params: Any) -> Any:
                try:
                    call, params = prepare()
                    return m.fn(call, params)
                except Exception as exc:
                    raise tagged(exc) from None

            return run_read

        pending = self._pending_write

        async def run_async(_params: Any) -> Any:
            try:
                if pending is not None and m.mode != "write":
                    await asyncio.shield(pending)
                call, params = prepare()
                if m.mode == "read":
                    return m.fn(call, params)
                if m.mode == "async":
                    return await m.fn(call, params)
                return await app.run_write(m, call, params)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise tagged(exc) from None

        if m.mode == "write":
            fut = asyncio.get_running_loop().create_future()
            self._pending_write = fut

            async def run_write(_params: Any) -> Any:
                try:
                    return await run_async(_params)
                finally:
                    if not fut.done():
                        fut.set_result(None)
                    if self._pending_write is fut:
                        self._pending_write = None

            return run_write
        return run_async

    # -- session ---------------------------------------------------------------------

    def authenticate(self, token: str | None) -> None:
        if self.app.token is None:
            self.authenticated = True
            return
        if token is None or not hmac.compare_digest(token.encode(), self.app.token.encode()):
            raise E.RpcError(E.UNAUTHORIZED, "unauthorized: wrong or missing token")
        self.authenticated = True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.app.forget(self)
        for task in list(self.tasks):
            task.cancel()
        for fut in list(self._request_futures.values()):
            fut.cancel()
        try:
            self.stream.close()
        except Exception:  # noqa: BLE001 - already gone
            pass

    def spawn(self, coro) -> asyncio.Task:
        """A task owned by this connection (cancelled when it goes away)."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def serve(self, reader: asyncio.StreamReader) -> None:
        """Read frames until the client goes away."""
        try:
            while not self.closed:
                try:
                    body = await framing.read_frame(reader, max_body=self.app.max_body)
                except framing.FrameError as exc:
                    self.send_error(exc.request_id, E.RpcError(exc.code, exc.message))
                    if exc.fatal:
                        await self.drain()
                        break
                    continue
                if body is None:
                    break
                self.handle_body(body)
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()


class _CancelParams(msgspec.Struct):
    id: int | str


def _salvage_id(body: bytes) -> Any:
    """The id of a request that failed validation, if it has a usable one."""
    try:
        obj = msgspec.json.decode(body)
    except msgspec.MsgspecError:
        return None
    if isinstance(obj, dict):
        value = obj.get("id")
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            return value
    return None


class App:
    """One town served to many clients: ledgers, writer thread, feed, transcripts."""

    def __init__(self, town_root: Path | None, *, token: str | None = None, max_body: int = framing.MAX_BODY) -> None:
        load_all()
        self.token = token
        self.max_body = max_body
        self.converter = Converter()
        self.town_root: Path | None = None
        self.ledger: Ledger | None = None
        self.connections: set[Connection] = set()
        self.started = time.monotonic()
        self._cache: dict[str, tuple[int, Any]] = {}
        self._towns: dict[int, Any] = {}
        self._snapshot: dict | None = None
        self._snapshot_running = False
        self._snapshot_at = 0.0
        self._snapshot_task: asyncio.Future | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gastown-writer")
        self._writer_local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._wait_pool: ThreadPoolExecutor | None = None
        from .feed import Feed
        from .streams import TranscriptStreams

        self.feed = Feed(self)
        self.transcripts = TranscriptStreams(self)
        if town_root is not None:
            self.open_town(town_root)

    # pygls asks its "server" for these two.
    @property
    def thread_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gastown-rpc")
        return self._pool

    @property
    def wait_pool(self) -> ThreadPoolExecutor:
        """Threads for calls that wait (a nudge for an idle pane, a seance): never the short calls' pool."""
        if self._wait_pool is None:
            self._wait_pool = ThreadPoolExecutor(max_workers=WAIT_THREADS, thread_name_prefix="gastown-wait")
        return self._wait_pool

    def _report_server_error(self, error: Exception, source: Any) -> None:
        log.error("%s: %s", getattr(source, "__name__", source), error)

    # -- town ------------------------------------------------------------------------

    def open_town(self, root: Path) -> None:
        from ..town.core import town_dir

        root = town_dir(root)
        if self.town_root is not None:
            if root != self.town_root:
                raise Conflict(f"this server serves {self.town_root}, not {root}: start another server for that town")
            return
        path = ledger_path(root)
        if not path.exists():
            raise NoTown(f"no town at {root} (no {path.relative_to(root)}): run 'gt install {root}' or 'bd init' there")
        self.ledger = Ledger(path)
        self.town_root = root
        self.feed.start()

    def town_name(self) -> str:
        """The name ``gt install --name`` gave the town (the directory's name for a ``bd init`` ledger)."""
        assert self.town_root is not None and self.ledger is not None
        return self.ledger.config_get("town.name") or self.town_root.name

    def town_for(self, ledger: Ledger):
        """The :class:`~gastown_server.town.core.Town` (a full town) sharing ``ledger``'s connection.

        One per connection (loop thread, writer thread); rigs and config are
        re-read on every call because any process may change them.
        """
        if self.town_root is None:
            raise NoTown(self.no_town_message())
        town = self._towns.get(id(ledger))
        if town is None:
            from ..town import layout
            from ..town.core import Town

            if not layout.config_path(self.town_root).exists():
                raise NoTown(
                    f"{self.town_root} holds only a ledger (bd init): this call needs a town made by 'gt install'"
                )
            town = Town(self.town_root)
            town._ledger = ledger
            self._towns[id(ledger)] = town
        town.forget_rigs()
        town.reload_config()
        return town

    async def sessions_async(self, town) -> dict:
        """The town's tmux sessions by name: one ``tmux list-sessions`` at most every SNAPSHOT_TTL_S.

        The tmux call runs on a worker thread: a slow tmux (up to its 5 s
        timeout) must not stall every other client.  Concurrent callers share one call.
        """
        if self._snapshot is not None and time.monotonic() - self._snapshot_at <= SNAPSHOT_TTL_S:
            return self._snapshot
        if self._snapshot_task is None:
            self._snapshot_task = asyncio.ensure_future(self._refresh_sessions(town.socket))
        return await asyncio.shield(self._snapshot_task)

    async def _refresh_sessions(self, socket: str) -> dict:
        from ..runtime.snapshot import sessions_snapshot

        try:
            snap = await asyncio.get_running_loop().run_in_executor(self.thread_pool, sessions_snapshot, socket)
            self._snapshot = {s.name: s for s in (snap or [])}
            self._snapshot_running = snap is not None
            self._snapshot_at = time.monotonic()
            return self._snapshot
        finally:
            self._snapshot_task = None

    def forget_sessions(self) -> None:
        self._snapshot = None

    async def in_town_thread(self, fn, *, waits: bool = False):
        """Run ``fn(town)`` on a worker thread with its own Town and ledger connection.

        ``waits``: ``fn`` may block for long (see ``WAIT_THREADS``).
        """
        if self.town_root is None:
            raise NoTown(self.no_town_message())
        self.town_for(self.ledger)  # refuses a ledger-only town with the usual message
        root = self.town_root

        def work():
            from ..town.core import Town

            town = Town(root)
            try:
                return fn(town)
            finally:
                town.close()

        try:
            pool = self.wait_pool if waits else self.thread_pool
            return await asyncio.get_running_loop().run_in_executor(pool, work)
        finally:
            self.forget_sessions()
            self.feed.pump_safely()

    def no_town_message(self) -> str:
        return "no town is open: start gastown-server inside a town (or with --town DIR), or pass town to initialize"

    def writer_ledger(self) -> Ledger:
        led = getattr(self._writer_local, "ledger", None)
        if led is None:
            assert self.town_root is not None
            led = Ledger(ledger_path(self.town_root))
            self._writer_local.ledger = led
        return led

    async def run_write(self, m: Method, call: Call, params: Any) -> Any:
        def work() -> Any:
            call.ledger = self.writer_ledger()
            return m.fn(call, params)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, work)
        finally:
            # Our own writes reach subscribers at once, not at the next poll
            # (a failure there must not turn a committed write into an error).
            self.feed.pump_safely()

    # -- connections -----------------------------------------------------------------

    @property
    def ledger_path(self) -> Path | None:
        if self.town_root is None:
            return None
        from ..paths import ledger_path

        return ledger_path(self.town_root)

    def attach(self, writer: Any, *, name: str = "") -> Connection:
        conn = Connection(self, writer, name=name)
        self.connections.add(conn)
        return conn

    def forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self.feed.drop_connection(conn)
        self.transcripts.drop_connection(conn)

    def shutdown(self) -> None:
        for conn in list(self.connections):
            conn.close()
        self.feed.stop()
        self._writer.shutdown(wait=True, cancel_futures=False)
        for pool in (self._pool, self._wait_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if self.ledger is not None:
            self.ledger.disconnect()

    def cached(self, key: str, compute):
        """A value derived from the ledger, recomputed only after some commit.

        ``PRAGMA data_version`` on the read connection changes exactly when
        another connection (any process, or our writer thread) commits.
        """
        assert self.ledger is not None
        version = self.ledger.data_version()
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        self._cache[key] = (version, value)
        return value

    def status(self) -> dict:
        return {
            "version": __version__,
            "pid": os.getpid(),
            "clients": len(self.connections),
            "uptime_s": round(time.monotonic() - self.started, 3),
        }


def setup_logging(level: str = "WARNING") -> None:
    """Log to stderr only: stdout may be the protocol stream."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("gastown-server: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("gastown").setLevel(level)
    # pygls logs tracebacks of handler errors itself; we map and log them once.
    logging.getLogger("pygls").setLevel(logging.CRITICAL)


__all__ = ["App", "Call", "Connection", "setup_logging"]
