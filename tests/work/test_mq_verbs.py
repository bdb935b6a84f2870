"""Gas Town's merge-queue verbs (gt done's flags, gt mq submit|status|list RIG|retry|reject) as real processes
over a real rig (bare origin, canonical clone, polecat worktrees) and the real ledger."""

from __future__ import annotations

import msgspec


def _j(proc):
    return msgspec.json.decode(proc.stdout)


def _one_error_line(proc, needle):
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gt: error: ") and needle in lines[0], proc.stderr


def test_done_flags_and_mq_verbs(rig, gt):
    p = rig.polecat("alpha")
    p.commit("a.txt", "a\n", "alpha: work")
    done = _j(gt("done", "--status", "completed", "--pre-verified", "--cleanup-status", "clean", "--json",
                 cwd=p.path, actor=p.address))  # fmt: skip
    mr = done["mr"]["id"]
    assert done["exit"] == "MERGED" and [m.subject for m in rig.witness_mail("POLECAT_DONE")] == ["POLECAT_DONE alpha"]
    assert [m["id"] for m in _j(gt("mq", "list", "gastown", "--json", cwd=rig.repo))] == [mr]
    assert _j(gt("mq", "list", "gastown", "--ready", "--worker", "alpha", "--json", cwd=rig.repo))[0]["id"] == mr
    assert _j(gt("mq", "status", mr, "--json"))["meta"]["branch"] == p.branch

    # a failing gate, then retry puts it back in the queue as it is
    gt("refinery", "gates", "--rig", "gastown", "--set", "exit 1", cwd=rig.repo)
    gt("refinery", "process-next", "--rig", "gastown", cwd=rig.repo)
    assert _j(gt("mq", "status", mr, "--json"))["status"] == "blocked"
    assert _j(gt("mq", "list", "gastown", "--status", "blocked", "--json", cwd=rig.repo))[0]["id"] == mr
    assert _j(gt("mq", "retry", "gastown", mr, "--json"))["status"] == "open"
    _one_error_line(gt("mq", "retry", mr, check=False), "only a failed merge request")

    # reject: abandoned with the reason, the polecat told
    rejected = _j(gt("mq", "reject", "gastown", mr, "--reason", "wrong approach", "--json", actor="gastown/refinery"))
    assert rejected["mr"]["close_reason"] == "abandoned: rejected: wrong approach"
    assert [m.subject for m in p.inbox("MR_REJECTED")] == [f"MR_REJECTED {mr}"]
    _one_error_line(gt("mq", "reject", mr, "--reason", "again", check=False), "already")

    # mq submit: a crew member's branch, filed without POLECAT_DONE
    q = rig.polecat("bravo")
    q.commit("b.txt", "b\n", "bravo: work")
    witness_mail = len(rig.witness_mail())
    sub = _j(gt("mq", "submit", "--json", cwd=q.path, actor=q.address))
    assert sub["created"] is True and sub["mail_id"] == "" and len(rig.witness_mail()) == witness_mail
    _one_error_line(gt("mq", "submit", "--branch", "other", cwd=q.path, actor=q.address, check=False), "not checked out")
    _one_error_line(gt("done", "--status", "LANDED", cwd=q.path, actor=q.address, check=False), "invalid choice")
    _one_error_line(gt("mq", "reject", sub["mr"]["id"], "--reason", " ", check=False), "say why")
