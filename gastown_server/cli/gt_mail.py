"""``gt mail|broadcast|escalate``: durable messages and escalations.

Thin over :mod:`gastown_server.work.mail` and ``work.escalation``.  The
default address is the actor (``--actor``, ``$BD_ACTOR``, ``$GT_ROLE``,
else ``overseer``).  Recipients must be known to the town (the Overseer,
town roles, agents, rig witness/refinery).  Mail to an agent whose session
is live also nudges it; a busy pane gets the nudge queued, never blocking
the send.  Group addresses ``list:<name>`` and ``queue:<name>`` come from
``settings/messaging.json`` (``gt mail list|queue|lists|claim|release``;
domain: :mod:`gastown_server.work.mailing`).
"""

from __future__ import annotations

import os
import sys

from .framework import Registry, arg

COMMANDS = Registry()

_JSON_NOTE = "--json prints the message(s) as JSON"


def _me(ctx) -> str:
    from ..work.mail import normalize_address

    who = (
        getattr(ctx.args, "actor", None)
        or os.environ.get("BD_ACTOR")
        or os.environ.get("GT_ROLE")
        or os.environ.get("GT_ACTOR")
        or "overseer"
    )
    return normalize_address(who)


def _body(args) -> str:
    """``-m`` text; ``-m -`` reads stdin; no ``-m``: a piped stdin that has data (or EOF) soon, else empty.

    The wait is bounded so an agent whose stdin is an idle open pipe never hangs.
    """
    if args.message == "-":
        return sys.stdin.read()
    if args.message is None and not sys.stdin.isatty():
        return _stdin_if_ready()
    return args.message or ""


def _stdin_if_ready(wait_s: float = 0.5) -> str:
    import select

    try:
        ready, _, _ = select.select([sys.stdin], [], [], wait_s)
    except (OSError, ValueError):  # closed or not selectable
        return ""
    return sys.stdin.read() if ready else ""


def _town_of(ctx):
    """The full town owning the ledger (for nudges), or None for a ledger-only setup."""
    from ..town import layout
    from ..town.core import Town

    root = ctx.ledger.path.resolve().parent.parent
    return Town(root) if layout.config_path(root).exists() else None


def _notify(ctx, messages, delivery=None) -> None:
    from ..work import mail, mailing

    town = _town_of(ctx)
    if town is None:
        return
    try:
        problems = mailing.notify(town, delivery) if delivery is not None else mail.notify(town, messages)
        for problem in problems:
            print(f"{ctx.prog}: warning: {problem}", file=sys.stderr)
    finally:
        town.close()


def _root(ctx):
    from ..work import mailing

    return mailing.town_root_of(ctx.ledger)


def _state(m) -> str:
    if m.status == "closed":
        return "closed"
    if m.queue:
        return "queued"
    return "read" if m.read else "unread"


def _line(m) -> str:
    where = f"  [queue:{m.queue}: gt mail claim {m.queue}]" if m.queue else ""
    where = where or (f"  [claimed from queue:{m.claimed_from}]" if m.claimed_from else "")
    via = f"  [list:{m.mailing_list}]" if m.mailing_list else ""
    return (f"{m.id:<12} {_state(m):<7} {m.created_at[:16].replace('T', ' ')}  from {m.sender or '?':<22} "
            f"{m.subject}{where}{via}")  # fmt: skip


def _show(ctx, m) -> None:
    ctx.out(f"Message: {m.id} ({_state(m)})")
    ctx.out(f"From:    {m.sender or '?'}")
    ctx.out(f"To:      {m.to}")
    if m.mailing_list:
        ctx.out(f"List:    list:{m.mailing_list}")
    if m.queue:
        ctx.out(f"Queue:   queue:{m.queue} (unclaimed: gt mail claim {m.queue})")
    elif m.claimed_from:
        ctx.out(f"Queue:   claimed from queue:{m.claimed_from} (gt mail release {m.id} puts it back)")
    ctx.out(f"Date:    {m.created_at}")
    ctx.out(f"Subject: {m.subject}")
    if m.replies_to:
        ctx.out(f"Reply-To-Message: {m.replies_to}")
    ctx.out("")
    ctx.out(m.body)


