"""Once the Refinery has pushed a merge to origin, the merge stands: a clone checkout that cannot follow
is a warning (and catches up later), never MERGE_FAILED and never a second merge of the same work."""

from __future__ import annotations

import pytest

from gastown_server.errors import Unavailable
from gastown_server.work import merge_requests as mrs
from gastown_server.work.done import done
from gastown_server.work.git import Git
from gastown_server.work.refinery import process_next

from test_refinery_crash import _arm_kill_hook, _refinery_process


def _submit_notes(rig):
    p = rig.polecat("toast")
    p.commit("notes.txt", "from the polecat\n", "add notes")
    issue = rig.ledger.create("write the notes", actor="overseer", prefix="gs")
    return p, done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, issue=issue.id)


def _assert_merged_with_stuck_checkout(rig, p, r, outcome, expected_result):
    assert outcome.result == expected_result, outcome
    pushed = rig.origin_main()
    assert outcome.sha == pushed
    assert Git(rig.origin).subjects("main") == ["add notes", "initial"]
    mr = mrs.get(rig.ledger, r.mr.id)
    assert mr.merged and mr.close_reason == f"merged {pushed}"
    assert (mr.meta.intended, mr.meta.merged) == ("", pushed)
    assert rig.ledger.get(r.mr.meta.issue).status == "closed"
    warning = [w for w in mr.meta.warnings if "notes.txt" in w]
    assert warning and "could not follow" in warning[0], mr.meta.warnings
    assert [m.subject for m in rig.witness_mail("MERGED")] == ["MERGED toast"]
    assert rig.witness_mail("MERGE_FAILED") == [] and p.inbox("MERGE_FAILED") == []
    assert "notes.txt" in p.inbox("MERGED")[0].body  # the Warning: line tells the polecat too
    # The clone itself stayed where it was: its checkout (and the file in the way) untouched.
    assert rig.main_subjects() == ["initial"]
    assert (rig.repo / "notes.txt").read_text() == "local scratch\n"


def _assert_catches_up(rig, pushed):
    # While the file is in the way, the next run refuses to go on from a stale base: one clear error.
    with pytest.raises(Unavailable, match="cannot fast-forward.*notes.txt"):
        process_next(rig.ledger, rig.rig)
    (rig.repo / "notes.txt").unlink()
    assert process_next(rig.ledger, rig.rig).result == "idle"
    assert rig.git.branch_sha("main") == pushed
    assert (rig.repo / "notes.txt").read_text() == "from the polecat\n"


def test_checkout_in_the_way_after_the_push_is_a_warning_not_merge_failed(rig):
    p, r = _submit_notes(rig)
    (rig.repo / "notes.txt").write_text("local scratch\n")  # untracked, where the merge puts a file
    outcome = process_next(rig.ledger, rig.rig)
    _assert_merged_with_stuck_checkout(rig, p, r, outcome, "merged")
    _assert_catches_up(rig, outcome.sha)


def test_recovery_after_the_push_with_the_checkout_in_the_way_finishes_with_a_warning(rig, tmp_path):
    p, r = _submit_notes(rig)
    armed, pidfile = _arm_kill_hook(rig.origin / "hooks", tmp_path)  # SIGKILL right after origin moves
    proc = _refinery_process(rig, pidfile)
    proc.communicate(timeout=60)
    assert proc.returncode == -9 and not armed.exists()
    (rig.repo / "notes.txt").write_text("local scratch\n")
    outcome = process_next(rig.ledger, rig.rig)
    _assert_merged_with_stuck_checkout(rig, p, r, outcome, "recovered")
    _assert_catches_up(rig, outcome.sha)
