"""``gastown-server``: the JSON-RPC server editors and scripts talk to.

Transports (Content-Length framing on all of them):

- ``--stdio`` (default): one client, the editor that spawned us; the
  server exits when stdin closes.
- ``--socket [PATH]``: a unix socket (default ``<town>/.gastown/rpc.sock``,
  mode 0600), any number of clients.
- ``--tcp HOST:PORT``: refused unless a token is given (``--token-file``
  or ``$GT_SERVER_TOKEN``; never on the command line, where ``ps`` shows it
  to every local user); every client must then send it in ``initialize``.

The town is ``--town DIR``, else found from the cwd / ``$GT_TOWN``; with
``--stdio`` the server may start without one and open the town an
``initialize`` names.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import stat
import sys
from pathlib import Path

PROG = "gastown-server"
SOCKET_NAME = "rpc.sock"
#: sockaddr_un.sun_path holds 108 bytes on Linux, one of them the closing NUL.
_MAX_UNIX_PATH = 107


class StartError(Exception):
    """Cannot start: one line for the user, exit 1."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="JSON-RPC server of a Gas Town (for editors and scripts).")
    t = p.add_mutually_exclusive_group()
    t.add_argument("--stdio", action="store_true", help="serve one client on stdin/stdout (default)")
    t.add_argument("--socket", nargs="?", const="", metavar="PATH", help="serve on a unix socket (default: <town>/.gastown/rpc.sock)")
    t.add_argument("--tcp", metavar="HOST:PORT", help="serve on TCP (requires a token: --token-file or $GT_SERVER_TOKEN)")
    p.add_argument("--town", metavar="DIR", help="the town to serve (default: found from the cwd or $GT_TOWN)")
    p.add_argument("--token", help=argparse.SUPPRESS)  # refused: see _token
    p.add_argument("--token-file", metavar="PATH",
                   help="read the shared secret every client must send in initialize from this file "
                        "(default: $GT_SERVER_TOKEN)")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _town_root(args) -> Path | None:
    from ..paths import find_town_root, ledger_path

    if args.town:
        root = Path(args.town).expanduser().resolve()
        if not ledger_path(root).exists():
            raise StartError(f"no town at {root}: run 'gt install {root}' (or 'bd init' there) first")
        return root
    return find_town_root()


def _token(args) -> str | None:
    if args.token is not None:
        raise StartError("--token is refused: a token on the command line is visible to every local user "
                         "in ps; use --token-file PATH (mode 0600) or $GT_SERVER_TOKEN")
    if args.token_file:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as exc:
            raise StartError(f"cannot read --token-file: {exc.strerror}: {args.token_file}") from None
        if not token:
            raise StartError(f"--token-file {args.token_file} is empty")
        return token
    # Read once and dropped, so no child (git, a gate, a runtime) inherits it.
    token = os.environ.pop("GT_SERVER_TOKEN", None)
    if token is not None and not token.strip():
        raise StartError("$GT_SERVER_TOKEN is set but empty")
    return token.strip() if token else None


def _prepare_socket_path(path: Path) -> None:
    """Refuse to steal a live server's socket; clear a stale one."""
    if not path.exists() and not path.is_symlink():
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise StartError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # nobody listens: a crashed server's leftover
        return
    finally:
        probe.close()
    raise StartError(f"a server already listens on {path}")


async def _serve(args, root: Path | None, token: str | None) -> None:
    from .app import App

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = App(root, token=token)
    try:
        if args.socket is not None or args.tcp:
            await _serve_network(args, app, stop)
        else:
            await _serve_stdio(app, stop)
    finally:
        app.shutdown()


SANDBOX_REFUSED = ("refused: this client runs inside an agent sandbox (another PID namespace); "
                   "agents use gt and bd, the RPC server is the operator's")


def _sandboxed_peer(sock) -> str:
    """:data:`SANDBOX_REFUSED` if the unix-socket peer is in another PID namespace than ours, else "".

    Why: ``.gastown/`` is bound read-write into every agent sandbox (the
    ledger), so its ``rpc.sock`` is reachable from any polecat or dog, and
    through it agent/nuke, nudge, agent/transcript, rig/add... would run
    outside the sandbox, with whatever ``initialize`` actor the agent claims.
    Every sandbox has its own PID namespace (bwrap --unshare-pid), which the
    agent cannot leave; the kernel gives the peer's pid (SO_PEERCRED) as we see it.
    """
    import struct

    try:
        own = os.readlink("/proc/self/ns/pid")
        pid, _uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except (OSError, AttributeError):
        return ""  # no /proc, not a unix socket: nothing to tell
    if pid <= 0:  # a peer in a namespace above ours: not a sandbox of this town's
        return ""
    try:
        return SANDBOX_REFUSED if os.readlink(f"/proc/{pid}/ns/pid") != own else ""
    except OSError:  # the connecting process is gone (its socket handed on?): do not serve blind
        return SANDBOX_REFUSED


