"""Mail: durable messages between agents and the Overseer, stored as beads.

A message is a bead of type ``message``: ``assignee`` is the recipient's
address, ``sender`` the sender's, ``title`` the subject, ``description``
the body.  A reply depends on the message it answers (``replies-to``), which
makes threads.  State: an *open* message is in the recipient's inbox;
reading it adds the label ``read``; acknowledging it closes it (it leaves
the inbox but stays in the ledger).  Addresses are written without a
trailing slash (``mayor/`` and ``mayor`` are the same mailbox).

States: *unread* (open, no ``read`` label), *read* (open, labelled),
*acked* (closed "acked") and *archived* (closed "archived"); this module is
the single source of truth for "unread" (``hooks.unread_mail``, ``gt prime``,
the script agent and the RPC server all ask :func:`unread_beads`).

Recipients: :func:`require_known` checks an address against the town's
directory (the Overseer, the town roles, every agent bead and each rig's
witness/refinery); the domain :func:`send` only checks syntax so that
ledger-only callers (the refinery in tests) keep working.

Lists and queues (``list:<name>``, ``queue:<name>``, configured in
``settings/messaging.json``) live in :mod:`.mailing`; this module only knows
the labels they leave on a message: ``list:<name>`` and ``thread:<id>`` on a
list's copies (replies inherit ``thread:``), ``queue:<name>`` on queue work.
An unclaimed queue message has the assignee ``queue:<name>``.
"""

from __future__ import annotations

import re
from typing import Iterable

import msgspec

from ..beads.models import Bead
from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound

MESSAGE_TYPE = "message"
OVERSEER = "overseer"
TOWN_ROLES = ("mayor", "deacon", "boot")
#: Protocol subjects (SPEC.md "Mail protocol"), plus CONVOY_LANDED (ours).
POLECAT_DONE = "POLECAT_DONE"
MERGE_READY = "MERGE_READY"
MERGED = "MERGED"
MERGE_FAILED = "MERGE_FAILED"
REWORK_REQUEST = "REWORK_REQUEST"
HANDOFF = "HANDOFF"
ESCALATION = "ESCALATION"
CONVOY_LANDED = "CONVOY_LANDED"
READ_LABEL = "read"
REPLIES_TO = "replies-to"
#: Label prefixes (see the module doc) and the assignee prefix of unclaimed queue work.
LIST_LABEL = "list:"
QUEUE_LABEL = "queue:"
THREAD_LABEL = "thread:"
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
    #: The queue holding this message, unclaimed ("" once claimed, and for direct mail).
    queue: str = ""
    #: The queue a claimed message was taken from ("" otherwise).
    claimed_from: str = ""
    #: The mailing list this copy came through ("" for direct mail).
    mailing_list: str = ""
    #: Conversation id shared by a list's copies and every reply below them ("" otherwise).
    thread_id: str = ""


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


def _label_value(labels, prefix: str) -> str:
    return next((lab[len(prefix):] for lab in labels if lab.startswith(prefix)), "")


def _message(bead: Bead, labels, replies_to: str = "") -> Message:
    queue = _label_value(labels, QUEUE_LABEL)
    unclaimed = bool(queue) and bead.assignee == QUEUE_LABEL + queue
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
        queue=queue if unclaimed else "",
        claimed_from="" if unclaimed else queue,
        mailing_list=_label_value(labels, LIST_LABEL),
        thread_id=_label_value(labels, THREAD_LABEL),
    )


def is_unclaimed(bead: Bead) -> bool:
    """Queue work nobody has claimed yet (its assignee is the queue itself)."""
    return bead.assignee.startswith(QUEUE_LABEL)


def require_message(ledger: Ledger, message_id: str) -> Bead:
    if not ledger.exists(message_id):
        raise NotFound(f"no message {message_id!r} (see gt mail inbox)")
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
    labels: Iterable[str] = (),
) -> Message:
    """Deliver a message to ``to``'s inbox (one transaction, one event).

    ``to`` is one mailbox (``list:``/``queue:`` addresses go through
    :func:`gastown_server.work.mailing.send`, or pass the queue's assignee
    with its ``queue:`` label).  A reply inherits the conversation's
    ``thread:`` label so a list's conversation stays one thread.
    """
    recipient = to if to.startswith(QUEUE_LABEL) else normalize_address(to)
    sender = normalize_address(actor)
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidInput("a message needs a subject")
    deps = []
    labels = list(labels)
    if replies_to:
        require_message(ledger, replies_to)
        deps.append((REPLIES_TO, replies_to))
        labels += [lab for lab in ledger.labels(replies_to) if lab.startswith(THREAD_LABEL) and lab not in labels]
    bead = ledger.create(
        subject,
        actor=sender,
        description=body,
        issue_type=MESSAGE_TYPE,
        priority=priority,
        assignee=recipient,
        deps=deps,
        labels=labels,
        sender=sender,
    )
    ledger.annotate("mail", bead.id)  # sent inside a larger change: its event names the message
    return show(ledger, bead.id)


