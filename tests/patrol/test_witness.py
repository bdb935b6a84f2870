"""The Witness patrol on a real town: stuck and dead polecats, cleanup after MERGED, gt polecat nuke.

Real tmux (throwaway socket), real git, real ledger, script runtime.  The
patrol loops are off here (``patrol.enabled = false``) so each step is
driven by the test; tests/patrol/test_patrol_loop.py runs them by themselves.
"""

import json
import os
import signal
import subprocess
import time

from town_helpers import GT, transcript, wait_for

from gastown_server.patrol import witness
from gastown_server.patrol.heartbeat import BeatState, beat
from gastown_server.runtime.snapshot import sessions_snapshot
from gastown_server.town import config as town_config
from gastown_server.town import rigs
from gastown_server.town.lifecycle import sessions_of, start_agent
from gastown_server.work import hooks, mail
from gastown_server.work.git import Git

RIG = "gastown"


def setup_rig(town, src_repo, **patrol):
    cfg = town_config.load(town.root)
    cfg.patrol.enabled = False
    for key, value in patrol.items():
        setattr(cfg.patrol, key, value)
    town_config.save(town.root, cfg)
    town.reload_config()
    rig = rigs.add(town, RIG, str(src_repo))
    town.forget_rigs()
    from gastown_server.work import gates

    gates.save(town.ledger, RIG, actor="overseer", push_remote="")  # src_repo is not bare: merges stay local
    return rig


def session(town, name):
    return next((s for s in (sessions_snapshot(town.socket) or []) if s.name == name), None)


def polecat_with_hook(town, name, bead_id):
    address = f"{RIG}/polecats/{name}"
    hooks.hook(town.ledger, bead_id, address, actor="overseer")
    start_agent(town, address, actor="overseer")
    return town.identity(address)


def test_stuck_polecat_is_nudged_then_restarted(town, src_repo):
    setup_rig(town, src_repo, stuck_after_s=1.5, nudge_grace_s=1.0)
    bead = town.ledger.create("Hang forever", actor="overseer", metadata=json.dumps({"run": "sleep 300"}))
    ident = polecat_with_hook(town, "nux", bead.id)
    wait_for(lambda: "$ sleep 300" in transcript(town.root, ident.session), what="polecat runs its hook")
    first = sessions_of(town, ident)[0].session_id

    # active at first: working; quiet past stuck_after: stuck
    assert witness.sweep(town, RIG, stuck_after_s=60).polecats[0].verdict == "working"
    time.sleep(1.7)
    rep = witness.sweep(town, RIG, stuck_after_s=1.5)
    assert [(p.name, p.verdict) for p in rep.polecats] == [("nux", "stuck")] and rep.polecats[0].hook == [bead.id]

    nudged = witness.nudge_stuck(town, RIG)
    assert nudged.acted and nudged.actions[0].startswith(f"nudged {ident.address}")
    wait_for(lambda: "GUPP check" in transcript(town.root, ident.session), what="nudge typed into the pane")
    # within the grace period nothing more happens
    assert "waiting" in witness.nudge_stuck(town, RIG).actions[0]
    assert sessions_of(town, ident)[0].session_id == first

    time.sleep(1.1)
    restarted = witness.nudge_stuck(town, RIG)
    assert restarted.actions[0].startswith(f"restarted stuck {ident.address}")
    records = sessions_of(town, ident)
    assert records[0].session_id != first and records[0].mode == "witness-restart"
    # the new session takes the same hook (GUPP) and runs it again
    wait_for(lambda: transcript(town.root, ident.session).count("$ sleep 300") >= 2, what="new session runs the hook")
    assert hooks.hooked_work(town.ledger, ident.address)[0].id == bead.id
    st = json.loads((town.root / ".gastown" / "patrol" / f"{RIG}-witness.json").read_text())
    assert st["restarts"] == {ident.address: 1} and ident.address not in st.get("nudges", {})


