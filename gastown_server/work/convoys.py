"""Convoys: a bead of type ``convoy`` that *tracks* a set of beads across rigs.

A convoy depends on each bead it tracks with a ``tracks`` dependency
(non-blocking, SPEC.md).  It has *landed* when every tracked bead is done.
This module is the minimal domain the RPC server and ``gt convoy`` share;
the work-lifecycle issue extends it (auto-landing, notifications to the
Mayor, sling wrapping work in a convoy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from ..beads.models import DONE_STATUSES, Bead
from ..beads.store import Ledger
from ..errors import InvalidInput, NotFound

CONVOY_TYPE = "convoy"
TRACKS = "tracks"


class Progress(msgspec.Struct, omit_defaults=False):
    total: int = 0
    closed: int = 0
    #: Tracked beads by status (``closed`` counts tombstoned ones too).
    by_status: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def landed(self) -> bool:
        return self.total > 0 and self.closed == self.total


class ConvoySummary(msgspec.Struct, omit_defaults=False):
    id: str
    title: str
    status: str
    created_at: str
    updated_at: str
    progress: Progress
    landed: bool


class TrackedBead(msgspec.Struct, omit_defaults=False):
    """A tracked bead as a convoy tree shows it (a light Bead)."""

    id: str
    title: str
    status: str
    issue_type: str
    priority: int
    assignee: str
    is_blocked: bool


class ConvoyTree(msgspec.Struct, omit_defaults=False):
    convoy: Bead
    tracked: list[TrackedBead]
    #: Ids the convoy tracks that no longer exist (purged wisps).
    missing: list[str]
    progress: Progress
    landed: bool


def _require_convoy(ledger: Ledger, convoy_id: str) -> Bead:
    bead = ledger.get(convoy_id)
    if bead.issue_type != CONVOY_TYPE:
        raise InvalidInput(f"{convoy_id} is not a convoy (it is a {bead.issue_type})")
    return bead


def create(
    ledger: Ledger,
    title: str,
    tracked: Sequence[str],
    *,
    actor: str,
    description: str = "",
    labels: Iterable[str] = (),
    prefix: str | None = None,
) -> Bead:
    """A new convoy tracking ``tracked`` (one transaction, one event)."""
    ids = list(dict.fromkeys(tracked))
    for bid in ids:
        if not isinstance(bid, str) or not bid:
            raise InvalidInput("tracked bead ids must be non-empty strings")
    return ledger.create(
        title,
        actor=actor,
        description=description,
        issue_type=CONVOY_TYPE,
        labels=labels,
        deps=[(TRACKS, bid) for bid in ids],
        prefix=prefix,
    )


def track(ledger: Ledger, convoy_id: str, bead_ids: Sequence[str], *, actor: str) -> Bead:
    """Add beads to a convoy (all or none)."""
    with ledger.mutation("convoy_tracked", actor, convoy_id, {"tracked": list(bead_ids)}):
        _require_convoy(ledger, convoy_id)
        for bid in dict.fromkeys(bead_ids):
            ledger.add_dependency(convoy_id, bid, actor=actor, dep_type=TRACKS)
    return ledger.get(convoy_id)


def _progress_rows(ledger: Ledger, convoy_ids: Sequence[str]) -> dict[str, Progress]:
    out = {cid: Progress() for cid in convoy_ids}
    for i in range(0, len(convoy_ids), 500):
        chunk = list(convoy_ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        rows = ledger.conn.execute(
            "SELECT d.issue_id, i.status, COUNT(*) FROM dependencies d JOIN issues i ON i.id = d.depends_on_id "
            f"WHERE d.type = 'tracks' AND d.issue_id IN ({marks}) GROUP BY d.issue_id, i.status",
            chunk,
        )
        for cid, status, n in rows:
            p = out[cid]
            p.by_status[status] = n
            p.total += n
            if status in DONE_STATUSES and status != "pinned":
                p.closed += n
    return out


def list_convoys(ledger: Ledger, *, status: str = "open", limit: int | None = None) -> list[ConvoySummary]:
    """Convoys with their progress: ``status`` is ``open`` (not closed), ``closed`` or ``all``."""
    if status not in ("open", "closed", "all"):
        raise InvalidInput(f"invalid convoy status filter {status!r} (one of: open, closed, all)")
    if status == "open":
        beads = ledger.list(issue_type=CONVOY_TYPE, limit=limit)
    elif status == "closed":
        beads = ledger.list(issue_type=CONVOY_TYPE, status="closed", limit=limit)
    else:
        beads = ledger.list(issue_type=CONVOY_TYPE, include_closed=True, limit=limit)
    progress = _progress_rows(ledger, [b.id for b in beads])
    return [
        ConvoySummary(
            b.id, b.title, b.status, b.created_at, b.updated_at, progress[b.id], progress[b.id].landed
        )
        for b in beads
    ]


def tree(ledger: Ledger, convoy_id: str) -> ConvoyTree:
    """A convoy and every bead it tracks, in tracking order."""
    with ledger.snapshot():
        convoy = _require_convoy(ledger, convoy_id)
        ledger._embed(convoy)
        rows = ledger.conn.execute(
            "SELECT d.depends_on_id, i.id, i.title, i.status, i.issue_type, i.priority, i.assignee, i.is_blocked "
            "FROM dependencies d LEFT JOIN issues i ON i.id = d.depends_on_id "
            "WHERE d.issue_id = ? AND d.type = 'tracks' ORDER BY d.created_at, i.created_at, d.depends_on_id",
            (convoy_id,),
        ).fetchall()
    tracked, missing = [], []
    progress = Progress()
    for target, found, title, status, itype, prio, assignee, blocked in rows:
        if found is None:
            missing.append(target)
            continue
        tracked.append(TrackedBead(found, title, status, itype, prio, assignee, bool(blocked)))
        progress.total += 1
        progress.by_status[status] = progress.by_status.get(status, 0) + 1
        if status in DONE_STATUSES and status != "pinned":
            progress.closed += 1
    return ConvoyTree(convoy, tracked, missing, progress, progress.landed)


def convoys_tracking(ledger: Ledger, bead_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each bead id, the convoys that track it (only ids that have some)."""
    ids = list(dict.fromkeys(bead_ids))
    out: dict[str, list[str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for convoy_id, target in ledger.conn.execute(
            f"SELECT issue_id, depends_on_id FROM dependencies WHERE type = 'tracks' AND depends_on_id IN ({marks}) "
            "ORDER BY issue_id",
            chunk,
        ):
            out.setdefault(target, []).append(convoy_id)
    return out


def ensure_exists(ledger: Ledger, convoy_id: str) -> None:
    if not ledger.exists(convoy_id):
        raise NotFound(f"no convoy {convoy_id!r}")
