"""The patrols' backoff step: exponential while idle; the Refinery goes again at once while MRs wait,
and its sleep ends when one is queued."""

from __future__ import annotations

import os
import subprocess
import time

from test_witness import RIG, setup_rig
from town_helpers import GT

from gastown_server.patrol import backoff
from gastown_server.work.git import Git


def _branch_with_work(rig, name: str) -> str:
    """A polecat-style worktree of the canonical clone with one commit (what `gt done` submits)."""
    path = os.path.join(os.path.dirname(str(rig.repo)), "polecats", name)
    Git(rig.repo).run("worktree", "add", "-q", "-b", f"polecat/{name}/work", path, "main")
    wt = Git(path, actor=f"{RIG}/polecats/{name}")
    with open(os.path.join(path, f"{name}.txt"), "w") as f:
        f.write("work\n")
    wt.run("add", "-A")
    wt.run("-c", "user.email=p@example.com", "-c", "user.name=p", "commit", "-q", "-m", f"{name}'s work")
    return path


def test_idle_refinery_backs_off_and_wakes_when_a_merge_request_is_queued(town, src_repo):
    rig = setup_rig(town, src_repo, interval_s=0.5, max_backoff_s=30.0)
    delays = [backoff.compute(town, "refinery", RIG).delay_s for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0]
    decision = backoff.compute(town, "refinery", RIG)
    assert decision.delay_s == 16.0 and not decision.acted

    worktree = _branch_with_work(rig, "toast")
    env = {**os.environ, "BD_ACTOR": f"{RIG}/polecats/toast"}
    submit = subprocess.Popen(["sh", "-c", 'sleep 1 && exec "$@"', "sh", *GT, "done", "--rig", RIG],
                              cwd=worktree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    started = time.monotonic()
    woke = backoff.wait(town, decision)
    waited = time.monotonic() - started
    out, err = submit.communicate(timeout=60)
    assert submit.returncode == 0, err
    assert woke == "a merge request is queued" and waited < 10, (woke, waited)

    # An MR waiting: the next cycle starts at once, and that counts as acting (the backoff resets).
    busy = backoff.compute(town, "refinery", RIG)
    assert (busy.delay_s, busy.acted, busy.idle_cycles) == (0.0, True, 0)


def test_other_patrols_sleep_their_whole_delay(town, src_repo):
    setup_rig(town, src_repo, interval_s=0.3, max_backoff_s=30.0)
    decision = backoff.compute(town, "witness", RIG)
    assert decision.delay_s == 0.3
    started = time.monotonic()
    assert backoff.wait(town, decision) == ""
    assert time.monotonic() - started >= 0.3
    woken = backoff.wait(town, backoff.Backoff(role="witness", rig=RIG, delay_s=5.0, idle_cycles=1, acted=False),
                         pause=lambda s: True)  # fmt: skip
    assert woken == "input"
