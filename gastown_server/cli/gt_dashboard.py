"""``gt dashboard``: serve the town as a live web page (docs/dashboard.md).

Binds to 127.0.0.1 by default; any other address, and ``--allow-actions``,
need the town's dashboard token (made on first need, stored 0600 in
``.gastown/dashboard.token``, printed once).  aiohttp is imported only here.
"""

from __future__ import annotations

from .framework import Registry, arg

COMMANDS = Registry()


def _port(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {value}")
    return value


@COMMANDS.command(
    "dashboard",
    "Serve a live web view of the town (read-only unless --allow-actions)",
    arg("--port", type=_port, default=8077, help="TCP port (default 8077; 0: any free port)"),
    arg("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; anything else requires the token)"),
    arg("--open", action="store_true", help="open the page in a browser"),
    arg("--allow-actions", action="store_true", help="enable sling, nudge, mail, escalate and merge retry (token + CSRF)"),
    arg("--town", help="the town (default: found from the cwd or $GT_TOWN)"),
)
def dashboard(ctx, args):
    import asyncio
    import logging
    import sys
    from pathlib import Path

    from ..errors import NoTown
    from ..paths import find_town_root
    from ..web import auth
    from ..web.server import Dashboard, serve, url

    root = Path(args.town).resolve() if args.town else find_town_root()
    if root is None:
        raise NoTown("no town here: run inside a town, set GT_TOWN, or give --town DIR")
    needs_token = args.allow_actions or not auth.is_loopback(args.host)
    token = None
    created = False
    if needs_token:
        token, created = auth.load_or_create(root)
    logging.basicConfig(level=logging.WARNING, format="gt dashboard: %(levelname)s: %(message)s")
    dash = Dashboard(root, host=args.host, port=args.port, token=token, allow_actions=args.allow_actions)

    def ready(port: int) -> None:
        print(f"gt dashboard: serving {root} at {url(dash)}", flush=True)
        if token is not None:
            if created:
                print(f"gt dashboard: new token (shown once; stored 0600 in {auth.token_path(root)}):", flush=True)
                print(f"  {url(dash, with_token=True)}", flush=True)
            else:
                print(f"gt dashboard: open it with ?token=<the token in {auth.token_path(root)}>", flush=True)
        print("gt dashboard: actions " + ("ON (token and CSRF checked)" if args.allow_actions else "off (read-only)"),
              flush=True)  # fmt: skip
        if args.open:
            import webbrowser

            # A single-use link, not the token: a browser's command line is visible to every local user.
            webbrowser.open(url(dash, login=auth.issue_login(dash) if token else None))

    try:
        asyncio.run(serve(dash, ready=ready))
    except KeyboardInterrupt:
        print("gt dashboard: stopped", file=sys.stderr)
    return 0
