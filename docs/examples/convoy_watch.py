#!/usr/bin/env python3
"""Watch convoys land: print each convoy's progress whenever it changes (no polling).

    python docs/examples/convoy_watch.py [--town DIR]

Connects to the town's socket server if one runs (gastown-server --socket),
else spawns a stdio server; subscribes to the feed and re-reads a convoy's
tree each time the server says it changed.  Ctrl-C to stop.
"""

from __future__ import annotations

import argparse
import sys

from gastown_server.paths import find_town_root
from gastown_server.rpc.client import Client
from gastown_server.rpc.errors import RpcError


def show(c: Client, convoy_id: str) -> None:
    tree = c.call("convoy/tree", {"id": convoy_id})
    p = tree["progress"]
    mark = "LANDED" if tree["landed"] else f"{p['closed']}/{p['total']}"
    print(f"{convoy_id}  {tree['convoy']['title']:<40} {mark}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--town", default=None)
    ap.add_argument("--seconds", type=float, default=None, help="stop after this long (default: never)")
    args = ap.parse_args()
    town = args.town or find_town_root()
    if town is None:
        print("convoy_watch: no town here (give --town)", file=sys.stderr)
        return 1
    with Client.connect(town=town) as c:
        c.initialize(actor="overseer")
        for convoy in c.call("convoy/list")["convoys"]:
            show(c, convoy["id"])
        c.call("feed/subscribe", {})  # turns on $/gastown/convoyChanged for this connection
        try:
            for note in c.notifications(args.seconds, method="$/gastown/convoyChanged"):
                show(c, note["params"]["convoy"])
        except KeyboardInterrupt:
            pass
        except RpcError as exc:
            print(f"convoy_watch: {exc.message}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
