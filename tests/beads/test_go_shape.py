"""Beads' own JSONL, as Go's encoding/json writes its structs: imported, exported, re-imported unchanged.

The corpus (tests/fixtures/beads/go/, go-backup/) is written by hand in the
shape of Beads' ``types.Issue`` (key order of the struct, omitempty, integer
nanosecond durations, RFC 3339 times with their offsets); see
docs/beads-interop.md for the table these tests follow.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import msgspec
import pytest

from gastown_server.beads import clock, goshape, jsonl
from gastown_server.beads.schema import SCHEMA_VERSION
from gastown_server.beads.models import BEAD_COLUMNS, COLLECTION_FIELDS, ISSUE_TYPES, STATUSES, Bead
from gastown_server.beads.store import Ledger
from gastown_server.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "beads"
GO = FIXTURES / "go" / "issues.jsonl"
GO_PLAIN = FIXTURES / "go" / "issues-plain.jsonl"
GO_BACKUP = FIXTURES / "go-backup"


def records(data: bytes) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, data.splitlines())}


def fresh(tmp_path: Path, name: str, **config: str) -> Ledger:
    led = Ledger(tmp_path / f"{name}.db", create=True)
    for key, value in config.items():
        led.config_set(key.replace("_", "."), value, actor="t")
    return led


# -- the field-presence table ------------------------------------------------------------
#
# One row per key of Beads' Issue (and IssueWithCounts) that is a column of
# ours: (key, the Go declaration we follow, a zero value, a non-zero value,
# whether Go writes the key at its zero value).  Go's omitempty drops a
# field only at *Go's* zero value ("" / 0 / false / nil); fields without
# omitempty are always written.  A reader takes an absent key as the zero
# value, so dropping e.g. priority (no omitempty) turns a P2 into P0.

FIELD_TABLE = [
    ("id", 'ID string `json:"id"`', "x-1", "x-2", True),
    ("title", 'Title string `json:"title"`', "", "Fix it", True),
    ("description", 'Description string `json:"description,omitempty"`', "", "d", False),
    ("design", 'Design string `json:"design,omitempty"`', "", "d", False),
    ("acceptance_criteria", 'AcceptanceCriteria string `json:"acceptance_criteria,omitempty"`', "", "a", False),
    ("notes", 'Notes string `json:"notes,omitempty"`', "", "n", False),
    # Go's zero Status is "": our default "open" is a value, so it is written.
    ("status", 'Status Status `json:"status,omitempty"`', "open", "closed", True),
    ("priority", 'Priority int `json:"priority"` (no omitempty: 0 is P0)', 2, 0, True),
    ("issue_type", 'IssueType IssueType `json:"issue_type,omitempty"`', "task", "bug", True),
    ("assignee", 'Assignee string `json:"assignee,omitempty"`', "", "mayor", False),
    ("owner", 'Owner string `json:"owner,omitempty"`', "", "o@x", False),
    ("created_at", 'CreatedAt time.Time `json:"created_at"`', "", "2026-01-01T00:00:00Z", True),
    ("created_by", 'CreatedBy string `json:"created_by,omitempty"`', "", "mayor", False),
    ("updated_at", 'UpdatedAt time.Time `json:"updated_at"`', "", "2026-01-01T00:00:00Z", True),
    ("closed_at", 'ClosedAt *time.Time `json:"closed_at,omitempty"`', "", "2026-01-01T00:00:00Z", False),
    ("close_reason", 'CloseReason string `json:"close_reason,omitempty"`', "", "done", False),
    ("due_at", 'DueAt *time.Time `json:"due_at,omitempty"`', "", "2026-01-01T00:00:00Z", False),
    ("defer_until", 'DeferUntil *time.Time `json:"defer_until,omitempty"`', "", "2026-01-01T00:00:00Z", False),
    ("external_ref", 'ExternalRef *string `json:"external_ref,omitempty"`', "", "gh-1", False),
    ("parent", "parent (SPEC.md's shape; omitted when empty)", "", "x-0", False),
    ("metadata", 'Metadata json.RawMessage `json:"metadata,omitempty"`', "", '{"k":1}', False),
    ("labels", 'Labels []string `json:"labels,omitempty"`', [], ["a"], False),
    ("deleted_at", 'DeletedAt *time.Time `json:"deleted_at,omitempty"`', "", "2026-01-01T00:00:00Z", False),
    ("deleted_by", 'DeletedBy string `json:"deleted_by,omitempty"`', "", "mayor", False),
    ("delete_reason", 'DeleteReason string `json:"delete_reason,omitempty"`', "", "dup", False),
    ("original_type", 'OriginalType string `json:"original_type,omitempty"`', "", "bug", False),
    ("sender", 'Sender string `json:"sender,omitempty"`', "", "mayor", False),
    ("ephemeral", 'Ephemeral bool `json:"ephemeral,omitempty"`', False, True, False),
    ("wisp_type", 'WispType WispType `json:"wisp_type,omitempty"`', "", "patrol", False),
    ("pinned", 'Pinned bool `json:"pinned,omitempty"`', False, True, False),
    ("await_type", 'AwaitType string `json:"await_type,omitempty"`', "", "timer", False),
    ("await_id", 'AwaitID string `json:"await_id,omitempty"`', "", "t1", False),
    ("timeout", 'Timeout time.Duration `json:"timeout,omitempty"` (int64 ns)', 0, 3_600_000_000_000, False),
    ("hook_bead", 'HookBead string `json:"hook_bead,omitempty"`', "", "x-3", False),
    ("role_bead", 'RoleBead string `json:"role_bead,omitempty"`', "", "x-4", False),
    ("agent_state", 'AgentState AgentState `json:"agent_state,omitempty"`', "", "idle", False),
    ("last_activity", 'LastActivity *time.Time `json:"last_activity,omitempty"`', "", "2026-01-01T00:00:00Z", False),
    ("mol_type", 'MolType MolType `json:"mol_type,omitempty"`', "", "swarm", False),
    ("dependency_count", 'DependencyCount int `json:"dependency_count"` (IssueWithCounts)', 0, 1, True),
    ("dependent_count", 'DependentCount int `json:"dependent_count"` (IssueWithCounts)', 0, 1, True),
    ("comment_count", 'CommentCount int `json:"comment_count"` (IssueWithCounts)', 0, 1, True),
]


def _encoded(**fields) -> dict:
    bead = Bead(**{"id": "x-1", "title": "t", **fields})
    return json.loads(jsonl.encode_classic([bead]))


@pytest.mark.parametrize("key, go_decl, zero, value, written_at_zero", FIELD_TABLE, ids=[r[0] for r in FIELD_TABLE])
def test_field_presence_follows_the_go_struct_tags(key, go_decl, zero, value, written_at_zero):
    at_zero = _encoded(**{key: zero})
    assert (key in at_zero) is written_at_zero, f"{key}: {go_decl}"
    if written_at_zero:
        assert at_zero[key] == zero
    assert _encoded(**{key: value})[key] == value, go_decl


def test_the_table_covers_every_bead_field_and_agrees_with_goshape():
    assert {r[0] for r in FIELD_TABLE} | {"dependencies", "comments"} == set(Bead.__struct_fields__)
    by_key = {f.key: f for f in goshape.ISSUE_FIELDS}
    for key, _, _, _, written_at_zero in FIELD_TABLE:
        if key not in ("status", "issue_type"):  # written because our default is not Go's zero
            assert by_key[key].omitempty is not written_at_zero, key
    # Our columns come in Go's struct order, so the fast path needs no reordering.
    ours = [f.key for f in goshape.ISSUE_FIELDS if f.column and f.key in Bead.__struct_fields__]
    assert ours == list(Bead.__struct_fields__)
    assert set(BEAD_COLUMNS) == set(Bead.__struct_fields__) - set(COLLECTION_FIELDS)


def test_dependency_type_and_created_at_are_always_written(ledger):
    # Dependency.Type and .CreatedAt have no omitempty: a blocks edge without
    # "type" would reach Beads as an edge of no kind.
    a, b = ledger.create("A", actor="t"), ledger.create("B", actor="t")
    ledger.add_dependency(b.id, a.id, actor="t")
    dep = records(jsonl.export_bytes(ledger))[b.id]["dependencies"][0]
    assert list(dep) == ["issue_id", "depends_on_id", "type", "created_at", "created_by"]
    assert dep["type"] == "blocks"


# -- Go's string escaping ---------------------------------------------------------------------
#
# encoding/json (HTML escaping on, its default, which Beads keeps) writes
# <, >, & as \u003c, \u003e, \u0026 and U+2028/U+2029 as \u2028/\u2029 in
# every string, keys included; msgspec writes them as they are.

_TRICKY = "a<b>&c\u2028d\u2029e"
_TRICKY_GO = b'"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029e"'
_TIMES = {"created_at", "updated_at", "closed_at", "due_at", "defer_until", "deleted_at", "last_activity"}
_STRING_KEYS = [r[0] for r in FIELD_TABLE if isinstance(r[3], str) and r[0] not in _TIMES | {"id", "metadata"}]


@pytest.mark.parametrize("key", _STRING_KEYS)
def test_export_escapes_strings_as_go_does(key):
    line = jsonl.encode_classic([Bead(**{"id": "x-1", "title": "t", key: _TRICKY})])
    assert b'"%s":%s' % (key.encode(), _TRICKY_GO) in line, line
    assert b"<" not in line and b">" not in line and b"&" not in line and "\u2028".encode() not in line
    assert json.loads(line)[key] == _TRICKY


def test_export_escapes_collections_and_metadata_as_go_does():
    bead = Bead(
        id="x-1", title="t", metadata=msgspec.json.encode({"k": _TRICKY}).decode(), labels=[_TRICKY],
        dependencies=[jsonl.Dependency("x-1", "x-2", "blocks", "2026-01-01T00:00:00Z", _TRICKY, _TRICKY)],
        comments=[jsonl.Comment(1, "x-1", _TRICKY, _TRICKY, "2026-01-01T00:00:00Z")],
    )
    line = jsonl.encode_classic([bead])
    assert line.count(_TRICKY_GO) == 5, line  # the label, the dependency's two, the comment's two
    assert b'"labels":[%s]' % _TRICKY_GO in line and b'"author":%s,"text":%s' % (_TRICKY_GO, _TRICKY_GO) in line
    assert b'"metadata":"{\\"k\\":\\"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029e\\"}"' in line
    assert json.loads(line)["metadata"] == bead.metadata
    # Nothing to escape: the bytes are msgspec's own.
    plain = Bead(id="x-1", title="caf\u00e9 \u2027 plain")
    assert jsonl.encode_classic([plain]) == jsonl._ENCODER.encode(plain) + b"\n"


def _go_line(**extra) -> bytes:
    # Written by hand the way Go's encoder writes IssueWithCounts (escapes included).
    return (
        b'{"id":"gx-1","title":"Fix \\u003cdiv\\u003e \\u0026 co","description":"line\\u2028sep\\u2029para",'
        b'"status":"open","priority":2,"issue_type":"bug","created_at":"2026-11-01T09:00:00Z",'
        b'"updated_at":"2026-11-01T09:00:00Z","labels":["a\\u0026b"],'
        b'"dependencies":[{"issue_id":"gx-1","depends_on_id":"gx-0","type":"blocks",'
        b'"created_at":"2026-11-01T09:00:00Z","created_by":"x\\u003ey"' + extra.get("dep", b"") + b"}],"
        b'"comments":[{"id":1,"issue_id":"gx-1","author":"mayor","text":"see \\u003chttp://x\\u003e",'
        b'"created_at":"2026-11-01T09:01:00Z"' + extra.get("comment", b"") + b"}],"
        b'"waiters":["a\\u003eb"],"dependency_count":1,"dependent_count":0,"comment_count":1}\n'
    )


def test_a_go_line_with_escapes_round_trips_byte_for_byte(tmp_path):
    src = tmp_path / "go.jsonl"
    src.write_bytes(_go_line())
    led = fresh(tmp_path, "a")
    jsonl.import_path(led, src, actor="t")
    got = led.get("gx-1", full=True)
    assert got.title == "Fix <div> & co" and got.description == "line\u2028sep\u2029para" and got.labels == ["a&b"]
    assert jsonl.export_bytes(led) == src.read_bytes()


# -- unknown keys inside nested objects -------------------------------------------------------


def test_unknown_keys_of_dependencies_and_comments_are_kept_in_place(tmp_path):
    """Beads' Dependency.ThreadID (no column here) and a key of a future Comment come back where they were."""
    src = tmp_path / "go.jsonl"
    src.write_bytes(_go_line(dep=b',"thread_id":"th-\\u003c1","weight":{"w":[1,2]}', comment=b',"edited_at":"2026-11-02T00:00:00Z"'))
    led = fresh(tmp_path, "a")
    jsonl.import_path(led, src, actor="t")
    assert jsonl.export_bytes(led) == src.read_bytes()
    # Through a second ledger (the kept keys travel in the file, not only in issues.extra).
    out = tmp_path / "out.jsonl"
    out.write_bytes(jsonl.export_bytes(led))
    again = fresh(tmp_path, "b")
    jsonl.import_path(again, out, actor="t")
    assert jsonl.export_bytes(again) == src.read_bytes()
    # A dependency removed since takes its kept keys with it; the comment keeps its own.
    led.remove_dependency("gx-1", "gx-0", actor="t")
    rec = records(jsonl.export_bytes(led))["gx-1"]
    assert "dependencies" not in rec and rec["comments"][0]["edited_at"] == "2026-11-02T00:00:00Z"