# -- gt mail -----------------------------------------------------------------------------


@COMMANDS.command(
    "mail send", "Send a message (body from -m, or stdin)",
    arg("to", help="address: overseer, mayor, deacon, <rig>/witness, <rig>/refinery, <rig>/polecats/<n>, "
                   "<rig>/crew/<n>, list:<name> (every member), queue:<name> (one worker claims it)"),
    arg("-s", "--subject", required=True),
    arg("-m", "--message", help="the body ('-' or omitted with a pipe: read stdin)"),
    arg("--reply-to", default="", metavar="ID", help="the message this one answers (threads)"),
    arg("--priority", type=int, default=None, choices=range(5), metavar="0-4"),
    arg("--type", dest="mail_type", choices=("task", "scavenge", "notification", "reply"),
        help="Gas Town's message kind (kept as a mail-type:<kind> label)"),
    arg("--urgent", action="store_true", help="priority 0"),
    arg("-n", "--notify", action="store_true", help="accepted for Gas Town compatibility: a live recipient is always nudged"),
)
def mail_send(ctx, args):
    from ..work import mail, mailing

    sender = _me(ctx)
    ledger = ctx.ledger
    kind, name = mailing.parse(args.to)
    to = mail.require_known(ledger, name).address if kind == "direct" else f"{kind}:{name}"
    priority = 0 if args.urgent else (2 if args.priority is None else args.priority)
    labels = [mail.TYPE_LABEL + args.mail_type] if args.mail_type else []
    delivery = mailing.send(ledger, _root(ctx), to, args.subject, _body(args), actor=sender,
                            priority=priority, replies_to=args.reply_to, labels=labels)  # fmt: skip
    _notify(ctx, delivery.messages, delivery)
    if ctx.json:
        # One message keeps the old shape (a Message); a list's fan-out is the list of its copies.
        ctx.emit_json(delivery.messages if delivery.kind == "list" else delivery.messages[0])
        return
    if delivery.kind == "queue":
        msg = delivery.messages[0]
        ctx.out(f"queued {msg.id} in {delivery.to}: {msg.subject}")
        return
    for msg in delivery.messages:
        ctx.out(f"sent {msg.id} to {msg.to}: {msg.subject}")
    if delivery.kind == "list":
        ctx.out(f"{delivery.to}: {len(delivery.messages)} recipient(s), thread {delivery.messages[0].thread_id}")


@COMMANDS.command(
    "mail inbox", "List an inbox (open messages, oldest first)",
    arg("address", nargs="?", help="whose inbox (default: yours; the Overseer's is 'overseer'; "
                                  "queue:<name>: that queue's unclaimed work)"),
    arg("--unread", action="store_true", help="only unread messages"),
    arg("--all", action="store_true", help="acked and archived messages too"),
    arg("--limit", type=int, default=None),
)
def mail_inbox(ctx, args):
    from ..work import mail, mailing

    kind, address = mailing.parse(args.address) if args.address else ("direct", _me(ctx))
    if kind == "direct" and args.address:
        address = mail.require_known(ctx.ledger, address).address
    elif kind != "direct":
        address = f"{kind}:{address}"
    view = mailing.inbox_view(ctx.ledger, _root(ctx), address, unread_only=args.unread, limit=args.limit,
                              include_closed=args.all)  # fmt: skip
    if view.warning:
        print(f"{ctx.prog}: warning: {view.warning}", file=sys.stderr)
    messages = view.messages
    if ctx.json:
        ctx.emit_json(view)
        return
    if not messages:
        ctx.out(f"{address}: no {'unread ' if args.unread else ''}mail")
        return
    for m in messages:
        ctx.out(_line(m))


@COMMANDS.command("mail read", "Show a message and mark it read", arg("id"))
def mail_read(ctx, args):
    from ..work import mail

    msg = mail.read(ctx.ledger, args.id, actor=_me(ctx))
    if ctx.json:
        ctx.emit_json(msg)
    else:
        _show(ctx, msg)


