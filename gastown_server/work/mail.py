"""Mail: durable messages between agents and the Overseer, stored as beads.

A message is a bead of type ``message``: ``assignee`` is the recipient's
address, ``sender`` the sender's, ``title`` the subject, ``description``
the body.  A reply depends on the message it answers (``replies-to``), which
makes threads.  State: an *open* message is in the recipient's inbox;
reading it adds the label ``read``; acknowledging it closes it (it leaves
the inbox but stays in the ledger).  Addresses are written without a
trailing slash (``mayor/`` and ``mayor`` are the same mailbox).

This is the minimal domain the RPC server needs; the work-lifecycle issue
extends it (lists and queues, routing, the protocol subjects of SPEC.md).
"""

from __future__ import annotations

import re

import msgspec

from ..beads.models import Bead
from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput

MESSAGE_TYPE = "message"
READ_LABEL = "read"
REPLIES_TO = "replies-to"
_ADDRESS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*(/[A-Za-z0-9][A-Za-z0-9_.@-]*)*$")


class Message(msgspec.Struct, omit_defaults=False):
    id: str
    to: str
    sender: str
    subject: str
    body: str
    status: str
    read: bool
    created_at: str
    priority: int = 2
    #: The message this one answers ("" for a new thread).
    replies_to: str = ""
    thread: list[str] = msgspec.field(default_factory=list)


def normalize_address(address: str) -> str:
    """``mayor/`` -> ``mayor``; refuse what cannot be an address."""
    if not isinstance(address, str):
        raise InvalidInput("an address must be a string")
    addr = address.strip().rstrip("/")
    if not addr or not _ADDRESS_RE.match(addr):
        raise InvalidInput(
            f"invalid address {address!r} (like mayor, overseer, <rig>/witness, <rig>/polecats/<name>)"
        )
    return addr


def _message(bead: Bead, labels: list[str], replies_to: str = "") -> Message:
    return Message(
        id=bead.id,
        to=bead.assignee,
        sender=bead.sender,
        subject=bead.title,
        body=bead.description,
        status=bead.status,
        read=READ_LABEL in labels,
        created_at=bead.created_at,
        priority=bead.priority,
        replies_to=replies_to,
    )


def _require_message(ledger: Ledger, message_id: str) -> Bead:
    bead = ledger.get(message_id)
    if bead.issue_type != MESSAGE_TYPE:
        raise InvalidInput(f"{message_id} is not a message (it is a {bead.issue_type})")
    if bead.status == "tombstone":
        raise Conflict(f"message {message_id} was deleted")
    return bead


def _replies_to(ledger: Ledger, message_id: str) -> str:
    row = ledger.conn.execute(
        "SELECT depends_on_id FROM dependencies WHERE issue_id = ? AND type = 'replies-to'", (message_id,)
    ).fetchone()
    return row[0] if row else ""


def send(
    ledger: Ledger,
    to: str,
    subject: str,
    body: str = "",
    *,
    actor: str,
    priority: int = 2,
    replies_to: str = "",
) -> Message:
    """Deliver a message to ``to``'s inbox (one transaction, one event)."""
    recipient = normalize_address(to)
    sender = normalize_address(actor)
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidInput("a message needs a subject")
    deps = []
    if replies_to:
        _require_message(ledger, replies_to)
        deps.append((REPLIES_TO, replies_to))
    bead = ledger.create(
        subject,
        actor=sender,
        description=body,
        issue_type=MESSAGE_TYPE,
        priority=priority,
        assignee=recipient,
        deps=deps,
        sender=sender,
    )
    return show(ledger, bead.id)


def inbox(ledger: Ledger, address: str, *, unread_only: bool = False, limit: int | None = None) -> list[Message]:
    """Open messages addressed to ``address``, oldest first."""
    addr = normalize_address(address)
    beads = ledger.list(issue_type=MESSAGE_TYPE, assignee=addr, limit=None if unread_only else limit)
    read_ids = _read_ids(ledger, [b.id for b in beads])
    out = []
    for b in beads:
        is_read = b.id in read_ids
        if unread_only and is_read:
            continue
        out.append(_message(b, [READ_LABEL] if is_read else []))
        if limit and len(out) >= limit:
            break
    return out


def unread(ledger: Ledger, address: str) -> list[Message]:
    return inbox(ledger, address, unread_only=True)


def _read_ids(ledger: Ledger, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in ledger.conn.execute(
                f"SELECT issue_id FROM labels WHERE label = 'read' AND issue_id IN ({marks})", chunk
            )
        )
    return found


def show(ledger: Ledger, message_id: str) -> Message:
    """A message with its thread (ids from the first message down to this one)."""
    bead = _require_message(ledger, message_id)
    msg = _message(bead, ledger.labels(message_id), _replies_to(ledger, message_id))
    chain, seen = [message_id], {message_id}
    parent = msg.replies_to
    while parent and parent not in seen:
        chain.append(parent)
        seen.add(parent)
        parent = _replies_to(ledger, parent)
    msg.thread = list(reversed(chain))
    return msg


def read(ledger: Ledger, message_id: str, *, actor: str) -> Message:
    """Show a message and mark it read (once; reading again changes nothing)."""
    bead = _require_message(ledger, message_id)
    if READ_LABEL not in ledger.labels(message_id):
        ledger.add_label(bead.id, READ_LABEL, actor=actor)
    return show(ledger, message_id)


def ack(ledger: Ledger, message_id: str, *, actor: str) -> Message:
    """Acknowledge a message: it leaves the inbox (closed, kept in the ledger)."""
    with ledger.mutation("mail_acked", actor, message_id):
        bead = _require_message(ledger, message_id)
        if bead.status == "closed":
            raise Conflict(f"message {message_id} is already acknowledged")
        if READ_LABEL not in ledger.labels(message_id):
            ledger.add_label(message_id, READ_LABEL, actor=actor)
        ledger.close(message_id, actor=actor, reason="acked")
    return show(ledger, message_id)


def reply(ledger: Ledger, message_id: str, body: str, *, actor: str, subject: str = "") -> Message:
    """Answer a message: to its sender, in its thread."""
    original = _require_message(ledger, message_id)
    if not original.sender:
        raise InvalidInput(f"message {message_id} has no sender to reply to")
    if not subject:
        subject = original.title if original.title.startswith("Re: ") else f"Re: {original.title}"
    return send(ledger, original.sender, subject, body, actor=actor, replies_to=message_id)
