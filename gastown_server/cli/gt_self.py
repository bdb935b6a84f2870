"""``gt whoami|role|checkpoint|cycle|feed|trail|worktree``: an agent about itself, and the town's recent past.

Thin over :mod:`gastown_server.town` (identity, checkpoints, worktrees) and
:mod:`gastown_server.work.activity` (feed, trail).
"""

from __future__ import annotations

import os

from .framework import Registry, arg

COMMANDS = Registry()


def _town():
    from ..town.core import open_town

    return open_town()


def _who(ctx) -> tuple[str, str]:
    """(address, where it came from)."""
    explicit = getattr(ctx.args, "actor", None)
    if explicit:
        return explicit.strip().rstrip("/"), "--actor"
    for var in ("BD_ACTOR", "GT_ROLE"):
        if os.environ.get(var):
            return os.environ[var].strip().rstrip("/"), f"${var}"
    return "overseer", "default (no --actor, $BD_ACTOR or $GT_ROLE: you are the Overseer)"


def _identity_info(town, address: str, source: str) -> dict:
    import msgspec

    info = {"address": address, "source": source, "town": town.name, "town_root": str(town.root)}
    if address == "overseer":
        info.update(role="overseer", rig="", session="", cwd=str(town.root))
        return info
    ident = town.identity(address)
    info.update(msgspec.to_builtins(ident))
    info["session_id"] = os.environ.get("GT_SESSION_ID", "")
    return info


@COMMANDS.command("whoami", "Your address, role, rig, session and town")
def whoami(ctx, args):
    address, source = _who(ctx)
    with _town() as town:
        info = _identity_info(town, address, source)
    if ctx.json:
        ctx.emit_json(info)
        return
    ctx.out(f"{info['address']} ({info['role']}) in town {info['town']}" + (f", rig {info['rig']}" if info.get("rig") else ""))
    if info.get("session"):
        ctx.out(f"  session {info['session']}" + (f" ({info['session_id']})" if info.get("session_id") else ""))
    ctx.out(f"  identity from {source}")


@COMMANDS.command(
    "role", "Your role: show (default), home (working directory), detect, list (every role), env (session variables)",
    arg("action", nargs="?", default="show", choices=["show", "home", "detect", "list", "env"]),
)  # fmt: skip
def role(ctx, args):
    from ..town import roles
    from ..town.identity import ROLES

    if args.action == "list":
        ctx.emit(list(ROLES), "\n".join(ROLES))
        return
    address, source = _who(ctx)
    with _town() as town:
        info = _identity_info(town, address, source)
        text = roles.role_text(town.ledger, info["role"]) if info["role"] != "overseer" else ""
    if args.action == "home":
        ctx.emit({"address": address, "home": info["cwd"]}, info["cwd"])
    elif args.action == "env":
        env = {"GT_ROLE": address, "BD_ACTOR": address, "GT_TOWN": info["town_root"]}
        if info.get("rig"):
            env.update(GT_RIG=info["rig"], GT_PREFIX=info.get("prefix", ""))
        if info.get("session"):
            env["GT_SESSION"] = info["session"]
        ctx.emit(env, "\n".join(f"export {k}={v}" for k, v in env.items()))
    elif args.action == "detect":
        ctx.emit({"role": info["role"], "address": address, "source": source}, f"{info['role']} ({address}, from {source})")
    else:
        ctx.emit({**info, "instructions": text}, f"{address}: {info['role']}" + (f"\n\n{text}" if text else ""))


# -- checkpoint -------------------------------------------------------------------------


@COMMANDS.command(
    "checkpoint", "Crash-recovery note for your successor: write (default), read, clear",
    arg("action", nargs="?", default="write", choices=["write", "read", "clear"]),
    arg("--notes", "-m", dest="notes", default="", help="write: what you were doing"),
    arg("--molecule", default="", help="write: the molecule (default: the one on your hook)"),
    arg("--step", default="", help="write: the step you are on"),
)  # fmt: skip
def checkpoint(ctx, args):
    from ..town import checkpoints
    from ..town.identity import actor_from_env

    me = actor_from_env(getattr(ctx.args, "actor", None))
    with _town() as town:
        if args.action == "read":
            cp = checkpoints.read(town, me)
            text = f"{cp.address} at {cp.at}: hook {', '.join(cp.hook) or '-'}, molecule {cp.molecule or '-'}, step {cp.step or '-'}"
            ctx.emit(cp, text + (f"\n{cp.notes}" if cp.notes else ""))
            return
        if args.action == "clear":
            was = checkpoints.clear(town, me)
            ctx.emit({"address": me, "cleared": was}, f"{me}: checkpoint cleared" if was else f"{me}: no checkpoint")
            return
        cp = checkpoints.write(town, me, notes=args.notes, molecule=args.molecule, step=args.step,
                               session_id=os.environ.get("GT_SESSION_ID", ""))  # fmt: skip
    ctx.emit(cp, f"{me}: checkpoint written at {cp.at}")


