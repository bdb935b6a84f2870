"""Merge requests: beads of type ``merge-request``, the Refinery's queue.

An MR bead takes the rig's prefix; its ``metadata`` (JSON) is an
:class:`MRMeta`: the branch, the base it merges into, the head sha that was
submitted, the polecat's address, the issue, and a journal of every state
change.  Lifecycle (``status``)::

    open ──claim──> in_progress (assignee <rig>/refinery) ──> closed "merged <sha>"
      ^                 │ conflict ─> deferred  (assignee: the polecat, rework)
      │                 │ gate fail ─> blocked  (assignee: the polecat)
      └── gt done again ┘ (same bead, new head; never a second MR for a branch)
    any pending state ──abandon──> closed "abandoned"

Crash safety: before the Refinery moves the base branch it writes the
rebased sha it is about to publish into ``meta.intended``; a restarted
Refinery that finds an ``in_progress`` MR with ``intended`` set finishes
the bookkeeping if the base already contains it, instead of merging again.
"""

from __future__ import annotations

import msgspec

from ..beads import clock
from ..beads.models import Bead
from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound

MR_TYPE = "merge-request"
OPEN, CLAIMED, REWORK, GATE_FAILED, CLOSED = "open", "in_progress", "deferred", "blocked", "closed"
#: Statuses of an MR that is still somebody's business (blocks nuking its branch).
PENDING = (OPEN, CLAIMED, REWORK, GATE_FAILED)
MERGED_PREFIX = "merged "
ABANDONED = "abandoned"


class RigRef(msgspec.Struct, omit_defaults=True):
    """What the merge queue needs to know about a rig (the town's ``Rig`` has these fields)."""

    name: str
    prefix: str
    #: The canonical clone (absolute path).
    repo: str
    #: The branch merges land on ("" = the clone's checked-out branch, else main).
    default_branch: str = ""


def rig_ref(rig: object) -> RigRef:
    """A :class:`RigRef` from any rig-like object (``town.core.Rig``)."""
    return RigRef(
        name=getattr(rig, "name"), prefix=getattr(rig, "prefix"), repo=str(getattr(rig, "repo")),
        default_branch=getattr(rig, "default_branch", "") or "",
    )  # fmt: skip


class JournalEntry(msgspec.Struct, omit_defaults=True):
    at: str
    actor: str
    event: str
    detail: str = ""


class MRMeta(msgspec.Struct, omit_defaults=True):
    rig: str
    branch: str
    base: str
    head: str
    polecat: str
    issue: str = ""
    worktree: str = ""
    #: How many times the Refinery has taken it.
    attempts: int = 0
    #: How many of those attempts (for the current head) were cut short by the Refinery dying.
    interrupted: int = 0
    #: The rebased sha about to become ``base`` (written before the move).
    intended: str = ""
    #: ``base``'s sha when ``intended`` was computed.
    intended_from: str = ""
    #: The commit ``base`` pointed at once merged.
    merged: str = ""
    warnings: list[str] = msgspec.field(default_factory=list)
    journal: list[JournalEntry] = msgspec.field(default_factory=list)


class MergeRequest(msgspec.Struct, omit_defaults=False):
    id: str
    title: str
    status: str
    assignee: str
    priority: int
    created_at: str
    updated_at: str
    close_reason: str
    meta: MRMeta

    @property
    def merged(self) -> bool:
        return self.status == CLOSED and self.close_reason.startswith(MERGED_PREFIX)

    @property
    def pending(self) -> bool:
        return self.status in PENDING


def _decode(bead: Bead) -> MergeRequest:
    if bead.issue_type != MR_TYPE:
        raise InvalidInput(f"{bead.id} is not a merge request (it is a {bead.issue_type})")
    try:
        meta = msgspec.json.decode(bead.metadata or "{}", type=MRMeta)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput(f"merge request {bead.id} has unreadable metadata: {exc}") from None
    return MergeRequest(
        id=bead.id, title=bead.title, status=bead.status, assignee=bead.assignee, priority=bead.priority,
        created_at=bead.created_at, updated_at=bead.updated_at, close_reason=bead.close_reason, meta=meta,
    )  # fmt: skip


def _encode(meta: MRMeta) -> str:
    return msgspec.json.encode(meta).decode()


def get(ledger: Ledger, mr_id: str) -> MergeRequest:
    bead = ledger.get(mr_id)
    if bead.status == "tombstone":
        raise NotFound(f"merge request {mr_id} was deleted")
    return _decode(bead)


