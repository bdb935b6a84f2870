"""Trends the ledger already records: throughput per hour and a convoy's burndown.

Pure reads over ``issues`` and ``dependencies`` (one query each), for the
dashboard's pictures and anyone else who wants the numbers.  "Work" means
beads a person or a polecat works on: not messages, merge requests, agents,
molecules and their steps, convoys, or wisps.
"""

from __future__ import annotations

import time

import msgspec

from ..beads.models import NON_WORK_TYPES
from ..beads.store import Ledger
from .convoys import CONVOY_TYPE
from .merge_requests import MERGED_PREFIX, MR_TYPE

_NOT_WORK = tuple(NON_WORK_TYPES) + (CONVOY_TYPE, "event")
_WORK_PREDICATE = (
    f"issue_type NOT IN ({','.join(repr(t) for t in _NOT_WORK)}) AND ephemeral = 0 "
    "AND NOT EXISTS (SELECT 1 FROM issues p WHERE p.id = issues.parent AND p.issue_type = 'molecule')"
)


class Throughput(msgspec.Struct, omit_defaults=False):
    #: Hour buckets, oldest first: "YYYY-MM-DDTHH" (UTC).
    hours: list[str]
    #: Work beads closed in each hour.
    closed: list[int]
    #: Merge requests merged in each hour.
    merged: list[int]


class BurnPoint(msgspec.Struct, omit_defaults=False):
    at: str
    #: Tracked beads still open right after ``at``.
    open: int
    #: Tracked beads so far.
    total: int


def _hour(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H", time.gmtime(epoch))


def throughput(ledger: Ledger, *, hours: int = 24, now: float | None = None) -> Throughput:
    """Beads closed and MRs merged per hour over the last ``hours`` hours (this hour included)."""
    now = time.time() if now is None else now
    buckets = [_hour(now - 3600 * i) for i in range(hours - 1, -1, -1)]
    since = buckets[0]
    closed = dict.fromkeys(buckets, 0)
    merged = dict.fromkeys(buckets, 0)
    for hour, n in ledger.conn.execute(
        f"SELECT substr(closed_at, 1, 13) h, COUNT(*) FROM issues WHERE status = 'closed' AND closed_at >= ? "
        f"AND {_WORK_PREDICATE} GROUP BY h",
        (since,),
    ):
        if hour in closed:
            closed[hour] = n
    for hour, n in ledger.conn.execute(
        "SELECT substr(closed_at, 1, 13) h, COUNT(*) FROM issues WHERE issue_type = ? AND status = 'closed' "
        "AND closed_at >= ? AND substr(close_reason, 1, ?) = ? GROUP BY h",
        (MR_TYPE, since, len(MERGED_PREFIX), MERGED_PREFIX),
    ):
        if hour in merged:
            merged[hour] = n
    return Throughput(buckets, list(closed.values()), list(merged.values()))


def burndown(ledger: Ledger, convoy_id: str) -> list[BurnPoint]:
    """A convoy's open work over time: a point whenever a bead joined it or closed."""
    changes: list[tuple[str, int, int]] = []  # (at, d_open, d_total)
    rows = ledger.conn.execute(
        "SELECT MAX(d.created_at, i.created_at), i.status, i.closed_at FROM dependencies d "
        "JOIN issues i ON i.id = d.depends_on_id WHERE d.issue_id = ? AND d.type = 'tracks'",
        (convoy_id,),
    )
    for added, status, closed_at in rows:
        changes.append((added, 1, 1))
        if status in ("closed", "tombstone") and closed_at:
            changes.append((max(closed_at, added), -1, 0))
    changes.sort()
    points: list[BurnPoint] = []
    open_, total = 0, 0
    for at, d_open, d_total in changes:
        open_ += d_open
        total += d_total
        if points and points[-1].at == at:
            points[-1].open, points[-1].total = open_, total
        else:
            points.append(BurnPoint(at, open_, total))
    return points
