"""Beads JSONL interop: import of both shapes, export, sync, on the real ledger and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gastown_server.beads import jsonl, readiness
from gastown_server.beads.models import DEP_TYPES, ISSUE_TYPES, STATUSES, Bead
from gastown_server.beads.schema import SCHEMA_VERSION
from gastown_server.beads.store import Ledger
from gastown_server.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "beads"
CLASSIC = FIXTURES / "classic.jsonl"
BACKUP = FIXTURES / "backup"
SAMPLE = FIXTURES / "sample" / "issues.jsonl"


def event_count(ledger: Ledger) -> int:
    return ledger.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def bead_count(ledger: Ledger) -> int:
    return ledger.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0]


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# -- import: classic shape -------------------------------------------------------


def test_classic_import_reads_every_part(ledger):
    result = jsonl.import_path(ledger, CLASSIC, actor="overseer")
    assert (result.shape, result.created, result.updated, result.ignored) == ("classic", 13, 0, 1)

    child = ledger.get("gt-a1b.1", full=True)
    assert child.status == "closed" and child.parent == "gt-a1b"
    assert child.close_reason == "Done: decoders merged"
    assert [c.author for c in child.comments] == ["gastown/polecats/furiosa", "gastown/witness"]
    assert [(d.depends_on_id, d.type) for d in child.dependencies] == [("gt-a1b", "parent-child")]

    # Nanosecond timestamps are kept verbatim; other offsets become UTC.
    assert ledger.get("gt-a1b.2").created_at == "2026-11-18T10:02:11.123456789Z"
    assert ledger.get("gt-a1b").updated_at == "2026-11-20T19:15:00.500000Z"
    # Metadata given as a JSON object is stored as its JSON text.
    waits = ledger.dependencies("gt-c3d")[0]
    assert (waits.type, json.loads(waits.metadata)) == ("waits-for", {"gate": "all-children"})
    assert json.loads(ledger.get("gt-k9m").metadata)["chosen"] == "keep"

    tomb = ledger.get("gt-g7h")
    assert (tomb.status, tomb.deleted_by, tomb.original_type) == ("tombstone", "gastown/witness", "bug")
    assert ledger.labels("gt-e5f") == ["bug", "interop", "regression"]
    assert ledger.get("hq-mayor").pinned is True

    # The blocked cache is exact right after the import.
    blocked = {b.id: blockers for b, blockers in ledger.blocked()}
    assert blocked == {"gt-a1b.3": ["gt-a1b.2"], "gt-c3d": ["gt-a1b"]}
    ready = {b.id for b in ledger.ready(limit=None)}
    assert {"gt-a1b.2", "gt-e5f", "bd-x2y"} <= ready
    assert not ready & {"gt-a1b.3", "gt-c3d", "gt-m2n", "gt-g7h", "hq-mayor"}


def test_import_writes_one_event_with_counts(ledger):
    before = event_count(ledger)
    jsonl.import_path(ledger, CLASSIC, actor="gastown/crew/max")
    events = ledger.events_since(ledger.last_event_id() - 1)
    assert event_count(ledger) == before + 1
    assert events[-1].kind == "imported" and events[-1].actor == "gastown/crew/max"
    assert events[-1].payload["created"] == 13 and events[-1].payload["shape"] == "classic"


def test_reimport_is_a_true_noop(ledger):
    jsonl.import_path(ledger, CLASSIC, actor="t")
    exported, events = jsonl.export_bytes(ledger), event_count(ledger)
    again = jsonl.import_path(ledger, CLASSIC, actor="t")
    assert (again.created, again.updated, again.unchanged, again.skipped_older) == (0, 0, 13, 0)
    assert event_count(ledger) == events  # nothing changed: no event at all
    assert jsonl.export_bytes(ledger) == exported


# -- import: backup shape ----------------------------------------------------------


def test_backup_directory_gives_the_same_ledger_as_classic(tmp_path):
    a = Ledger(tmp_path / "a.db", create=True)
    b = Ledger(tmp_path / "b.db", create=True)
    ra = jsonl.import_path(a, CLASSIC, actor="t")
    rb = jsonl.import_path(b, BACKUP, actor="t")
    assert rb.shape == "backup" and rb.created == ra.created == 13
    assert rb.ignored == 2  # the backup's own event rows
    # The same beads; the backup also carries columns the classic file lacks
    # (estimated_minutes), kept and written back, and its rows get counts.
    assert jsonl.encode_classic(jsonl.export_beads(a)) == jsonl.encode_classic(jsonl.export_beads(b))
    kept = {json.loads(x)["id"]: json.loads(x) for x in jsonl.export_bytes(b).splitlines()}
    assert kept["gt-a1b"]["estimated_minutes"] == 240 and "content_hash" not in kept["gt-a1b"]
    assert kept["gt-a1b"]["dependent_count"] == 6
    assert [(x.id, y) for x, y in a.blocked()] == [(x.id, y) for x, y in b.blocked()]
    # Config rows fill keys the ledger lacks; its own schema version is never taken.
    assert b.config_get("issue_prefix") == "gt"
    assert b.config_get("compaction.enabled") == "false"
    assert b.config_get("schema_version") == str(SCHEMA_VERSION)


def test_backup_config_never_overrides_local_keys(ledger):
    result = jsonl.import_path(ledger, BACKUP, actor="t")
    assert ledger.config_get("issue_prefix") == "bd"
    assert result.config_set == 1


def test_backup_row_for_unknown_bead_is_rejected_atomically(ledger, tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    for f in BACKUP.iterdir():
        (backup / f.name).write_bytes(f.read_bytes())
    with (backup / "labels.jsonl").open("a") as fh:
        fh.write(json.dumps({"issue_id": "gt-zzz", "label": "orphan"}) + "\n")
    n = len((backup / "labels.jsonl").read_text().splitlines())
    with pytest.raises(InvalidInput) as err:
        jsonl.import_path(ledger, backup, actor="t")
    assert err.value.message.startswith(f"{backup / 'labels.jsonl'}:{n}: issue_id: unknown bead 'gt-zzz'")
    assert bead_count(ledger) == 0


def test_directory_with_only_issues_jsonl_is_classic(ledger, tmp_path):
    repo = tmp_path / ".beads"
    repo.mkdir()
    (repo / "issues.jsonl").write_bytes(SAMPLE.read_bytes())
    result = jsonl.import_path(ledger, repo, actor="t")
    assert (result.shape, result.created) == ("classic", 25)


# -- export --------------------------------------------------------------------------


def test_export_round_trip_is_byte_identical(ledger, tmp_path):
    jsonl.import_path(ledger, CLASSIC, actor="t")
    first = jsonl.export_bytes(ledger)
    assert first.endswith(b"}\n") and not first.endswith(b"\n\n") and b"\r" not in first
    records = [json.loads(line) for line in first.splitlines()]
    ids = [r["id"] for r in records]
    assert ids == sorted(ids) and len(ids) == 13
    # A line keeps its "_type" and the keys we do not model (content_hash here);
    # the file had no counts, so none are added.
    typed = {json.loads(x)["id"] for x in CLASSIC.read_text().splitlines() if '"_type":"issue"' in x}
    assert {r["id"] for r in records if r.get("_type") == "issue"} == typed and len(typed) == 8
    assert [r["id"] for r in records if "content_hash" in r] == ["hq-cv1x"]
    assert not any("dependency_count" in r for r in records)
    x2y = records[0]
    assert x2y["id"] == "bd-x2y" and "description" not in x2y and x2y["status"] == "open"

    path = tmp_path / "once.jsonl"
    path.write_bytes(first)
    fresh = Ledger(tmp_path / "fresh.db", create=True)
    jsonl.import_path(fresh, path, actor="t")
    assert jsonl.export_bytes(fresh) == first
    assert jsonl.export_bytes(ledger) == first  # twice from the same ledger: same bytes


def test_export_always_writes_priority_even_the_default(ledger):
    # Beads' Priority has no omitempty: its reader takes an absent priority as
    # 0 (P0), so a P2 bead exported without one would come back critical.
    p2 = ledger.create("Ordinary work", actor="t")
    p0 = ledger.create("Fire", actor="t", priority=0)
    assert p2.priority == 2
    lines = {r["id"]: r for r in map(json.loads, jsonl.export_bytes(ledger).splitlines())}
    assert lines[p2.id]["priority"] == 2 and lines[p0.id]["priority"] == 0
    # The same Struct is what --json and RPC print.
    assert json.loads(msgspec.json.encode(ledger.get(p2.id)))["priority"] == 2


def test_sample_project_is_in_canonical_export_form(ledger):
    jsonl.import_path(ledger, SAMPLE, actor="t")
    assert jsonl.export_bytes(ledger) == SAMPLE.read_bytes()
    assert bead_count(ledger) == 25
    assert {b.id for b, _ in ledger.blocked()} >= {"wx-q4m", "wx-q4m.2", "wx-v10", "wx-8k2.4"}
    assert "wx-8k2.3" in {b.id for b in ledger.ready(limit=None)}


def test_export_skips_wisps_keeps_tombstones_and_filters_prefix(ledger):
    keep = ledger.create("Persistent work", actor="t")
    gone = ledger.create("Deleted work", actor="t")
    ledger.delete(gone.id, actor="t", reason="dup")
    wisp = ledger.create("Patrol step", actor="t", ephemeral=True)
    other = ledger.create("Town work", actor="t", prefix="hq")
    ledger.add_dependency(keep.id, wisp.id, actor="t", dep_type="related")
    ledger.add_dependency(wisp.id, keep.id, actor="t", dep_type="blocks")

    ids = [json.loads(x)["id"] for x in jsonl.export_bytes(ledger).splitlines()]
    assert ids == sorted([keep.id, gone.id, other.id])
    with_wisps = [json.loads(x) for x in jsonl.export_bytes(ledger, include_ephemeral=True).splitlines()]
    assert wisp.id in [r["id"] for r in with_wisps]
    # A wisp depending on a bead does not count as a dependent in the git file.
    plain = {json.loads(x)["id"]: json.loads(x) for x in jsonl.export_bytes(ledger).splitlines()}
    assert plain[keep.id]["dependent_count"] == 0  # no omitempty in IssueWithCounts
    assert next(r for r in with_wisps if r["id"] == keep.id)["dependent_count"] == 1
    only_hq = [json.loads(x)["id"] for x in jsonl.export_bytes(ledger, prefix="hq").splitlines()]
    assert only_hq == [other.id]
    # The dangling reference to the never-exported wisp re-imports fine.
    fresh = Ledger(ledger.path.with_name("fresh.db"), create=True)
    path = ledger.path.with_name("out.jsonl")
    path.write_bytes(jsonl.export_bytes(ledger))
    assert jsonl.import_path(fresh, path, actor="t").created == 3


def test_bulk_import_keeps_the_search_index_exact(ledger, tmp_path, monkeypatch):
    """Large imports fill the search index in one statement; results must not differ."""
    small = Ledger(tmp_path / "small.db", create=True)
    jsonl.import_path(small, CLASSIC, actor="t")
    monkeypatch.setattr(jsonl, "BULK_INDEX_MIN", 0)
    jsonl.import_path(ledger, CLASSIC, actor="t")
    records = {r["id"]: r for r in lines_of(CLASSIC) if r.get("_type", "issue") == "issue"}
    newer = dict(records["gt-e5f"], title="Exporter loses anonymous notes", updated_at="2026-11-22T00:00:00Z")
    for led in (ledger, small):
        jsonl.import_path(led, write_lines(tmp_path / "newer.jsonl", [newer]), actor="t")
    for query in ("interop", "anonymous", "drops comments", "gt-a1b", "msgspec", "Mayor"):
        assert [b.id for b in ledger.search(query)] == [b.id for b in small.search(query)], query
    assert [b.id for b in ledger.search("anonymous")] == ["gt-e5f"]
    assert ledger.search("drops comments") == []
    # The trigger is back: later creates are searchable.
    later = ledger.create("Quasar telemetry", actor="t")
    assert [b.id for b in ledger.search("quasar")] == [later.id]


def _schema_objects(led: Ledger) -> list[tuple]:
    return led.conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def test_bulk_import_rebuilds_every_index_and_keeps_comment_ids(ledger, tmp_path, monkeypatch):
    """The bulk path drops the secondary indexes and the search trigger, then puts them back as they were.

    Comment ids are assigned as one-by-one AUTOINCREMENT inserts would: an
    incoming id when free, else one more than any id used so far.
    """
    before = _schema_objects(ledger)
    first = ledger.create("Already here", actor="t")
    ledger.add_comment(first.id, "one", actor="t")
    ledger.add_comment(first.id, "two", actor="t")  # ids 1 and 2 are taken
    monkeypatch.setattr(jsonl, "BULK_INDEX_MIN", 0)
    at = "2026-11-20T10:00:0{}Z"
    rows = [
        {"id": "bd-ca", "title": "A", "comments": [
            {"id": 7, "author": "x", "text": "a3", "created_at": at.format(3)},
            {"id": 2, "author": "x", "text": "a1", "created_at": at.format(1)},
            {"author": "x", "text": "a2", "created_at": at.format(2)},
        ]},
        {"id": "bd-cb", "title": "B", "dependencies": [{"depends_on_id": "bd-ca"}], "comments": [
            {"id": 7, "author": "x", "text": "b1", "created_at": at.format(4)},
            {"id": 3, "author": "x", "text": "b2", "created_at": at.format(5)},
        ]},
    ]
    jsonl.import_path(ledger, write_lines(tmp_path / "c.jsonl", rows), actor="t")
    assert [(c.text, c.id) for c in ledger.comments("bd-ca")] == [("a1", 3), ("a2", 4), ("a3", 7)]
    assert [(c.text, c.id) for c in ledger.comments("bd-cb")] == [("b1", 8), ("b2", 9)]
    assert _schema_objects(ledger) == before  # every index and trigger back, same definitions
    assert ledger.integrity_check() == "ok"
    assert ledger.is_blocked("bd-cb") and [b.id for b in ledger.search("Already")] == [first.id]
    assert ledger.add_comment(first.id, "three", actor="t").id == 10
    # The search index's write buffer is back to FTS5's default.
    assert dict(ledger.conn.execute("SELECT k, v FROM issues_fts_config").fetchall()).get("hashsize") in (None, 1024 * 1024)


def test_bulk_import_that_fails_midway_leaves_schema_and_data_untouched(ledger, tmp_path, monkeypatch):
    """A failure after the indexes were dropped rolls back to the ledger as it was (DDL is transactional)."""
    ledger.create("Already here", actor="t")
    monkeypatch.setattr(jsonl, "BULK_INDEX_MIN", 0)
    # A real SQLite failure in the middle of the load: an insert the database refuses.
    ledger.conn.execute(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON comments WHEN new.text = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
    )
    before, events = _schema_objects(ledger), event_count(ledger)
    rows = [{"id": f"bd-f{i}", "title": f"t {i}", "labels": ["x"]} for i in range(50)]
    rows[30]["comments"] = [{"author": "x", "text": "boom", "created_at": "2026-11-20T10:00:00Z"}]
    with pytest.raises(Exception, match="refused by test trigger"):
        jsonl.import_path(ledger, write_lines(tmp_path / "f.jsonl", rows), actor="t")
    assert _schema_objects(ledger) == before
    assert bead_count(ledger) == 1 and event_count(ledger) == events
    assert ledger.integrity_check() == "ok"
    assert ledger.conn.execute("SELECT COUNT(*) FROM issues_fts").fetchone()[0] == 1


def test_write_atomic_leaves_identical_files_alone(tmp_path):
    target = tmp_path / "deep" / ".beads" / "issues.jsonl"
    assert jsonl.write_atomic(target, b"a\n") is True
    mtime = target.stat().st_mtime_ns
    time.sleep(0.01)
    assert jsonl.write_atomic(target, b"a\n") is False
    assert target.stat().st_mtime_ns == mtime
    assert jsonl.write_atomic(target, b"b\n") is True and target.read_bytes() == b"b\n"
    assert [p.name for p in target.parent.iterdir()] == ["issues.jsonl"]


# -- newer wins ------------------------------------------------------------------------


def test_newer_updated_at_replaces_bead_and_its_collections(ledger, tmp_path):
    jsonl.import_path(ledger, CLASSIC, actor="t")
    records = {r["id"]: r for r in lines_of(CLASSIC) if r.get("_type", "issue") == "issue"}
    bead = records["gt-a1b.3"]
    newer = dict(bead, title="Merge driver, by id", updated_at="2026-11-22T09:00:00.000000001Z", labels=["git"])
    newer["dependencies"] = [d for d in bead["dependencies"] if d["type"] == "parent-child"]
    newer["comments"] = [{"id": 1, "author": "overseer", "text": "Ship it", "created_at": "2026-11-22T09:00:00Z"}]
    older = dict(records["gt-e5f"], title="Stale edit", updated_at="2026-11-01T00:00:00Z")
    same = records["gt-c3d"]
    result = jsonl.import_path(ledger, write_lines(tmp_path / "edit.jsonl", [newer, older, same]), actor="t")
    assert (result.created, result.updated, result.unchanged, result.skipped_older) == (0, 1, 1, 1)

    got = ledger.get("gt-a1b.3", full=True)
    assert got.title == "Merge driver, by id" and got.labels == ["git"]
    assert [d.type for d in got.dependencies] == ["parent-child"]
    # Comment id 1 belongs to gt-a1b already: the incoming comment gets a fresh id.
    assert [c.text for c in got.comments] == ["Ship it"] and got.comments[0].id != 1
    assert ledger.comments("gt-a1b")[0].id == 1
    assert ledger.get("gt-e5f").title == "Export drops comments with empty author"
    # Dropping its blocker made it ready; the cache follows.
    assert not ledger.is_blocked("gt-a1b.3")


def test_duplicate_ids_in_one_file_keep_the_newest(ledger, tmp_path):
    rows = [
        {"id": "bd-dup", "title": "new", "updated_at": "2026-11-02T00:00:00Z"},
        {"id": "bd-dup", "title": "old", "updated_at": "2026-11-01T00:00:00Z"},
    ]
    jsonl.import_path(ledger, write_lines(tmp_path / "d.jsonl", rows), actor="t")
    assert ledger.get("bd-dup").title == "new"


def test_precision_does_not_fool_newer_wins(ledger, tmp_path):
    first = {"id": "bd-ts", "title": "a", "updated_at": "2026-11-02T10:00:00.1Z"}
    second = {"id": "bd-ts", "title": "b", "updated_at": "2026-11-02T10:00:00Z"}  # sorts later as text
    jsonl.import_path(ledger, write_lines(tmp_path / "1.jsonl", [first]), actor="t")
    result = jsonl.import_path(ledger, write_lines(tmp_path / "2.jsonl", [second]), actor="t")
    assert result.skipped_older == 1 and ledger.get("bd-ts").title == "a"


# -- ids stay collision free -----------------------------------------------------------------


def test_counters_stay_ahead_of_imported_ids(ledger):
    jsonl.import_path(ledger, SAMPLE, actor="t")
    child = ledger.create("Another ingest step", actor="t", parent="wx-8k2")
    assert child.id == "wx-8k2.6"
    (count,) = ledger.conn.execute("SELECT value FROM id_counters WHERE scope = 'prefix:wx'").fetchone()
    assert count == 14  # non-hierarchical wx ids in the sample
    fresh = ledger.create("New top-level", actor="t", prefix="wx")
    assert len(fresh.id.split("-")[1]) == 3 and not ledger.exists(fresh.id + "x")


def test_parent_field_and_parent_child_edge_agree_after_import(ledger, tmp_path):
    rows = [
        {"id": "bd-ep", "title": "Epic", "issue_type": "epic"},
        {"id": "bd-ep.1", "title": "Only the field", "parent": "bd-ep"},
        {"id": "bd-ep.2", "title": "Only the edge", "dependencies": [{"depends_on_id": "bd-ep", "type": "parent-child"}]},
    ]
    jsonl.import_path(ledger, write_lines(tmp_path / "p.jsonl", rows), actor="t")
    assert [c.id for c in ledger.children("bd-ep")] == ["bd-ep.1", "bd-ep.2"]
    assert ledger.get("bd-ep.2").parent == "bd-ep"


# -- bad input: one clear error, nothing imported ---------------------------------------------

GOOD = {"id": "bd-ok1", "title": "Fine", "updated_at": "2026-11-01T00:00:00Z"}


@pytest.mark.parametrize(
    "bad, expected",
    [
        ('{"id": "bd-x", "title": "half', "malformed JSON: the line ends in the middle of a value"),
        ("{oops}", "JSON is malformed"),
        ('["not", "an", "object"]', "Expected `object`, got `array`"),
        ('{"title": "no id"}', "Object missing required field `id`"),
        ('{"id": "bd-x", "title": 5}', "bad.jsonl:3: title: expected `str | null`, got `int`"),
        ('{"id": "bd-x", "title": "t", "priority": "high"}', ":3: priority: expected `int | null`, got `str`"),
        ('{"id": "bd-x", "title": "t", "labels": "a,b"}', ":3: labels: expected `array | null`, got `str`"),
        ('{"id": "bd-x", "title": "t", "dependencies": [{"depends_on_id": 7}]}', ":3: dependencies[0].depends_on_id: expected `str`"),
        ('{"id": "bd-x", "title": "t", "timeout": "soon"}', ":3: timeout: not a Go duration: 'soon'"),
        ('{"id": "bd-x", "title": "t", "timeout": 1.5}', ":3: timeout: expected `int | str | null`, got `float`"),
        ('{"id": "bd-x", "title": "t", "spec_id": "s", "title": 5}', ":3: title: expected `str | null`"),
        ('{"id": "bd-x", "title": "t", "status": "done"}', "status: invalid status 'done'"),
        ('{"id": "bd-x", "title": "t", "issue_type": "story-point"}', "issue_type: invalid type 'story-point'"),
        ('{"id": "bd-x", "title": "t", "priority": 9}', "priority: invalid priority 9"),
        ('{"id": "bd-x", "title": "  "}', "title: must not be empty"),
        ('{"id": "not an id", "title": "t"}', "id: malformed bead id 'not an id'"),
        ('{"id": "bd-x", "title": "t", "created_at": "yesterday"}', "created_at: not an RFC 3339 timestamp"),
        (
            '{"id": "bd-x", "title": "t", "comments": [{"issue_id": "bd-y", "text": "misfiled"}]}',
            "comment issue_id 'bd-y' does not match bead 'bd-x'",
        ),
    ],
)
def test_bad_line_names_file_and_line_and_imports_nothing(ledger, tmp_path, bad, expected):
    jsonl.import_path(ledger, write_lines(tmp_path / "base.jsonl", [GOOD]), actor="t")
    before, events = jsonl.export_bytes(ledger), event_count(ledger)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "bd-new1", "title": "would be new"}) + "\n\n" + bad + "\n")
    with pytest.raises(InvalidInput) as err:
        jsonl.import_path(ledger, path, actor="t")
    assert err.value.message.startswith(f"{path}:3: ")
    assert expected in err.value.message
    assert "\n" not in err.value.message
    assert jsonl.export_bytes(ledger) == before and event_count(ledger) == events
    assert not ledger.exists("bd-new1")


def test_cross_prefix_and_external_references_may_dangle(ledger, tmp_path):
    rows = [
        {"id": "hq-cv9", "title": "Convoy", "issue_type": "convoy", "dependencies": [{"depends_on_id": "gt-elsewhere", "type": "tracks"}]},
        {"id": "bd-ext", "title": "Waits on upstream", "dependencies": [{"depends_on_id": "external:beads:jsonl-v2"}]},
    ]
    assert jsonl.import_path(ledger, write_lines(tmp_path / "x.jsonl", rows), actor="t").created == 2
    assert not ledger.is_blocked("bd-ext")  # an external blocker is not a bead here


def test_unknown_keys_and_foreign_records_are_ignored(ledger, tmp_path):
    rows = [
        {"_type": "issue", "id": "bd-new", "title": "From Beads 0.60", "wisp_ttl": "24h", "content_hash": {"x": 1}},
        {"_type": "memory", "key": "tone", "value": ["terse"]},
        {"_type": "config", "id": 42},
    ]
    result = jsonl.import_path(ledger, write_lines(tmp_path / "new.jsonl", rows), actor="t")
    assert (result.created, result.ignored) == (1, 2)


def test_dry_run_changes_nothing(ledger):
    events = event_count(ledger)
    result = jsonl.import_path(ledger, CLASSIC, actor="t", dry_run=True)
    assert result.dry_run and result.created == 13
    assert bead_count(ledger) == 0 and event_count(ledger) == events


# -- the CLI --------------------------------------------------------------------------------


def test_cli_import_prints_counts_and_json(bd):
    out = bd("import", str(CLASSIC)).stdout
    assert out.strip() == (
        f"Imported {CLASSIC} (classic): 13 created, 0 updated, 0 unchanged, 0 skipped (older), "
        "1 non-bead records ignored"
    )
    again = json.loads(bd("import", "-i", str(CLASSIC), "--json").stdout)
    assert (again["created"], again["unchanged"], again["skipped_older"]) == (0, 13, 0)
    listed = json.loads(bd("list", "--json").stdout)
    assert {"gt-a1b", "gt-a1b.2", "hq-cv1x"} <= {b["id"] for b in listed}


def test_cli_export_stdout_file_and_stdin_import(bd):
    bd("import", str(BACKUP))
    exported = bd("export").stdout
    # Every line is the Bead Struct's own encoding, but for the one bead whose
    # backup row carried a Beads column we do not model (kept, written back).
    lines = exported.encode().splitlines()
    assert [json.loads(x)["id"] for x in lines if b"estimated_minutes" in x] == ["gt-a1b"]
    plain = [x for x in lines if b"estimated_minutes" not in x]
    assert len(plain) == 12
    assert plain == jsonl.encode_classic([msgspec.json.decode(x, type=Bead) for x in plain]).splitlines()
    out = bd.home / "out" / "issues.jsonl"
    assert bd("export", "-o", str(out)).stdout.strip() == f"Exported 13 beads to {out}"
    assert bd("export", "-o", str(out)).stdout.strip().endswith("(unchanged)")
    assert out.read_text() == exported
    assert [json.loads(x)["id"] for x in bd("export", "--prefix", "hq").stdout.splitlines()] == [
        "hq-cv1x",
        "hq-mayor",
        "hq-mayor-role",
    ]
    rec = json.loads(bd("import", "-", "--json", input=exported).stdout)
    assert rec["source"] == "<stdin>" and rec["unchanged"] == 13


@pytest.mark.parametrize(
    "content, fragment",
    [
        ('{"id": "t-1", "title": "ok"}\n{"id": "t-2", "title": "x", "status": "finished"}\n', ":2: status: invalid status 'finished'"),
        ('{"id": "t-1", "title": "ok"}\n{"id": "t-2", "title": "x", "issue_type": "todo"}\n', ":2: issue_type: invalid type 'todo'"),
        ('{"id": "t-1", "title": "ok"}\n{oops}\n', ":2: "),
        ('{"id": "t-1", "title": "ok"}\n{"id": "t-2", "title": "x", "timeout": true}\n', ":2: timeout: expected `int | str | null`, got `bool`"),
    ],
)
def test_cli_bad_import_is_one_line_exit_1_and_ledger_unchanged(bd, content, fragment):
    bd("create", "Existing work")
    before = bd("export").stdout
    bad = bd.home / "bad.jsonl"
    bad.write_text(content)
    proc = bd("import", str(bad), check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"bd: error: {bad}") and fragment in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert bd("export").stdout == before


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["export", "-o", "."], "cannot write .: it is a directory"),
        (["export", "-o", "/proc/no/such/dir/issues.jsonl"], "cannot write /proc/no/such/dir/issues.jsonl"),
        (["import"], "what to import?"),
        (["import", "/nonexistent/issues.jsonl"], "no such file: /nonexistent/issues.jsonl"),
        (["import", "."], "no issues.jsonl in this directory"),
    ],
)
def test_cli_usage_errors(bd, argv, fragment):
    proc = bd(*argv, check=False)
    assert proc.returncode == 1 and fragment in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("word", ["import", "export", "sync", "merge-driver"])
def test_cli_help_works(bd, word):
    proc = bd(word, "--help")
    assert proc.stdout.startswith(f"usage: bd {word}") and proc.stderr == ""


# -- sync -------------------------------------------------------------------------------------


def test_sync_writes_each_prefix_to_its_routed_repository(bd):
    bd("import", str(CLASSIC))
    rig = bd.home / "rigs" / "gastown"
    rig.mkdir(parents=True)
    bd("config", "set", "route.gt", "rigs/gastown")
    result = json.loads(bd("sync", "--json").stdout)
    by_path = {s["path"]: s for s in result["synced"]}
    gt_file, town_file = rig / ".beads" / "issues.jsonl", bd.home / ".beads" / "issues.jsonl"
    # hq goes to the town root by default; bd has no route (the ledger's prefix is t).
    assert set(by_path) == {str(gt_file), str(town_file)} and result["unrouted"] == ["bd"]
    assert by_path[str(gt_file)]["prefixes"] == ["gt"] and by_path[str(gt_file)]["count"] == 9
    assert by_path[str(town_file)]["prefixes"] == ["hq"]
    gt_ids = [json.loads(x)["id"] for x in gt_file.read_text().splitlines()]
    assert gt_ids == sorted(gt_ids) and all(i.startswith("gt-") for i in gt_ids)
    assert gt_file.read_text() == bd("export", "--prefix", "gt").stdout

    again = bd("sync").stdout
    assert "(unchanged)" in again and "(written)" not in again
    assert "not synced (no route): bd" in again
    bd("update", "gt-e5f", "--title", "Export keeps anonymous comments")
    lines = bd("sync").stdout.splitlines()
    assert any(line.startswith("gt ") and "(written)" in line for line in lines)
    assert any(line.startswith("hq ") and "(unchanged)" in line for line in lines)


def test_sync_puts_prefixes_sharing_a_repository_in_one_file(bd):
    bd("import", str(CLASSIC))
    town_bead = bd("create", "Town-level chore", "--silent").stdout.strip()  # prefix t: the ledger's own
    assert town_bead.startswith("t-")
    bd("config", "set", "route.bd", ".")  # bd beads also live in the town repository
    result = json.loads(bd("sync", "--json").stdout)
    town = next(s for s in result["synced"] if s["path"] == str(bd.home / ".beads" / "issues.jsonl"))
    assert town["prefixes"] == ["bd", "hq", "t"] and result["unrouted"] == ["gt"]
    ids = [json.loads(x)["id"] for x in (bd.home / ".beads" / "issues.jsonl").read_text().splitlines()]
    assert ids == sorted(ids) and {"bd-x2y", "hq-mayor", town_bead} <= set(ids) and len(ids) == town["count"] == 5


def test_sync_import_takes_in_what_git_merged(bd, tmp_path):
    bd("import", str(CLASSIC))
    bd("sync")
    town_file = bd.home / ".beads" / "issues.jsonl"
    records = [json.loads(x) for x in town_file.read_text().splitlines()]
    # Another clone's work arrives through git: a new town bead and a newer edit.
    records.append({"id": "hq-cv2z", "title": "Convoy: docs", "issue_type": "convoy", "updated_at": "2026-11-22T10:00:00Z"})
    mayor = next(r for r in records if r["id"] == "hq-mayor")
    mayor.update(agent_state="idle", updated_at="2026-11-22T10:00:00Z")
    write_lines(town_file, sorted(records, key=lambda r: r["id"]))
    bd("update", "hq-cv1x", "--priority", "0")  # a local edit made meanwhile
    out = bd("sync", "--import").stdout
    assert f"imported {town_file}: 1 created, 1 updated" in out
    assert json.loads(bd("show", "hq-mayor", "--json").stdout)[0]["agent_state"] == "idle"
    exported = {json.loads(x)["id"]: json.loads(x) for x in town_file.read_text().splitlines()}
    assert "hq-cv2z" in exported and exported["hq-cv1x"]["priority"] == 0


def test_sync_with_a_bad_route_writes_nothing(bd):
    bd("import", str(CLASSIC))
    bd("config", "set", "route.gt", "/nonexistent/rig")
    proc = bd("sync", check=False)
    assert proc.returncode == 1 and "route.gt points at /nonexistent/rig" in proc.stderr
    assert not (bd.home / ".beads").exists()


# -- export is safe while writers run ------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys, time
    from gastown_server.beads.store import Ledger
    led = Ledger(sys.argv[1])
    deadline = time.time() + float(sys.argv[2])
    n = 0
    prev = None
    while time.time() < deadline:
        with led.mutation("batch", "writer"):
            b = led.create(f"work {n}", actor="writer", labels=["load"])
            if prev:
                led.add_dependency(b.id, prev, actor="writer")
            led.add_comment(b.id, "progress", actor="writer")
        prev = b.id
        n += 1
    print(n)
    """
)


