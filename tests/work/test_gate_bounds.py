"""A gate's timeout is a real bound, and nothing a gate started outlives it -- even a child that
left the gate's process group (``setsid``) and still holds its stdout."""

from __future__ import annotations

import os
import signal
import time

from town_helpers import pids_running

from gastown_server.work import gates


def _gone(cmd: str, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while pids_running(cmd):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_timeout_bounds_a_gate_whose_setsid_child_holds_stdout(tmp_path, unique_sleep):
    gate = gates.Gate(run=f"setsid sh -c '{unique_sleep}' & sleep 30", timeout=1)
    started = time.monotonic()
    result = gates.run_gate(gate, tmp_path, dict(os.environ))
    took = time.monotonic() - started
    assert took < 8, f"a 1 s gate took {took:.1f} s"
    assert not result.ok and "timed out" in result.output_tail
    assert _gone(unique_sleep), "the setsid'd child outlived its gate"


def test_a_finished_gate_leaves_no_setsid_child(tmp_path, unique_sleep):
    gate = gates.Gate(run=f"setsid sh -c '{unique_sleep}' >/dev/null 2>&1 & echo ok", timeout=20)
    result = gates.run_gate(gate, tmp_path, dict(os.environ))
    assert result.ok and result.output_tail == "ok"
    assert _gone(unique_sleep), "the setsid'd child outlived its gate"


def test_a_polecat_test_gate_left_by_a_sigkilled_run_is_ended_by_the_next(rig, tmp_path, unique_sleep):
    """script_work.run_tests records its gate in the worktree's git dir: a SIGKILLed `gt apply`
    (nothing can run on SIGKILL) leaves the gate running, and the next run_tests ends it."""
    import subprocess
    import sys

    child = (
        "import sys\nfrom gastown_server.beads.store import Ledger\nfrom gastown_server.work import script_work\n"
        "with Ledger(sys.argv[1]) as ledger:\n    script_work.run_tests(ledger, sys.argv[2], sys.argv[3])\n"
    )
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=[f"{unique_sleep}"])
    p = rig.polecat("toast")
    proc = subprocess.Popen([sys.executable, "-c", child, str(rig.ledger.path), rig.rig.name, str(p.path)],
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 20
    while not pids_running(unique_sleep):
        assert time.monotonic() < deadline, "the gate never started"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the gate has its own group: it survives this
    proc.wait(timeout=10)
    assert pids_running(unique_sleep), "the gate outlived its SIGKILLed runner"
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=["true"])
    from gastown_server.work import script_work

    [result] = script_work.run_tests(rig.ledger, rig.rig.name, p.path)
    assert result.ok
    assert _gone(unique_sleep), "the next run_tests did not end the leftover gate"
