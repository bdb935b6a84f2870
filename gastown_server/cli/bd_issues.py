"""``bd`` commands on beads themselves: create, show, list, ready, update, close...

Flags follow Beads so agent prompts and formulas written for Gas Town work
unchanged.  ``--json`` prints the classic JSONL object shape.
"""

from __future__ import annotations

from ..errors import InvalidInput
from .framework import Registry, arg
from .render import bead_line, parse_priority, print_beads, show_bead

COMMANDS = Registry()

_STATUS_HELP = "open, in_progress, blocked, deferred, closed, pinned, hooked"


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _parse_deps(specs: list[str] | None) -> list[tuple[str, str]]:
    """``--deps "blocks:bd-1,discovered-from:bd-2"`` (type defaults to blocks)."""
    deps = []
    for spec in _split(specs):
        dep_type, sep, target = spec.rpartition(":")
        deps.append((dep_type if sep else "blocks", target))
    return deps


@COMMANDS.command(
    "create",
    "Create a bead",
    arg("title", nargs="?", help="title (or --title)"),
    arg("--title", dest="title_opt", help="title"),
    arg("-d", "--description", default="", help="description"),
    arg("-t", "--type", default="task", help="bug, feature, task, epic, chore, ..."),
    arg("-p", "--priority", default="2", help="0 (critical) .. 4 (backlog), or P0..P4"),
    arg("--parent", default="", help="parent bead: the new bead gets id <parent>.<n>"),
    arg("--deps", action="append", help="dependencies: 'type:id,...' (type defaults to blocks)"),
    arg("-l", "--labels", action="append", help="labels, comma separated"),
    arg("-a", "--assignee", default="", help="assignee address"),
    arg("--design", default="", help="design notes"),
    arg("--acceptance", default="", help="acceptance criteria"),
    arg("--notes", default="", help="notes"),
    arg("--external-ref", default="", help="external reference (e.g. gh-42)"),
    arg("--id", dest="explicit_id", help="use this id instead of a generated one"),
    arg("--prefix", help="id prefix (default: the ledger's issue_prefix)"),
    arg("--ephemeral", action="store_true", help="a wisp: never exported to git"),
    arg("--silent", action="store_true", help="print only the new id"),
)
def create(ctx, args):
    title = args.title_opt or args.title
    if not title:
        raise InvalidInput("a title is required: bd create \"Fix the thing\"")
    extra = {}
    for key, value in (
        ("design", args.design),
        ("acceptance_criteria", args.acceptance),
        ("notes", args.notes),
        ("external_ref", args.external_ref),
    ):
        if value:
            extra[key] = value
    bead = ctx.ledger.create(
        title,
        actor=ctx.actor,
        description=args.description,
        issue_type=args.type,
        priority=parse_priority(args.priority),
        parent=args.parent,
        deps=_parse_deps(args.deps),
        labels=_split(args.labels),
        assignee=args.assignee,
        bead_id=args.explicit_id,
        prefix=args.prefix,
        ephemeral=args.ephemeral,
        **extra,
    )
    if ctx.json:
        ctx.emit_json(ctx.ledger.embed_many([bead])[0])
    elif args.silent:
        ctx.out(bead.id)
    else:
        ctx.out(f"Created {bead.id}: {bead.title}")


@COMMANDS.command("show", "Show beads with dependencies and comments", arg("ids", nargs="+", metavar="ID"))
def show(ctx, args):
    ledger = ctx.ledger
    beads = [ledger.get(i, full=True) for i in args.ids]
    if ctx.json:
        ctx.emit_json(beads)
        return
    for n, bead in enumerate(beads):
        if n:
            ctx.out()
        show_bead(ctx, ledger, bead)


@COMMANDS.command(
    "list",
    "List beads (open ones by default)",
    arg("-s", "--status", action="append", help=_STATUS_HELP),
    arg("-t", "--type", action="append", help="bead type(s)"),
    arg("-a", "--assignee", help="assignee address"),
    arg("-l", "--label", help="label"),
    arg("--parent", help="children of this bead"),
    arg("--prefix", help="only ids with this prefix"),
    arg("-n", "--limit", type=int, default=50, help="at most N (0 = all; default 50)"),
    arg("--all", action="store_true", help="include closed beads"),
)
def list_(ctx, args):
    beads = ctx.ledger.list(
        status=_split(args.status) or None,
        issue_type=_split(args.type) or None,
        assignee=args.assignee,
        label=args.label,
        parent=args.parent,
        prefix=args.prefix,
        include_closed=args.all,
        limit=args.limit or None,
    )
    print_beads(ctx, beads, empty="No beads.")


