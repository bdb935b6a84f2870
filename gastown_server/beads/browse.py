"""Browsing the ledger as an editor's bead list does: search, presets, sort, pages.

``Ledger.list`` answers the CLI's filters; an editor showing a town of
thousands of beads also needs a text search, the usual presets (ready,
blocked, mine), a choice of order, and a page with the total count so it
can say "1-200 of 2,143".  One SQL query per page plus one count; labels
are filled in with one more query (the list shows them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..errors import InvalidInput
from .filters import Where
from .models import NON_WORK_TYPES, Bead
from .schema import READY_PREDICATE
from .store import _SELECT, Ledger, _row_to_bead

#: Order of each sort mode; ``id`` breaks ties so pages never overlap.
SORTS = {
    "created": "created_at {d}, id {d}",
    "updated": "updated_at {d}, id {d}",
    "priority": "priority {d}, created_at, id",
    # Workflow order rather than alphabetical: what is moving first.
    "status": (
        "CASE status WHEN 'in_progress' THEN 0 WHEN 'hooked' THEN 1 WHEN 'open' THEN 2 "
        "WHEN 'blocked' THEN 3 WHEN 'deferred' THEN 4 WHEN 'pinned' THEN 5 WHEN 'closed' THEN 7 "
        "ELSE 6 END {d}, priority, created_at, id"
    ),
    "id": "id {d}",
    "title": "title COLLATE NOCASE {d}, id",
}

#: Presets a list view offers; each is a WHERE term (``mine`` needs the actor).
PRESETS = ("open", "ready", "blocked", "in_progress", "mine", "closed", "all")


class Page(NamedTuple):
    beads: list[Bead]
    total: int


def _escape_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def browse(
    led: Ledger,
    *,
    query: str | None = None,
    preset: str | None = None,
    actor: str = "",
    status: str | Sequence[str] | None = None,
    issue_type: str | Sequence[str] | None = None,
    assignee: str | None = None,
    label: str | None = None,
    prefix: str | None = None,
    parent: str | None = None,
    include_closed: bool = False,
    work_only: bool = False,
    sort: str = "created",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = 500,
) -> Page:
    """One page of the beads matching every filter given, and how many match in all."""
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}: one of {', '.join(SORTS)}")
    if preset is not None and preset not in PRESETS:
        raise InvalidInput(f"unknown preset {preset!r}: one of {', '.join(PRESETS)}")
    where = Where()
    closed_shown = include_closed or preset in ("closed", "all")
    if preset == "closed" and not status:
        where.add("status = 'closed'")
    else:
        where.status(led, status, include_closed=closed_shown)
    if preset == "ready":
        where.add(f"({READY_PREDICATE})")
    elif preset == "blocked":
        where.add("(is_blocked = 1 OR status = 'blocked')")
    elif preset == "in_progress":
        where.add("status IN ('in_progress', 'hooked')")
    elif preset == "mine":
        if not actor:
            raise InvalidInput("preset 'mine' needs an actor (initialize with one)")
        where.add("assignee = ?", actor)
    where.issue_type(led, issue_type)
    if work_only and not issue_type:
        # The ledger's plumbing (mail, agents, molecules, gates) is not work to browse.
        where.add(
            f"issue_type NOT IN ({','.join('?' * len(NON_WORK_TYPES))}) AND ephemeral = 0", *NON_WORK_TYPES
        )
    where.fields(assignee=assignee, label=label, parent=parent, prefix=prefix)
    if query and query.strip():
        pattern = _escape_like(query.strip())
        where.add(
            "(title LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' "
            "OR assignee LIKE ? ESCAPE '\\')",
            *[pattern] * 4,
        )
    clause, params = where.clause, where.params
    order = SORTS[sort].format(d="DESC" if descending else "ASC")
    with led.snapshot():
        total = led.conn.execute(f"SELECT COUNT(*) FROM issues{clause}", params).fetchone()[0]
        sql = f"{_SELECT}{clause} ORDER BY {order}"
        page_params = list(params)
        if limit:
            sql += " LIMIT ? OFFSET ?"
            page_params += [limit, offset]
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            page_params.append(offset)
        beads = [_row_to_bead(r) for r in led.conn.execute(sql, page_params)]
        fill_labels(led, beads)
        fill_link_counts(led, beads)
    return Page(beads, total)


def fill_labels(led: Ledger, beads: Sequence[Bead]) -> None:
    """Set the labels of ``beads`` with one query per 500."""
    by_id = {b.id: b for b in beads}
    keys = list(by_id)
    for b in beads:
        b.labels = []
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for issue_id, lab in led.conn.execute(
            f"SELECT issue_id, label FROM labels WHERE issue_id IN ({marks}) ORDER BY issue_id, label", chunk
        ):
            by_id[issue_id].labels.append(lab)


def fill_link_counts(led: Ledger, beads: Sequence[Bead]) -> None:
    """Set ``dependency_count`` / ``dependent_count`` (a list shows which beads expand into a tree)."""
    by_id = {b.id: b for b in beads}
    keys = list(by_id)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for bid, cnt in led.conn.execute(
            f"SELECT issue_id, COUNT(*) FROM dependencies WHERE issue_id IN ({marks}) GROUP BY issue_id", chunk
        ):
            by_id[bid].dependency_count = cnt
        for bid, cnt in led.conn.execute(
            f"SELECT depends_on_id, COUNT(*) FROM dependencies WHERE depends_on_id IN ({marks}) GROUP BY depends_on_id",
            chunk,
        ):
            by_id[bid].dependent_count = cnt