def test_export_is_consistent_while_writers_run(ledger, tmp_path):
    jsonl.import_path(ledger, SAMPLE, actor="t")
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(ledger.path), "2.5"], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    sizes = []
    deadline = time.time() + 2.0
    while time.time() < deadline:
        data = jsonl.export_bytes(ledger)
        records = [json.loads(x) for x in data.splitlines()]
        ids = [r["id"] for r in records]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        present = set(ids)
        # One snapshot: every dependency target of a new bead is in the same export,
        # and counts match the embedded lists.
        for r in records:
            for d in r.get("dependencies", []):
                assert d["depends_on_id"] in present
            assert r.get("comment_count", 0) == len(r.get("comments", []))
        sizes.append(len(ids))
    created = [int(w.communicate(timeout=30)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    assert sizes == sorted(sizes) and len(sizes) >= 3
    assert sum(created) > 0 and bead_count(ledger) == 25 + sum(created)
    assert len(jsonl.export_bytes(ledger).splitlines()) == 25 + sum(created)


def test_bulk_import_while_writers_run(ledger, tmp_path):
    """The bulk path swaps the index trigger inside its transaction; writers must not notice."""
    rows = [
        {"id": f"im-{i:05d}", "title": f"imported {i}", "description": "bulk loaded", "labels": ["bulk"],
         "dependencies": [{"depends_on_id": f"im-{i - 1:05d}"}] if i % 3 else []}
        for i in range(jsonl.BULK_INDEX_MIN + 500)
    ]
    src = write_lines(tmp_path / "bulk.jsonl", rows)
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(ledger.path), "2.0"], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    time.sleep(0.3)
    result = jsonl.import_path(ledger, src, actor="t")
    created = [int(w.communicate(timeout=60)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers) and all(n > 0 for n in created)
    assert result.created == len(rows)
    assert bead_count(ledger) == len(rows) + sum(created)
    assert ledger.integrity_check() == "ok"
    assert len(ledger.search("bulk loaded", limit=None)) == len(rows)
    assert len(ledger.search("work", limit=None)) == sum(created)  # the writers' beads, indexed by the trigger
    assert ledger.conn.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'issues_fts_insert'"
    ).fetchone()[0] == 1


# -- property: any ledger survives export -> import -> export -------------------------------------

_prefixes = st.sampled_from(["bd", "gt", "hq"])
_hash = st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=5)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_stamp = st.builds(
    lambda d, ns: d.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ns:09d}" if ns else "") + "Z",
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(0, 999_999_999),
)


