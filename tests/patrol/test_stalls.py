"""Work that cannot progress: the stall ladder (nudge, restart, escalate to the Mayor and the Overseer).

Real tmux (throwaway socket), real ledger, script-runtime polecats whose hooked
work fails (idle at the prompt) or hangs (busy, no progress).  Patrol loops are
off: the test drives the Witness's ``stalls`` step.  The live-town version (a
gate that can never pass, no human) is in tests/lifecycle/test_stalls_live.py.
"""

import json
import time

from test_witness import RIG, polecat_with_hook, setup_rig
from town_helpers import GT, transcript, wait_for

from gastown_server.patrol import stalls
from gastown_server.town.lifecycle import sessions_of
from gastown_server.work import escalation, mail


def _climb(town, until, rounds=12, pause=0.6):
    seen = []
    for _ in range(rounds):
        seen += stalls.check(town, RIG).actions
        if until(seen):
            return seen
        time.sleep(pause)
    raise AssertionError(seen)


def test_idle_polecat_with_failing_work_is_nudged_restarted_then_escalated_once(town, src_repo):
    assert town.config.sandbox.enabled  # the polecat runs in bwrap: idleness is seen through it (patrol/panes.py)
    setup_rig(town, src_repo, idle_after_s=0.5, stall_grace_s=0.5, stall_after_s=3600)
    bead = town.ledger.create("Gate that never passes", actor="overseer", metadata=json.dumps({"run": "false"}))
    ident = polecat_with_hook(town, "nux", bead.id)
    wait_for(lambda: "failed" in transcript(town.root, ident.session), what="the polecat's command to fail")
    first = sessions_of(town, ident)[0].session_id
    seen = _climb(town, lambda s: any("escalated to the mayor and the overseer" in a for a in s))
    nudged = next(i for i, a in enumerate(seen) if a.startswith(f"nudged {ident.address}"))
    restarted = next(i for i, a in enumerate(seen) if a.startswith(f"restarted {ident.address}"))
    escalated = next(i for i, a in enumerate(seen) if "escalated to the mayor" in a)
    assert nudged < restarted < escalated, seen
    assert "idle at its prompt" in seen[nudged] and bead.id in seen[nudged]
    assert sessions_of(town, ident)[0].session_id != first  # really restarted
    esc = escalation.list_escalations(town.ledger)
    assert len(esc) == 1 and esc[0].holder == "mayor" and esc[0].severity == "high"
    assert ident.address in esc[0].title and "idle at its prompt" in esc[0].description
    assert "Tried: nudged at" in esc[0].description and "restarted at" in esc[0].description
    for who in ("mayor", "overseer"):
        got = [m for m in mail.inbox(town.ledger, who) if m.subject.startswith("ESCALATION")]
        assert len(got) == 1 and esc[0].id in got[0].subject, (who, [m.subject for m in got])
    # Escalated once: further cycles file nothing new; the work is still on the hook.
    for _ in range(3):
        time.sleep(0.6)
        assert not any("escalated" in a for a in stalls.check(town, RIG).actions)
    assert len(escalation.list_escalations(town.ledger)) == 1
    assert town.ledger.get(bead.id).status == "hooked"


def test_busy_polecat_without_progress_climbs_the_ladder_an_active_one_does_not(town, src_repo):
    setup_rig(town, src_repo, idle_after_s=0.5, stall_grace_s=60, stall_after_s=1.5)
    busy = town.ledger.create("Hangs", actor="overseer", metadata=json.dumps({"run": "sleep 300"}))
    ident = polecat_with_hook(town, "slit", busy.id)
    wait_for(lambda: "$ sleep 300" in transcript(town.root, ident.session), what="the polecat runs its hook")
    time.sleep(0.8)
    # Quiet but running a command (a child process): not idle; the stall clock starts now.
    assert stalls.check(town, RIG).actions == []
    time.sleep(1.8)
    actions = stalls.check(town, RIG).actions
    assert len(actions) == 1 and actions[0].startswith(f"nudged {ident.address}") and "no progress for" in actions[0]
    # Progress (the bead moves) resets the ladder.
    town.ledger.update(busy.id, actor="overseer", status="in_progress")
    town.ledger.update(busy.id, actor="overseer", status="hooked")  # (same status: fingerprint unchanged)
    assert stalls.check(town, RIG).actions == []  # within the grace: nothing more
    town.ledger.update(busy.id, actor="overseer", status="in_progress")
    assert stalls.check(town, RIG).actions == []  # not hooked any more: off the ladder


def test_settings_from_env_and_bad_values(town, src_repo, monkeypatch):
    import subprocess

    from gastown_server.patrol.settings import patrol_settings

    setup_rig(town, src_repo)
    s = patrol_settings(town)
    assert (s.stall_after_s, s.idle_after_s, s.stall_grace_s, s.max_gate_failures) == (1800.0, 300.0, 120.0, 3)
    monkeypatch.setenv("GT_PATROL_MAX_GATE_FAILURES", "5")
    monkeypatch.setenv("GT_PATROL_STALL_AFTER", "60")
    s = patrol_settings(town)
    assert s.max_gate_failures == 5 and s.stall_after_s == 60.0
    monkeypatch.setenv("GT_PATROL_MAX_GATE_FAILURES", "2.5")
    proc = subprocess.run([*GT, "patrol", "witness", "stalls", "--rig", RIG], cwd=town.root, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "GT_PATROL_MAX_GATE_FAILURES='2.5' must be a whole number >= 1" in proc.stderr