@COMMANDS.command(
    "ready",
    "Show ready work: open, unblocked, not deferred",
    arg("-n", "--limit", type=int, default=10, help="at most N (0 = all; default 10)"),
    arg("-a", "--assignee", help="only beads assigned to this address"),
    arg("-u", "--unassigned", action="store_true", help="only unassigned beads"),
    arg("-t", "--type", help="bead type"),
    arg("-l", "--label", help="label"),
    arg("-p", "--priority", help="only this priority"),
    arg("--parent", help="only children of this bead (e.g. a molecule's steps)"),
    arg("--include-ephemeral", action="store_true", help="include wisps"),
)
def ready(ctx, args):
    beads = ctx.ledger.ready(
        limit=args.limit or None,
        assignee=args.assignee,
        unassigned=args.unassigned,
        issue_type=args.type,
        label=args.label,
        priority=parse_priority(args.priority) if args.priority is not None else None,
        parent=args.parent,
        include_ephemeral=args.include_ephemeral,
    )
    print_beads(ctx, beads, empty="No ready work.", heading=f"Ready work ({len(beads)}):")


@COMMANDS.command(
    "blocked",
    "Show blocked beads and what blocks each",
    arg("-n", "--limit", type=int, default=0, help="at most N (0 = all)"),
)
def blocked(ctx, args):
    rows = ctx.ledger.blocked(limit=args.limit or None)
    if ctx.json:
        import msgspec

        ctx.ledger.embed_many([bead for bead, _ in rows])
        out = []
        for bead, blockers in rows:
            obj = msgspec.to_builtins(bead)
            obj["blocked_by"] = blockers
            out.append(obj)
        ctx.emit_json(out)
        return
    if not rows:
        ctx.out("No blocked beads.")
        return
    ctx.out(f"Blocked ({len(rows)}):")
    for bead, blockers in rows:
        ctx.out(f"  {bead_line(bead)}")
        ctx.out(f"      blocked by: {', '.join(blockers) or '(parent chain)'}")


@COMMANDS.command(
    "update",
    "Change fields of beads (--claim takes a bead atomically)",
    arg("ids", nargs="+", metavar="ID"),
    arg("-s", "--status", help=_STATUS_HELP),
    arg("-p", "--priority", help="0..4 or P0..P4"),
    arg("-a", "--assignee", help="assignee address ('' to clear)"),
    arg("--title", help="new title"),
    arg("-d", "--description", help="new description"),
    arg("--design", help="design notes"),
    arg("--acceptance", help="acceptance criteria"),
    arg("--notes", help="replace notes"),
    arg("--append-notes", help="append a line to the notes"),
    arg("-t", "--type", help="new type"),
    arg("--external-ref", help="external reference"),
    arg("--defer-until", help="RFC 3339 time before which the bead is not ready"),
    arg("--claim", action="store_true", help="assign to yourself and set in_progress, atomically"),
    arg("--add-label", action="append", default=[], metavar="LABEL", help="add a label (repeatable, or comma separated)"),
    arg("--remove-label", action="append", default=[], metavar="LABEL", help="remove a label (repeatable)"),
    arg("--set-labels", metavar="A,B", help="replace all labels with these ('' clears them)"),
)
def update(ctx, args):
    ledger = ctx.ledger
    changes: dict[str, object] = {}
    for key, value in (
        ("status", args.status),
        ("assignee", args.assignee),
        ("title", args.title),
        ("description", args.description),
        ("design", args.design),
        ("acceptance_criteria", args.acceptance),
        ("notes", args.notes),
        ("issue_type", args.type),
        ("external_ref", args.external_ref),
        ("defer_until", args.defer_until),
    ):
        if value is not None:
            changes[key] = value
    if args.priority is not None:
        changes["priority"] = parse_priority(args.priority)
    labels_change = bool(args.add_label or args.remove_label or args.set_labels is not None)
    if not changes and not args.claim and args.append_notes is None and not labels_change:
        raise InvalidInput("nothing to update: give a field flag (see 'bd update --help')")
    updated = []
    with ledger.atomic():
        for bead_id in args.ids:
            updated.append(_update_one(ctx, bead_id, changes, args))
    if ctx.json:
        ctx.emit_json(ledger.embed_many(updated))
    else:
        for bead in updated:
            ctx.out(f"Updated {bead.id}: {bead.title} [{bead.status}]")


