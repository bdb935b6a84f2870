#!/usr/bin/env python3
"""Triage the Overseer's inbox with the async client: file a bead per ESCALATION, acknowledge the rest.

    python docs/examples/triage_inbox.py [--town DIR] [--dry-run]

Shows concurrent requests (asyncio.gather) and one-line errors.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from gastown_server.paths import find_town_root
from gastown_server.rpc.client import AsyncClient
from gastown_server.rpc.errors import RpcError


async def triage(town: str, dry_run: bool) -> int:
    c = await AsyncClient.spawn(town=town)
    try:
        await c.initialize(actor="overseer")
        inbox = await c.call("mail/inbox", {"address": "overseer"})
        print(f"{len(inbox['messages'])} messages, {inbox['unread']} unread")
        escalations = [m for m in inbox["messages"] if m["subject"].startswith("ESCALATION")]
        others = [m for m in inbox["messages"] if m not in escalations]
        for m in escalations:
            print(f"escalation from {m['sender']}: {m['subject']}")
            if not dry_run:
                bead = await c.call("bead/create", {
                    "title": m["subject"].removeprefix("ESCALATION").strip(" :") or "Escalation",
                    "description": f"From {m['sender']} ({m['id']}):\n\n{m['body']}",
                    "type": "bug", "priority": 1, "labels": ["escalation"],
                })  # fmt: skip
                await c.call("mail/reply", {"id": m["id"], "body": f"Filed as {bead['id']}."})
                await c.call("mail/ack", {"id": m["id"]})
        if not dry_run and others:
            await asyncio.gather(*(c.call("mail/ack", {"id": m["id"]}) for m in others))
            print(f"acknowledged {len(others)} other messages")
    except RpcError as exc:
        print(f"triage_inbox: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await c.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--town", default=None)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    town = args.town or find_town_root()
    if town is None:
        print("triage_inbox: no town here (give --town)", file=sys.stderr)
        return 1
    return asyncio.run(triage(str(town), args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