def _query(
    ledger: Ledger, where: str, params: list, order: str = "priority, created_at, id", limit: int | None = None
) -> list[MergeRequest]:
    sql = (
        f"SELECT id FROM issues WHERE issue_type = 'merge-request' AND status != 'tombstone' AND {where} "
        f"ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else "")
    )
    ids = [r[0] for r in ledger.conn.execute(sql, params)]
    beads = ledger.get_many(ids)
    return [_decode(beads[i]) for i in ids if i in beads]


def for_polecat(ledger: Ledger, rig: str, address: str) -> list[MergeRequest]:
    """Every MR a worker filed in ``rig``, oldest first."""
    return _query(
        ledger, "json_extract(metadata, '$.rig') = ? AND json_extract(metadata, '$.polecat') = ?",
        [rig, address], order="created_at, id",
    )  # fmt: skip


def for_branch(ledger: Ledger, rig: str, branch: str) -> list[MergeRequest]:
    """Every MR ever filed for ``branch`` in ``rig``, oldest first."""
    return _query(
        ledger,
        "json_extract(metadata, '$.rig') = ? AND json_extract(metadata, '$.branch') = ?",
        [rig, branch],
        order="created_at, id",
    )


def pending_for_branch(ledger: Ledger, rig: str, branch: str) -> MergeRequest | None:
    found = [m for m in for_branch(ledger, rig, branch) if m.pending]
    return found[-1] if found else None


def queue(
    ledger: Ledger, rig: str | None = None, *, include_closed: bool = False, status: str | None = None
) -> list[MergeRequest]:
    """MRs in merge order (priority, then oldest first); pending ones unless asked."""
    where, params = ["1=1"], []
    if status:
        where.append("status = ?")
        params.append(status)
    if rig:
        where.append("json_extract(metadata, '$.rig') = ?")
        params.append(rig)
    if not include_closed:
        where.append("status != 'closed'")
    return _query(ledger, " AND ".join(where), params)


def journal_entry(actor: str, event: str, detail: str = "") -> JournalEntry:
    """One line of an MR's crash journal."""
    return JournalEntry(at=clock.now(), actor=actor, event=event, detail=detail)


def submit(
    ledger: Ledger,
    *,
    rig: str,
    prefix: str,
    branch: str,
    base: str,
    head: str,
    polecat: str,
    actor: str,
    issue: str = "",
    worktree: str = "",
) -> tuple[MergeRequest, bool]:
    """Record ``branch`` at ``head`` for merging; ``(mr, created)``.

    One pending MR per branch: a resubmission (after rework or a gate
    failure) updates and reopens it.  Must run inside the caller's
    transaction when other records belong with it.
    """
    with ledger.atomic():
        for mr in reversed(for_branch(ledger, rig, branch)):
            if mr.merged and mr.meta.head == head:
                raise Conflict(f"{branch} at {head[:12]} was already merged ({mr.id}, {mr.close_reason})")
        current = pending_for_branch(ledger, rig, branch)
        if current is not None:
            if current.status == CLAIMED:
                raise Conflict(
                    f"{current.id} for {branch} is being merged by {current.assignee or 'the refinery'} right now: "
                    "wait for its MERGED/MERGE_FAILED/REWORK_REQUEST mail"
                )
            meta = current.meta
            old_head, meta.head = meta.head, head
            meta.polecat, meta.base = polecat, base
            meta.interrupted = 0  # a new head gets a fresh chance
            if issue:
                meta.issue = issue
            if worktree:
                meta.worktree = worktree
            meta.journal.append(journal_entry(actor, "resubmitted", f"{old_head[:12]} -> {head[:12]}"))
            ledger.update(current.id, actor=actor, status=OPEN, assignee="", metadata=_encode(meta))
            return get(ledger, current.id), False
        meta = MRMeta(
            rig=rig, branch=branch, base=base, head=head, polecat=polecat, issue=issue, worktree=worktree,
            journal=[journal_entry(actor, "submitted", head[:12])],
        )  # fmt: skip
        title = f"Merge {branch}" + (f" ({issue})" if issue else "")
        description = f"Merge {branch} ({head[:12]}) into {base} for {polecat}."
        deps = [("related", issue)] if issue and ledger.exists(issue) else []
        bead = ledger.create(
            title, actor=actor, issue_type=MR_TYPE, prefix=prefix, description=description, deps=deps,
            metadata=_encode(meta),
        )  # fmt: skip
        return _decode(bead), True