def test_backup_rows_keep_unknown_dependency_and_comment_columns(tmp_path):
    """Backup rows write every column; a non-empty one we hold no column for is kept, an empty one dropped (omitempty)."""
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "issues.jsonl").write_text(
        '{"id":"bx-1","title":"one","status":"open","priority":1,"issue_type":"task","created_at":"2026-11-01T09:00:00Z","updated_at":"2026-11-01T09:00:00Z"}\n'
        '{"id":"bx-2","title":"two","status":"open","priority":1,"issue_type":"task","created_at":"2026-11-01T09:00:00Z","updated_at":"2026-11-01T09:00:00Z"}\n'
    )
    (backup / "dependencies.jsonl").write_text(
        '{"issue_id":"bx-2","depends_on_id":"bx-1","type":"blocks","created_at":"2026-11-01T09:00:00Z","created_by":"m","metadata":"","thread_id":"th-9"}\n'
        '{"issue_id":"bx-1","depends_on_id":"bx-0","type":"related","created_at":"2026-11-01T09:00:00Z","created_by":"m","metadata":"","thread_id":""}\n'
    )
    (backup / "comments.jsonl").write_text(
        '{"id":4,"issue_id":"bx-1","author":"m","text":"hi","created_at":"2026-11-01T09:00:00Z","edited_by":"w"}\n'
    )
    led = fresh(tmp_path, "a")
    jsonl.import_path(led, backup, actor="t")
    recs = records(jsonl.export_bytes(led))
    assert list(recs["bx-2"]["dependencies"][0]) == ["issue_id", "depends_on_id", "type", "created_at", "created_by", "thread_id"]
    assert recs["bx-2"]["dependencies"][0]["thread_id"] == "th-9"
    assert "thread_id" not in recs["bx-1"]["dependencies"][0]
    assert recs["bx-1"]["comments"][0]["edited_by"] == "w"


