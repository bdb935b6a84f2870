"""``gt rpc <method> [json-params]``: call a gastown-server method from the shell.

Talks to the town's socket server when one is running, otherwise spawns a
``gastown-server --stdio`` for the one call.  Prints the result as JSON;
with ``--listen SECONDS`` also prints the notifications that follow (one
JSON object per line), e.g. ``gt rpc feed/subscribe '{"cursor": 0}' --listen 10``.
"""

from __future__ import annotations

from .framework import Registry, arg

COMMANDS = Registry()


@COMMANDS.command(
    "rpc",
    "Call a gastown-server JSON-RPC method",
    arg("method", help="method name, e.g. convoy/list (see docs/protocol.md)"),
    arg("params", nargs="?", default=None, help="params as a JSON object (default: {})"),
    arg("--socket", dest="socket_path", help="server socket (default: <town>/.gastown/rpc.sock if a server runs)"),
    arg("--tcp", help="server at HOST:PORT (needs its token)"),
    arg("--town", help="the town (default: found from the cwd or $GT_TOWN)"),
    arg("--token", help="the server's token (default: --token-file, else $GT_SERVER_TOKEN; a value here shows in ps)"),
    arg("--token-file", metavar="PATH", help="read the server's token from this file"),
    arg("--listen", type=float, default=None, metavar="SECONDS", help="then print notifications for this long (0: until interrupted)"),
    arg("--timeout", type=float, default=60.0, help="seconds to wait for the result (default 60)"),
)
def rpc(ctx, args):
    import os
    import sys

    import msgspec

    from ..errors import GastownError, InvalidInput, NoTown
    from ..paths import find_town_root
    from ..rpc.client import Client, ProtocolError
    from ..rpc.errors import RpcError

    params = None
    if args.params is not None:
        try:
            params = msgspec.json.decode(args.params.encode())
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"params are not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise InvalidInput("params must be a JSON object, like '{\"id\": \"hq-abc\"}'")
    town = args.town or (str(find_town_root()) if find_town_root() else None)
    if town is None and not (args.socket_path or args.tcp):
        raise NoTown("no town here: run inside a town, set GT_TOWN, or give --town/--socket/--tcp")
    token = args.token or _read_token_file(args.token_file) or os.environ.get("GT_SERVER_TOKEN")
    try:
        client = Client.connect(town=town, socket_path=args.socket_path, tcp=args.tcp)
    except OSError as exc:
        raise GastownError(f"cannot reach gastown-server: {exc.strerror or exc}") from None
    def write(data: bytes) -> None:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            raise _StdoutClosed from None

    try:
        with client:
            if args.method != "initialize":
                client.initialize(actor=ctx.actor, token=token, timeout=args.timeout)
            result = client.call(args.method, params, timeout=args.timeout)
            write(msgspec.json.format(msgspec.json.encode(result), indent=2) + b"\n")
            if args.listen is not None:
                import time

                deadline = None if args.listen == 0 else time.monotonic() + args.listen
                while deadline is None or time.monotonic() < deadline:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    note = client.next_notification(left)
                    if note is None:
                        break
                    write(msgspec.json.encode(note) + b"\n")
    except _StdoutClosed:
        return 0
    except RpcError as exc:
        raise GastownError(exc.message) from None
    except TimeoutError:
        raise GastownError(f"{args.method}: no answer from gastown-server within {args.timeout:g}s") from None
    except ProtocolError as exc:
        raise GastownError(str(exc)) from None
    except ConnectionError as exc:
        raise GastownError(f"gastown-server went away: {exc}") from None
    return 0


class _StdoutClosed(Exception):
    """Whoever read our output went away (``| head``): not an error."""


def _read_token_file(path: str | None) -> str | None:
    if not path:
        return None
    from pathlib import Path

    from ..errors import InvalidInput

    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read --token-file: {exc.strerror}: {path}") from None
    if not token:
        raise InvalidInput(f"--token-file {path} is empty")
    return token