async def _serve_network(args, app, stop: asyncio.Event) -> None:
    handlers: set[asyncio.Task] = set()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        handlers.add(task)
        try:
            conn = app.attach(writer, name=f"client-{id(writer):x}")
            if not args.tcp:
                conn.refused = _sandboxed_peer(writer.get_extra_info("socket"))
            await conn.serve(reader)
        except asyncio.CancelledError:
            pass  # the server is stopping (asyncio 3.11 logs a handler that ends cancelled)
        finally:
            handlers.discard(task)
            writer.close()

    cleanup: Path | None = None
    if args.tcp:
        from .address import parse_tcp_address

        host, port = parse_tcp_address(args.tcp)
        try:
            server = await asyncio.start_server(on_client, host, port)
        except OSError as exc:
            raise StartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = server.sockets[0].getsockname()
        where = f"tcp {bound[0]}:{bound[1]}"
    else:
        if args.socket:
            path = Path(args.socket).expanduser().absolute()
        elif app.town_root is not None:
            path = app.town_root / ".gastown" / SOCKET_NAME
        else:
            raise StartError("no town here: give --town DIR or --socket PATH")
        if len(os.fsencode(path)) > _MAX_UNIX_PATH:
            raise StartError(f"cannot listen on {path}: the path is too long for a unix socket "
                             f"({len(os.fsencode(path))} bytes, at most {_MAX_UNIX_PATH}): give --socket <shorter path>")
        try:
            _prepare_socket_path(path)
        except OSError as exc:
            raise StartError(f"cannot use {path}: {exc.strerror or exc}") from None
        old = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(on_client, str(path))
        except OSError as exc:
            raise StartError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        cleanup = path
        where = f"unix {path}"
    print(f"{PROG}: listening on {where}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        # Stop listening and drop every client; do not wait for them: since
        # Python 3.12 Server.wait_closed() waits for every connection to end,
        # so a connected editor kept a SIGTERMed server alive indefinitely.
        server.close()
        for conn in list(app.connections):
            conn.close()
        for task in list(handlers):
            task.cancel()
        if hasattr(server, "close_clients"):  # Python 3.13+
            server.close_clients()
        await asyncio.sleep(0)
        if cleanup is not None:
            try:
                cleanup.unlink()
            except FileNotFoundError:
                pass


async def _serve_stdio(app, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    # The protocol owns fd 1; anything else printing goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0, closefd=False))
    except ValueError:  # stdin is a regular file: feed the reader from a thread
        def pump() -> None:
            while chunk := os.read(0, 1 << 16):
                loop.call_soon_threadsafe(reader.feed_data, chunk)
            loop.call_soon_threadsafe(reader.feed_eof)

        loop.run_in_executor(None, pump)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    conn = app.attach(writer, name="stdio")
    serving = asyncio.ensure_future(conn.serve(reader))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not serving.done():
        serving.cancel()
    try:
        await asyncio.wait_for(writer.drain(), 2)
    except (asyncio.TimeoutError, ConnectionError, OSError, RuntimeError):
        pass


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"{PROG} {__version__}")
        return 0
    from .app import setup_logging

    setup_logging(args.log_level)
    try:
        token = _token(args)
        if args.tcp and token is None:
            raise StartError("--tcp is refused without a token (--token-file PATH or $GT_SERVER_TOKEN): "
                             "TCP needs authentication")
        root = _town_root(args)
        asyncio.run(_serve(args, root, token))
        # Do not wait at exit for worker threads still inside a long call
        # (a cancelled seance's runtime): the writer thread has finished, and
        # a transaction cut short elsewhere is rolled back by SQLite.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except StartError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - GastownError at start-up, or a bug
        from ..errors import GastownError

        if not isinstance(exc, GastownError) and (isinstance(exc, OSError) or type(exc).__module__ == "sqlite3"):
            from ..beads.failures import explain
            from ..paths import find_ledger, ledger_path

            try:
                ledger = ledger_path(Path(args.town).resolve()) if args.town else find_ledger(None)
            except Exception:  # noqa: BLE001 - only a better message is at stake
                ledger = None
            exc = explain(exc, ledger) or exc
        if isinstance(exc, GastownError):
            print(f"{PROG}: error: {exc.message}", file=sys.stderr)
            return 1
        if os.environ.get("GT_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (set GT_DEBUG=1 for details)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