def test_killed_polecat_is_recycled_and_the_molecule_completes(town, src_repo, tmp_path):
    """NDI: kill -9 the agent mid-step; the Witness restarts it and the new session resumes the molecule."""
    from gastown_server.formulas import molecule
    from gastown_server.formulas.service import cook_named

    setup_rig(town, src_repo)
    # In the polecat's own worktree: its sandbox lets it write nowhere else (docs/security.md).
    marks = town.root / RIG / "polecats" / "slit" / ".gt-test-marks"
    formula = tmp_path / "ndi-work.formula.toml"
    formula.write_text(f'''
formula = "ndi-work"
version = 1
[[steps]]
id = "first"
run = "mkdir -p {marks} && echo first >> {marks}/log"
[[steps]]
id = "slow"
needs = ["first"]
run = "test -e {marks}/released || {{ touch {marks}/started; sleep 30; }}; echo slow >> {marks}/log"
[[steps]]
id = "last"
needs = ["slow"]
run = "echo last >> {marks}/log"
''')
    address = f"{RIG}/polecats/slit"
    root = molecule.pour(town.ledger, cook_named(str(formula), {}), actor="overseer", assignee=address)
    ident = polecat_with_hook(town, "slit", root.id)
    wait_for(lambda: (marks / "started").exists(), timeout=20, what="polecat reaches the slow step")
    info = session(town, ident.session)
    os.kill(info.pane_pid, signal.SIGKILL)
    wait_for(lambda: not getattr(session(town, ident.session), "alive", False), what="agent dead")

    rep = witness.sweep(town, RIG, stuck_after_s=600)
    assert [(p.name, p.verdict) for p in rep.polecats] == [("slit", "dead")]
    (marks / "released").touch()  # the re-run of the slow step finishes at once
    recycled = witness.recycle_dead(town, RIG)
    assert recycled.acted and recycled.actions[0].startswith(f"recycled {address}")
    assert sessions_of(town, ident)[0].mode == "witness-recycle"
    wait_for(lambda: molecule.progress(town.ledger, root.id).complete, timeout=20, what="the molecule completes")
    # the closed first step was not run again; the interrupted one ran once to its end
    assert (marks / "log").read_text().split() == ["first", "slow", "last"]
    assert witness.recycle_dead(town, RIG).actions == []


def polecat_done(town, gt, name, *, commit=True):
    """A polecat with an issue on its hook, a commit in its worktree, and `gt done` run as it."""
    address = f"{RIG}/polecats/{name}"
    issue = town.ledger.create(f"Work for {name}", actor="overseer")
    ident = polecat_with_hook(town, name, issue.id)
    wt = Git(ident.cwd, actor=address)
    if commit:
        (os.path.join(ident.cwd, f"{name}.txt") and open(os.path.join(ident.cwd, f"{name}.txt"), "w")).write("work\n")
        wt.run("add", "-A")
        wt.run("-c", "user.email=p@example.com", "-c", "user.name=p", "commit", "-q", "-m", f"{name}'s work")
    gt("done", "--rig", RIG, cwd=ident.cwd, env={"BD_ACTOR": address})
    return ident, issue.id, wt.current_branch()