@COMMANDS.command(
    "cycle", "Accepted for Gas Town compatibility: switching tmux sessions is tmux's job here",
    arg("direction", nargs="?", default="next", choices=["next", "prev"]),
    arg("--session", help="accepted (the session to cycle from)"),
)  # fmt: skip
def cycle(ctx, args):
    """Gas Town binds C-b n/p to gt cycle; gastown installs no key bindings in your tmux."""
    from ..runtime.tmux import socket_name

    with _town() as town:
        sock = socket_name(town.root)
    flag = "-n" if args.direction == "next" else "-p"
    note = f"gt cycle is not needed here: use tmux -L {sock} switch-client {flag} (or C-b ( / C-b ) inside tmux)"
    ctx.emit({"supported": False, "use": f"tmux -L {sock} switch-client {flag}", "note": note}, note)


# -- feed / trail -----------------------------------------------------------------------


def _since(text: str | None) -> float | None:
    from ..work.signals import parse_duration

    return parse_duration(text, what="--since") if text else None


def _event_line(e) -> str:
    payload = " ".join(f"{k}={v}" for k, v in sorted(e.payload.items()) if not isinstance(v, (dict, list)))[:120]
    return f"{e.at[:19].replace('T', ' ')}  {e.actor:<24} {e.kind:<20} {e.bead_id or '-':<14} {payload}".rstrip()


@COMMANDS.command(
    "feed", "The town's activity feed (ledger events), oldest first",
    arg("--since", help="only this recent (e.g. 10m, 1h, 90s)"),
    arg("-n", "--limit", type=int, default=100, help="the last N events (0 = all; default 100)"),
    arg("--actor-filter", "--from", dest="who", default="", help="only events by this actor"),
    arg("--kind", action="append", help="only this event kind (repeatable)"),
    arg("-f", "--follow", action="store_true", help="keep printing new events until interrupted"),
    arg("--plain", action="store_true", help="plain lines (the only output here; Gas Town's TUI is not needed)"),
)  # fmt: skip
def feed(ctx, args):
    import sys
    import time

    from ..work import activity

    ledger = ctx.ledger
    events = activity.feed(ledger, since_s=_since(args.since), limit=args.limit, actor=args.who, kinds=args.kind)
    if ctx.json and not args.follow:
        ctx.emit_json(events)
        return
    for e in events:
        ctx.emit_json(e) if ctx.json else ctx.out(_event_line(e))
    if not events and not args.follow and not ctx.json:
        ctx.out("no events" + (f" in the last {args.since}" if args.since else ""))
    if not args.follow:
        return
    cursor = events[-1].id if events else ledger.last_event_id()
    while True:
        sys.stdout.flush()
        time.sleep(0.5)
        for e in ledger.events_since(cursor):
            cursor = e.id
            if (args.who and e.actor != args.who) or (args.kind and e.kind not in args.kind):
                continue
            ctx.emit_json(e) if ctx.json else ctx.out(_event_line(e))


@COMMANDS.command(
    "trail", "Recent activity: beads changed, hooks, rigs' commits",
    arg("kind", nargs="?", default="all", choices=["all", "beads", "hooks", "commits"]),
    arg("--since", help="only this recent (e.g. 1h)"),
    arg("-n", "--limit", type=int, default=20, help="at most N (default 20)"),
)  # fmt: skip
def trail(ctx, args):
    from ..work import activity

    with _town() as town:
        items = activity.trail(town, args.kind, since_s=_since(args.since), limit=args.limit)
    if ctx.json:
        ctx.emit_json(items)
        return
    if not items:
        ctx.out("nothing yet")
    for i in items:
        where = f"{i.rig}:" if i.rig else ""
        ctx.out(f"{i.at[:19].replace('T', ' ')}  {i.kind:<6} {where}{i.id:<14} {i.actor:<24} {i.text}")


# -- worktree ---------------------------------------------------------------------------


@COMMANDS.command("worktree list", "Every git worktree of the rigs (canonical clones, polecats, others)",
                  arg("rig", nargs="?", help="only this rig's"))  # fmt: skip
def worktree_list(ctx, args):
    from ..town import worktrees

    with _town() as town:
        if args.rig:
            town.rig(args.rig)
        rows = worktrees.list_worktrees(town, args.rig)
    if ctx.json:
        ctx.emit_json(rows)
        return
    for w in rows:
        gone = "" if w.exists else "  (missing: gt doctor --fix prunes it)"
        ctx.out(f"{w.rig:<12} {w.kind:<9} {w.branch or '-':<28} {w.path}{gone}")


@COMMANDS.command(
    "worktree remove", "Remove a worktree (a polecat's: as gt polecat nuke, refusing while work could be lost)",
    arg("target", help="a worktree path, or a polecat (<rig>/polecats/<name> or <name>)"),
    arg("-f", "--force", action="store_true", help="remove even with uncommitted or unmerged work"),
)  # fmt: skip
def worktree_remove(ctx, args):
    from ..town import worktrees

    with _town() as town:
        res = worktrees.remove(town, args.target, actor=ctx.actor, force=args.force)
    path = getattr(res, "path", "") or (res.nuke.worktree if getattr(res, "nuke", None) else args.target)
    ctx.emit(res, f"removed worktree {path}")