def claim_next(ledger: Ledger, rig: str, *, actor: str) -> MergeRequest | None:
    """Take the first open MR of ``rig`` (atomically: two refineries never get the same one)."""
    with ledger.atomic():
        for mr in _query(ledger, "status = 'open' AND json_extract(metadata, '$.rig') = ?", [rig], limit=1):
            meta = mr.meta
            meta.attempts += 1
            meta.journal.append(journal_entry(actor, "claimed", f"attempt {meta.attempts}"))
            ledger.update(mr.id, actor=actor, status=CLAIMED, assignee=actor, metadata=_encode(meta))
            return get(ledger, mr.id)
    return None


def record(ledger: Ledger, mr: MergeRequest, event: str, detail: str = "", *, actor: str, **changes: object) -> MergeRequest:
    """Append a journal entry and write ``mr.meta`` (plus bead ``changes``)."""
    mr.meta.journal.append(journal_entry(actor, event, detail))
    ledger.update(mr.id, actor=actor, metadata=_encode(mr.meta), **changes)
    return get(ledger, mr.id)


def mark_merged(ledger: Ledger, mr: MergeRequest, sha: str, *, actor: str) -> MergeRequest:
    with ledger.atomic():
        mr.meta.merged, mr.meta.intended, mr.meta.intended_from = sha, "", ""
        record(ledger, mr, "merged", sha, actor=actor)
        ledger.close(mr.id, actor=actor, reason=f"{MERGED_PREFIX}{sha}")
    return get(ledger, mr.id)


def abandon(ledger: Ledger, mr_id: str, *, actor: str, reason: str = "") -> MergeRequest:
    """Give up on an MR explicitly (its branch may then be cleaned up)."""
    with ledger.atomic():
        mr = get(ledger, mr_id)
        if not mr.pending:
            raise Conflict(f"{mr_id} is already {mr.close_reason or mr.status}")
        if mr.status == CLAIMED:
            raise Conflict(f"{mr_id} is being merged by {mr.assignee} right now")
        record(ledger, mr, "abandoned", reason, actor=actor)
        ledger.close(mr_id, actor=actor, reason=ABANDONED + (f": {reason}" if reason else ""))
    return get(ledger, mr_id)


def retry(ledger: Ledger, mr_id: str, *, actor: str) -> MergeRequest:
    """Put an MR whose gate (or push) failed back in the queue as it is: the Refinery takes it again.

    For a failure that was not the branch's fault (a flaky gate, a remote
    that was down); a real failure goes back to its polecat instead.
    """
    with ledger.atomic():
        mr = get(ledger, mr_id)
        if mr.status != GATE_FAILED:
            raise Conflict(f"{mr_id} is {mr.close_reason or mr.status}: only a failed merge request can be retried")
        mr.meta.interrupted = 0
        return record(ledger, mr, "retry_requested", "", actor=actor, status=OPEN, assignee="")


def failure_output(ledger: Ledger, mr_id: str) -> str:
    """The newest failure report about an MR (gate output tail, push error), from the
    MERGE_FAILED mail the Refinery sent; "" if none."""
    row = ledger.conn.execute(
        "SELECT description FROM issues WHERE issue_type = 'message' AND substr(title, 1, 12) = 'MERGE_FAILED' "
        "AND instr(description, ?) > 0 ORDER BY created_at DESC, id DESC LIMIT 1",
        (f"\nMR: {mr_id}\n",),
    ).fetchone()
    if row is None:
        return ""
    text = row[0]
    at = text.find("\nError: ")
    return text[at + len("\nError: ") :] if at >= 0 else text


def reject(ledger: Ledger, mr_id: str, *, actor: str, reason: str, notify: bool = True) -> tuple[MergeRequest, str]:
    """Abandon an MR with ``reason`` and (``notify``) mail its polecat why; ``(mr, mail id or "")``."""
    from . import mail

    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("say why the merge request is rejected (--reason)")
    with ledger.atomic():
        mr = abandon(ledger, mr_id, actor=actor, reason=f"rejected: {reason.strip()}")
        mid = ""
        if notify and mr.meta.polecat:
            mid = mail.send(ledger, mr.meta.polecat, f"MR_REJECTED {mr.id}",
                            f"MR: {mr.id}\nBranch: {mr.meta.branch}\nReason: {reason.strip()}", actor=actor).id
    return mr, mid
