"""The Refinery killed (SIGKILL) at its worst moments, and two Refineries racing: nothing lost, nothing merged twice."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from gastown_server.work import gates
from gastown_server.work import merge_requests as mrs
from gastown_server.work.done import done
from gastown_server.work.git import Git
from gastown_server.work.refinery import process_next

_CHILD = textwrap.dedent(
    """
    import os, sys
    from gastown_server.beads.store import Ledger
    from gastown_server.work.merge_requests import RigRef
    from gastown_server.work.refinery import drain
    db, repo, pidfile = sys.argv[1:4]
    open(pidfile, "w").write(str(os.getpid()))
    with Ledger(db) as ledger:
        out = drain(ledger, RigRef(name="gastown", prefix="gs", repo=repo))
    print(" ".join(o.result for o in out))
    """
)


def _refinery_process(rig, pidfile):
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(rig.ledger.path), str(rig.repo), str(pidfile)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _arm_kill_hook(hooks_dir, tmp_path):
    """A reference-transaction hook that SIGKILLs the refinery right after main moves (once)."""
    armed, pidfile = tmp_path / "armed", tmp_path / "refinery.pid"
    armed.write_text("1")
    hooks_dir.mkdir(parents=True, exist_ok=True)
    hook = hooks_dir / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = committed ] || exit 0\n'
        "grep -q ' refs/heads/main$' || exit 0\n"
        f"[ -f {armed} ] || exit 0\n"
        f"rm -f {armed}\n"
        f'kill -9 "$(cat {pidfile})"\n'
    )
    hook.chmod(0o755)
    return armed, pidfile


def _submit(rig, name):
    p = rig.polecat(name)
    p.commit(f"{name}.txt", f"{name}\n", f"{name}: work")
    return p, done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)


def _assert_merged_once(rig, p, mr_id):
    mr = mrs.get(rig.ledger, mr_id)
    assert mr.merged, mr
    assert rig.main_subjects().count(f"{p.name}: work") == 1
    assert rig.origin_main() == rig.git.branch_sha("main")
    assert [m.subject for m in rig.witness_mail("MERGED")] == [f"MERGED {p.name}"]
    assert [m.subject for m in p.inbox("MERGED")] == [f"MERGED {p.name}"]
    assert (rig.repo / f"{p.name}.txt").read_text() == f"{p.name}\n"  # the clone's checkout moved too


def test_killed_after_main_moved_restart_finishes_without_merging_again(rig, tmp_path):
    p, r = _submit(rig, "mike")
    armed, pidfile = _arm_kill_hook(rig.git.common_dir() / "hooks", tmp_path)
    proc = _refinery_process(rig, pidfile)
    proc.communicate(timeout=60)
    assert proc.returncode == -9 and not armed.exists()
    mr = mrs.get(rig.ledger, r.mr.id)
    assert mr.status == "in_progress" and mr.meta.intended == rig.git.branch_sha("main")
    assert rig.witness_mail("MERGED") == []

    outcome = process_next(rig.ledger, rig.rig)
    assert (outcome.result, outcome.mr_id, outcome.sha) == ("recovered", r.mr.id, mr.meta.intended)
    assert process_next(rig.ledger, rig.rig).result == "idle"
    _assert_merged_once(rig, p, r.mr.id)
    assert "recovered" in [e.event for e in mrs.get(rig.ledger, r.mr.id).meta.journal]


def test_killed_after_push_before_local_move_restart_catches_up(rig, tmp_path):
    p, r = _submit(rig, "november")
    main_before = rig.git.branch_sha("main")
    armed, pidfile = _arm_kill_hook(rig.origin / "hooks", tmp_path)
    proc = _refinery_process(rig, pidfile)
    proc.communicate(timeout=60)
    assert proc.returncode == -9 and not armed.exists()
    assert rig.git.branch_sha("main") == main_before  # origin moved, the clone did not
    assert rig.origin_main() != main_before

    assert process_next(rig.ledger, rig.rig).result == "recovered"
    _assert_merged_once(rig, p, r.mr.id)


def test_killed_while_gates_run_requeues_then_merges(rig, tmp_path):
    pidfile = tmp_path / "refinery.pid"
    once = tmp_path / "kill-once"
    once.write_text("1")
    gates.save(rig.ledger, rig.rig.name, actor="overseer",
               gates=[f'if [ -f {once} ]; then rm {once}; kill -9 "$(cat {pidfile})"; sleep 5; fi'])  # fmt: skip
    p, r = _submit(rig, "oscar")
    proc = _refinery_process(rig, pidfile)
    proc.communicate(timeout=60)
    assert proc.returncode == -9
    assert mrs.get(rig.ledger, r.mr.id).status == "in_progress"
    assert process_next(rig.ledger, rig.rig).result == "requeued"
    assert process_next(rig.ledger, rig.rig).result == "merged"
    _assert_merged_once(rig, p, r.mr.id)


def test_two_refineries_draining_one_queue_merge_each_mr_once(rig, tmp_path):
    submitted = [_submit(rig, name) for name in ("papa", "quebec", "romeo", "sierra", "tango", "uniform")]
    procs = [_refinery_process(rig, tmp_path / f"r{i}.pid") for i in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    results = " ".join(out for out, _ in outputs).split()
    assert sorted(results) == ["merged"] * 6
    subjects = rig.main_subjects()
    for p, r in submitted:
        assert subjects.count(f"{p.name}: work") == 1
        assert mrs.get(rig.ledger, r.mr.id).merged
    assert len(subjects) == 7
    assert len(rig.witness_mail("MERGED")) == 6
    assert rig.origin_main() == rig.git.branch_sha("main")
    # main is linear: every merge was a fast-forward of the previous one.
    assert Git(rig.repo).out("rev-list", "--merges", "main") == ""
    assert os.path.exists(rig.git.common_dir() / "gastown-refinery.lock")
