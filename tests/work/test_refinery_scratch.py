"""A Refinery killed in the middle of a rebase leaves its scratch worktree mid-rebase (``rebase-merge``
without ``REBASE_HEAD`` when it died between picks): the next MR must merge, not be blamed for it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gastown_server.work import refinery
from gastown_server.work.done import done
from gastown_server.work.git import Git, rebase_in_progress
from gastown_server.work.refinery import process_next


def _merge_one(rig, name):
    p = rig.polecat(name)
    p.commit(f"{name}.txt", f"{name}\n", f"{name}: work")
    done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    return p


def test_next_mr_merges_after_a_rebase_killed_between_picks(rig):
    _merge_one(rig, "ace")
    assert process_next(rig.ledger, rig.rig).result == "merged"  # creates the scratch worktree
    scratch = Git(refinery.scratch_path(rig.repo), actor="test")
    assert not rebase_in_progress(scratch)

    # Leave the scratch worktree exactly as a SIGKILL between two picks does: stopped in a rebase.
    nux = rig.polecat("nux")
    nux.commit("b1.txt", "b1\n", "b1")
    nux.commit("b2.txt", "b2\n", "b2")
    scratch.run("checkout", "-q", "--detach", "-f", nux.git.sha("HEAD"))
    scratch.run("rebase", "-i", "main", env={"GIT_SEQUENCE_EDITOR": "sed -i '1a break'"})
    gitdir = Path(scratch.out("rev-parse", "--absolute-git-dir"))
    assert (gitdir / "rebase-merge").is_dir() and not scratch.ok("rev-parse", "-q", "--verify", "REBASE_HEAD")
    assert rebase_in_progress(scratch) and rebase_in_progress(scratch.cwd)
    assert not rebase_in_progress(rig.repo)  # per worktree: the canonical clone is not rebasing

    p = _merge_one(rig, "oscar")
    outcome = process_next(rig.ledger, rig.rig)
    assert (outcome.result, outcome.failure_type) == ("merged", ""), outcome
    assert p.inbox("MERGE_FAILED") == [] and [m.subject for m in p.inbox("MERGED")] == ["MERGED oscar"]
    assert rig.main_subjects() == ["oscar: work", "ace: work", "initial"]
    assert rig.origin_main() == rig.git.branch_sha("main")
    assert not rebase_in_progress(scratch)


def test_next_mr_merges_after_git_was_killed_holding_the_scratch_index_lock(rig):
    _merge_one(rig, "ace")
    assert process_next(rig.ledger, rig.rig).result == "merged"
    scratch = Git(refinery.scratch_path(rig.repo), actor="test")
    lock = Path(scratch.out("rev-parse", "--absolute-git-dir")) / "index.lock"
    lock.write_text("")  # a git checkout/rebase killed along with the Refinery's process group leaves this
    os.utime(lock, (time.time() - 60, time.time() - 60))  # (a fresh one gets a few seconds to go away)
    p = _merge_one(rig, "oscar")
    outcome = process_next(rig.ledger, rig.rig)
    assert (outcome.result, outcome.failure_type) == ("merged", ""), outcome
    assert p.inbox("MERGE_FAILED") == [] and not lock.exists()
