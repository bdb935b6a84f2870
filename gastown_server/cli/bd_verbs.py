"""``bd`` verbs Beads has beyond the core: gate, swarm, epic, children, defer, note, assign,
priority, tag, link, supersede, duplicate, set-state, kv, count, prime, version.

Thin over :mod:`gastown_server.beads.verbs`, ``beads.gates`` and ``beads.epics``;
flags follow Beads.  Read commands take ``--json`` (beads in the classic JSONL shape).
"""

from __future__ import annotations

from ..errors import InvalidInput
from .framework import Registry, arg
from .render import parse_priority, print_beads

COMMANDS = Registry()


def _one(ctx, bead, text: str) -> None:
    if ctx.json:
        ctx.emit_json(ctx.ledger.embed_many([bead])[0])
    else:
        ctx.out(text)


# -- small field verbs -----------------------------------------------------------------------


@COMMANDS.command("defer", "Defer beads (status deferred; not ready until --until)",
                  arg("ids", nargs="+", metavar="ID"), arg("--until", default="", help="RFC 3339 time"))  # fmt: skip
def defer(ctx, args):
    from ..beads import verbs

    with ctx.ledger.atomic():
        beads = [verbs.defer(ctx.ledger, i, actor=ctx.actor, until=args.until) for i in args.ids]
    _many(ctx, beads, "Deferred")


@COMMANDS.command("undefer", "Undefer beads (back to open, defer_until cleared)", arg("ids", nargs="+", metavar="ID"))
def undefer(ctx, args):
    from ..beads import verbs

    with ctx.ledger.atomic():
        beads = [verbs.undefer(ctx.ledger, i, actor=ctx.actor) for i in args.ids]
    _many(ctx, beads, "Undeferred")


def _many(ctx, beads, verb: str) -> None:
    if ctx.json:
        ctx.emit_json(ctx.ledger.embed_many(beads))
        return
    for b in beads:
        ctx.out(f"{verb} {b.id}: {b.title} [{b.status}]")


@COMMANDS.command("note", "Append a line to a bead's notes", arg("id"), arg("text", nargs="+"))
def note(ctx, args):
    from ..beads import verbs

    bead = verbs.note(ctx.ledger, args.id, " ".join(args.text), actor=ctx.actor)
    _one(ctx, bead, f"Noted {bead.id}")


@COMMANDS.command("assign", "Assign a bead ('' unassigns)", arg("id"), arg("assignee"))
def assign(ctx, args):
    bead = ctx.ledger.update(args.id, actor=ctx.actor, assignee=args.assignee)
    _one(ctx, bead, f"Assigned {bead.id} to {bead.assignee or 'nobody'}")


@COMMANDS.command("priority", "Set a bead's priority", arg("id"), arg("priority", help="0..4 or P0..P4"))
def priority(ctx, args):
    bead = ctx.ledger.update(args.id, actor=ctx.actor, priority=parse_priority(args.priority))
    _one(ctx, bead, f"{bead.id} is now P{bead.priority}")


@COMMANDS.command("tag", "Add labels to a bead (bd label add)", arg("id"), arg("labels", nargs="+"))
def tag(ctx, args):
    ledger = ctx.ledger
    with ledger.atomic():
        for lab in args.labels:
            if lab not in ledger.labels(args.id):
                ledger.add_label(args.id, lab, actor=ctx.actor)
    _one(ctx, ledger.get(args.id), f"Tagged {args.id}: {', '.join(ledger.labels(args.id))}")


@COMMANDS.command("link", "Link two beads (a dependency; default type related)", arg("from_id"), arg("to_id"),
                  arg("-t", "--type", default="related", help="dependency type (related, blocks, discovered-from, ...)"))  # fmt: skip
def link(ctx, args):
    dep = ctx.ledger.add_dependency(args.from_id, args.to_id, actor=ctx.actor, dep_type=args.type)
    ctx.emit(dep, f"Linked {args.from_id} -{args.type}-> {args.to_id}")


@COMMANDS.command("supersede", "Mark a bead superseded by another (and close it)", arg("id"),
                  arg("--with", dest="new", required=True, help="the bead that replaces it"))  # fmt: skip