@COMMANDS.command("mail peek", "The oldest unread message, without marking it read (exit 1 if none)",
                  arg("address", nargs="?", help="whose inbox (default: yours)"))  # fmt: skip
def mail_peek(ctx, args):
    from ..work import mail

    address = mail.require_known(ctx.ledger, args.address).address if args.address else _me(ctx)
    unread = mail.unread(ctx.ledger, address)
    if not unread:
        if ctx.json:
            ctx.emit_json(None)
        else:
            ctx.out(f"{address}: no unread mail")
        return 1
    msg = mail.show(ctx.ledger, unread[0].id)
    if ctx.json:
        ctx.emit_json(msg)
    else:
        _show(ctx, msg)
    return 0


def _each_message(ctx, ids, op, verb: str) -> None:
    ledger = ctx.ledger
    with ledger.atomic():
        done = [op(ledger, i, actor=_me(ctx)) for i in dict.fromkeys(ids)]
    if ctx.json:
        ctx.emit_json(done)
    else:
        for m in done:
            ctx.out(f"{verb} {m.id}: {m.subject}")


@COMMANDS.command("mail mark-read", "Mark messages read (they stay in the inbox)", arg("ids", nargs="+", metavar="ID"))
def mail_mark_read(ctx, args):
    from ..work import mail

    _each_message(ctx, args.ids, mail.read, "read")


@COMMANDS.command("mail mark-unread", "Mark messages unread again", arg("ids", nargs="+", metavar="ID"))
def mail_mark_unread(ctx, args):
    from ..work import mail

    _each_message(ctx, args.ids, mail.mark_unread, "unread")


@COMMANDS.command("mail delete", "Delete messages (tombstones: gone from every inbox; use archive to keep them)",
                  arg("ids", nargs="+", metavar="ID"),
                  arg("--force", action="store_true", help="accepted for Gas Town compatibility"))  # fmt: skip
def mail_delete(ctx, args):
    from ..work import mail

    _each_message(ctx, args.ids, mail.delete, "deleted")


@COMMANDS.command(
    "mail search", "Search your messages' subjects and bodies (newest first)",
    arg("query"),
    arg("--from", dest="sender", default="", help="only from this address"),
    arg("--subject", action="store_true", help="match subjects only"),
    arg("--archive", action="store_true", help="include acked and archived messages"),
    arg("--address", help="whose mail (default: yours)"),
    arg("-n", "--limit", type=int, default=50, help="at most N (0 = all)"),
)  # fmt: skip
def mail_search(ctx, args):
    from ..work import mail

    address = mail.require_known(ctx.ledger, args.address).address if args.address else _me(ctx)
    found = mail.search(ctx.ledger, address, args.query, sender=args.sender, subject_only=args.subject,
                        include_closed=args.archive, limit=args.limit or None)  # fmt: skip
    if ctx.json:
        ctx.emit_json(found)
        return
    if not found:
        ctx.out(f"{address}: no mail matches {args.query!r}")
    for m in found:
        ctx.out(_line(m))


@COMMANDS.command("mail hook", "Put a message on your hook (its work is then yours to run)",
                  arg("id"), arg("target", nargs="?", help="agent address (default: yourself)"))  # fmt: skip
def mail_hook(ctx, args):
    from ..work import hooks, mail

    me = mail.require_known(ctx.ledger, args.target).address if args.target else _me(ctx)
    mail.require_message(ctx.ledger, args.id)
    bead = hooks.hook(ctx.ledger, args.id, me, actor=_me(ctx))
    ctx.emit({"address": me, "hooked": bead.id, "subject": bead.title}, f"hooked {bead.id} ({bead.title}) on {me}")


