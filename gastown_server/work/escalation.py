"""Escalation: a problem an agent cannot solve, routed Deacon -> Mayor -> Overseer.

SPEC has no escalation bead type, so an escalation is a ``task`` bead with
the label ``escalation`` and ``severity:<level>``; its ``assignee`` is whoever
holds it now.  Filing it mails ``ESCALATION`` (SPEC mail protocol) to the
holder in the same transaction.  ``critical`` skips the Deacon: it goes to
the Mayor and a copy to the Overseer at once.  :func:`forward` moves an
escalation one level up (the Deacon or the Mayor decides it is beyond
them), mailing the next holder; the Overseer is the top.
"""

from __future__ import annotations

import msgspec

from ..beads.models import Bead
from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound
from . import mail

LABEL = "escalation"
SEVERITIES = ("low", "medium", "high", "critical")
#: Severity -> bead priority (0 critical .. 4 backlog).
PRIORITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}
CHAIN = ("deacon", "mayor", mail.OVERSEER)


class Escalation(msgspec.Struct, omit_defaults=False):
    id: str
    title: str
    description: str
    severity: str
    #: Who holds it now (deacon, mayor or overseer).
    holder: str
    status: str
    created_by: str
    created_at: str
    #: Messages sent for it, oldest first.
    mail: list[str] = msgspec.field(default_factory=list)


def _severity_of(labels: list[str]) -> str:
    for lab in labels:
        if lab.startswith("severity:"):
            return lab.split(":", 1)[1]
    return "medium"


def _view(ledger: Ledger, bead: Bead, mail_ids: list[str] | None = None) -> Escalation:
    return Escalation(
        id=bead.id, title=bead.title, description=bead.description, severity=_severity_of(ledger.labels(bead.id)),
        holder=bead.assignee, status=bead.status, created_by=bead.created_by, created_at=bead.created_at,
        mail=mail_ids or [],
    )  # fmt: skip


def _title(description: str) -> str:
    first = description.strip().splitlines()[0].strip()
    return first if len(first) <= 80 else first[:77] + "..."


def _body(bead: Bead, severity: str, sender: str, note: str = "") -> str:
    lines = [f"Escalation: {bead.id}", f"Severity: {severity}", f"From: {bead.created_by}", f"Holder: {bead.assignee}"]
    if note:
        lines.append(f"Note: {note} ({sender})")
    lines += ["", bead.description, "", f"Forward it up with: gt escalate --forward {bead.id}"]
    return "\n".join(lines)


def _subject(bead: Bead, severity: str) -> str:
    return f"{mail.ESCALATION} {bead.id} [{severity}] {bead.title}"


def escalate(
    ledger: Ledger, description: str, *, actor: str, severity: str = "medium", direct: bool = False,
    labels: tuple[str, ...] = (),
) -> Escalation:
    """File an escalation and mail it to the Deacon (critical: the Mayor and the Overseer).

    ``direct``: skip the Deacon whatever the severity (the Mayor holds it, the
    Overseer gets a copy): for problems the town's own retries already failed
    to fix, such as work that cannot progress (patrol/stalls.py).  ``labels``
    are added to the bead (e.g. ``stall:<address>``, so a patrol files one
    escalation per problem: :func:`open_with_label`).
    """
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("describe the problem to escalate")
    if severity not in SEVERITIES:
        raise InvalidInput(f"invalid severity {severity!r} (one of: {', '.join(SEVERITIES)})")
    sender = mail.normalize_address(actor)
    to_both = direct or severity == "critical"
    holder = "mayor" if to_both else CHAIN[0]
    with ledger.mutation("escalated", sender, "", {"severity": severity, "holder": holder}) as rec:
        bead = ledger.create(
            _title(description), actor=sender, description=description.strip(), issue_type="task",
            priority=PRIORITY[severity], assignee=holder, labels=[LABEL, f"severity:{severity}", *labels],
        )  # fmt: skip
        rec.bead_id = bead.id
        to = [holder, mail.OVERSEER] if to_both else [holder]
        ids = [mail.send(ledger, t, _subject(bead, severity), _body(bead, severity, sender), actor=sender,
                         priority=PRIORITY[severity]).id for t in to]  # fmt: skip
    return _view(ledger, ledger.get(bead.id), ids)