# -- the classic corpus --------------------------------------------------------------------


def test_go_corpus_covers_every_status_type_and_dependency_kind():
    recs = records(GO.read_bytes())
    assert {r["status"] for r in recs.values()} == set(STATUSES)
    assert {r["issue_type"] for r in recs.values()} == set(ISSUE_TYPES)
    kinds = {d["type"] for r in recs.values() for d in r.get("dependencies", [])}
    assert len(kinds) >= 10 and {"blocks", "parent-child", "waits-for", "conditional-blocks", "tracks"} <= kinds


@pytest.mark.parametrize("corpus", [GO, GO_PLAIN], ids=["with-counts", "plain-typed"])
def test_go_corpus_import_export_reimport_is_byte_identical(tmp_path, corpus):
    led = fresh(tmp_path, "a")
    result = jsonl.import_path(led, corpus, actor="t")
    assert result.created == len(corpus.read_bytes().splitlines())
    data = corpus.read_bytes()
    assert jsonl.export_bytes(led, include_ephemeral=True) == data
    again = fresh(tmp_path, "b")
    out = tmp_path / "out.jsonl"
    out.write_bytes(jsonl.export_bytes(led, include_ephemeral=True))
    jsonl.import_path(again, out, actor="t")
    assert jsonl.export_bytes(again, include_ephemeral=True) == data
    assert jsonl.import_path(again, out, actor="t").unchanged == result.created