@COMMANDS.command(
    "mail reply", "Answer a message (to its sender, in its thread)",
    arg("id"), arg("-m", "--message", help="the body ('-' or omitted with a pipe: read stdin)"),
    arg("-s", "--subject", default="", help="default: 'Re: <subject>'"),
)
def mail_reply(ctx, args):
    from ..work import mail

    ledger = ctx.ledger
    original = mail.show(ledger, args.id)
    if original.sender:
        mail.require_known(ledger, original.sender)
    msg = mail.reply(ledger, args.id, _body(args), actor=_me(ctx), subject=args.subject)
    _notify(ctx, [msg])
    ctx.emit(msg, f"sent {msg.id} to {msg.to}: {msg.subject}")


@COMMANDS.command("mail ack", "Acknowledge a message: it leaves the inbox", arg("id"))
def mail_ack(ctx, args):
    from ..work import mail

    _file_away(ctx, mail.ack(ctx.ledger, args.id, actor=_me(ctx)), "acked")


@COMMANDS.command("mail archive", "Archive a message (closed; 'inbox --all' still lists it)", arg("id"))
def mail_archive(ctx, args):
    from ..work import mail

    _file_away(ctx, mail.archive(ctx.ledger, args.id, actor=_me(ctx)), "archived")


def _file_away(ctx, msg, verb: str) -> None:
    ctx.emit(msg, f"{verb} {msg.id}")


@COMMANDS.command("mail thread", "A whole conversation, oldest first", arg("id", help="any message of the thread"))
def mail_thread(ctx, args):
    from ..work import mail

    messages = mail.thread(ctx.ledger, args.id)
    if ctx.json:
        ctx.emit_json(messages)
        return
    for m in messages:
        depth = len(m.thread) - 1
        ctx.out(f"{'  ' * depth}{m.id} {m.created_at[:19].replace('T', ' ')} {m.sender or '?'} -> {m.to}: {m.subject}")
        for line in (m.body or "").splitlines():
            ctx.out(f"{'  ' * depth}  | {line}")


# -- lists and queues ----------------------------------------------------------------------


@COMMANDS.command(
    "mail claim", "Take the oldest unclaimed message of a queue you work (atomic: nobody else gets it)",
    arg("queue", help="the queue's name (or queue:<name>)"),
)
def mail_claim(ctx, args):
    from ..work import mailing

    msg = mailing.claim(ctx.ledger, _root(ctx), args.queue, actor=_me(ctx))
    name = args.queue.removeprefix("queue:")
    if ctx.json:
        ctx.emit_json(msg)
    elif msg is None:
        ctx.out(f"queue:{name}: nothing to claim")
    else:
        ctx.out(f"claimed {msg.id} from queue:{name}: {msg.subject} (from {msg.sender or '?'})")


@COMMANDS.command("mail release", "Put a claimed queue message back in its queue (unclaimed, unread)", arg("id"))
def mail_release(ctx, args):
    from ..work import mailing

    msg = mailing.release(ctx.ledger, _root(ctx), args.id, actor=_me(ctx))
    ctx.emit(msg, f"released {msg.id} back to queue:{msg.queue}")


@COMMANDS.command("mail lists", "Every mailing list and queue, with members (queues: workers resolved)")
def mail_lists(ctx, args):
    from ..work import mailing

    view = mailing.overview(ctx.ledger, _root(ctx))
    if ctx.json:
        ctx.emit_json(view)
        return
    if not view.lists and not view.queues:
        ctx.out("no lists or queues (gt mail list create NAME ADDR..., gt mail queue create NAME --worker PATTERN)")
    for lst in view.lists:
        ctx.out(f"{lst.address:<22} {', '.join(lst.members) or '(no members)'}")
    for q in view.queues:
        resolved = ", ".join(q.members) or "nobody yet"
        ctx.out(f"{q.address:<22} workers {', '.join(q.workers)} -> {resolved}; {q.unclaimed} unclaimed")


