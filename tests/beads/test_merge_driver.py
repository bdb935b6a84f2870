"""The issues.jsonl merge driver: the rules, the CLI contract, and a real git merge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gastown_server.beads import jsonl, merge
from gastown_server.beads.store import Ledger
from gastown_server.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "beads"
SAMPLE = FIXTURES / "sample" / "issues.jsonl"
BD = [sys.executable, "-m", "gastown_server.cli.bd"]


def enc(*records: dict) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


def bead(bead_id: str, updated: str = "2026-11-01T00:00:00Z", **fields) -> dict:
    return {"id": bead_id, "title": fields.pop("title", bead_id), "updated_at": updated, **fields}


def merged(base: list[dict], ours: list[dict], theirs: list[dict]) -> dict[str, dict]:
    data, _ = merge.merge_bytes(enc(*base), enc(*ours), enc(*theirs))
    return {r["id"]: r for r in (json.loads(x) for x in data.splitlines()) if "id" in r}


# -- rules -------------------------------------------------------------------------------


def test_beads_added_on_either_side_are_kept():
    base = [bead("bd-a")]
    out = merged(base, base + [bead("bd-b")], base + [bead("bd-c")])
    assert sorted(out) == ["bd-a", "bd-b", "bd-c"]


def test_change_on_one_side_is_taken_even_if_older():
    base = [bead("bd-a", "2026-11-05T00:00:00Z", status="open")]
    theirs = [bead("bd-a", "2026-11-01T00:00:00Z", status="closed")]  # clock skew: still their edit
    assert merged(base, base, theirs)["bd-a"]["status"] == "closed"
    assert merged(base, theirs, base)["bd-a"]["status"] == "closed"


def test_both_changed_newer_fields_win_and_collections_merge():
    dep = lambda target, t="blocks": {"issue_id": "bd-a", "depends_on_id": target, "type": t}  # noqa: E731
    comment = lambda cid, who, text, at: {"id": cid, "issue_id": "bd-a", "author": who, "text": text, "created_at": at}  # noqa: E731
    base = bead("bd-a", labels=["keep", "drop-me"], dependencies=[dep("bd-x")], comments=[comment(1, "m", "hi", "2026-11-01T00:00:00Z")])
    ours = bead(
        "bd-a",
        "2026-11-02T00:00:00Z",
        title="ours",
        labels=["keep", "drop-me", "ours-label"],
        dependencies=[dep("bd-x"), dep("bd-y", "related")],
        comments=[comment(1, "m", "hi", "2026-11-01T00:00:00Z"), comment(2, "nux", "from ours", "2026-11-02T00:00:00Z")],
    )
    theirs = bead(
        "bd-a",
        "2026-11-03T00:00:00Z",
        title="theirs",
        labels=["keep", "their-label"],  # they removed drop-me
        dependencies=[dep("bd-x", "waits-for"), dep("bd-z")],
        comments=[comment(1, "m", "hi", "2026-11-01T00:00:00Z"), comment(2, "slit", "from theirs", "2026-11-03T00:00:00Z")],
    )
    out = merged([base], [ours], [theirs])["bd-a"]
    assert out["title"] == "theirs" and out["updated_at"] == "2026-11-03T00:00:00Z"
    assert out["labels"] == ["keep", "ours-label", "their-label"]
    assert [(d["depends_on_id"], d["type"]) for d in out["dependencies"]] == [
        ("bd-x", "waits-for"),
        ("bd-y", "related"),
        ("bd-z", "blocks"),
    ]
    assert out["dependency_count"] == 3
    # Both sides' comment 2 survive although they share an id.
    assert [c["text"] for c in out["comments"]] == ["hi", "from ours", "from theirs"] and out["comment_count"] == 3


def test_deleted_and_untouched_is_dropped_deleted_and_changed_is_kept():
    base = [bead("bd-a"), bead("bd-b"), bead("bd-c")]
    ours = [bead("bd-b", "2026-11-09T00:00:00Z", title="edited by ours"), bead("bd-c")]  # ours deleted bd-a
    theirs = [bead("bd-a"), bead("bd-c")]  # theirs deleted bd-b
    out = merged(base, ours, theirs)
    assert sorted(out) == ["bd-b", "bd-c"] and out["bd-b"]["title"] == "edited by ours"
    assert "bd-a" not in merged(base, [], [])  # deleted on both sides


def test_same_id_added_on_both_sides_unions_collections():
    ours = bead("bd-n", "2026-11-02T00:00:00Z", title="ours", labels=["a"])
    theirs = bead("bd-n", "2026-11-01T00:00:00Z", title="theirs", labels=["b"])
    out = merged([], [ours], [theirs])["bd-n"]
    assert out["title"] == "ours" and out["labels"] == ["a", "b"]


def test_unknown_keys_and_non_bead_records_survive():
    memo = {"_type": "memory", "key": "style", "value": "terse"}
    base = [{"_type": "issue", **bead("bd-a"), "wisp_ttl": "1h"}, memo]
    theirs = [{"_type": "issue", **bead("bd-a", "2026-11-02T00:00:00Z", title="t"), "wisp_ttl": "2h"}, memo, {"_type": "memory", "key": "new"}]
    data, report = merge.merge_bytes(enc(*base), enc(*base), enc(*theirs))
    lines = [json.loads(x) for x in data.splitlines()]
    assert lines[0] == {"_type": "issue", "id": "bd-a", "title": "t", "updated_at": "2026-11-02T00:00:00Z", "wisp_ttl": "2h"}
    assert list(lines[0])[:2] == ["_type", "id"]
    assert {"_type": "memory", "key": "new"} in lines and memo in lines
    assert report.from_theirs == 1


def test_lines_taken_whole_keep_their_bytes():
    foreign = b'{ "id": "bd-a",  "title": "spaced out", "updated_at": "2026-11-01T00:00:00Z" }'
    reordered = b'{"updated_at":"2026-11-01T00:00:00Z","title":"spaced out","id":"bd-a"}'
    theirs = enc(bead("bd-b"))
    data, report = merge.merge_bytes(foreign + b"\n", reordered + b"\n", foreign + b"\n" + theirs)
    # Ours differs from base only in formatting: not a change, so no conflict with theirs.
    assert data.splitlines()[0] in (foreign, reordered) and report.combined == 0
    assert data.splitlines()[1] == theirs.strip()


def test_merging_identical_exports_is_byte_identical():
    sample = SAMPLE.read_bytes()
    assert merge.merge_bytes(sample, sample, sample)[0] == sample
    assert merge.merge_bytes(b"", sample, sample)[0] == sample


def test_unparseable_side_is_an_error_naming_file_and_line(tmp_path):
    ours = tmp_path / "ours"
    ours.write_bytes(enc(bead("bd-a")))
    theirs = tmp_path / "theirs"
    theirs.write_bytes(enc(bead("bd-a")) + b"<<<<<<< HEAD\n")
    base = tmp_path / "base"
    base.write_bytes(b"")
    with pytest.raises(InvalidInput, match=rf"^{theirs}:2: "):
        merge.merge_files(base, ours, theirs)
    proc = subprocess.run([*BD, "merge-driver", str(base), str(ours), str(theirs)], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith(f"bd: error: {theirs}:2: ")
    assert "Traceback" not in proc.stderr
    assert ours.read_bytes() == enc(bead("bd-a"))  # untouched: git reports a conflict


def test_merge_driver_help_shows_the_git_placeholders():
    proc = subprocess.run([*BD, "merge-driver", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "%O: the common ancestor's version" in proc.stdout
    assert 'git config merge.beads.driver "bd merge-driver %O %A %B"' in proc.stdout


# -- a real git merge -----------------------------------------------------------------------


def git(repo: Path, *argv: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", *argv], cwd=repo, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(argv)} failed: {proc.stdout}{proc.stderr}")
    return proc


@pytest.fixture
def git_env(tmp_path):
    """PATH with a `bd` that runs this checkout's code, as git will call it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "bd"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gastown_server.cli.bd "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env.update(GIT_AUTHOR_NAME="overseer", GIT_AUTHOR_EMAIL="o@town", GIT_COMMITTER_NAME="overseer", GIT_COMMITTER_EMAIL="o@town")
    env.pop("GIT_DIR", None)
    return env


