"""``gt apply`` after its rebase conflicted never throws commits away: the old tip is kept under
``refs/gastown/rework/<branch>/...`` before the branch is reset, and a branch holding commits that are
not the issue's own (no ``Gastown-Issue`` trailer) is refused, left exactly as it was."""

from __future__ import annotations

import pytest

from gastown_server.errors import Conflict
from gastown_server.work import script_work
from gastown_server.work.git import rebase_in_progress

SCRIPT = "```gt-script\nsed -i 's/^line 2.*/&, by the script/' shared.txt\n```\n"


def _setup(rig):
    issue = rig.ledger.create("tweak line 2", actor="overseer", prefix="gs", description=f"Do it.\n\n{SCRIPT}")
    p = rig.polecat("toast", bead=issue.id)
    return p, issue.id


def _main_moves_line_2(rig):
    (rig.repo / "shared.txt").write_text("line 1\nline 2 changed on main\nline 3\n")
    rig.git.run("commit", "-q", "-am", "main: change line 2")
    return rig.git.branch_sha("main")


def _rework_refs(p):
    text = p.git.out("for-each-ref", "--format=%(refname) %(objectname)", f"refs/gastown/rework/{p.branch}/")
    return dict(line.split() for line in text.splitlines())


def test_conflicting_rebase_keeps_the_old_tip_before_reapplying(rig):
    p, issue = _setup(rig)
    first = script_work.apply(rig.ledger, issue, worktree=p.path, actor=p.address)
    assert first.action == "applied"
    old_tip = p.git.sha("HEAD")
    main = _main_moves_line_2(rig)

    again = script_work.apply(rig.ledger, issue, worktree=p.path, actor=p.address)
    assert again.action == "reapplied"
    refs = _rework_refs(p)
    assert list(refs.values()) == [old_tip], refs  # the dropped commit stays reachable
    assert list(refs)[0] in again.detail
    assert p.git.is_ancestor(main, "HEAD") and p.git.subjects(f"{main}..HEAD") == [f"tweak line 2 ({issue})"]
    assert (p.path / "shared.txt").read_text() == "line 1\nline 2 changed on main, by the script\nline 3\n"


def test_conflicting_rebase_with_foreign_commits_refuses_and_changes_nothing(rig):
    p, issue = _setup(rig)
    notes = p.commit("notes.txt", "a human's notes\n", "notes from a human")  # no Gastown-Issue trailer
    script_work.apply(rig.ledger, issue, worktree=p.path, actor=p.address)
    tip = p.git.sha("HEAD")
    _main_moves_line_2(rig)

    with pytest.raises(Conflict, match=r"notes from a human") as err:
        script_work.apply(rig.ledger, issue, worktree=p.path, actor=p.address)
    assert "\n" not in str(err.value.message)
    assert p.git.sha("HEAD") == tip and p.git.is_ancestor(notes, "HEAD")
    assert p.git.current_branch() == p.branch
    assert not rebase_in_progress(p.git) and p.git.dirty() == []
    assert _rework_refs(p) == {}


def test_an_interrupted_rebase_in_the_worktree_is_aborted_first(rig):
    p, issue = _setup(rig)
    p.commit("a.txt", "a\n", f"a\n\nGastown-Issue: {issue}")
    p.commit("b.txt", "b\n", f"b\n\nGastown-Issue: {issue}")
    rig.git.run("commit", "-q", "--allow-empty", "-m", "main moves")
    p.git.run("rebase", "-i", "main", env={"GIT_SEQUENCE_EDITOR": "sed -i '1a break'"})  # stopped between picks
    assert rebase_in_progress(p.path) and not p.git.ok("rev-parse", "-q", "--verify", "REBASE_HEAD")
    result = script_work.apply(rig.ledger, issue, worktree=p.path, actor=p.address)
    assert "aborted an interrupted rebase" in result.detail
    assert not rebase_in_progress(p.path) and p.git.current_branch() == p.branch
