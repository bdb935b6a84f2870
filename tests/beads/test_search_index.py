"""The search index (FTS5 trigram, external content): kept exact by triggers, migrated from version 3."""

from __future__ import annotations

import sqlite3

import pytest

from gastown_server.beads.schema import SCHEMA_VERSION
from gastown_server.beads.store import Ledger


def index_matches_issues(led: Ledger) -> None:
    """FTS5's own check of the index against the issues table (raises when they differ).

    rank = 1 compares with the content table row by row, so it holds only
    while every issue is indexed, i.e. while the ledger has no wisp.
    """
    led.conn.execute("INSERT INTO issues_fts(issues_fts, rank) VALUES ('integrity-check', 1)")


def test_the_check_catches_an_index_out_of_step(tmp_path):
    led = Ledger(tmp_path / "l.db", create=True)
    a = led.create("Fix the Refinery", actor="t")
    index_matches_issues(led)
    led.conn.execute("DROP TRIGGER issues_fts_update")
    led.conn.execute("UPDATE issues SET title = 'Something else' WHERE id = ?", (a.id,))
    with pytest.raises(sqlite3.DatabaseError):
        index_matches_issues(led)


def test_every_kind_of_change_keeps_the_index_exact(tmp_path):
    led = Ledger(tmp_path / "l.db", create=True)
    a = led.create("Fix the Refinery merge queue", actor="t", description="when two MRs race")
    b = led.create("Unrelated", actor="t")
    c = led.create("Closed soon", actor="t", description="nothing")
    wisp = led.create("patrol wisp", actor="t", ephemeral=True)
    assert led.search("patrol") == []  # wisps are not indexed
    led.update(a.id, actor="t", title="Renamed", description="quasar telemetry")
    led.close(c.id, actor="t")
    led.delete(b.id, actor="t")
    led.update(wisp.id, actor="t", ephemeral=False)  # a wisp made persistent becomes searchable
    assert [x.id for x in led.search("patrol")] == [wisp.id]
    assert led.search("refinery") == [] and [x.id for x in led.search("quasar")] == [a.id]
    index_matches_issues(led)
    led.update(wisp.id, actor="t", ephemeral=True)
    assert led.search("patrol") == []
    led.purge([wisp.id], actor="t")
    led.vacuum()  # rowids survive VACUUM: the index is keyed by them
    index_matches_issues(led)
    assert [x.id for x in led.search("telemetry")] == [a.id]


_VERSION_3_INDEX = [
    "CREATE VIRTUAL TABLE issues_fts USING fts5(id, title, description, tokenize = 'trigram')",
    "CREATE TRIGGER issues_fts_insert AFTER INSERT ON issues WHEN new.ephemeral = 0 BEGIN "
    "INSERT INTO issues_fts(rowid, id, title, description) VALUES (new.rowid, new.id, new.title, new.description); END",
    "CREATE TRIGGER issues_fts_update AFTER UPDATE OF title, description, ephemeral ON issues BEGIN "
    "DELETE FROM issues_fts WHERE rowid = old.rowid; INSERT INTO issues_fts(rowid, id, title, description) "
    "SELECT new.rowid, new.id, new.title, new.description WHERE new.ephemeral = 0; END",
    "CREATE TRIGGER issues_fts_delete AFTER DELETE ON issues BEGIN DELETE FROM issues_fts WHERE rowid = old.rowid; END",
    "INSERT INTO issues_fts(rowid, id, title, description) SELECT rowid, id, title, description FROM issues WHERE ephemeral = 0",
]


def test_a_version_3_ledger_gets_the_new_index(tmp_path):
    path = tmp_path / "old.db"
    led = Ledger(path, create=True)
    a = led.create("Fix login", actor="t", description="the 50% case")
    led.create("wisp login", actor="t", ephemeral=True)
    led.disconnect()
    conn = sqlite3.connect(path)  # the search index as version 3 made it
    conn.executescript(
        "DROP TRIGGER issues_fts_insert; DROP TRIGGER issues_fts_update; DROP TRIGGER issues_fts_delete; DROP TABLE issues_fts;"
    )
    for stmt in _VERSION_3_INDEX:
        conn.execute(stmt)
    conn.execute("UPDATE config SET value = '3' WHERE key = 'schema_version'")
    conn.commit()
    assert "content" not in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'issues_fts'").fetchone()[0]
    conn.close()
    led = Ledger(path)
    assert led.config_get("schema_version") == str(SCHEMA_VERSION)
    (sql,) = led.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'issues_fts'").fetchone()
    assert "content = 'issues'" in sql and "columnsize = 0" in sql
    assert led.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'issues_fts_content'").fetchone() == (0,)
    assert [x.id for x in led.search("login")] == [a.id]
    led.update(a.id, actor="t", title="Fix logout")
    assert [x.id for x in led.search("logout")] == [a.id]
    assert led.integrity_check() == "ok"
