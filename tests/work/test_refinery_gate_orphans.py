"""A gate never outlives the Refinery that started it: a SIGTERM/SIGHUP, an exception such as the
script agent's ``Terminated``, or (on the next run) a SIGKILL ends the gate's whole process group, so
the next run never shares its scratch worktree with a leftover gate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import msgspec
import pytest

from gastown_server.work import gates, refinery
from gastown_server.work import merge_requests as mrs
from gastown_server.work.done import done
from gastown_server.work.refinery import process_next

_CHILD = textwrap.dedent(
    """
    import signal, sys
    from gastown_server.beads.store import Ledger
    from gastown_server.work.merge_requests import RigRef
    from gastown_server.work.refinery import process_next
    db, repo, mode = sys.argv[1:4]

    class Terminated(BaseException):  # as runtime/script_agent.py turns SIGTERM into an exception
        pass

    def on_term(signum, frame):
        raise Terminated

    if mode == "exception":
        signal.signal(signal.SIGTERM, on_term)
    with Ledger(db) as ledger:
        try:
            print(process_next(ledger, RigRef(name="gastown", prefix="gs", repo=repo)).result)
        except Terminated:
            print("terminated")
    """
)


def _members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            out.append(int(entry))
    return out


def _wait_for(predicate, timeout=20.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def gate_pids():
    """Kill whatever gate group a failing test left behind (never leak a sleeping gate)."""
    pgids: list[int] = []
    yield pgids
    for pgid in pgids:
        for kill in (os.killpg, os.kill):  # a group leader's id, or a lone background child's
            try:
                kill(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _setup(rig, tmp_path, *, once: bool):
    gate_pid = tmp_path / "gate.pid"
    marker = tmp_path / "first-run-only"
    marker.write_text("1")
    guard = f"[ -f {marker} ] || exit 0; rm {marker}; " if once else ""
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=[f"{guard}echo $$ > {gate_pid}; sleep 60"])
    p = rig.polecat("toast")
    p.commit("x.txt", "x\n", "toast: work")
    r = done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    return p, r, gate_pid


def _start_refinery(rig, mode):
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(rig.ledger.path), str(rig.repo), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _gate_started(gate_pid: Path, gate_pids: list[int]) -> int:
    _wait_for(lambda: gate_pid.exists() and gate_pid.read_text().strip(), what="the gate to start")
    pgid = int(gate_pid.read_text())
    gate_pids.append(pgid)
    assert _members(pgid), "the gate is running"
    return pgid


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_refinery_ends_its_gate(rig, tmp_path, gate_pids, sig):
    p, r, gate_pid = _setup(rig, tmp_path, once=True)
    proc = _start_refinery(rig, "plain")
    pgid = _gate_started(gate_pid, gate_pids)
    os.killpg(proc.pid, sig)  # what stopping the refinery's tmux session does to its process group
    proc.communicate(timeout=20)
    assert proc.returncode == -sig  # it still dies of the signal, as before
    assert _members(pgid) == []  # ...but its gate went with it
    assert not (rig.git.common_dir() / refinery.GATE_RECORD).exists()
    assert mrs.get(rig.ledger, r.mr.id).status == "in_progress"
    assert process_next(rig.ledger, rig.rig).result == "requeued"
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert rig.main_subjects() == ["toast: work", "initial"]


def test_an_exception_in_the_refinery_ends_its_gate(rig, tmp_path, gate_pids):
    p, r, gate_pid = _setup(rig, tmp_path, once=True)
    proc = _start_refinery(rig, "exception")
    pgid = _gate_started(gate_pid, gate_pids)
    os.kill(proc.pid, signal.SIGTERM)  # the handler raises a BaseException out of the running gate
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, out.strip()) == (0, "terminated"), err
    assert _members(pgid) == []


def test_a_gate_left_by_a_sigkilled_refinery_is_ended_by_the_next_run(rig, tmp_path, gate_pids):
    p, r, gate_pid = _setup(rig, tmp_path, once=True)
    proc = _start_refinery(rig, "plain")
    pgid = _gate_started(gate_pid, gate_pids)
    os.kill(proc.pid, signal.SIGKILL)  # no handler, no finally: the gate is orphaned
    proc.communicate(timeout=20)
    assert proc.returncode == -9
    assert _members(pgid), "a SIGKILLed refinery cannot take its gate along"
    record = rig.git.common_dir() / refinery.GATE_RECORD
    assert msgspec.json.decode(record.read_bytes())["pgid"] == pgid

    assert process_next(rig.ledger, rig.rig).result == "requeued"
    assert _members(pgid) == []  # ended before anything reuses the scratch worktree
    assert not record.exists()
    assert process_next(rig.ledger, rig.rig).result == "merged"
    assert [m.subject for m in p.inbox("MERGED")] == ["MERGED toast"]


def test_a_stale_gate_record_never_kills_an_unrelated_process_group(rig, tmp_path, gate_pids):
    # A record whose process group is now someone else's (pid reuse): no gate token in its environment.
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    gate_pids.append(other.pid)
    record = rig.git.common_dir() / refinery.GATE_RECORD
    record.write_bytes(msgspec.json.encode({"pgid": other.pid, "token": "0123456789abcdef"}))
    assert process_next(rig.ledger, rig.rig).result == "idle"
    assert other.poll() is None and _members(other.pid) == [other.pid]
    assert not record.exists()
    other.kill()
    other.wait()


def test_a_gate_s_background_children_do_not_outlive_it(rig, tmp_path, gate_pids):
    bg_pid = tmp_path / "bg.pid"
    # The gate passes but leaves a daemon behind in the scratch worktree (its stdout closed).
    gates.save(rig.ledger, rig.rig.name, actor="overseer",
               gates=[f"sleep 60 >/dev/null 2>&1 & echo $! > {bg_pid}; true"])  # fmt: skip
    p = rig.polecat("toast")
    p.commit("x.txt", "x\n", "toast: work")
    done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address)
    assert process_next(rig.ledger, rig.rig).result == "merged"
    pid = int(bg_pid.read_text())
    gate_pids.append(pid)
    _wait_for(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3],
              timeout=5, what="the gate's background child to be gone")  # fmt: skip
