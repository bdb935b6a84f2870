"""The ledger's SQLite schema.

``issues.is_blocked`` is Beads' blocked-issues cache as a column: it is
kept current in the same transaction as every change (see readiness.py),
which lets two partial indexes answer ``ready`` without any graph walk.
"""

from __future__ import annotations

from .models import BEAD_COLUMNS, NON_WORK_TYPES

SCHEMA_VERSION = 4

_INT_COLUMNS = {"priority": 2, "ephemeral": 0, "pinned": 0, "timeout": 0}


def _column_sql(name: str) -> str:
    if name == "id":
        return "id TEXT NOT NULL UNIQUE"
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
    seq INTEGER PRIMARY KEY,  -- a stable rowid (VACUUM keeps it), the key of issues_fts
    {", ".join(_column_sql(c) for c in BEAD_COLUMNS)},
    is_blocked INTEGER NOT NULL DEFAULT 0,
    -- What a JSONL import read that has no column (Beads keys we do not
    -- model, keys of future versions, original timestamp spellings): JSON,
    -- '' when nothing; written back by the export (jsonl.py).
    extra TEXT NOT NULL DEFAULT ''
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

-- Full-text (trigram) index for `bd search`: substring matches without a
-- table scan.  Its rowid is the issue's rowid; wisps are not indexed.  The
-- text stays in issues only (external content) and no per-row token counts
-- are kept (columnsize=0: search filters, it never ranks by bm25): a third
-- less work to fill at import.  External content means a row leaves the
-- index by the 'delete' command with the values it was indexed with, which
-- the triggers pass from old.*; a plain DELETE would read the new ones.
CREATE VIRTUAL TABLE IF NOT EXISTS issues_fts USING fts5(
    id, title, description, tokenize = 'trigram', content = 'issues', content_rowid = 'seq', columnsize = 0
);
CREATE TRIGGER IF NOT EXISTS issues_fts_insert AFTER INSERT ON issues WHEN new.ephemeral = 0 BEGIN
    INSERT INTO issues_fts(rowid, id, title, description) VALUES (new.rowid, new.id, new.title, new.description);
END;
CREATE TRIGGER IF NOT EXISTS issues_fts_update AFTER UPDATE OF id, title, description, ephemeral ON issues BEGIN
    INSERT INTO issues_fts(issues_fts, rowid, id, title, description)
        SELECT 'delete', old.rowid, old.id, old.title, old.description WHERE old.ephemeral = 0;
    INSERT INTO issues_fts(rowid, id, title, description)
        SELECT new.rowid, new.id, new.title, new.description WHERE new.ephemeral = 0;
END;
CREATE TRIGGER IF NOT EXISTS issues_fts_delete AFTER DELETE ON issues WHEN old.ephemeral = 0 BEGIN
    INSERT INTO issues_fts(issues_fts, rowid, id, title, description)
        VALUES ('delete', old.rowid, old.id, old.title, old.description);
END;

CREATE TABLE IF NOT EXISTS id_counters (
    scope TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""


def statements() -> list[str]:
    """DDL split into statements (trigger bodies contain semicolons)."""
    out, buf = [], []
    for line in DDL.splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and (not text.upper().startswith("CREATE TRIGGER") or text.endswith("END;")):
            out.append(text)
            buf = []
    return out


#: Statements that bring an older ledger up to SCHEMA_VERSION.
def migrations(from_version: int) -> list[str]:
    steps: list[str] = []
    if from_version < 3:
        # timeout became integer nanoseconds (a Go time.Duration); the old TEXT
        # column keeps its affinity, so reads CAST it (models.BEAD_SELECT) and
        # store.py converts duration strings left by older versions.
        steps.append("ALTER TABLE issues ADD COLUMN extra TEXT NOT NULL DEFAULT ''")
        steps.append("UPDATE issues SET timeout = 0 WHERE timeout = ''")
    if from_version < 4:
        # Version 2 added the search index, 4 rebuilt it with external content:
        # made anew either way (a ledger of version 1 has none to drop).
        steps += [f"DROP TRIGGER IF EXISTS issues_fts_{event}" for event in ("insert", "update", "delete")]
        steps.append("DROP TABLE IF EXISTS issues_fts")
        steps += [s for s in statements() if "issues_fts" in s]
        steps.append(
            "INSERT INTO issues_fts(rowid, id, title, description) "
            "SELECT rowid, id, title, description FROM issues WHERE ephemeral = 0"
        )
    return steps