def _update_one(ctx, bead_id: str, changes: dict[str, object], args):
    ledger = ctx.ledger
    with ledger.mutation("updated", ctx.actor, bead_id):
        if args.claim:
            ledger.claim(bead_id, actor=ctx.actor)
        fields = dict(changes)
        if args.append_notes is not None:
            old = ledger.get(bead_id).notes
            fields["notes"] = f"{old}\n{args.append_notes}" if old else args.append_notes
        _labels(ctx, bead_id, args)
        return ledger.update(bead_id, actor=ctx.actor, **fields) if fields else ledger.get(bead_id)


def _labels(ctx, bead_id: str, args) -> None:
    """--set-labels, then --add-label, then --remove-label (Beads' order)."""
    ledger = ctx.ledger
    have = set(ledger.labels(bead_id)) if ledger.exists(bead_id) else set()
    if args.set_labels is not None:
        want = set(_split([args.set_labels]))
        for lab in sorted(have - want):
            ledger.remove_label(bead_id, lab, actor=ctx.actor)
        for lab in sorted(want - have):
            ledger.add_label(bead_id, lab, actor=ctx.actor)
        have = want
    for lab in _split(args.add_label):
        if lab not in have:
            ledger.add_label(bead_id, lab, actor=ctx.actor)
            have.add(lab)
    for lab in _split(args.remove_label):
        if lab in have:
            ledger.remove_label(bead_id, lab, actor=ctx.actor)
            have.discard(lab)


@COMMANDS.command(
    "close",
    "Close one or more beads",
    arg("ids", nargs="+", metavar="ID"),
    arg("-r", "--reason", default="", help="why (recorded on the bead)"),
)
def close(ctx, args):
    from ..formulas.containers import close_step  # a parallel formula step closes with its last child

    _each(ctx, args.ids, lambda i: close_step(ctx.ledger, i, actor=ctx.actor, reason=args.reason), "Closed")


@COMMANDS.command(
    "reopen",
    "Reopen closed beads",
    arg("ids", nargs="+", metavar="ID"),
    arg("-r", "--reason", default="", help="why"),
)
def reopen(ctx, args):
    _each(ctx, args.ids, lambda i: ctx.ledger.reopen(i, actor=ctx.actor, reason=args.reason), "Reopened")


@COMMANDS.command(
    "delete",
    "Delete beads (tombstones, kept so the deletion syncs)",
    arg("ids", nargs="+", metavar="ID"),
    arg("-r", "--reason", default="", help="why"),
    arg("--force", action="store_true", help="accepted for Beads compatibility (deletion is immediate)"),
)
def delete(ctx, args):
    _each(ctx, args.ids, lambda i: ctx.ledger.delete(i, actor=ctx.actor, reason=args.reason), "Deleted")


def _each(ctx, ids: list[str], op, verb: str) -> None:
    """All or nothing: one transaction, one event per bead."""
    ledger = ctx.ledger
    with ledger.atomic():
        beads = [op(i) for i in dict.fromkeys(ids)]
    if ctx.json:
        ctx.emit_json(ledger.embed_many(beads))
    else:
        for bead in beads:
            ctx.out(f"{verb} {bead.id}: {bead.title}")


@COMMANDS.command(
    "search",
    "Search titles, descriptions and ids",
    arg("query"),
    arg("-n", "--limit", type=int, default=50, help="at most N (0 = all)"),
    arg("--open", action="store_true", help="only beads that are not closed"),
)
def search(ctx, args):
    if not args.query.strip():
        raise InvalidInput("search query must not be empty")
    beads = ctx.ledger.search(args.query, limit=args.limit or None, include_closed=not args.open)
    print_beads(ctx, beads, empty=f"No beads match {args.query!r}.")


@COMMANDS.command("stats", "Counts by status and type, ready and blocked")
def stats(ctx, args):
    data = ctx.ledger.stats()
    if ctx.json:
        ctx.emit_json(data)
        return
    ctx.out(f"Total: {data['total']}  Ready: {data['ready']}  Blocked: {data['blocked']}")
    ctx.out("By status: " + ", ".join(f"{k} {v}" for k, v in sorted(data["by_status"].items())))
    ctx.out("By type:   " + ", ".join(f"{k} {v}" for k, v in sorted(data["by_type"].items())))


# Beads' `bd new`: the same command as `bd create`.
COMMANDS.commands["new"] = COMMANDS.commands["create"]._replace(name="new", help="Create a bead (Beads' alias of create)")
