"""The ledger's SQLite schema.

``issues.is_blocked`` is Beads' blocked-issues cache as a column: it is
kept current in the same transaction as every change (see readiness.py),
which lets two partial indexes answer ``ready`` without any graph walk.
"""

from __future__ import annotations

from .models import BEAD_COLUMNS, NON_WORK_TYPES

SCHEMA_VERSION = 1

_INT_COLUMNS = {"priority": 2, "ephemeral": 0, "pinned": 0}


def _column_sql(name: str) -> str:
    if name == "id":
        return "id TEXT PRIMARY KEY"
    if name in _INT_COLUMNS:
        return f"{name} INTEGER NOT NULL DEFAULT {_INT_COLUMNS[name]}"
    if name == "status":
        return "status TEXT NOT NULL DEFAULT 'open'"
    if name == "issue_type":
        return "issue_type TEXT NOT NULL DEFAULT 'task'"
    return f"{name} TEXT NOT NULL DEFAULT ''"


_NON_WORK = ", ".join(f"'{t}'" for t in NON_WORK_TYPES)

#: The predicate shared by the ready indexes and the ready query; SQLite
#: uses a partial index only when the query repeats its WHERE terms.
READY_PREDICATE = (
    "status IN ('open', 'in_progress') AND is_blocked = 0 AND ephemeral = 0 "
    f"AND pinned = 0 AND issue_type NOT IN ({_NON_WORK})"
)

DDL = f"""
CREATE TABLE IF NOT EXISTS issues (
    {", ".join(_column_sql(c) for c in BEAD_COLUMNS)},
    is_blocked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_issues_status ON issues(status);
CREATE INDEX IF NOT EXISTS idx_issues_type ON issues(issue_type, status);
CREATE INDEX IF NOT EXISTS idx_issues_assignee ON issues(assignee) WHERE assignee != '';
CREATE INDEX IF NOT EXISTS idx_issues_parent ON issues(parent) WHERE parent != '';
CREATE INDEX IF NOT EXISTS idx_issues_blocked ON issues(is_blocked) WHERE is_blocked = 1;
CREATE INDEX IF NOT EXISTS idx_ready_priority ON issues(priority, created_at) WHERE {READY_PREDICATE};
CREATE INDEX IF NOT EXISTS idx_ready_age ON issues(created_at) WHERE {READY_PREDICATE};

CREATE TABLE IF NOT EXISTS dependencies (
    issue_id TEXT NOT NULL,
    depends_on_id TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'blocks',
    created_at TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (issue_id, depends_on_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_deps_target ON dependencies(depends_on_id, type);

CREATE TABLE IF NOT EXISTS labels (
    issue_id TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (issue_id, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_labels_label ON labels(label);

CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idx_comments_issue ON comments(issue_id);

CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    bead_id TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '{{}}'
);

CREATE TABLE IF NOT EXISTS config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS id_counters (
    scope TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""