@st.composite
def ledgers(draw):
    ids = draw(st.lists(st.tuples(_prefixes, _hash).map("-".join), min_size=1, max_size=12, unique=True))
    beads = []
    for i, bead_id in enumerate(ids):
        title = draw(_text.filter(str.strip))
        targets = draw(st.lists(st.sampled_from(ids), unique=True, max_size=3))
        deps = [
            {"depends_on_id": t, "type": draw(st.sampled_from(DEP_TYPES)), "created_at": draw(_stamp)}
            for t in targets
            if t != bead_id
        ]
        beads.append(
            {
                "id": bead_id,
                "title": title,
                "description": draw(_text),
                "status": draw(st.sampled_from(STATUSES)),
                "priority": draw(st.integers(0, 4)),
                "issue_type": draw(st.sampled_from(ISSUE_TYPES)),
                "assignee": draw(_text),
                "created_at": draw(_stamp),
                "updated_at": draw(_stamp),
                "labels": draw(st.lists(_text.filter(str.strip), max_size=3)),
                "dependencies": deps,
                "comments": [
                    {"author": draw(_text), "text": draw(_text), "created_at": draw(_stamp)}
                    for _ in range(draw(st.integers(0, 2)))
                ],
                "ephemeral": draw(st.booleans()) if i else False,
            }
        )
    return beads


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(beads=ledgers())
def test_any_ledger_round_trips_through_export(tmp_path_factory, beads):
    d = tmp_path_factory.mktemp("prop")
    src = write_lines(d / "src.jsonl", beads)
    first = Ledger(d / "first.db", create=True)
    jsonl.import_path(first, src, actor="t")
    everything = jsonl.export_bytes(first, include_ephemeral=True)
    out = d / "out.jsonl"
    out.write_bytes(everything)
    second = Ledger(d / "second.db", create=True)
    jsonl.import_path(second, out, actor="t")
    assert jsonl.export_bytes(second, include_ephemeral=True) == everything
    assert jsonl.export_bytes(second) == jsonl.export_bytes(first)
    # Content survives: titles, statuses, label sets, dependency targets, comment texts.
    got = {r["id"]: r for r in (json.loads(x) for x in everything.splitlines())}
    for b in beads:
        r = got[b["id"]]
        assert (r["title"], r.get("status", "open"), r.get("priority", 2)) == (b["title"], b["status"], b["priority"])
        assert r.get("labels", []) == sorted(set(b["labels"]))
        assert {d["depends_on_id"] for d in r.get("dependencies", [])} == {x["depends_on_id"] for x in b["dependencies"]}
        assert sorted(c["text"] for c in r.get("comments", [])) == sorted(c["text"] for c in b["comments"])
    # The blocked cache is a fixed point of the readiness rule for every bead.
    for bead_id, status, flag in second.conn.execute("SELECT id, status, is_blocked FROM issues").fetchall():
        assert readiness.compute_blocked(second.conn, bead_id, status) == bool(flag), bead_id
    first.disconnect()
    second.disconnect()