def test_go_corpus_values_in_the_ledger(tmp_path):
    led = fresh(tmp_path, "a")
    result = jsonl.import_path(led, GO, actor="t")
    # Orphans are imported and reported, like Beads' import does.
    assert result.orphans == ["hq-cv1 -> gt-elsewhere", "wx-a01.3 -> wx-gone"]
    assert [d.depends_on_id for d in led.dependencies("wx-a01.3")] == ["wx-a01", "wx-a01.2", "wx-gone"]
    gate = led.get("wx-gt1")
    assert gate.timeout == 3_600_000_000_000 and isinstance(gate.timeout, int)
    # Columns hold UTC (queries compare them as text); the export writes the text read.
    parse = led.get("wx-a01.2")
    assert parse.created_at == "2026-01-02T11:04:05.123000Z"
    assert records(jsonl.export_bytes(led))["wx-a01.2"]["created_at"] == "2026-01-02T03:04:05.123-08:00"
    assert parse.metadata == '{"branch":"polecat/nux"}'
    assert json.loads(led.get("wx-mol1").metadata) == {"formula": "mol-witness-patrol", "vars": {"rig": "weatherd"}}
    # Keys we do not model are in issues.extra, verbatim.
    (extra,) = led.conn.execute("SELECT extra FROM issues WHERE id = 'wx-j10'").fetchone()
    from gastown_server.beads import extras

    assert extras.keys_of(extra) == {
        "risk": b'"low"',
        "supersedes_note": b"null",
        "x_extension": '{"scores":[1,2.50,{"b":null}],"tag":"ünïcode"}'.encode(),
        "future_flag": b"true",
    }
    # Readiness: the orphan blocks nothing, the blocked-by-open parse step does.
    blocked = dict((b.id, why) for b, why in led.blocked())
    assert blocked["wx-a01.3"] == ["wx-a01.2"]
    assert "wx-b02" in {b.id for b in led.ready(limit=None)}