@COMMANDS.command(
    "mail list", "Manage mailing lists: create NAME ADDR..., add|remove NAME ADDR..., delete NAME",
    arg("action", nargs="?", choices=("create", "add", "remove", "delete"),
        help="what to do (none: show every list and queue, like 'gt mail lists')"),
    arg("name", nargs="?", help="the list's name (send to it as list:<name>)"),
    arg("addresses", nargs="*", help="members' addresses"),
)
def mail_list(ctx, args):
    from ..errors import InvalidInput
    from ..work import mailing

    if args.action is None:
        return mail_lists(ctx, args)
    if not args.name:
        raise InvalidInput(f"gt mail list {args.action} needs a list name")
    name, root, ledger = args.name.removeprefix("list:"), _root(ctx), ctx.ledger
    if args.action == "delete":
        if args.addresses:
            raise InvalidInput("gt mail list delete takes only the list's name")
        mailing.delete_list(root, name)
        _done(ctx, {"deleted": f"list:{name}"}, f"deleted list:{name}")
        return None
    change = {"create": mailing.create_list, "add": mailing.add_members, "remove": mailing.remove_members}
    view = change[args.action](ledger, root, name, list(args.addresses))
    _done(ctx, view, f"{view.address}: {', '.join(view.members) or '(no members)'}")
    return None


@COMMANDS.command(
    "mail queue", "Manage work queues: create NAME --worker PATTERN..., delete NAME",
    arg("action", choices=("create", "delete")),
    arg("name", help="the queue's name (send to it as queue:<name>)"),
    arg("--worker", action="append", default=[], metavar="PATTERN",
        help="who may claim: an address, or a prefix ending in '*' (gastown/polecats/*); repeatable"),
)
def mail_queue(ctx, args):
    from ..errors import InvalidInput
    from ..work import mailing

    name, root, ledger = args.name.removeprefix("queue:"), _root(ctx), ctx.ledger
    if args.action == "delete":
        if args.worker:
            raise InvalidInput("gt mail queue delete takes only the queue's name")
        mailing.delete_queue(ledger, root, name)
        _done(ctx, {"deleted": f"queue:{name}"}, f"deleted queue:{name}")
        return
    view = mailing.create_queue(ledger, root, name, list(args.worker))
    _done(ctx, view, f"{view.address}: workers {', '.join(view.workers)} -> {', '.join(view.members) or 'nobody yet'}")


def _done(ctx, value, line: str) -> None:
    ctx.emit(value, line)


# -- gt broadcast --------------------------------------------------------------------------


@COMMANDS.command(
    "broadcast", "Send one message to every agent (or one rig's, one role's)",
    arg("-s", "--subject", required=True),
    arg("-m", "--message", help="the body ('-' or omitted with a pipe: read stdin)"),
    arg("--rig", help="only this rig's agents"),
    arg("--role", help="only agents of this role (mayor, deacon, witness, refinery, polecat, crew, ...)"),
)
def broadcast(ctx, args):
    from ..work import mail

    messages = mail.broadcast(ctx.ledger, args.subject, _body(args), actor=_me(ctx), rig=args.rig, role=args.role)
    _notify(ctx, messages)
    ctx.emit(messages, f"sent {len(messages)} message(s): {', '.join(m.to for m in messages)}")


# -- gt escalate ----------------------------------------------------------------------------


@COMMANDS.command(
    "escalate", "File an escalation (Deacon, then Mayor, then Overseer); sub-commands: list, show, ack, close",
    arg("description", nargs="*", help="what is wrong (the subject line)"),
    arg("-s", "--severity", default="medium", type=str.lower,
        help="low, medium (default), high or critical (straight to Mayor + Overseer); any case"),
    arg("-m", "--message", default="", help="details (the body under the subject line)"),
    arg("--forward", metavar="ID", help="move escalation ID one level up the chain"),
    arg("--note", default="", help="with --forward: why"),
)
def escalate(ctx, args):
    from ..errors import InvalidInput
    from ..work import escalation, mail

    words = list(args.description)
    if args.forward:
        if words:
            raise InvalidInput("--forward takes an escalation id only, no description")
        esc = escalation.forward(ctx.ledger, args.forward, actor=_me(ctx), note=args.note)
        _notify_ids(ctx, esc.mail)
        ctx.emit(esc, f"forwarded {esc.id} to {esc.holder}")
        return
    description = " ".join(words)
    if not description.strip() and not args.message and not sys.stdin.isatty():
        description = _stdin_if_ready()
    if args.message:
        description = f"{description.strip()}\n\n{args.message}" if description.strip() else args.message
    esc = escalation.escalate(ctx.ledger, description, actor=_me(ctx), severity=args.severity)
    _notify_ids(ctx, esc.mail)
    if ctx.json:
        ctx.emit_json(esc)
    else:
        ctx.out(f"escalated {esc.id} [{esc.severity}] to {esc.holder}" +
                (f" and {mail.OVERSEER}" if esc.severity == "critical" else ""))  # fmt: skip