def supersede(ctx, args):
    from ..beads import verbs

    bead = verbs.supersede(ctx.ledger, args.id, args.new, actor=ctx.actor)
    _one(ctx, bead, f"{bead.id} superseded by {args.new} (closed)")


@COMMANDS.command("duplicate", "Mark a bead a duplicate of another (and close it)", arg("id"),
                  arg("--of", dest="canonical", required=True, help="the bead it duplicates"))  # fmt: skip
def duplicate(ctx, args):
    from ..beads import verbs

    bead = verbs.duplicate(ctx.ledger, args.id, args.canonical, actor=ctx.actor)
    _one(ctx, bead, f"{bead.id} is a duplicate of {args.canonical} (closed)")


@COMMANDS.command("set-state", "Set a state dimension (label <dim>:<value>, replacing the old value)",
                  arg("id"), arg("state", metavar="DIMENSION=VALUE"), arg("--reason", default=""))  # fmt: skip
def set_state(ctx, args):
    from ..beads import verbs

    dim, eq, value = args.state.partition("=")
    if not eq:
        raise InvalidInput(f"bad state {args.state!r}: use DIMENSION=VALUE (e.g. patrol=active)")
    bead = verbs.set_state(ctx.ledger, args.id, dim.strip(), value.strip(), actor=ctx.actor, reason=args.reason)
    _one(ctx, bead, f"{bead.id}: {dim}={value}")


@COMMANDS.command(
    "count", "Count beads (all statuses but tombstones by default)",
    arg("-s", "--status", action="append"), arg("-t", "--type", action="append"), arg("-a", "--assignee"),
    arg("-l", "--label"),
    arg("--by-status", dest="group", action="store_const", const="status"),
    arg("--by-type", dest="group", action="store_const", const="type"),
    arg("--by-priority", dest="group", action="store_const", const="priority"),
    arg("--by-assignee", dest="group", action="store_const", const="assignee"),
    arg("--by-label", dest="group", action="store_const", const="label"),
)  # fmt: skip
def count(ctx, args):
    from ..beads import verbs
    from .bd_issues import _split

    res = verbs.count(ctx.ledger, status=_split(args.status), issue_type=_split(args.type), assignee=args.assignee,
                      label=args.label, group_by=args.group or "")  # fmt: skip
    if ctx.json:
        ctx.emit_json(res)
        return
    ctx.out(str(res["count"]))
    for k, v in res.get("groups", {}).items():
        ctx.out(f"  {k}: {v}")


# -- children / epic / swarm -----------------------------------------------------------------


@COMMANDS.command("children", "A bead's children", arg("id"))
def children(ctx, args):
    from ..beads import epics

    print_beads(ctx, epics.children(ctx.ledger, args.id), empty=f"{args.id} has no children.")


@COMMANDS.command("epic status", "Epics and how many of their children are closed", arg("id", nargs="?"))
def epic_status(ctx, args):
    from ..beads import epics

    rows = epics.epic_status(ctx.ledger, args.id)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("No open epics.")
    for e in rows:
        mark = "  (all children closed: bd epic close-eligible)" if e.eligible_for_close else ""
        ctx.out(f"{e.id}  {e.closed}/{e.total} closed  [{e.status}] {e.title}{mark}")


@COMMANDS.command("epic close-eligible", "Close every open epic whose children are all closed",
                  arg("--dry-run", action="store_true", help="list them, close nothing"))  # fmt: skip
def epic_close_eligible(ctx, args):
    from ..beads import epics

    ids = epics.close_eligible(ctx.ledger, actor=ctx.actor, dry_run=args.dry_run)
    ctx.emit({"closed": [] if args.dry_run else ids, "eligible": ids},
             ("Would close: " if args.dry_run else "Closed: ") + (", ".join(ids) or "none"))  # fmt: skip


@COMMANDS.command("swarm create", "Swarm an epic: its children worked in parallel", arg("epic"),
                  arg("--coordinator", default="", help="who coordinates (an address)"))  # fmt: skip
def swarm_create(ctx, args):
    from ..beads import epics

    s = epics.swarm_create(ctx.ledger, args.epic, actor=ctx.actor, coordinator=args.coordinator)
    ctx.emit(s, f"Created swarm {s.id} for {s.epic}")


