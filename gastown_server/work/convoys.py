"""Convoys: a bead of type ``convoy`` that *tracks* a set of beads across rigs.

A convoy depends on each bead it tracks with a ``tracks`` dependency
(non-blocking, SPEC.md).  It has *landed* when every tracked bead is done.
The RPC server, ``gt convoy`` and ``gt sling`` share this module.

Landing: :func:`land` closes a convoy and mails ``CONVOY_LANDED <id>`` to the
Overseer and the Mayor in the same transaction.  :func:`land_finished`
lands every open convoy whose tracked beads are all closed; the Refinery
calls it right after a merge closes an issue, and ``gt convoy check`` (the
Deacon's backstop) for beads closed by other means.  :func:`stranded` is the
tracked work nobody is on: open, not blocked, no assignee.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from ..beads.models import DONE_STATUSES, Bead
from ..beads.store import Ledger
from ..errors import Conflict, InvalidInput, NotFound

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
    closed_at: str = ""


class TrackedBead(msgspec.Struct, omit_defaults=False):
    """A tracked bead as a convoy tree shows it (a light Bead)."""

    id: str
    title: str
    status: str
    issue_type: str
    priority: int
    assignee: str
    is_blocked: bool
    #: The rig the bead belongs to (from its id prefix; ``hq`` = the town; "" when unrouted).
    rig: str = ""


class Stranded(msgspec.Struct, omit_defaults=False):
    """Tracked work nobody is on: open, not blocked, no assignee."""

    convoy: str
    id: str
    title: str
    priority: int
    rig: str = ""


class ConvoyTree(msgspec.Struct, omit_defaults=False):
    convoy: Bead
    tracked: list[TrackedBead]
    #: Ids the convoy tracks that no longer exist (purged wisps).
    missing: list[str]
    progress: Progress
    landed: bool


def _require_convoy(ledger: Ledger, convoy_id: str) -> Bead:
    if not ledger.exists(convoy_id):
        raise NotFound(f"no convoy {convoy_id!r} (see gt convoy list)")
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


#: How many landed convoys ``status="recent"`` returns when no limit is given.
RECENT_DEFAULT = 10


def list_convoys(ledger: Ledger, *, status: str = "open", limit: int | None = None) -> list[ConvoySummary]:
    """Convoys with their progress: ``status`` is ``open`` (not closed), ``closed``, ``all``, or
    ``recent``: the last landed ones, newest first (what a user looks for right after a convoy lands)."""
    if status not in ("open", "closed", "all", "recent"):
        raise InvalidInput(f"invalid convoy status filter {status!r} (one of: open, closed, all, recent)")
    if status == "open":
        beads = ledger.list(issue_type=CONVOY_TYPE, limit=limit)
    elif status == "closed":
        beads = ledger.list(issue_type=CONVOY_TYPE, status="closed", limit=limit)
    elif status == "recent":
        beads = ledger.list(issue_type=CONVOY_TYPE, status="closed", limit=limit or RECENT_DEFAULT,
                            order="closed_at DESC, id")
    else:
        beads = ledger.list(issue_type=CONVOY_TYPE, include_closed=True, limit=limit)
    progress = _progress_rows(ledger, [b.id for b in beads])
    return [
        ConvoySummary(
            b.id, b.title, b.status, b.created_at, b.updated_at, progress[b.id], progress[b.id].landed, b.closed_at
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
    rigs = rig_names(ledger)
    progress = Progress()
    for target, found, title, status, itype, prio, assignee, blocked in rows:
        if found is None:
            missing.append(target)
            continue
        tracked.append(TrackedBead(found, title, status, itype, prio, assignee, bool(blocked), rig_of(found, rigs)))
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


# -- rigs of beads ------------------------------------------------------------------


def rig_names(ledger: Ledger) -> dict[str, str]:
    """Bead-id prefix -> rig name, from the rig beads ``gt rig add`` records (``hq`` is the town)."""
    out = {"hq": "town"}
    for b in ledger.list(issue_type="rig", status="pinned", order="id"):
        try:
            meta = msgspec.json.decode(b.metadata) if b.metadata else {}
        except msgspec.DecodeError:
            continue
        if isinstance(meta, dict) and meta.get("prefix") and meta.get("name"):
            out[str(meta["prefix"])] = str(meta["name"])
    return out


def rig_of(bead_id: str, rigs: dict[str, str]) -> str:
    """The rig owning ``bead_id`` (longest known prefix before a ``-``), or ""."""
    best = ""
    for prefix in rigs:
        if bead_id.startswith(prefix + "-") and len(prefix) > len(best):
            best = prefix
    return rigs.get(best, "")


# -- changing convoys ---------------------------------------------------------------


def add(ledger: Ledger, convoy_id: str, bead_ids: Sequence[str], *, actor: str) -> Bead:
    """Track more beads (all or none; ones already tracked are skipped).  A landed convoy reopens."""
    ids = [b for b in dict.fromkeys(bead_ids)]
    if not ids:
        raise InvalidInput("name at least one bead to add")
    with ledger.mutation("convoy_tracked", actor, convoy_id, {"tracked": ids}):
        convoy = _require_convoy(ledger, convoy_id)
        if convoy.status == "tombstone":
            raise Conflict(f"convoy {convoy_id} was deleted")
        for bid in ids:
            if not isinstance(bid, str) or not ledger.exists(bid):
                raise NotFound(f"no bead {bid!r}: nothing added to {convoy_id}")
            if bid == convoy_id:
                raise InvalidInput(f"a convoy cannot track itself ({bid})")
        already = {
            r[0]
            for r in ledger.conn.execute(
                "SELECT depends_on_id FROM dependencies WHERE issue_id = ? AND type = 'tracks'", (convoy_id,)
            )
        }
        for bid in ids:
            if bid not in already:
                ledger.add_dependency(convoy_id, bid, actor=actor, dep_type=TRACKS)
        if convoy.status == "closed":
            ledger.reopen(convoy_id, actor=actor, reason="more work tracked")
    return ledger.get(convoy_id)


def close(ledger: Ledger, convoy_id: str, *, actor: str, reason: str = "closed") -> Bead:
    """Close a convoy without landing it (no mail): the work was abandoned or moved."""
    with ledger.mutation("convoy_closed", actor, convoy_id, {"reason": reason}):
        convoy = _require_convoy(ledger, convoy_id)
        if convoy.status in ("closed", "tombstone"):
            raise Conflict(f"convoy {convoy_id} is already {convoy.status}")
        return ledger.close(convoy_id, actor=actor, reason=reason or "closed")


def _landed_body(t: ConvoyTree, actor: str, forced: bool) -> str:
    lines = [
        f"Convoy: {t.convoy.id}",
        f"Title: {t.convoy.title}",
        f"Progress: {t.progress.closed}/{t.progress.total} closed",
        f"Landed-By: {actor}",
    ]
    if forced:
        lines.append("Forced: yes (not every tracked bead was closed)")
    lines += [f"- {b.id} [{b.status}] {b.title}" for b in t.tracked]
    return "\n".join(lines)


def land(ledger: Ledger, convoy_id: str, *, actor: str, force: bool = False) -> ConvoyTree:
    """Close a finished convoy and mail CONVOY_LANDED to the Overseer and the Mayor (one transaction).

    Refused while a tracked bead is not closed, unless ``force``.
    """
    from . import mail

    with ledger.mutation("convoy_landed", actor, convoy_id, {"force": force}):
        t = tree(ledger, convoy_id)
        if t.convoy.status in ("closed", "tombstone"):
            raise Conflict(f"convoy {convoy_id} is already {t.convoy.status}")
        if not t.landed and not force:
            left = [b.id for b in t.tracked if not (b.status in DONE_STATUSES and b.status != "pinned")]
            what = f"{len(left)} of {t.progress.total} tracked beads are not closed ({', '.join(left[:5])}" + (
                ", ...)" if len(left) > 5 else ")"
            )
            if not t.tracked:
                what = "it tracks no beads"
            raise Conflict(f"convoy {convoy_id} has not finished: {what}; use --force to land it anyway")
        ledger.close(convoy_id, actor=actor, reason="landed" + (" (forced)" if force else ""))
        body = _landed_body(t, actor, force)
        subject = f"{mail.CONVOY_LANDED} {convoy_id}: {t.convoy.title}"
        for to in (mail.OVERSEER, "mayor"):
            mail.send(ledger, to, subject, body, actor=actor)  # named in this event's payload "mail"
    return tree(ledger, convoy_id)


def land_finished(ledger: Ledger, *, actor: str, bead_ids: Iterable[str] | None = None) -> list[str]:
    """Land every open convoy whose tracked beads are all closed; returns the landed ids.

    With ``bead_ids``, only convoys tracking one of those beads are considered
    (the cheap call the Refinery makes after closing an issue).
    """
    if bead_ids is not None:
        candidates = sorted({c for cs in convoys_tracking(ledger, bead_ids).values() for c in cs})
    else:
        candidates = [b.id for b in ledger.list(issue_type=CONVOY_TYPE)]
    landed = []
    with ledger.atomic():
        for cid in candidates:
            bead = ledger.get(cid)
            if bead.issue_type != CONVOY_TYPE or bead.status in ("closed", "tombstone"):
                continue
            if _progress_rows(ledger, [cid])[cid].landed:
                land(ledger, cid, actor=actor)
                landed.append(cid)
    return landed


def stranded(ledger: Ledger) -> list[Stranded]:
    """Work tracked by an open convoy that nobody is on: open/in progress, not blocked or deferred, no assignee."""
    rigs = rig_names(ledger)
    rows = ledger.conn.execute(
        "SELECT d.issue_id, i.id, i.title, i.priority FROM dependencies d "
        "JOIN issues c ON c.id = d.issue_id JOIN issues i ON i.id = d.depends_on_id "
        "WHERE d.type = 'tracks' AND c.issue_type = 'convoy' AND c.status NOT IN ('closed', 'tombstone') "
        "AND i.status IN ('open', 'in_progress') AND i.is_blocked = 0 AND i.assignee = '' "
        "AND (i.defer_until = '' OR i.defer_until <= ?) "
        "ORDER BY d.issue_id, i.priority, i.created_at, i.id",
        (_now(),),
    ).fetchall()
    return [Stranded(cid, bid, title, prio, rig_of(bid, rigs)) for cid, bid, title, prio in rows]


def _now() -> str:
    from ..beads import clock

    return clock.now()
