"""Nuking a polecat never loses work: refusals, forced nukes keep the branch, cleanup after MERGED."""

from __future__ import annotations

import pytest

from gastown_server.errors import Conflict, InvalidInput
from gastown_server.work import merge_requests as mrs
from gastown_server.work.done import done
from gastown_server.work.polecat_cleanup import nuke, reasons_to_keep
from gastown_server.work.refinery import process_next


def test_nuke_refuses_with_unmerged_commits_and_no_mr(rig):
    p = rig.polecat("victor")
    tip = p.commit("v.txt", "v\n", "victor: work")
    with pytest.raises(Conflict, match=r"has 1 commit\(s\) not in main"):
        nuke(rig.ledger, rig.rig, worktree=p.path, actor="gastown/witness")
    assert p.path.is_dir() and rig.git.branch_sha(p.branch) == tip


def test_nuke_refuses_with_pending_mr_even_after_a_failed_attempt(rig):
    p = rig.polecat("whiskey")
    p.commit("w.txt", "w\n", "whiskey: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    with pytest.raises(Conflict, match=f"merge request {r.mr.id} is still open"):
        nuke(rig.ledger, rig.rig, worktree=p.path, actor="gastown/witness")
    assert p.path.is_dir()


def test_nuke_refuses_with_uncommitted_changes(rig):
    p = rig.polecat("xray")
    (p.path / "draft.txt").write_text("not committed\n")
    assert reasons_to_keep(rig.ledger, rig.rig, p.branch, worktree=p.git) == [
        f"1 uncommitted change(s) in {p.path}"
    ]
    with pytest.raises(Conflict, match="uncommitted change"):
        nuke(rig.ledger, rig.rig, worktree=p.path, actor="gastown/witness")
    assert (p.path / "draft.txt").read_text() == "not committed\n"


def test_forced_nuke_removes_worktree_keeps_branch_and_salvages_changes(rig):
    p = rig.polecat("yankee")
    tip = p.commit("y.txt", "y\n", "yankee: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    (p.path / "y.txt").write_text("y, edited\n")
    (p.path / "extra.txt").write_text("untracked\n")
    result = nuke(rig.ledger, rig.rig, worktree=p.path, actor="overseer", force=True)
    assert result.removed_worktree and not result.deleted_branch and result.forced
    assert any("still open" in why for why in result.overridden)
    assert not p.path.exists()
    assert rig.git.branch_sha(p.branch) == tip  # the branch survives, at its tip
    salvage = result.salvage_ref
    assert rig.git.out("show", f"{salvage}:y.txt") == "y, edited"
    assert rig.git.out("show", f"{salvage}:extra.txt") == "untracked"
    # The pending MR still merges from the kept branch.
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert mrs.get(rig.ledger, r.mr.id).merged and "yankee: work" in rig.main_subjects()


def test_nuke_after_merged_removes_worktree_and_branch(rig):
    p = rig.polecat("zulu")
    p.commit("z.txt", "z\n", "zulu: work")
    # Make the Refinery rebase (main moves first) so the branch's commit is merged only by patch id.
    other = rig.polecat("alfa")
    other.commit("a.txt", "a\n", "alfa: work")
    done(rig.ledger, rig.rig, worktree=other.path, polecat=other.address)
    done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert [process_next(rig.ledger, rig.rig).result for _ in range(2)] == ["merged", "merged"]
    assert not rig.git.is_ancestor(p.branch, "main")  # rebased: not an ancestor, yet merged
    result = nuke(rig.ledger, rig.rig, worktree=p.path, actor="gastown/witness")
    assert result.removed_worktree and result.deleted_branch and not result.forced
    assert not p.path.exists() and rig.git.branch_sha(p.branch) is None
    assert p.path not in rig.git.worktrees()


def test_nuke_after_abandon_is_allowed_and_bad_paths_are_refused(rig):
    p = rig.polecat("bravo")
    p.commit("b.txt", "b\n", "bravo: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    mrs.abandon(rig.ledger, r.mr.id, actor="overseer", reason="not needed")
    assert nuke(rig.ledger, rig.rig, worktree=p.path, actor="overseer").deleted_branch
    with pytest.raises(InvalidInput, match="not a worktree"):
        nuke(rig.ledger, rig.rig, worktree=rig.tmp / "nowhere", actor="overseer")
    with pytest.raises(InvalidInput, match="canonical clone"):
        nuke(rig.ledger, rig.rig, worktree=rig.repo, actor="overseer")


def test_a_second_forced_nuke_keeps_the_first_salvage_reachable(rig):
    p = rig.polecat("toast")
    (p.path / "first.txt").write_text("first uncommitted work\n")
    first = nuke(rig.ledger, rig.rig, worktree=p.path, actor="overseer", force=True)
    # revived on its kept branch (as ensure_polecat_worktree does), then nuked again by force
    rig.git.run("worktree", "add", "-q", str(p.path), p.branch)
    (p.path / "second.txt").write_text("second uncommitted work\n")
    second = nuke(rig.ledger, rig.rig, worktree=p.path, actor="overseer", force=True)
    assert first.salvage_ref == second.salvage_ref
    assert rig.git.out("show", f"{second.salvage_ref}:second.txt") == "second uncommitted work"
    # the first salvage is the second's parent: still reachable from the ref, so gc keeps it
    assert rig.git.out("show", f"{second.salvage_ref}^2:first.txt") == "first uncommitted work"