def clone_ledger(tmp_path: Path, name: str) -> Ledger:
    led = Ledger(tmp_path / f"{name}.db", create=True)
    jsonl.import_path(led, SAMPLE, actor="overseer")
    return led


def test_git_merge_with_the_driver_keeps_both_sides(tmp_path, git_env):
    repo = tmp_path / "weatherd"
    (repo / ".beads").mkdir(parents=True)
    issues = repo / ".beads" / "issues.jsonl"
    issues.write_bytes(SAMPLE.read_bytes())
    git(repo, "init", "-q", "-b", "main", env=git_env)
    # The installation documented in docs/beads-interop.md.
    git(repo, "config", "merge.beads.driver", "bd merge-driver %O %A %B", env=git_env)
    (repo / ".gitattributes").write_text(".beads/issues.jsonl merge=beads\n")
    git(repo, "add", ".", env=git_env)
    git(repo, "commit", "-q", "-m", "beads", env=git_env)

    # Two clones of the ledger work independently, as two machines would.
    a = clone_ledger(tmp_path, "a")
    a.update("wx-8k2.3", actor="weatherd/polecats/slit", title="Write readings to SQLite (batched)")
    a.add_label("wx-8k2.3", "db", actor="weatherd/polecats/slit")
    a.add_comment("wx-8k2.5", "Dropout threshold: 2 minutes.", actor="overseer")
    a.close("wx-r7t.1", actor="weatherd/polecats/furiosa", reason="deb builds in CI")
    new_a = a.create("Graph pressure trends", actor="overseer", prefix="wx", issue_type="feature")
    a.purge(["wx-5hc"], actor="overseer")  # gone on A, untouched on B: stays gone
    a.purge(["wx-h5s"], actor="overseer")  # gone on A, edited on B: B's edit survives

    b = clone_ledger(tmp_path, "b")
    b.update("wx-8k2.3", actor="weatherd/polecats/nux", notes="Use executemany; 5 s batches.")
    b.add_label("wx-8k2.3", "storage-v2", actor="weatherd/polecats/nux")
    b.add_comment("wx-8k2.5", "Also alert on stuck values.", actor="weatherd/witness")
    b.update("wx-h5s", actor="overseer", priority=1)
    new_b = b.create("Station firmware update over the air", actor="overseer", prefix="wx")

    git(repo, "checkout", "-q", "-b", "theirs", env=git_env)
    issues.write_bytes(jsonl.export_bytes(b))
    git(repo, "commit", "-q", "-am", "B's work", env=git_env)
    git(repo, "checkout", "-q", "main", env=git_env)
    issues.write_bytes(jsonl.export_bytes(a))
    git(repo, "commit", "-q", "-am", "A's work", env=git_env)

    # Without the driver this is a textual conflict (same lines edited on both sides).
    base_v = git(repo, "show", "main~1:.beads/issues.jsonl", env=git_env).stdout
    ours_v = git(repo, "show", "main:.beads/issues.jsonl", env=git_env).stdout
    theirs_v = git(repo, "show", "theirs:.beads/issues.jsonl", env=git_env).stdout
    for name, text in (("o", base_v), ("a", ours_v), ("b", theirs_v)):
        (tmp_path / name).write_text(text)
    textual = subprocess.run(["git", "merge-file", "-p", str(tmp_path / "a"), str(tmp_path / "o"), str(tmp_path / "b")], capture_output=True, text=True)
    assert textual.returncode > 0 and "<<<<<<<" in textual.stdout

    result = git(repo, "merge", "--no-edit", "theirs", check=False, env=git_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(repo, "status", "--porcelain", env=git_env).stdout == ""
    text = issues.read_text()
    assert "<<<<<<<" not in text

    merged_ledger = Ledger(tmp_path / "merged.db", create=True)
    jsonl.import_path(merged_ledger, issues, actor="overseer")
    assert merged_ledger.exists(new_a.id) and merged_ledger.exists(new_b.id)
    assert not merged_ledger.exists("wx-5hc")
    assert merged_ledger.get("wx-h5s").priority == 1
    assert merged_ledger.get("wx-r7t.1").status == "closed"
    step = merged_ledger.get("wx-8k2.3", full=True)
    assert step.notes == "Use executemany; 5 s batches."  # B's edit is newer
    assert set(step.labels) == {"ingest", "storage", "db", "storage-v2"}
    assert {c.text for c in merged_ledger.comments("wx-8k2.5")} == {
        "Dropout threshold: 2 minutes.",
        "Also alert on stuck values.",
    }
    ids = [json.loads(x)["id"] for x in text.splitlines()]
    assert ids == sorted(ids) and len(ids) == 25 + 2 - 1
    # Beads neither side touched come through byte for byte.
    untouched = [x for x in SAMPLE.read_text().splitlines() if json.loads(x)["id"] in ("wx-3nd", "wx-q4m", "wx-v10")]
    assert all(line in text.splitlines() for line in untouched)


def test_install_driver_is_idempotent_and_keeps_existing_attributes(tmp_path, git_env):
    repo = tmp_path / "rig"
    repo.mkdir()
    git(repo, "init", "-q", env=git_env)
    (repo / ".gitattributes").write_text("*.png binary")  # no trailing newline
    assert merge.install_driver(repo) is True
    assert merge.install_driver(repo) is False
    assert git(repo, "config", "merge.beads.driver", env=git_env).stdout.strip() == "bd merge-driver %O %A %B"
    assert (repo / ".gitattributes").read_text() == "*.png binary\n.beads/issues.jsonl merge=beads\n"
    # git itself agrees the file is routed to the driver.
    attr = git(repo, "check-attr", "merge", ".beads/issues.jsonl", env=git_env).stdout.strip()
    assert attr == ".beads/issues.jsonl: merge: beads"
    with pytest.raises(InvalidInput, match="is not a git repository"):
        merge.install_driver(tmp_path / "plain")


# -- property: neither side's work is lost ------------------------------------------------------

_LABELS = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True, max_size=3)