def test_after_merged_worktree_and_session_go_branch_and_identity_stay(town, gt, src_repo):
    rig = setup_rig(town, src_repo)
    ident, issue, branch = polecat_done(town, gt, "toast")
    assert branch == f"polecat/toast/{issue}"
    assert witness.sweep(town, RIG, stuck_after_s=600).polecats[0].verdict == "waiting"
    # cleanup refuses nothing it should keep: the MR is still pending
    assert witness.cleanup(town, RIG).actions == []
    gt("refinery", "process-next", "--rig", RIG)
    assert [m.subject for m in mail.unread(town.ledger, f"{RIG}/witness")] == ["POLECAT_DONE toast", "MERGED toast"]

    out = subprocess.run([*GT, "patrol", "witness", "inbox", "--rig", RIG], cwd=town.root, capture_output=True,
                         text=True, env={**os.environ, "BD_ACTOR": f"{RIG}/witness"}, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "MERGE_READY sent" in out.stdout and "cleaned up gastown/polecats/toast" in out.stdout
    assert mail.unread(town.ledger, f"{RIG}/witness") == []
    assert [m.subject for m in mail.unread(town.ledger, f"{RIG}/refinery")] == ["MERGE_READY toast"]

    assert not os.path.exists(ident.cwd)
    assert session(town, ident.session) is None
    assert Git(rig.repo).branch_sha(branch) is not None  # the branch stays
    agent = town.ledger.get(ident.bead_id)  # so does the identity, no longer "running"
    assert agent.agent_state == "idle" and agent.hook_bead == ""
    assert len(sessions_of(town, ident)) == 1  # history kept

    report = beat(town, BeatState())  # the daemon does not bring it back
    assert ident.address not in report.revived and session(town, ident.session) is None
    from gastown_server.town import polecats

    assert polecats.busy_reason(town, town.rig(RIG), "toast") == ""  # the name is free again
    assert witness.cleanup(town, RIG).actions == []  # nothing left to do


def test_polecat_nuke_refuses_unmerged_work_and_force_keeps_the_branch(town, gt, src_repo):
    rig = setup_rig(town, src_repo)
    address = f"{RIG}/polecats/rictus"
    issue = town.ledger.create("Unmerged", actor="overseer")
    ident = polecat_with_hook(town, "rictus", issue.id)
    wt = Git(ident.cwd, actor=address)
    with open(os.path.join(ident.cwd, "new.txt"), "w") as f:
        f.write("unmerged\n")
    wt.run("add", "-A")
    wt.run("-c", "user.email=p@example.com", "-c", "user.name=p", "commit", "-q", "-m", "unmerged work")
    branch = wt.current_branch()

    proc = gt("polecat", "nuke", "rictus", "--rig", RIG, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("gt: error: refusing to nuke gastown/polecats/rictus") and "not in main" in proc.stderr
    assert os.path.isdir(ident.cwd) and session(town, ident.session) is not None  # nothing changed

    assert f"{issue.id} is hooked on it" in proc.stderr

    out = gt("polecat", "nuke", "rictus", "--rig", RIG, "--force").stdout
    assert "removed" in out and f"branch {branch} kept" in out and f"back to open: {issue.id}" in out
    assert not os.path.exists(ident.cwd) and session(town, ident.session) is None
    assert Git(rig.repo).branch_sha(branch) is not None
    agent = town.ledger.get(ident.bead_id)
    assert (agent.agent_state, agent.hook_bead) == ("idle", "")
    work = town.ledger.get(issue.id)
    assert (work.status, work.assignee) == ("open", "")  # free to sling again
    # the next patrol and heartbeat do not bring the nuked polecat back
    assert "rictus" not in " ".join(witness.recycle_dead(town, RIG).actions)
    assert "gastown/polecats/rictus" not in beat(town, BeatState()).revived
    assert not os.path.exists(ident.cwd) and session(town, ident.session) is None
    proc = gt("polecat", "nuke", "nobody!", "--rig", RIG, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "bad polecat name" in proc.stderr


def test_a_revive_decided_before_a_stop_does_not_bring_the_agent_back(town, src_repo):
    """The daemon read "running", then someone stopped the agent before the daemon got the
    session lock: the revive must see the bead's new state and leave it down."""
    from gastown_server.town.lifecycle import REVIVE, stop_agent

    setup_rig(town, src_repo)
    issue = town.ledger.create("Some work", actor="overseer")
    ident = polecat_with_hook(town, "slit", issue.id)
    stop_agent(town, ident, actor="overseer", grace_s=1.0, agent_state="idle")
    res = start_agent(town, ident, actor="daemon", mode=REVIVE)
    assert res.status == "stopped" and session(town, ident.session) is None
    # an agent whose bead says running is revived as before
    town.ledger.update(ident.bead_id, actor="overseer", agent_state="running")
    assert start_agent(town, ident, actor="daemon", mode=REVIVE).status == "started"
    assert session(town, ident.session) is not None


def test_stop_marks_the_bead_before_the_session_ends(town, src_repo):
    """Sampled while a stop runs: never a dead session whose bead still says running
    (the state the daemon revives)."""
    import threading

    from gastown_server.beads.store import Ledger
    from gastown_server.paths import ledger_path
    from gastown_server.town.lifecycle import stop_agent

    setup_rig(town, src_repo)
    ident = polecat_with_hook(town, "dag", town.ledger.create("Work", actor="overseer").id)
    wait_for(lambda: session(town, ident.session) is not None, what="session up")
    seen = []
    done = threading.Event()

    def sample():
        with Ledger(ledger_path(town.root)) as reader:
            while not done.is_set():
                alive = session(town, ident.session) is not None
                state = reader.get(ident.bead_id).agent_state
                seen.append((alive, state))

    t = threading.Thread(target=sample)
    t.start()
    try:
        stop_agent(town, ident, actor="overseer", grace_s=2.0, agent_state="idle")
    finally:
        done.set()
        t.join()
    assert seen and (False, "running") not in seen, seen[-5:]
    assert seen[-1][1] == "idle"


def test_a_message_that_fails_does_not_hold_up_the_ones_behind_it(town, src_repo):
    """The polecat runtime is broken: MERGE_FAILED (which must start the polecat) fails and
    stays unread for the next cycle, while POLECAT_DONE behind it is still handled."""
    setup_rig(town, src_repo)
    cfg = town_config.load(town.root)
    cfg.role_agents["polecat"] = "missing-runtime"
    town_config.save(town.root, cfg)
    town.reload_config()
    failed = mail.send(town.ledger, f"{RIG}/witness", "MERGE_FAILED nux", "MR: x-1\nFailure-Type: tests",
                       actor=f"{RIG}/refinery").id  # fmt: skip
    mail.send(town.ledger, f"{RIG}/witness", "POLECAT_DONE toast", "Exit: MERGED\nMR: x-2\nBranch: b",
              actor=f"{RIG}/polecats/toast")  # fmt: skip
    for _cycle in range(2):
        rep = witness.inbox(town, RIG)
        assert any(a.startswith(f"{failed} MERGE_FAILED nux: failed, left unread") for a in rep.actions), rep.actions
    assert [m.subject for m in mail.unread(town.ledger, f"{RIG}/witness")] == ["MERGE_FAILED nux"]
    assert [m.subject for m in mail.unread(town.ledger, f"{RIG}/refinery")] == ["MERGE_READY toast"]


def test_a_failing_restart_still_counts_toward_escalation(town, src_repo):
    setup_rig(town, src_repo, stuck_after_s=0.5, nudge_grace_s=0.0)
    bead = town.ledger.create("Hang forever", actor="overseer", metadata=json.dumps({"run": "sleep 300"}))
    ident = polecat_with_hook(town, "nux", bead.id)
    wait_for(lambda: "$ sleep 300" in transcript(town.root, ident.session), what="polecat runs its hook")
    cfg = town_config.load(town.root)
    cfg.role_agents["polecat"] = "missing-runtime"  # every restart now fails
    town_config.save(town.root, cfg)
    town.reload_config()
    time.sleep(0.6)
    assert witness.nudge_stuck(town, RIG).actions[0].startswith(f"nudged {ident.address}")
    seen = []
    for _ in range(2 * (witness.ESCALATE_AFTER + 1)):  # each round: a nudge, then a (failing) restart
        time.sleep(0.6)  # quiet again after the nudge's echo
        seen += witness.nudge_stuck(town, RIG).actions
    assert any("missing-runtime" in a for a in seen), seen
    assert any(a.startswith(f"escalated {ident.address}") for a in seen), seen


def test_a_bounce_the_refinery_already_nudged_for_gets_no_second_nudge(town, src_repo):
    """The Refinery queues the back-to-work nudge itself (no tmux: the daemon delivers it); the
    Witness's inbox then delivers that queued one, or, once delivered, sends none: one nudge a bounce."""
    from gastown_server.runtime import nudge

    setup_rig(town, src_repo)
    bead = town.ledger.create("Bounced work", actor="overseer")
    ident = polecat_with_hook(town, "nux", bead.id)
    wait_for(lambda: "nux" in transcript(town.root, ident.session), what="polecat up")
    text = witness.BACK_TO_WORK.format(why="REWORK_REQUEST")
    nudge.enqueue(town.state_dir, ident.session, text, sender=f"{RIG}/refinery")
    assert nudge.sent_since(town.state_dir, ident.session, text, "2000-01-01T00:00:00Z") == "queued"
    mail.send(town.ledger, f"{RIG}/witness", "REWORK_REQUEST nux", "MR: x", actor=f"{RIG}/refinery")
    actions = witness.inbox(town, RIG).actions
    assert len(actions) == 1 and "the refinery's queued nudge: delivered" in actions[0], actions
    # The next bounce: the daemon delivers the refinery's nudge before the Witness reads the mail.
    time.sleep(1.1)
    nudge.enqueue(town.state_dir, ident.session, text, sender=f"{RIG}/refinery")
    mail.send(town.ledger, f"{RIG}/witness", "REWORK_REQUEST nux", "MR: x", actor=f"{RIG}/refinery")
    assert [r.status for r in nudge.flush_queue(town.tmux, town.state_dir, ident.session)] == ["delivered"]
    actions = witness.inbox(town, RIG).actions
    assert "already nudged by the refinery" in actions[0], actions
    # A bounce the refinery did not nudge for (another runtime, an older refinery): the Witness nudges.
    time.sleep(1.1)
    mail.send(town.ledger, f"{RIG}/witness", "MERGE_FAILED nux", "MR: x", actor=f"{RIG}/refinery")
    assert "nudged gastown/polecats/nux (delivered)" in witness.inbox(town, RIG).actions[0]
    delivered = [r for r in nudge.read_log(town.state_dir) if r.session == ident.session and r.status == "delivered"]
    assert [r.message for r in delivered] == [text, text, witness.BACK_TO_WORK.format(why="MERGE_FAILED")]
    assert nudge.pending_nudges(town.state_dir, ident.session) == []
    # A session the Witness has to start works its hook by itself: a queued copy is dropped.
    nudge.enqueue(town.state_dir, "ga-gone", text, sender=f"{RIG}/refinery")
    assert nudge.drop_queued(town.state_dir, "ga-gone", text) == 1
    assert nudge.pending_nudges(town.state_dir, "ga-gone") == []
