"""An MR whose merge keeps killing the Refinery (a "poison" MR) must not block its rig's queue forever:
after N interrupted attempts (rig setting, default 3) it goes back to its polecat as MERGE_FAILED."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gastown_server.errors import InvalidInput
from gastown_server.work import gates
from gastown_server.work import merge_requests as mrs
from gastown_server.work.done import done

_ONCE = textwrap.dedent(
    """
    import sys
    from gastown_server.beads.store import Ledger
    from gastown_server.work.merge_requests import RigRef
    from gastown_server.work.refinery import process_next
    with Ledger(sys.argv[1]) as ledger:
        out = process_next(ledger, RigRef(name="gastown", prefix="gs", repo=sys.argv[2]))
    print(out.result, out.mr_id)
    """
)
# The gate kills the refinery (its parent) whenever the MR carries poison.txt.
POISON_GATE = 'if [ -f poison.txt ]; then kill -9 "$PPID"; sleep 5; fi'


def _running_gates(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker`` (a leftover poison gate)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            pass
    return found


def _refinery_once(rig) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-c", _ONCE, str(rig.ledger.path), str(rig.repo)], capture_output=True, text=True, timeout=60
    )
    return proc.returncode, proc.stdout.strip()


def _submit(rig, name, filename):
    p = rig.polecat(name)
    p.commit(filename, f"{name}\n", f"{name}: work")
    issue = rig.ledger.create(f"{name}'s issue", actor="overseer", prefix="gs")
    return p, done(rig.ledger, rig.rig, worktree=p.path, polecat=p.address, issue=issue.id)


def test_poison_mr_fails_after_three_interruptions_and_the_queue_moves_on(rig, tmp_path):
    marker = f"poison-gate-{tmp_path.name}"
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=[f"{POISON_GATE} # {marker}"])
    bad, bad_done = _submit(rig, "poison", "poison.txt")
    good, good_done = _submit(rig, "good", "good.txt")
    poison_id = bad_done.mr.id

    runs = [_refinery_once(rig) for _ in range(6)]
    assert runs[:5] == [(-9, ""), (0, f"requeued {poison_id}"), (-9, ""), (0, f"requeued {poison_id}"), (-9, "")]
    assert runs[5] == (0, f"failed {poison_id}")
    assert _running_gates(marker) == []  # each run ended the gate its killed predecessor left (it sleeps 5 s)
    assert _refinery_once(rig) == (0, f"merged {good_done.mr.id}")

    mr = mrs.get(rig.ledger, poison_id)
    assert (mr.status, mr.assignee, mr.meta.attempts, mr.meta.interrupted) == ("blocked", bad.address, 3, 3)
    failed = bad.inbox("MERGE_FAILED")
    assert [m.subject for m in failed] == ["MERGE_FAILED poison"]
    assert "Failure-Type: other" in failed[0].body and "interrupted 3 times" in failed[0].body
    assert [m.subject for m in rig.witness_mail("MERGE_FAILED")] == ["MERGE_FAILED poison"]
    assert rig.ledger.get(mr.meta.issue).status == "hooked"  # GUPP: back on the polecat's hook
    assert rig.main_subjects() == ["good: work", "initial"]
    assert good.inbox("MERGED")

    # Fixed and resubmitted, the MR starts again with a clean count and merges.
    bad.git.run("rm", "-q", "poison.txt")
    bad.commit("fixed.txt", "fixed\n", "poison: fixed")
    again = done(rig.ledger, rig.rig, worktree=bad.path, polecat=bad.address, issue=mr.meta.issue)
    assert (again.mr.id, again.mr.meta.interrupted) == (poison_id, 0)
    assert _refinery_once(rig) == (0, f"merged {poison_id}")


def test_max_interruptions_is_a_rig_setting(rig):
    assert gates.load(rig.ledger, rig.rig.name).max_interruptions == gates.DEFAULT_MAX_INTERRUPTIONS == 3
    gates.save(rig.ledger, rig.rig.name, actor="overseer", gates=[POISON_GATE], max_interruptions=1)
    assert gates.load(rig.ledger, rig.rig.name).max_interruptions == 1
    for bad in (0, -2):
        with pytest.raises(InvalidInput, match="max_interruptions"):
            gates.save(rig.ledger, rig.rig.name, actor="overseer", max_interruptions=bad)
    assert gates.load(rig.ledger, rig.rig.name).max_interruptions == 1  # a refused change changes nothing

    _, r = _submit(rig, "poison", "poison.txt")
    assert _refinery_once(rig) == (-9, "")
    assert _refinery_once(rig) == (0, f"failed {r.mr.id}")
    assert mrs.get(rig.ledger, r.mr.id).meta.interrupted == 1

    rig.ledger.config_set("rig.gastown.max_interruptions", "lots", actor="overseer")  # edited by hand
    with pytest.raises(InvalidInput, match="rig.gastown.max_interruptions"):
        gates.load(rig.ledger, rig.rig.name)
