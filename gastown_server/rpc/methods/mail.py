"""``mail/*``: inboxes and messages."""

from __future__ import annotations

from ...errors import Conflict
from ...work import mail, mailing
from ...work.mail import Message
from ...work.mailing import MessagingOverview
from .. import types as t
from ..registry import method


@method("mail/inbox", t.MailInboxParams, t.MailInboxResult)
def inbox(call, p: t.MailInboxParams) -> t.MailInboxResult:
    """Open messages of an address (default: the session's actor), oldest first; a queue worker also gets the queue's unclaimed work."""
    view = mailing.inbox_view(call.ledger, call.town_root, p.address or call.actor, unread_only=p.unread_only,
                              limit=p.limit)  # fmt: skip
    return t.MailInboxResult(view.address, view.messages, view.unread, view.queued, view.warning)


@method("mail/read", t.MailIdParams, Message, mode="write")
def read(call, p: t.MailIdParams) -> Message:
    """A message with its thread; marks it read."""
    return mail.read(call.ledger, p.id, actor=call.actor)


def _nudge(call, msg: Message, delivery: mailing.Delivery | None = None) -> Message:
    """Like ``gt mail send``: a recipient with a live session is nudged (queued if busy, never failing the send)."""
    from ...town import layout
    from ...town.core import Town

    root = call.town_root
    if layout.config_path(root).exists():
        town = Town(root)
        try:
            if delivery is not None:
                mailing.notify(town, delivery)
            else:
                mail.notify(town, [msg])
        finally:
            town.close()
    return msg


@method("mail/send", t.MailSendParams, t.MailSendResult, mode="write")
def send(call, p: t.MailSendParams) -> t.MailSendResult:
    """Send a message from the session's actor to a mailbox, list:<name> or queue:<name> (live recipients are nudged)."""
    d = mailing.send(call.ledger, call.town_root, p.to, p.subject, p.body, actor=call.actor, priority=p.priority)
    first = d.messages[0]
    recipients = [d.to] if d.kind == "queue" else [m.to for m in d.messages]
    result = t.MailSendResult(**{f: getattr(first, f) for f in Message.__struct_fields__}, kind=d.kind,
                              recipients=recipients, message_ids=[m.id for m in d.messages])  # fmt: skip
    _nudge(call, first, d)
    return result


@method("mail/claim", t.MailClaimParams, t.MailClaimResult, mode="write")
def claim(call, p: t.MailClaimParams) -> t.MailClaimResult:
    """Take the oldest unclaimed message of a queue (atomically: no two claimers get the same one); null when empty."""
    claimer = call.actor
    if p.address is not None and mail.canonical(mail.normalize_address(p.address)) != mail.canonical(claimer):
        # Claiming hands the work to someone: only the Overseer may do that on another's behalf.
        if mail.canonical(claimer) != mail.OVERSEER:
            raise Conflict(f"{claimer} cannot claim for {p.address}: only the overseer claims on another's behalf")
        claimer = p.address
    msg = mailing.claim(call.ledger, call.town_root, p.queue, actor=claimer)
    return t.MailClaimResult(p.queue.removeprefix("queue:"), msg)


@method("mail/release", t.MailIdParams, Message, mode="write")
def release(call, p: t.MailIdParams) -> Message:
    """Put a claimed queue message back in its queue, unclaimed (by its claimer or the overseer)."""
    return mailing.release(call.ledger, call.town_root, p.id, actor=call.actor)


@method("mail/lists", t.NoParams, MessagingOverview)
def lists(call, p: t.NoParams) -> MessagingOverview:
    """Every mailing list and work queue of the town, queues with their workers resolved."""
    return mailing.overview(call.ledger, call.town_root)


@method("mail/reply", t.MailReplyParams, Message, mode="write")
def reply(call, p: t.MailReplyParams) -> Message:
    """Answer a message (to its sender, in its thread; a sender with a live session is nudged)."""
    return _nudge(call, mail.reply(call.ledger, p.id, p.body, actor=call.actor, subject=p.subject))


@method("mail/ack", t.MailIdParams, Message, mode="write")
def ack(call, p: t.MailIdParams) -> Message:
    """Acknowledge a message: it leaves the inbox (closed, kept in the ledger)."""
    return mail.ack(call.ledger, p.id, actor=call.actor)


@method("mail/archive", t.MailIdParams, Message, mode="write")
def archive(call, p: t.MailIdParams) -> Message:
    """Archive a message: closed "archived" (it leaves the inbox, stays in the ledger)."""
    return mail.archive(call.ledger, p.id, actor=call.actor)


@method("mail/thread", t.MailIdParams, t.MailThreadResult)
def thread(call, p: t.MailIdParams) -> t.MailThreadResult:
    """The whole conversation a message belongs to, oldest first."""
    return t.MailThreadResult(mail.thread(call.ledger, p.id))