def _edge_lines() -> list[str]:
    """Lines the fast path must hand to the general path (or accept identically)."""
    base = {"id": "fp-1", "title": "t", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    variants = [
        {},
        {"status": ""},
        {"issue_type": ""},
        {"title": "  ", "status": "tombstone"},
        {"priority": None},
        {"priority": 4, "ephemeral": 1, "pinned": True},
        {"metadata": {"a": 1}},
        {"metadata": "x"},
        {"timeout": "1h"},
        {"timeout": 0},
        {"updated_at": "2026-01-01T00:00:00-08:00"},
        {"closed_at": "2026-01-01T00:00:00.123456789Z", "status": "closed"},
        {"parent": "fp-0", "dependencies": [{"depends_on_id": "fp-0", "type": "blocks"}]},
        {"parent": "fp-0", "dependencies": [{"depends_on_id": "fp-0", "type": "parent-child"}]},
        {"dependencies": [{"depends_on_id": "fp-0", "type": "parent-child"}]},
        {"dependencies": [{"depends_on_id": "fp-1"}]},
        {"dependencies": [{"depends_on_id": "external:proj:cap"}]},
        {"dependencies": [{"depends_on_id": "fp-0", "type": ""}, {"depends_on_id": "fp-0", "type": "related"}]},
        {"dependencies": [{"depends_on_id": "fp-0", "created_at": "2026-01-01T00:00:00+02:00"}]},
        {"dependencies": [{"depends_on_id": "fp-0", "issue_id": "fp-1", "metadata": {"gate": "any-children"}}]},
        {"dependencies": [{"depends_on_id": "fp-0", "thread_id": "x"}]},
        {"labels": ["b", "a", "b", " "]},
        {"labels": None},
        {"comments": [{"id": "7", "author": "a", "text": "x", "created_at": "2026-01-01T00:00:00Z"}]},
        {"comments": [{"id": 3, "issue_id": "fp-1", "text": "y"}]},
        {"_type": "issue", "dependency_count": 0, "dependent_count": 0, "comment_count": 0},
        {"estimated_minutes": 30},
        {"description": None, "assignee": "me"},
    ]
    return [json.dumps({**base, **v}) for v in variants]


@pytest.mark.parametrize("path", [CLASSIC, SAMPLE, FIXTURES / "go" / "issues.jsonl", FIXTURES / "go" / "issues-plain.jsonl", None])
def test_the_fast_parse_path_builds_what_the_general_path_builds(path, monkeypatch):
    data = path.read_bytes() if path else "\n".join(_edge_lines()).encode()
    if path is None:  # each edge line alone: a bad one must fail the same way on both paths
        lines = _edge_lines()
    else:
        lines = [data.decode()]

    def parsed(text: str):
        try:
            batch = jsonl.parse_classic(text.encode(), "f.jsonl")
        except InvalidInput as exc:
            return ("error", str(exc))
        kept = {k: v.encode(batch.beads[k]) for k, v in batch.kept.items()}
        return (batch.beads, batch.origin, batch.skipped, batch.ignored, kept)

    fast = [parsed(text) for text in lines]
    monkeypatch.setattr(jsonl, "_fast_bead_line", lambda line: None)
    assert [parsed(text) for text in lines] == fast