def inbox(
    ledger: Ledger,
    address: str,
    *,
    unread_only: bool = False,
    limit: int | None = None,
    include_closed: bool = False,
) -> list[Message]:
    """Open messages addressed to ``address``, oldest first (``include_closed``: acked/archived too)."""
    addr = normalize_address(address)
    beads = ledger.list(
        issue_type=MESSAGE_TYPE,
        assignee=addr,
        include_closed=include_closed and not unread_only,
        limit=None if unread_only else limit,
    )
    labels = labels_of(ledger, [b.id for b in beads])
    out = []
    for b in beads:
        mine = labels.get(b.id, ())
        if unread_only and READ_LABEL in mine:
            continue
        out.append(_message(b, mine))
        if limit and len(out) >= limit:
            break
    return out


def unread(ledger: Ledger, address: str) -> list[Message]:
    """Unread mail of ``address``, oldest first: open (not acked/archived) and never read."""
    return inbox(ledger, address, unread_only=True)


def unread_beads(ledger: Ledger, address: str) -> list[Bead]:
    """:func:`unread` as beads (for callers that want ``sender``/``title``); same rule, same order."""
    addr = normalize_address(address)
    beads = ledger.list(issue_type=MESSAGE_TYPE, assignee=addr)
    read_ids = _read_ids(ledger, [b.id for b in beads])
    return [b for b in beads if b.id not in read_ids]


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


