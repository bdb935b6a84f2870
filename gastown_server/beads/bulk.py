"""Bulk paths for very large writes (pouring and burning molecules).

``Ledger.create`` costs a few queries per bead; a million-step molecule
needs streaming inserts instead.  These functions run inside a caller's
``ledger.mutation`` (one transaction, one event), write rows with
``executemany`` from iterators (constant memory), and keep the ledger's
invariants themselves:

* ``issues.is_blocked`` is computed directly: a freshly poured step is
  blocked exactly when it needs another (fresh, hence open) step or its
  parent step is blocked; the root is fresh and has no blockers.
* ``id_counters`` ``child:<parent>`` scopes are set to the number of
  children created, as ``Ledger._next_child_id`` would have left them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .store import Ledger, _timeout

#: Lets "the open, unblocked children of X" be answered from an index
#: instead of scanning every child of a million-step molecule.
OPEN_CHILDREN_INDEX = (
    "CREATE INDEX IF NOT EXISTS idx_issues_open_children ON issues(parent, is_blocked) "
    "WHERE status NOT IN ('closed', 'tombstone')"
)
#: The predicate queries must repeat for SQLite to use the index.
OPEN_PREDICATE = "status NOT IN ('closed', 'tombstone')"

_COLUMNS = (
    "id",
    "title",
    "description",
    "acceptance_criteria",
    "priority",
    "issue_type",
    "assignee",
    "created_by",
    "created_at",
    "updated_at",
    "ephemeral",
    "parent",
    "metadata",
    "await_type",
    "await_id",
    "timeout",
    "is_blocked",
)
_INSERT_ISSUE = f"INSERT INTO issues({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_INSERT_DEP = (
    "INSERT INTO dependencies(issue_id, depends_on_id, type, created_at, created_by, metadata) "
    "VALUES (?, ?, ?, ?, '', '')"
)

_INSERT_LABEL = "INSERT OR IGNORE INTO labels(issue_id, label) VALUES (?, ?)"


class ChildRow(NamedTuple):
    """One bead to create under a root; ``local`` is its id below the root."""

    local: str
    title: str
    description: str
    acceptance: str
    priority: int
    issue_type: str
    assignee: str
    metadata: str
    needs: list[str]  # locals of sibling/cousin rows that block this one
    await_type: str = ""
    await_id: str = ""
    #: A gate timeout: Go duration text ("1h") or integer nanoseconds; stored as ns.
    timeout: str | int = ""
    container: bool = False  # has children (rows whose local starts with "<local>.")
    labels: tuple[str, ...] | list[str] = ()


def ensure_indexes(ledger: Ledger) -> None:
    ledger.conn.execute(OPEN_CHILDREN_INDEX)


def insert_tree(
    ledger: Ledger,
    root_id: str,
    rows: Iterable[ChildRow],
    *,
    actor: str,
    now: str,
    ephemeral: bool,
    batch: int = 20_000,
) -> int:
    """Create ``rows`` (parents before children) as descendants of ``root_id``."""
    conn = ledger.conn
    blocked_parents: dict[str, bool] = {}  # flags of rows that have children
    child_counts: dict[str, int] = {}
    issues: list[tuple] = []
    deps: list[tuple] = []
    labels: list[tuple] = []
    total = 0
    eph = int(ephemeral)
    for row in rows:
        local = row.local
        parent_local, dot, last = local.rpartition(".")
        parent_id = f"{root_id}.{parent_local}" if dot else root_id
        bead_id = f"{root_id}.{local}"
        blocked = bool(row.needs) or blocked_parents.get(parent_local, False)
        key = parent_local if dot else ""
        child_counts[key] = max(child_counts.get(key, 0), int(last))
        issues.append(
            (
                bead_id, row.title, row.description, row.acceptance, row.priority, row.issue_type,
                row.assignee, actor, now, now, eph, parent_id, row.metadata,
                row.await_type, row.await_id, _timeout(row.timeout) if row.timeout else 0, int(blocked),
            )
        )
        deps.append((bead_id, parent_id, "parent-child", now))
        for need in row.needs:
            deps.append((bead_id, f"{root_id}.{need}", "blocks", now))
        labels.extend((bead_id, label) for label in row.labels if label)
        if row.container:  # seen before its children: they inherit its flag
            blocked_parents[local] = blocked
        total += 1
        if len(issues) >= batch:
            conn.executemany(_INSERT_ISSUE, issues)
            conn.executemany(_INSERT_DEP, deps)
            conn.executemany(_INSERT_LABEL, labels)
            issues.clear()
            deps.clear()
            labels.clear()
    if issues:
        conn.executemany(_INSERT_ISSUE, issues)
        conn.executemany(_INSERT_DEP, deps)
        conn.executemany(_INSERT_LABEL, labels)
    conn.executemany(
        "INSERT INTO id_counters(scope, value) VALUES (?, ?) "
        "ON CONFLICT(scope) DO UPDATE SET value = MAX(value, excluded.value)",
        [(f"child:{root_id}.{k}" if k else f"child:{root_id}", n) for k, n in child_counts.items()],
    )
    return total


def descendants_range(root_id: str) -> tuple[str, str]:
    """Ids strictly below ``root_id`` sort in [root + '.', root + '/')."""
    return root_id + ".", root_id + "/"


def purge_tree(ledger: Ledger, root_id: str) -> int:
    """Remove a root and all its descendants with everything attached to them.

    That includes their rows in ``events``: a burned or squashed wisp leaves
    only the event of the mutation that removed it (``molecule_burned`` /
    ``molecule_squashed``, and the digest bead), so a patrol looping wisps
    does not grow the ledger by a dozen rows per idle cycle.  Beads outside
    the tree that depended on it get their blocked flag recomputed.  Runs
    inside the caller's mutation.
    """
    from . import readiness

    conn = ledger.conn
    lo, hi = descendants_range(root_id)
    conn.execute("DROP TABLE IF EXISTS temp.burn_ids")
    conn.execute("CREATE TEMP TABLE burn_ids(id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute(
        "INSERT INTO temp.burn_ids SELECT id FROM issues WHERE id = ? OR (id >= ? AND id < ?)", (root_id, lo, hi)
    )
    count = conn.execute("SELECT COUNT(*) FROM temp.burn_ids").fetchone()[0]
    outside = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT d.issue_id FROM dependencies d JOIN temp.burn_ids b ON b.id = d.depends_on_id "
            "WHERE d.issue_id NOT IN (SELECT id FROM temp.burn_ids)"
        )
    ]
    conn.execute("DELETE FROM dependencies WHERE issue_id IN (SELECT id FROM temp.burn_ids)")
    conn.execute("DELETE FROM dependencies WHERE depends_on_id IN (SELECT id FROM temp.burn_ids)")
    conn.execute("DELETE FROM labels WHERE issue_id IN (SELECT id FROM temp.burn_ids)")
    conn.execute("DELETE FROM comments WHERE issue_id IN (SELECT id FROM temp.burn_ids)")
    conn.execute("DELETE FROM events WHERE bead_id IN (SELECT id FROM temp.burn_ids)")
    conn.execute("DELETE FROM issues WHERE id IN (SELECT id FROM temp.burn_ids)")
    conn.execute(
        "DELETE FROM id_counters WHERE scope = ? OR (scope >= ? AND scope < ?)",
        (f"child:{root_id}", f"child:{lo}", f"child:{hi}"),
    )
    conn.execute("DROP TABLE temp.burn_ids")
    readiness.refresh(conn, outside)
    return count