@COMMANDS.command("swarm list", "Swarms", arg("--all", action="store_true", help="closed ones too"))
def swarm_list(ctx, args):
    from ..beads import epics

    rows = epics.swarm_list(ctx.ledger, include_closed=args.all)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("No swarms.")
    for s in rows:
        ctx.out(f"{s.id}  epic {s.epic}  [{s.status}] {s.coordinator or '-'}  {s.title}")


@COMMANDS.command("swarm status", "An epic's children: closed, in progress, ready, blocked", arg("ref", help="epic or swarm"))
def swarm_status(ctx, args):
    from ..beads import epics

    st = epics.swarm_status(ctx.ledger, args.ref)
    if ctx.json:
        ctx.emit_json(st)
        return
    ctx.out(f"{st.epic}: {len(st.closed)}/{st.total} closed" + ("  -- complete" if st.complete else ""))
    for name in ("in_progress", "ready", "blocked"):
        ids = getattr(st, name)
        if ids:
            ctx.out(f"  {name}: {', '.join(ids)}")


# -- gate ----------------------------------------------------------------------------------------


def _gate_line(g) -> str:
    t = f" timeout {g.timeout_s:g}s" if g.timeout_s else ""
    return f"{g.id}  [{g.status}] {g.await_type}{' ' + g.await_id if g.await_id else ''}{t}  blocks {', '.join(g.blocks) or '-'}"


@COMMANDS.command(
    "gate create", "Create a gate that beads wait on",
    arg("--await-type", "--type", dest="await_type", help="timer, bead, human, mail, gh:run, gh:pr"),
    arg("--await-id", default="", help="what it waits for (a bead id, a run id...)"),
    arg("--await", dest="await_spec", help="TYPE[:ID] in one word (e.g. bead:gs-a1b, human)"),
    arg("--timeout", default="", help="a duration (30m, 1h); a timer gate opens after it"),
    arg("--title", default=""),
    arg("--blocks", action="append", default=[], metavar="ID", help="a bead held back until the gate resolves"),
    arg("--waiter", action="append", default=[], metavar="ADDRESS", help="told by mail when it resolves"),
)  # fmt: skip
def gate_create(ctx, args):
    from ..beads import gates
    from ..work.signals import parse_duration

    await_type, await_id = args.await_type, args.await_id
    if args.await_spec:
        t, _, i = args.await_spec.partition(":") if not args.await_spec.startswith("gh:") else (
            ":".join(args.await_spec.split(":")[:2]), "", ":".join(args.await_spec.split(":")[2:]))
        await_type, await_id = t, i or await_id
    if not await_type:
        raise InvalidInput("say what the gate waits for: --await-type timer|bead|human|mail|gh:run|gh:pr")
    timeout = parse_duration(args.timeout, what="--timeout") if args.timeout else 0.0
    g = gates.create(ctx.ledger, actor=ctx.actor, await_type=await_type, await_id=await_id, timeout_s=timeout,
                     title=args.title, blocks=args.blocks, waiters=args.waiter)  # fmt: skip
    ctx.emit(g, f"Created gate {g.id} ({g.await_type})")


@COMMANDS.command("gate list", "Open gates", arg("--all", action="store_true", help="resolved ones too"))
def gate_list(ctx, args):
    from ..beads import gates

    rows = gates.list_gates(ctx.ledger, include_closed=args.all)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("No open gates.")
    for g in rows:
        ctx.out(_gate_line(g))


@COMMANDS.command("gate show", "One gate: what it waits for, who waits on it", arg("id"))
def gate_show(ctx, args):
    from ..beads import gates

    g = gates.view(ctx.ledger, args.id)
    if ctx.json:
        ctx.emit_json(g)
        return
    ctx.out(_gate_line(g))
    ctx.out(f"  waiters: {', '.join(g.waiters) or '-'}" + (f"; resolved: {g.close_reason}" if g.close_reason else ""))


@COMMANDS.command("gate check", "Resolve the gates that can be decided (timers, beads); report the rest",
                  arg("--dry-run", action="store_true", help="decide, resolve nothing"))  # fmt: skip
