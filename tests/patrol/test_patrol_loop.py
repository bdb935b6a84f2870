"""Patrols that run by themselves: after `gt up`, nobody calls process-next or cleanup."""

import json
import signal
import subprocess
import sys
import os
import time
from pathlib import Path

from town_helpers import transcript, wait_for
from test_witness import RIG, polecat_done, session

from gastown_server.patrol import state
from gastown_server.town import config as town_config
from gastown_server.town import rigs
from gastown_server.work import merge_requests as mrs
from gastown_server.work.git import Git


def live_town(town, gt, src_repo):
    cfg = town_config.load(town.root)
    cfg.patrol.interval_s, cfg.patrol.max_backoff_s = 0.5, 1.0
    cfg.daemon.heartbeat_s = 1.0
    town_config.save(town.root, cfg)
    town.reload_config()
    rig = rigs.add(town, RIG, str(src_repo))
    town.forget_rigs()
    from gastown_server.work import gates

    gates.save(town.ledger, RIG, actor="overseer", push_remote="")
    gt("up")
    return rig


def patrol_wisps(town):
    return town.ledger.conn.execute(
        "SELECT COUNT(*) FROM issues WHERE issue_type = 'molecule' AND wisp_type = 'patrol'"
    ).fetchone()[0]


def test_live_town_merges_and_cleans_up_with_nobody_driving(town, gt, src_repo):
    rig = live_town(town, gt, src_repo)
    for s in ("hq-deacon", "ga-witness", "ga-refinery"):
        wait_for(lambda s=s: "patrol: mol-" in transcript(town.root, s), timeout=20, what=f"{s} patrols")
    ident, issue, branch = polecat_done(town, gt, "furiosa")
    mr = mrs.for_branch(town.ledger, RIG, branch)[-1]

    # The Refinery's patrol merges it; the Witness's patrol cleans the polecat up.
    wait_for(lambda: mrs.get(town.ledger, mr.id).merged, timeout=30, what="the refinery patrol merges the MR")
    assert town.ledger.get(issue).status == "closed"
    assert Git(rig.repo).out("log", "-1", "--format=%s", "main") == "furiosa's work"
    wait_for(lambda: not os.path.exists(ident.cwd) and session(town, ident.session) is None
             and town.ledger.get(ident.bead_id).agent_state == "idle", timeout=30,
             what="the witness patrol removes the merged polecat")  # fmt: skip
    assert Git(rig.repo).branch_sha(branch) is not None
    time.sleep(2.5)  # a few daemon beats later it is still gone
    assert session(town, ident.session) is None

    # Idle cycles are burned, acting ones squashed: the ledger does not grow per cycle.
    digests = town.ledger.conn.execute(
        "SELECT COUNT(*) FROM labels WHERE label = 'digest'"
    ).fetchone()[0]
    assert 1 <= patrol_wisps(town) + digests
    wait_for(lambda: patrol_wisps(town) <= 3, timeout=10, what="at most one open wisp per patrol")
    before = town.ledger.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0]
    beats_before = state.load(town.root, state.state_key("witness", RIG)).last_cycle_at
    wait_for(lambda: state.load(town.root, state.state_key("witness", RIG)).last_cycle_at > beats_before + 2,
             timeout=15, what="more witness cycles")  # fmt: skip
    after = town.ledger.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0]
    assert after - before <= 3  # only the open wisps come and go


def test_a_nudge_wakes_the_patrol_and_quit_ends_it(town, gt, src_repo):
    live_town(town, gt, src_repo)
    wait_for(lambda: "patrol: mol-refinery-patrol" in transcript(town.root, "ga-refinery"), timeout=20,
             what="refinery patrols")  # fmt: skip
    gt("nudge", "gastown/refinery", "status", "--idle", "0")
    wait_for(lambda: "[gastown/refinery] got: status" in transcript(town.root, "ga-refinery"), what="nudge handled")
    st = json.loads(gt("patrol", "status", "--json").stdout)
    assert {"deacon", f"{RIG}-witness", f"{RIG}-refinery"} <= set(st) and st["deacon"]["heartbeat_at"] > 0
    assert "alive" in gt("boot", "observe").stdout
    assert gt("boot", "triage", "--stale-after", "600").stdout.strip() == "boot: leave"
    gt("down")
    assert session(town, "ga-refinery") is None


def test_sigterm_stops_a_patrolling_agent_even_mid_step(town, src_repo):
    """The patrol runs ``gt`` steps in its own process and catches their SystemExit (argparse's
    exits): a SIGTERM that lands inside such a step must still stop the agent.

    The town's own Deacon patrol (it overrides the built-in by name) waits in
    ``gt refinery process-next`` for the rig's merge lock, which this test
    holds, so the signal arrives inside that in-process step.
    """
    import fcntl

    rig = rigs.add(town, RIG, str(src_repo))
    (town.root / "formulas" / "mol-deacon-patrol.formula.toml").write_text(
        'formula = "mol-deacon-patrol"\nversion = 1\ntype = "workflow"\n[vars.backoff_max]\ndefault = "1"\n'
        f'[[steps]]\nid = "wait"\ntitle = "merge"\nrun = "gt refinery process-next --rig {RIG}"\n'
    )
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "GT_TOWN": str(town.root),
        "GT_ROLE": "deacon", "GT_ROLE_KIND": "deacon", "BD_ACTOR": "deacon",
        "GT_PATROL_INTERVAL": "0", "GT_PATROL_MAX_BACKOFF": "0",
    }  # fmt: skip
    log = town.root / "deacon.out"
    lock = os.open(Path(rig.repo) / ".git" / "gastown-refinery.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
    # stdin stays open (a pane's tty never reaches EOF; EOF would end the agent by itself)
    with open(log, "w") as out_file:
        proc = subprocess.Popen([sys.executable, "-m", "gastown_server.runtime.script_agent"], env=env,
                                stdin=subprocess.PIPE, stdout=out_file, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        time.sleep(3.0)  # primed, wisp poured, waiting for the lock inside the step
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the agent ignored SIGTERM:\n{log.read_text()[-2000:]}") from None
    finally:
        os.close(lock)
        proc.stdin.close()
    out = log.read_text()
    assert proc.returncode == 0, out[-2000:]
    assert "patrol: mol-deacon-patrol" in out and "stopping (SIGTERM)" in out
