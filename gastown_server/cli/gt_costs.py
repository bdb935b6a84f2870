"""``gt costs [--by agent|rig|convoy|day]`` and ``gt costs record`` (the runtimes' Stop hook)."""

from __future__ import annotations

import os
import sys

from .framework import Registry, arg

COMMANDS = Registry()

_HELP = """What the town's agents cost, from the usage their runtimes record.

Reads Claude Code's session files and Codex's rollout files of every session
the town started, prices the tokens with the built-in table overridden by
<town>/settings/costs.json (docs/costs.md), and groups them --by agent
(default), rig, convoy or day.

`gt costs record` is what Claude Code's Stop hook runs: it brings the current
session's record (<town>/.gastown/costs/<session id>.json) up to date with its
session file. It always exits 0 (a hook must never fail the agent's turn);
problems are one line on stderr."""


@COMMANDS.command(
    "costs",
    "What the agents cost (tokens and dollars), by agent, rig, convoy or day",
    arg("action", nargs="?", choices=["record"], help="record: update this session's cost record (Stop hook)"),
    arg("--by", default="agent", choices=["agent", "rig", "convoy", "day"], help="how to group (default: agent)"),
    arg("--session", metavar="ID", help="record: the session id (default: $GT_SESSION_ID, else the hook's input)"),
    description=_HELP,
)
def costs(ctx, args):
    if args.action == "record":
        return _record(ctx, args)
    from ..costs.report import format_usd, summarize
    from ..town.core import open_town

    with open_town() as town:
        summary = summarize(town, args.by)
    for w in summary.warnings:
        print(f"gt: warning: {w}", file=sys.stderr)
    if summary.unpriced_models:
        print(
            f"gt: warning: no price for {', '.join(summary.unpriced_models)} (counted as $0; "
            "add them to settings/costs.json)",
            file=sys.stderr,
        )
    if ctx.json:
        ctx.emit_json(summary)
        return 0
    if not summary.rows:
        ctx.out("no recorded model usage (only sessions of runtimes that write session files are counted)")
        return 0
    head = args.by.upper()
    width = max(len(head), *(len(r.key) for r in summary.rows), 5)
    ctx.out(f"{head:<{width}}  {'INPUT':>10} {'OUTPUT':>9} {'CACHE-R':>10} {'CACHE-W':>9} {'REQS':>5}  COST")
    for r in [*summary.rows, summary.total]:
        mark = " (partly unpriced)" if r.unpriced else ""
        ctx.out(
            f"{r.key:<{width}}  {r.input_tokens:>10,} {r.output_tokens:>9,} {r.cache_read_tokens:>10,} "
            f"{r.cache_write_tokens:>9,} {r.requests:>5}  {format_usd(r.cost_usd)}{mark}"
        )
    return 0


def _hook_input(limit: int = 1 << 20, wait_s: float = 1.0) -> dict:
    """The JSON a Claude Code hook gets on stdin, if any (never blocks for long, never on a terminal)."""
    import select
    import time

    try:
        fd = sys.stdin.fileno()
        if os.isatty(fd):
            return {}
    except (OSError, ValueError, AttributeError):
        return {}
    chunks, size, deadline = [], 0, time.monotonic() + wait_s
    while size < limit:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    try:
        import msgspec

        data = msgspec.json.decode(b"".join(chunks)) if chunks else {}
    except Exception:  # noqa: BLE001 - not JSON: no hook input
        return {}
    return data if isinstance(data, dict) else {}


def _record(ctx, args) -> int:
    try:
        session_id = args.session or os.environ.get("GT_SESSION_ID") or str(_hook_input().get("session_id") or "")
        if not session_id:
            raise ValueError("no session: run inside a town session, or pass --session ID")
        from ..costs.report import record
        from ..town.core import open_town

        with open_town() as town:
            rec = record(town, session_id)
        if ctx.json:
            ctx.emit_json(rec)
        elif rec is None:
            ctx.out(f"session {session_id}: its runtime records no usage gastown reads")
        else:
            u = rec.totals()
            ctx.out(f"session {session_id}: {u.requests} replies, {u.total_tokens:,} tokens recorded")
    except Exception as exc:  # noqa: BLE001 - a Stop hook must never fail the agent's turn
        msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        print(f"gt costs record: {msg}", file=sys.stderr)
    return 0