def _require(ledger: Ledger, escalation_id: str) -> Bead:
    if not ledger.exists(escalation_id):
        raise NotFound(f"no escalation {escalation_id!r} (see gt escalate list)")
    bead = ledger.get(escalation_id)
    if LABEL not in ledger.labels(escalation_id):
        raise InvalidInput(f"{escalation_id} is not an escalation (no '{LABEL}' label)")
    return bead


def forward(ledger: Ledger, escalation_id: str, *, actor: str, note: str = "") -> Escalation:
    """Move an escalation one level up the chain (Deacon -> Mayor -> Overseer) and mail the new holder."""
    sender = mail.normalize_address(actor)
    with ledger.mutation("escalation_forwarded", sender, escalation_id) as rec:
        bead = _require(ledger, escalation_id)
        if bead.status in ("closed", "tombstone"):
            raise Conflict(f"escalation {escalation_id} is {bead.status}: nothing to forward")
        level = CHAIN.index(bead.assignee) if bead.assignee in CHAIN else -1
        if level == len(CHAIN) - 1:
            raise Conflict(f"escalation {escalation_id} is already with the Overseer (the top)")
        nxt = CHAIN[level + 1]
        rec.payload.update({"from": bead.assignee, "to": nxt})
        bead = ledger.update(escalation_id, actor=sender, assignee=nxt)
        ledger.add_comment(escalation_id, f"forwarded to {nxt} by {sender}" + (f": {note}" if note else ""),
                           actor=sender)  # fmt: skip
        severity = _severity_of(ledger.labels(escalation_id))
        mid = mail.send(ledger, nxt, _subject(bead, severity), _body(bead, severity, sender, note), actor=sender,
                        priority=bead.priority).id  # fmt: skip
    return _view(ledger, ledger.get(escalation_id), [mid])


def list_escalations(ledger: Ledger, *, include_closed: bool = False, holder: str | None = None) -> list[Escalation]:
    """Escalations, most urgent first (open ones unless ``include_closed``)."""
    beads = ledger.list(label=LABEL, include_closed=include_closed, order="priority, created_at, id")
    if holder is not None:
        holder = mail.normalize_address(holder)
        beads = [b for b in beads if b.assignee == holder]
    return [_view(ledger, b) for b in beads]


def open_with_label(ledger: Ledger, label: str) -> Escalation | None:
    """The oldest open escalation carrying ``label``, if any."""
    for bead in ledger.list(label=label, order="created_at, id"):
        if LABEL in ledger.labels(bead.id):
            return _view(ledger, bead)
    return None


ACKED_LABEL = "acked"


def show(ledger: Ledger, escalation_id: str) -> Escalation:
    return _view(ledger, _require(ledger, escalation_id))


def ack(ledger: Ledger, escalation_id: str, *, actor: str) -> Escalation:
    """The holder has seen it and is on it: labelled ``acked`` (and in progress); it stays open."""
    who = mail.normalize_address(actor)
    with ledger.mutation("escalation_acked", who, escalation_id):
        bead = _require(ledger, escalation_id)
        if bead.status in ("closed", "tombstone"):
            raise Conflict(f"escalation {escalation_id} is {bead.status}: nothing to acknowledge")
        if ACKED_LABEL not in ledger.labels(escalation_id):
            ledger.add_label(escalation_id, ACKED_LABEL, actor=who)
            ledger.add_comment(escalation_id, f"acknowledged by {who}", actor=who)
        if bead.status == "open":
            ledger.update(escalation_id, actor=who, status="in_progress")
    return _view(ledger, ledger.get(escalation_id))


def close(ledger: Ledger, escalation_id: str, *, actor: str, reason: str = "") -> Escalation:
    """Resolve an escalation (closed with ``reason``); the one who filed it is told by mail."""
    who = mail.normalize_address(actor)
    with ledger.mutation("escalation_closed", who, escalation_id):
        bead = _require(ledger, escalation_id)
        if bead.status in ("closed", "tombstone"):
            raise Conflict(f"escalation {escalation_id} is already {bead.status}")
        ledger.close(escalation_id, actor=who, reason=reason or "resolved")
        ids = []
        if bead.created_by and mail.normalize_address(bead.created_by) != who:
            ids.append(mail.send(ledger, bead.created_by, f"Re: {mail.ESCALATION} {bead.id} resolved",
                                 f"{bead.id} ({bead.title}) was closed by {who}: {reason or 'resolved'}",
                                 actor=who).id)  # fmt: skip
    return _view(ledger, ledger.get(escalation_id), ids)
