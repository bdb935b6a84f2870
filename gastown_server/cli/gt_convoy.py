"""``gt convoy``: convoys (a bead tracking work across rigs) from the command line.

Thin over :mod:`gastown_server.work.convoys`.  Landing mails CONVOY_LANDED
to the Overseer and the Mayor; ``check`` lands every finished convoy and
reports stranded work (tracked, ready, nobody on it).
"""

from __future__ import annotations

from .framework import Registry, arg

COMMANDS = Registry()


def _actor(ctx) -> str:
    from .gt_mail import _me

    return _me(ctx)


def _notify_landed(ctx, convoy_ids: list[str]) -> None:
    """Nudge the Mayor about CONVOY_LANDED mail (the Overseer reads its inbox)."""
    if not convoy_ids:
        return
    from ..work import mail
    from .gt_mail import _notify

    wanted = {f"{mail.CONVOY_LANDED} {cid}" for cid in convoy_ids}
    msgs = [m for m in mail.unread(ctx.ledger, "mayor") if m.subject.split(":", 1)[0] in wanted]
    _notify(ctx, msgs)


def _progress(p) -> str:
    return f"{p.closed}/{p.total}"


def _print_tree(ctx, t) -> None:
    c = t.convoy
    state = "landed" if c.status == "closed" and c.close_reason.startswith("landed") else c.status
    ctx.out(f"{c.id} {c.title} [{state}] {_progress(t.progress)} closed")
    for i, b in enumerate(t.tracked):
        branch = "└─" if i == len(t.tracked) - 1 and not t.missing else "├─"
        who = b.assignee or "-"
        blocked = " (blocked)" if b.is_blocked and b.status not in ("closed", "tombstone") else ""
        ctx.out(f"{branch} {b.id:<12} {b.status:<11} {who:<24} {b.rig or '-':<10} {b.title}{blocked}")
    for i, mid in enumerate(t.missing):
        branch = "└─" if i == len(t.missing) - 1 else "├─"
        ctx.out(f"{branch} {mid:<12} missing (purged)")


@COMMANDS.command(
    "convoy create", "Create a convoy tracking beads",
    arg("title"), arg("beads", nargs="*", help="bead ids to track"),
    arg("-d", "--description", default=""),
)
def create(ctx, args):
    from ..work import convoys

    bead = convoys.create(ctx.ledger, args.title, args.beads, actor=_actor(ctx), description=args.description)
    if ctx.json:
        ctx.emit_json(convoys.tree(ctx.ledger, bead.id))
    else:
        ctx.out(f"created convoy {bead.id}: {bead.title} (tracking {len(args.beads)})")


@COMMANDS.command(
    "convoy list", "Convoys with their progress (open ones; --all for landed/closed too)",
    arg("--all", action="store_true"), arg("--closed", action="store_true", help="only closed ones"),
    arg("--recent", action="store_true", help="the last landed ones, newest first (--limit of them, default 10)"),
    arg("--limit", type=int, default=None, help="at most this many"),
)
def list_(ctx, args):
    from ..work import convoys

    status = "recent" if args.recent else "closed" if args.closed else "all" if args.all else "open"
    items = convoys.list_convoys(ctx.ledger, status=status, limit=args.limit)
    if ctx.json:
        ctx.emit_json(items)
        return
    if not items:
        ctx.out("no convoys" if status != "open" else "no open convoys")
    for c in items:
        ctx.out(f"{c.id:<12} {c.status:<8} {_progress(c.progress):>7}  {c.title}")


@COMMANDS.command("convoy status", "A convoy's tree: each tracked bead with status, assignee and rig",
                  arg("id"))
def status(ctx, args):
    from ..work import convoys

    t = convoys.tree(ctx.ledger, args.id)
    if ctx.json:
        ctx.emit_json(t)
    else:
        _print_tree(ctx, t)


@COMMANDS.command("convoy add", "Track more beads (a landed convoy reopens)", arg("id"), arg("beads", nargs="+"))
def add(ctx, args):
    from ..work import convoys

    convoys.add(ctx.ledger, args.id, args.beads, actor=_actor(ctx))
    t = convoys.tree(ctx.ledger, args.id)
    ctx.emit(t, f"{args.id} now tracks {t.progress.total} bead(s), {t.progress.closed} closed")


@COMMANDS.command("convoy close", "Close a convoy without landing it (no mail)",
                  arg("id"), arg("--reason", default="closed"))
def close(ctx, args):
    from ..work import convoys

    bead = convoys.close(ctx.ledger, args.id, actor=_actor(ctx), reason=args.reason)
    ctx.emit(bead, f"closed convoy {bead.id}")


@COMMANDS.command(
    "convoy land", "Land a finished convoy: close it and mail the Overseer and the Mayor",
    arg("id"), arg("--force", action="store_true", help="land even though some tracked beads are not closed"),
)
def land(ctx, args):
    from ..work import convoys

    t = convoys.land(ctx.ledger, args.id, actor=_actor(ctx), force=args.force)
    _notify_landed(ctx, [args.id])
    ctx.emit(t, f"landed convoy {args.id} ({_progress(t.progress)} closed); mailed overseer and mayor")


@COMMANDS.command("convoy check", "Land every finished convoy; report stranded work (ready, nobody on it)")
def check(ctx, args):
    from ..work import convoys

    landed = convoys.land_finished(ctx.ledger, actor=_actor(ctx))
    _notify_landed(ctx, landed)
    stranded = convoys.stranded(ctx.ledger)
    if ctx.json:
        ctx.emit_json({"landed": landed, "stranded": stranded})
        return
    ctx.out(f"landed: {', '.join(landed) or 'none'}")
    if not stranded:
        ctx.out("stranded: none")
        return
    ctx.out(f"stranded: {len(stranded)} tracked bead(s) ready with nobody on them")
    for s in stranded:
        ctx.out(f"  {s.convoy:<12} {s.id:<12} P{s.priority} {s.rig or '-':<10} {s.title}")