def test_kept_spellings_give_way_to_our_changes(tmp_path):
    led = fresh(tmp_path, "a")
    jsonl.import_path(led, GO, actor="t")
    led.update("wx-a01.2", actor="t", title="Parse the serial protocol v2", timeout="90s")
    rec = records(jsonl.export_bytes(led))["wx-a01.2"]
    assert rec["created_at"] == "2026-01-02T03:04:05.123-08:00"  # untouched: as read
    assert rec["updated_at"].endswith("Z") and rec["updated_at"] != "2026-10-04T03:04:05.123-08:00"  # ours: UTC
    assert rec["timeout"] == 90_000_000_000
    assert rec["spec_id"] == "docs/protocol.md#frames" and list(rec).index("spec_id") == list(rec).index("title") + 1


# -- the backup corpus -----------------------------------------------------------------------


def test_go_backup_keeps_every_column_beads_writes(tmp_path):
    led = fresh(tmp_path, "a")
    result = jsonl.import_path(led, GO_BACKUP, actor="t")
    assert (result.shape, result.created, result.ignored, result.config_set) == ("backup", 7, 2, 3)
    assert result.orphans == ["rv-1ep -> rv-deleted-long-ago"]
    assert len(result.skipped_dependencies) == 2
    assert "dependencies.jsonl:6: 'rv-purged' -> 'rv-1ep': no bead 'rv-purged'" in result.skipped_dependencies[0]
    assert "dependencies.jsonl:7: rv-1ep.1 cannot depend on itself" in result.skipped_dependencies[1]
    # The custom vocabulary came with the backup's config.jsonl.
    assert led.get("rv-1ep.2").status == "review" and led.get("rv-1ep.2").issue_type == "checklist"
    assert led.config_get("schema_version") != "9"
    recs = records(jsonl.export_bytes(led, include_ephemeral=True))
    gate = recs["rv-gate"]
    assert gate["timeout"] == 5_400_000_000_000 and gate["waiters"] == ["rv/witness", "mayor/"]
    assert "timeout_ns" not in gate and "content_hash" not in gate and "source_repo" not in gate
    assert recs["rv-1ep"]["estimated_minutes"] == 480 and recs["rv-1ep"]["spec_id"] == "specs/v2.md"
    assert recs["rv-1ep.1"]["estimated_minutes"] == 0  # *int: 0 is a value, null is absent
    assert "estimated_minutes" not in recs["rv-gate"]
    assert recs["rv-1ep.1"]["closed_by_session"].startswith("0badc0de")
    assert recs["rv-mol"]["is_template"] is True and "crystallizes" not in recs["rv-mol"]
    assert recs["rv-mol"]["metadata"] == {"formula": "mol-refinery-patrol"}
    assert recs["rv-1ep.2"]["quality_score"] == 0.75
    assert recs["rv-1ep"]["updated_at"] == "2026-11-02T10:00:00-05:00"
    assert recs["rv-1ep.1"]["comments"][0]["created_at"] == "2026-11-03T07:00:00-05:00"
    # Beads' table has no parent column: the children say it with their edge only.
    assert "parent" not in recs["rv-1ep.1"] and led.get("rv-1ep.1").parent == "rv-1ep"
    assert list(recs["rv-1ep"]) == sorted(recs["rv-1ep"], key=goshape.KEY_ORDER.__getitem__)
    # Exported, then imported into a ledger with the same vocabulary: the same bytes.
    data = jsonl.export_bytes(led, include_ephemeral=True)
    path = tmp_path / "classic.jsonl"
    path.write_bytes(data)
    again = fresh(tmp_path, "b", status_custom="review,qa", types_custom="checklist")
    jsonl.import_path(again, path, actor="t")
    assert jsonl.export_bytes(again, include_ephemeral=True) == data