@COMMANDS.command("escalate list", "Open escalations, most urgent first",
                  arg("--all", action="store_true", help="closed ones too"),
                  arg("--holder", help="only those held by this address"))  # fmt: skip
def escalate_list(ctx, args):
    from ..work import escalation

    items = escalation.list_escalations(ctx.ledger, include_closed=args.all, holder=args.holder)
    if ctx.json:
        ctx.emit_json(items)
        return
    if not items:
        ctx.out("no open escalations")
    for e in items:
        ctx.out(f"{e.id:<12} {e.severity:<8} {e.status:<11} with {e.holder:<9} from {e.created_by:<22} {e.title}")


@COMMANDS.command("escalate show", "One escalation", arg("id"))
def escalate_show(ctx, args):
    from ..work import escalation

    e = escalation.show(ctx.ledger, args.id)
    if ctx.json:
        ctx.emit_json(e)
        return
    ctx.out(f"{e.id} [{e.severity}] {e.status}, with {e.holder}, from {e.created_by} at {e.created_at}")
    ctx.out(e.description)


@COMMANDS.command("escalate ack", "Acknowledge an escalation (you are on it; it stays open)", arg("id"))
def escalate_ack(ctx, args):
    from ..work import escalation

    e = escalation.ack(ctx.ledger, args.id, actor=_me(ctx))
    ctx.emit(e, f"acknowledged {e.id} ({e.status})")


@COMMANDS.command("escalate close", "Resolve an escalation (whoever filed it is told)",
                  arg("id"), arg("-r", "--reason", default="", help="how it was resolved"))  # fmt: skip
def escalate_close(ctx, args):
    from ..work import escalation

    e = escalation.close(ctx.ledger, args.id, actor=_me(ctx), reason=args.reason)
    _notify_ids(ctx, e.mail)
    ctx.emit(e, f"closed {e.id}")


def _notify_ids(ctx, ids: list[str]) -> None:
    from ..work import mail

    _notify(ctx, [mail.show(ctx.ledger, i) for i in ids])


@COMMANDS.command(
    "mail check", "How many unread messages; --inject prints new ones as context for an agent's prompt (hooks)",
    arg("--inject", action="store_true", help="print messages not injected before as a <system-reminder> block "
                                                "(Claude Code SessionStart/UserPromptSubmit hooks)"),
)  # fmt: skip
def mail_check(ctx, args):
    import json

    from ..work import hooks, mail_inject

    me = _me(ctx)
    event = {}
    if args.inject and not sys.stdin.isatty():
        try:
            event = json.loads(_stdin_if_ready(0.2) or "{}")
        except ValueError:
            event = {}
    if not args.inject:
        unread = hooks.unread_mail(ctx.ledger, me)
        return ctx.emit({"address": me, "unread": len(unread), "ids": [m.id for m in unread]},
                        f"{me}: {len(unread)} unread")  # fmt: skip
    from ..town import layout

    fresh = isinstance(event, dict) and event.get("hook_event_name") == "SessionStart"
    state = layout.state_dir(ctx.ledger.path.resolve().parent.parent)
    new = mail_inject.to_inject(ctx.ledger, state, me, fresh=fresh)
    if ctx.json:
        ctx.emit_json({"address": me, "new": [m.id for m in new]})
    elif new:
        ctx.out(mail_inject.render(new, me))