@st.composite
def _edits(draw, base: dict[str, dict], side: str, day: int):
    """One clone's work on the base: edit, delete, or add beads."""
    out: dict[str, dict] = {}
    for bead_id, rec in base.items():
        action = draw(st.sampled_from(["keep", "keep", "edit", "delete"]))
        if action == "keep":
            out[bead_id] = rec
        elif action == "edit":
            labels = sorted(set(rec.get("labels", [])) | set(draw(_LABELS)))
            out[bead_id] = dict(rec, title=f"{rec['title']} ({side})", labels=labels,
                                updated_at=f"2026-11-{day:02d}T{draw(st.integers(0, 23)):02d}:00:00Z")
    for n in range(draw(st.integers(0, 3))):
        bead_id = f"bd-{side}{n}" if draw(st.booleans()) else f"bd-new{n}"  # sometimes both add one id
        out[bead_id] = bead(bead_id, f"2026-11-{day:02d}T00:00:00Z", title=f"new by {side}", labels=draw(_LABELS))
    return out


@st.composite
def _histories(draw):
    base = {f"bd-{i:02d}": bead(f"bd-{i:02d}", labels=draw(_LABELS)) for i in range(draw(st.integers(0, 8)))}
    return base, draw(_edits(base, "o", 10)), draw(_edits(base, "t", draw(st.sampled_from([10, 11]))))


@settings(max_examples=150, deadline=None)
@given(history=_histories())
def test_merge_never_loses_either_sides_work(history):
    base, ours, theirs = history
    out = merged(list(base.values()), list(ours.values()), list(theirs.values()))
    flipped = merged(list(base.values()), list(theirs.values()), list(ours.values()))
    assert sorted(out) == sorted(flipped)  # who is "ours" never changes what survives
    for bead_id in base.keys() | ours.keys() | theirs.keys():
        o, a, b = base.get(bead_id), ours.get(bead_id), theirs.get(bead_id)
        a_changed, b_changed = a != o, b != o
        if (a is None and not b_changed) or (b is None and not a_changed) or (a is None and b is None):
            assert bead_id not in out  # deleted on one side, untouched (or deleted) on the other
            continue
        assert bead_id in out  # everything added or changed by anyone survives
        if a_changed and not b_changed:
            assert out[bead_id] == a
        elif b_changed and not a_changed:
            assert out[bead_id] == b
        elif a is not None and b is not None:
            added = (set(a.get("labels", [])) | set(b.get("labels", []))) - set((o or {}).get("labels", []))
            assert added <= set(out[bead_id].get("labels", []))
            assert out[bead_id]["title"] in (a["title"], b["title"])