def labels_of(ledger: Ledger, ids: list[str]) -> dict[str, list[str]]:
    """The labels of many beads in a few queries (id -> labels; beads without labels are absent)."""
    found: dict[str, list[str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for issue_id, label in ledger.conn.execute(
            f"SELECT issue_id, label FROM labels WHERE issue_id IN ({marks})", chunk
        ):
            found.setdefault(issue_id, []).append(label)
    return found


def messages(ledger: Ledger, beads: list[Bead]) -> list[Message]:
    """Beads (messages) as :class:`Message` without threads, labels fetched in bulk."""
    labels = labels_of(ledger, [b.id for b in beads])
    return [_message(b, labels.get(b.id, ())) for b in beads]


def show(ledger: Ledger, message_id: str) -> Message:
    """A message with its thread (ids from the first message down to this one)."""
    bead = require_message(ledger, message_id)
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
    """Show a message and mark it read (once; reading again changes nothing).

    Unclaimed queue work is only shown: it is nobody's to have read until claimed.
    """
    bead = require_message(ledger, message_id)
    if not is_unclaimed(bead) and READ_LABEL not in ledger.labels(message_id):
        ledger.add_label(bead.id, READ_LABEL, actor=actor)
    return show(ledger, message_id)


def ack(ledger: Ledger, message_id: str, *, actor: str) -> Message:
    """Acknowledge a message: it leaves the inbox (closed, kept in the ledger)."""
    return _file_away(ledger, message_id, actor=actor, kind="mail_acked", reason="acked", done="acknowledged")


def reply(ledger: Ledger, message_id: str, body: str, *, actor: str, subject: str = "") -> Message:
    """Answer a message: to its sender, in its thread."""
    original = require_message(ledger, message_id)
    if not original.sender:
        raise InvalidInput(f"message {message_id} has no sender to reply to")
    if not subject:
        subject = original.title if original.title.startswith("Re: ") else f"Re: {original.title}"
    return send(ledger, original.sender, subject, body, actor=actor, replies_to=message_id)


def archive(ledger: Ledger, message_id: str, *, actor: str) -> Message:
    """File a message away: closed "archived" (it leaves the inbox; ``inbox --all`` still shows it)."""
    return _file_away(ledger, message_id, actor=actor, kind="mail_archived", reason="archived")


def _file_away(ledger: Ledger, message_id: str, *, actor: str, kind: str, reason: str, done: str = "") -> Message:
    """Close a message as read, with ``reason``; a closed one is refused (nothing changes)."""
    with ledger.mutation(kind, actor, message_id):
        bead = require_message(ledger, message_id)
        if bead.status == "closed":
            state = done or f"closed ({bead.close_reason or 'acked'})"
            raise Conflict(f"message {message_id} is already {state}")
        if is_unclaimed(bead):
            queue = bead.assignee[len(QUEUE_LABEL):]
            raise Conflict(f"message {message_id} is unclaimed work in {bead.assignee}: claim it first (gt mail claim {queue})")
        if READ_LABEL not in ledger.labels(message_id):
            ledger.add_label(message_id, READ_LABEL, actor=actor)
        ledger.close(message_id, actor=actor, reason=reason)
    return show(ledger, message_id)


def thread(ledger: Ledger, message_id: str) -> list[Message]:
    """The whole conversation ``message_id`` belongs to: its root and every reply below, oldest first."""
    require_message(ledger, message_id)
    root, seen = message_id, {message_id}
    parent = _replies_to(ledger, root)
    while parent and parent not in seen and ledger.exists(parent):
        seen.add(parent)
        root = parent
        parent = _replies_to(ledger, root)
    ids, frontier = [root], [root]
    members = {root}
    thread_id = _label_value(ledger.labels(root), THREAD_LABEL)
    if thread_id:
        # A list's conversation: the other copies (same text, other recipients) are left out,
        # every reply below any of them is in.
        copies = [r[0] for r in ledger.conn.execute(
            "SELECT l.issue_id FROM labels l WHERE l.label = ? AND l.issue_id != ? AND NOT EXISTS "
            "(SELECT 1 FROM dependencies d WHERE d.issue_id = l.issue_id AND d.type = 'replies-to')",
            (THREAD_LABEL + thread_id, root),
        )]  # fmt: skip
        members.update(copies)
        frontier = [root, *copies]
    while frontier:
        marks = ",".join("?" * len(frontier))
        nxt = [
            r[0]
            for r in ledger.conn.execute(
                f"SELECT issue_id FROM dependencies WHERE type = 'replies-to' AND depends_on_id IN ({marks})", frontier
            )
            if r[0] not in members
        ]
        members.update(nxt)
        ids.extend(nxt)
        frontier = nxt
    beads = ledger.get_many(ids)
    msgs = [show(ledger, i) for i in ids if i in beads and beads[i].status != "tombstone"]
    msgs.sort(key=lambda m: m.created_at)  # stable: ties keep reply order
    return msgs


# -- the directory: who can receive mail -------------------------------------------


class Recipient(msgspec.Struct, omit_defaults=False):
    address: str
    role: str
    rig: str = ""
    #: tmux session name ("" for the Overseer).
    session: str = ""


def directory(ledger: Ledger) -> list[Recipient]:
    """Every mailbox of the town: the Overseer, each agent bead, the town roles, rig witness/refinery."""
    out: dict[str, Recipient] = {OVERSEER: Recipient(OVERSEER, OVERSEER)}
    for role in TOWN_ROLES:
        out[role] = Recipient(role, role, session=f"hq-{role}")
    for b in ledger.list(issue_type="rig", status="pinned", order="id"):
        meta = _meta(b.metadata)
        name, prefix = meta.get("name"), meta.get("prefix")
        if isinstance(name, str) and isinstance(prefix, str) and name:
            for role in ("witness", "refinery"):
                out[f"{name}/{role}"] = Recipient(f"{name}/{role}", role, name, f"{prefix}-{role}")
    for b in ledger.list(issue_type="agent", order="id"):
        meta = _meta(b.metadata)
        addr = str(meta.get("address") or b.title).strip().rstrip("/")
        if addr and _ADDRESS_RE.match(addr):
            out[addr] = Recipient(addr, str(meta.get("role") or ""), str(meta.get("rig") or ""),
                                  str(meta.get("session") or ""))  # fmt: skip
    return list(out.values())


def _meta(text: str) -> dict:
    if not text:
        return {}
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def canonical(address: str) -> str:
    """``<rig>/polecat/<n>`` and ``<rig>/<n>`` are spellings of ``<rig>/polecats/<n>``."""
    parts = address.split("/")
    if len(parts) == 3 and parts[1] == "polecat":
        return f"{parts[0]}/polecats/{parts[2]}"
    if len(parts) == 2 and parts[1] not in ("witness", "refinery"):
        return f"{parts[0]}/polecats/{parts[1]}"
    return address


def require_known(ledger: Ledger, address: str) -> Recipient:
    """The recipient ``address`` names, or :class:`NotFound` naming it (after a syntax check)."""
    addr = normalize_address(address)
    known = {r.address: r for r in directory(ledger)}
    found = known.get(addr) or known.get(canonical(addr))
    if found is None:
        raise NotFound(
            f"unknown address {address!r}: no such agent in this town (see gt agents; "
            "the Overseer is 'overseer')"
        )
    return found


def recipients(ledger: Ledger, *, rig: str | None = None, role: str | None = None) -> list[Recipient]:
    """The agents a broadcast reaches (never the Overseer), optionally one rig's or one role's."""
    out = [r for r in directory(ledger) if r.address != OVERSEER]
    if rig is not None:
        rigs = {r.rig for r in out if r.rig}
        if rig not in rigs:
            raise NotFound(f"no rig {rig!r} (rigs: {', '.join(sorted(rigs)) or 'none'})")
        out = [r for r in out if r.rig == rig]
    if role is not None:
        roles = {r.role for r in directory(ledger) if r.role and r.role != OVERSEER}
        if role not in roles:
            raise InvalidInput(f"unknown role {role!r} (one of: {', '.join(sorted(roles))})")
        out = [r for r in out if r.role == role]
    return out


def broadcast(
    ledger: Ledger, subject: str, body: str = "", *, actor: str, rig: str | None = None, role: str | None = None
) -> list[Message]:
    """One message per agent (all, or one rig's/role's), in one transaction."""
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidInput("a message needs a subject")
    targets = recipients(ledger, rig=rig, role=role)
    sender = normalize_address(actor)
    if not targets:
        raise NotFound("nobody to broadcast to (no agents match)")
    with ledger.mutation("mail_broadcast", sender, "", {"subject": subject, "to": [r.address for r in targets]}):
        ids = [send(ledger, r.address, subject, body, actor=sender).id for r in targets if r.address != sender]
    return [show(ledger, i) for i in ids]


def notify(town, messages: list[Message]) -> list[str]:
    """Nudge each recipient that has a live session: "You have mail from X: SUBJECT — gt mail read ID".

    Never blocks on a busy pane (timeout 0: the nudge is queued and the daemon
    delivers it) and never fails the send: delivery problems are returned as
    lines for the caller to show.
    """
    problems: list[str] = []
    known = {r.address: r for r in directory(town.ledger)}
    for msg in messages:
        r = known.get(msg.to) or known.get(canonical(msg.to))
        if r is not None:
            text = f"You have mail from {msg.sender or '?'}: {msg.subject} — gt mail read {msg.id}"
            problems += nudge_recipient(town, r, text, sender=msg.sender, done=f"mail {msg.id} delivered")
    return problems


def nudge_recipient(town, r: Recipient, text: str, *, sender: str, done: str) -> list[str]:
    """Nudge ``r`` if its session runs (queued, never blocking); a problem comes back as a line
    starting with ``done`` (what already happened, so the reader knows nothing was lost)."""
    from ..runtime import nudge as rt_nudge

    if not r.session:
        return []
    try:
        if not town.tmux.has(r.session):
            return []
        res = rt_nudge.nudge(town.tmux, r.session, text, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s,
                             timeout_s=0, sender=sender)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the message is stored; a nudge problem is only reported
        return [f"{done}; nudging {r.address} failed: {exc}"]
    return [f"{done}; nudging {r.address} failed: {res.reason}"] if res.status == "failed" else []


# -- Gas Town's remaining mail verbs (mark-read, mark-unread, delete, search, peek) ----------------

#: ``gt mail send --type``: Gas Town's message kinds, kept as a ``mail-type:<kind>`` label.
MAIL_TYPES = ("task", "scavenge", "notification", "reply")
TYPE_LABEL = "mail-type:"


def mark_unread(ledger: Ledger, message_id: str, *, actor: str) -> Message:
    """Forget that a message was read (it shows as unread again; a closed one stays closed)."""
    with ledger.mutation("mail_unread", actor, message_id):
        require_message(ledger, message_id)
        if READ_LABEL in ledger.labels(message_id):
            ledger.remove_label(message_id, READ_LABEL, actor=actor)
    return show(ledger, message_id)


def delete(ledger: Ledger, message_id: str, *, actor: str) -> Message:
    """Delete a message: a tombstone (kept so the deletion syncs), gone from every inbox."""
    with ledger.mutation("mail_deleted", actor, message_id):
        msg = show(ledger, message_id)
        ledger.delete(message_id, actor=actor, reason="mail deleted")
    msg.status = "tombstone"
    return msg


def search(
    ledger: Ledger, address: str, query: str, *, sender: str = "", subject_only: bool = False,
    include_closed: bool = False, limit: int | None = 50,
) -> list[Message]:
    """``address``'s messages whose subject (or body) contains ``query`` (case-insensitive), newest first."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("search query must not be empty")
    needle = query.lower()
    found = []
    for m in reversed(inbox(ledger, address, include_closed=include_closed)):
        if sender and normalize_address(m.sender or "-") != normalize_address(sender):
            continue
        hay = m.subject if subject_only else f"{m.subject}\n{m.body}"
        if needle in hay.lower():
            found.append(m)
            if limit and len(found) >= limit:
                break
    return found