def gate_check(ctx, args):
    from ..beads import gates

    rows = gates.check(ctx.ledger, actor=ctx.actor, dry_run=args.dry_run)
    if ctx.json:
        ctx.emit_json(rows)
        return
    if not rows:
        ctx.out("No open gates.")
    for r in rows:
        ctx.out(f"{r.id}  {r.outcome}  {r.detail}")


@COMMANDS.command("gate resolve", "Resolve a gate: what it holds back becomes ready; waiters are told",
                  arg("id"), arg("-r", "--reason", default="resolved"))  # fmt: skip
def gate_resolve(ctx, args):
    from ..beads import gates

    g, sent = gates.resolve(ctx.ledger, args.id, actor=ctx.actor, reason=args.reason)
    ctx.emit({"gate": g, "mail": sent}, f"Resolved {g.id}" + (f"; told {', '.join(g.waiters)}" if sent else ""))


@COMMANDS.command("gate add-waiter", "Tell this address when the gate resolves", arg("id"), arg("waiter"))
def gate_add_waiter(ctx, args):
    from ..beads import gates

    g = gates.add_waiter(ctx.ledger, args.id, args.waiter, actor=ctx.actor)
    ctx.emit(g, f"{g.id} waiters: {', '.join(g.waiters)}")


# -- kv ------------------------------------------------------------------------------------------


@COMMANDS.command("kv set", "Store a value under a key", arg("key"), arg("value"))
def kv_set(ctx, args):
    from ..beads import verbs

    verbs.kv_set(ctx.ledger, args.key, args.value, actor=ctx.actor)
    ctx.emit({"key": args.key, "value": args.value}, f"{args.key} = {args.value}")


@COMMANDS.command("kv get", "A stored value (exit 1 if the key is unknown)", arg("key"))
def kv_get(ctx, args):
    from ..beads import verbs

    value = verbs.kv_get(ctx.ledger, args.key)
    ctx.emit({"key": args.key, "value": value}, value)


@COMMANDS.command("kv list", "Stored keys and values", arg("prefix", nargs="?", default=""))
def kv_list(ctx, args):
    from ..beads import verbs

    items = verbs.kv_list(ctx.ledger, args.prefix)
    ctx.emit(items, "\n".join(f"{k} = {v}" for k, v in items.items()) or "no keys")


@COMMANDS.command("kv delete", "Forget a key", arg("key"))
def kv_delete(ctx, args):
    from ..beads import verbs

    was = verbs.kv_delete(ctx.ledger, args.key, actor=ctx.actor)
    ctx.emit({"key": args.key, "deleted": was}, f"deleted {args.key}" if was else f"no key {args.key}")


# -- prime / version -----------------------------------------------------------------------------

PRIME = """# Beads workflow (bd) in this town

- Find work: `bd ready` (open, unblocked); `bd show <id>` for details.
- Take it: `bd update <id> --claim` (assigns you, in_progress).
- Record what you learn: `bd create "..." --deps discovered-from:<id>`; `bd note <id> "..."`.
- Finish: `bd close <id> --reason "..."`.
- Dependencies: `bd dep add <blocked> <blocker>`; `bd blocked`; `bd dep tree <id>`.
- Labels: `bd update <id> --add-label x --remove-label y`; state: `bd set-state <id> dim=value`.
- Every read command takes --json. The ledger is the town's (.gastown/ledger.db);
  `bd sync` exports it to each rig's git as .beads/issues.jsonl.
"""


@COMMANDS.command("prime", "Print the bd workflow an agent needs (read at session start)",
                  arg("--full", action="store_true", help="accepted for Beads compatibility"),
                  arg("--mcp", action="store_true", help="accepted for Beads compatibility"))  # fmt: skip
def prime(ctx, args):
    from ..errors import GastownError

    try:
        stats = ctx.ledger.stats()
        ready = len(ctx.ledger.ready(limit=None))
    except GastownError:  # no ledger yet: the workflow text still helps
        stats, ready = {}, 0
    text = PRIME + (f"\nReady now: {ready} bead(s).\n" if stats else "\n(no ledger here yet: bd init)\n")
    ctx.emit({"text": PRIME, "ready": ready}, text.rstrip())


@COMMANDS.command("version", "Print bd's version")
def version(ctx, args):
    from .. import __version__

    ctx.emit({"version": __version__, "program": "bd"}, f"bd version {__version__}")