def test_custom_status_needs_the_config_and_is_refused_without(tmp_path):
    led = fresh(tmp_path, "a")
    jsonl.import_path(led, GO_BACKUP, actor="t")
    path = tmp_path / "classic.jsonl"
    path.write_bytes(jsonl.export_bytes(led))
    bare = fresh(tmp_path, "b")
    with pytest.raises(InvalidInput) as err:
        jsonl.import_path(bare, path, actor="t")
    assert err.value.message.startswith(f"{path}:3: status: invalid status 'review' (one of: open,")
    assert bare.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0] == 0


def test_backup_row_of_the_wrong_shape_refuses_the_whole_import(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    for f in GO_BACKUP.iterdir():
        (backup / f.name).write_bytes(f.read_bytes())
    rows = (backup / "issues.jsonl").read_text().splitlines()
    rows[4] = rows[4].replace('"timeout_ns":0', '"timeout_ns":"later"')
    (backup / "issues.jsonl").write_text("\n".join(rows) + "\n")
    led = fresh(tmp_path, "a")
    with pytest.raises(InvalidInput) as err:
        jsonl.import_path(led, backup, actor="t")
    assert err.value.message == f"{backup / 'issues.jsonl'}:5: timeout_ns: not a Go duration: 'later' (integer nanoseconds, or like 1h30m)"
    assert led.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0] == 0


