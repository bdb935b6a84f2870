"""``gt model-stub``: the loopback model (stub or key-adding forward proxy) on 127.0.0.1.

Thin over :mod:`gastown_server.modelstub.service` (see docs/runtimes.md,
"The loopback model").
"""

from __future__ import annotations

from pathlib import Path

import argparse

from .framework import Registry, arg

COMMANDS = Registry()


@COMMANDS.command(
    "model-stub",
    "Serve the loopback model on 127.0.0.1 (Messages API for Claude Code; forward mode adds your key)",
    arg("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: any free port, printed)"),
    arg("--forward", action="store_true",
        help="forward to the real API (--upstream, else $ANTHROPIC_BASE_URL, else api.anthropic.com) adding "
             "$ANTHROPIC_API_KEY / $ANTHROPIC_AUTH_TOKEN, which the agents never see"),
    arg("--upstream", default="", help="forward mode: the upstream base URL"),
    arg("--log", default="", help="append one JSON line per request to this file"),
    arg("--detach", action="store_true", help="run in the background for this town (recorded; sessions started "
                                                "afterwards talk to it)"),
    arg("--stop", action="store_true", help="stop this town's background model proxy"),
    arg("--status", action="store_true", help="show this town's background model proxy"),
    arg("--fault", default="", choices=("", "bad-reply"), help="testing: answer with a malformed reply"),
    arg("--town-service", action="store_true", help=argparse.SUPPRESS),
)  # fmt: skip
def model_stub(ctx, args):
    import sys

    from ..modelstub import service
    from ..paths import find_town_root

    root = find_town_root()
    if args.stop or args.status or args.detach or args.town_service:
        if root is None:
            from ..errors import NoTown

            raise NoTown("--detach/--stop/--status act on a town: run inside one or set GT_TOWN")
    if args.stop:
        was = service.stop(root)
        return ctx.emit({"stopped": was}, "model proxy stopped" if was else "model proxy was not running")
    if args.status:
        st = service.status(root)
        return ctx.emit(st, f"model proxy {st.mode} at {st.url} (pid {st.pid})" if st.running else "model proxy not running")
    if args.detach:
        st = service.start_background(root, port=args.port, forward=args.forward, upstream=args.upstream,
                                      log_path=Path(args.log) if args.log else None, fault=args.fault)  # fmt: skip
        return ctx.emit(st, f"model proxy {st.mode} at {st.url} (pid {st.pid})")
    server = service.make_server(args.port, log_path=Path(args.log) if args.log else None, forward=args.forward,
                                 upstream=args.upstream, fault=args.fault)  # fmt: skip
    if not args.town_service:
        print(f"model-stub {server.mode} listening on {server.url}", flush=True)
    sys.stdout.flush()
    return service.serve_forever(server, root=root if args.town_service else None)
