"""``mail/*``: inboxes and messages."""

from __future__ import annotations

from ...work import mail
from ...work.mail import Message
from .. import types as t
from ..registry import method


@method("mail/inbox", t.MailInboxParams, t.MailInboxResult)
def inbox(call, p: t.MailInboxParams) -> t.MailInboxResult:
    """Open messages of an address (default: the session's actor), oldest first."""
    address = mail.normalize_address(p.address or call.actor)
    messages = mail.inbox(call.ledger, address, unread_only=p.unread_only, limit=p.limit)
    unread = sum(1 for m in messages if not m.read) if not p.limit else len(mail.unread(call.ledger, address))
    return t.MailInboxResult(address, messages, unread)


@method("mail/read", t.MailIdParams, Message, mode="write")
def read(call, p: t.MailIdParams) -> Message:
    """A message with its thread; marks it read."""
    return mail.read(call.ledger, p.id, actor=call.actor)


def _nudge(call, msg: Message) -> Message:
    """Like ``gt mail send``: a recipient with a live session is nudged (queued if busy, never failing the send)."""
    from ...town import layout
    from ...town.core import Town

    root = call.app.town_root
    if root is not None and layout.config_path(root).exists():
        town = Town(root)
        try:
            mail.notify(town, [msg])
        finally:
            town.close()
    return msg


@method("mail/send", t.MailSendParams, Message, mode="write")
def send(call, p: t.MailSendParams) -> Message:
    """Send a message from the session's actor (a recipient with a live session is nudged)."""
    return _nudge(call, mail.send(call.ledger, p.to, p.subject, p.body, actor=call.actor, priority=p.priority))


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