# -- custom vocabularies and the CLI --------------------------------------------------------


def test_bd_accepts_custom_statuses_and_types_from_config(bd):
    bd("config", "set", "status.custom", "review,qa")
    bd("config", "set", "types.custom", "checklist")
    first = bd("create", "Ship it", "-t", "checklist", "--silent").stdout.strip()
    after = bd("create", "After the review", "--deps", first, "--silent").stdout.strip()
    bd("update", first, "--status", "review")
    listed = json.loads(bd("list", "--status", "review", "--json").stdout)
    assert [b["id"] for b in listed] == [first] and listed[0]["issue_type"] == "checklist"
    assert [b["id"] for b in json.loads(bd("list", "--type", "checklist", "--json").stdout)] == [first]
    # A custom status is not closed: what it blocks stays blocked, and it is not ready work.
    ready = [b["id"] for b in json.loads(bd("ready", "--json").stdout)]
    assert first not in ready and after not in ready
    bd("close", first)
    assert after in [b["id"] for b in json.loads(bd("ready", "--json").stdout)]
    bad = bd("update", after, "--status", "waiting", check=False)
    assert bad.returncode == 1 and "invalid status 'waiting' (one of: open," in bad.stderr and "review, qa" in bad.stderr


def test_bd_import_reports_orphans_and_skipped_rows(bd):
    # The backup's config.jsonl declares the custom status and type its rows use.
    text = bd("import", str(GO_BACKUP)).stdout
    assert "1 orphan dependencies" in text and "  rv-1ep -> rv-deleted-long-ago" in text
    assert "2 bad dependency rows skipped:" in text and "cannot depend on itself" in text
    rec = json.loads(bd("import", str(GO_BACKUP), "--json").stdout)
    assert rec["unchanged"] == 7 and rec["orphans"] == []  # only what is written is reported


# -- durations and older ledgers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, ns",
    [(3_600_000_000_000, 3_600_000_000_000), ("1h30m", 5_400_000_000_000), ("90s", 90_000_000_000),
     ("1.5h", 5_400_000_000_000), ("300ms", 300_000_000), ("", 0), ("0", 0), ("-2m", -120_000_000_000),
     ("3600000000000", 3_600_000_000_000)],
)
def test_go_durations(text, ns):
    assert clock.duration_ns(text) == ns


@pytest.mark.parametrize("bad", ["soon", "1x", "h", 1.5, True, 2**63])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        clock.duration_ns(bad)


def test_a_schema_2_ledger_migrates_its_text_timeouts(tmp_path):
    path = tmp_path / "old.db"
    led = Ledger(path, create=True)
    gate = led.create("Gate", actor="t", issue_type="gate")
    led.disconnect()
    conn = sqlite3.connect(path)  # make it look like a ledger of schema 2
    conn.execute("UPDATE issues SET timeout = '1h'")
    conn.execute("UPDATE config SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    led = Ledger(path)
    assert led.get(gate.id).timeout == 3_600_000_000_000
    assert records(jsonl.export_bytes(led))[gate.id]["timeout"] == 3_600_000_000_000
    assert msgspec.json.decode(led.config_get("schema_version")) == SCHEMA_VERSION
