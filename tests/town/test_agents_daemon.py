"""Agent verbs (prime, hook, nudge, peek, handoff, seance) and the daemon, on real tmux."""

import json
import subprocess
import time

import pytest
from town_helpers import stop_daemon, transcript, wait_for

from gastown_server.errors import Conflict
from gastown_server.patrol import boot, daemon
from gastown_server.patrol.heartbeat import BeatState, beat
from gastown_server.town import config as town_config
from gastown_server.town import rigs
from gastown_server.town.lifecycle import sessions_of, start_agent
from gastown_server.work import hooks, mail


def tmux_sessions(socket):
    proc = subprocess.run(["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"], capture_output=True, text=True)
    return sorted(proc.stdout.split()) if proc.returncode == 0 else []


def hooked_bead(town, address, title="Fix the flux capacitor"):
    bead = town.ledger.create(title, actor="overseer")
    hooks.hook(town.ledger, bead.id, address, actor="overseer")
    return bead.id


def test_prime_and_hook(gt, town):
    bead = hooked_bead(town, "mayor")
    mail.send(town.ledger, "mayor", "Welcome", "read me", actor="overseer")
    data = json.loads(gt("prime", "--json", env={"BD_ACTOR": "mayor"}).stdout)
    assert data["identity"]["address"] == "mayor" and data["role"] == "mayor"
    assert "Mayor" in data["instructions"]
    assert [h["id"] for h in data["hook"]] == [bead]
    assert [m["subject"] for m in data["mail"]] == ["Welcome"]
    text = gt("prime", "--actor", "mayor").stdout
    assert f"- {bead} [hooked] Fix the flux capacitor" in text and "GUPP" in text and "1 unread" in text
    assert town.ledger.get("hq-mayor").hook_bead == bead
    assert json.loads(gt("hook", "--json", "mayor").stdout)["hook"][0]["id"] == bead
    assert "hook is empty" in gt("hook", "deacon").stdout
    proc = gt("prime", check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "who are you" in proc.stderr
    proc = gt("prime", "--actor", "nowhere/witness", check=False)
    assert proc.returncode == 1 and "no rig 'nowhere'" in proc.stderr


def test_nudge_peek_and_failures(gt, town, socket_name):
    start_agent(town, "mayor")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor up")
    out = gt("nudge", "mayor", "hello", "there", "--idle", "0").stdout
    assert out.startswith("delivered to mayor (hq-mayor)")
    wait_for(lambda: "[mayor] got: hello there" in transcript(town.root, "hq-mayor"), what="reaction in transcript")
    res = json.loads(gt("nudge", "hq-mayor", "status", "--json", "--idle", "0").stdout)
    assert res["status"] == "delivered" and res["session"] == "hq-mayor"
    wait_for(lambda: "[mayor] got: status" in gt("peek", "mayor", "40").stdout, what="peek shows reaction")
    # an agent that is not running: one clear line, exit 1
    proc = gt("nudge", "deacon", "wake up", check=False)
    assert proc.returncode == 1 and "hq-deacon" in proc.stderr and proc.stderr.count("\n") == 1
    proc = gt("nudge", "nobody/at/all/here", "x", check=False)
    assert proc.returncode == 1 and "bad agent address" in proc.stderr


def test_nudge_failure_exits_nonzero_and_shows_in_status(gt, town, socket_name):
    # A "runtime" whose input line never submits: it reads raw keys and ignores Enter.
    ignore_enter = (
        "import sys,tty,os; tty.setraw(0); sys.stdout.write('> '); sys.stdout.flush()\n"
        "while True:\n"
        "    c = os.read(0, 1)\n"
        "    if c not in (b'\\r', b'\\n'): os.write(1, c)\n"
    )
    town_config.set_agent(town.root, "deaf", ["python3", "-c", ignore_enter], prompt_style="none")
    town.reload_config()
    start_agent(town, "mayor", agent="deaf")
    time.sleep(0.3)
    proc = gt("nudge", "mayor", "are you there", "--idle", "0", check=False)
    assert proc.returncode == 1, proc.stdout
    assert "failed" in proc.stderr and proc.stderr.count("\n") == 1
    st = json.loads(gt("status", "--json").stdout)
    assert any(f["session"] == "hq-mayor" and f["status"] == "failed" for f in st["nudge_failures"])
    assert "nudge failed: hq-mayor" in gt("status").stdout


def test_handoff_keeps_hook_and_seance_answers(gt, town, src_repo, socket_name):
    rigs.add(town, "proj", str(src_repo), prefix="pj")
    bead = hooked_bead(town, "proj/witness", "Patrol the polecats")
    first = start_agent(town, "proj/witness")
    wait_for(lambda: "ready for input" in transcript(town.root, "pj-witness"), what="witness up")
    gt("nudge", "proj/witness", "remember the secret word: xylophone", "--idle", "0")
    wait_for(lambda: "got: remember the secret word" in transcript(town.root, "pj-witness"), what="nudge seen")
    pid_before = json.loads(gt("status", "--json").stdout)
    out = json.loads(gt("handoff", "-m", "halfway through patrol", "--json", env={"BD_ACTOR": "proj/witness",
                                                                                 "GT_SESSION_ID": first.session_id}).stdout)
    assert out["status"] == "respawned" and out["session_id"] != first.session_id
    marker = f"=== gastown session {out['session_id']} ==="
    wait_for(lambda: marker in transcript(town.root, "pj-witness"), what="fresh session")
    wait_for(lambda: transcript(town.root, "pj-witness").split(marker)[1].count("ready for input"), what="fresh ready")
    fresh = transcript(town.root, "pj-witness").split(marker)[1]
    assert f"hook: {bead} Patrol the polecats (hooked)" in fresh
    assert "HANDOFF" in fresh  # the note is in its mail
    # the hook is intact in the ledger, with the note on it
    assert [b.id for b in hooks.hooked_work(town.ledger, "proj/witness")] == [bead]
    assert any("halfway through patrol" in c.text for c in town.ledger.comments(bead))
    handoff_event = [e for e in town.ledger.events_since(0, limit=100000) if e.kind == "handoff"][-1]
    assert handoff_event.payload["old_session_id"] == first.session_id
    # same tmux session, new process
    st = json.loads(gt("status", "--json").stdout)
    w_before = next(a for a in pid_before["agents"] if a["address"] == "proj/witness")
    w_after = next(a for a in st["agents"] if a["address"] == "proj/witness")
    assert w_after["alive"] and w_after["pane_pid"] != w_before["pane_pid"]
    assert tmux_sessions(socket_name) == ["pj-witness"]

    listed = json.loads(gt("seance", "proj/witness", "--json").stdout)
    assert [r["session_id"] for r in listed] == [out["session_id"], first.session_id]
    assert listed[0]["current"] and not listed[1]["current"]
    assert listed[1]["runtime"] == "script" and listed[1]["mode"] == "start"
    answer = json.loads(gt("seance", "--talk", first.session_id[:8], "-p", "what was the secret word?", "--json").stdout)
    assert answer["source"] == "transcript" and "xylophone" in answer["answer"]
    assert "xylophone" not in json.loads(
        gt("seance", "--talk", out["session_id"], "-p", "what was the secret word?", "--json").stdout
    )["answer"]
    proc = gt("seance", "--talk", "nosuchid", "-p", "hi", check=False)
    assert proc.returncode == 1 and "no session 'nosuchid'" in proc.stderr


def test_script_agent_handoff_verb_from_inside_the_pane(gt, town, socket_name):
    bead = hooked_bead(town, "mayor")
    first = start_agent(town, "mayor")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor up")
    gt("nudge", "mayor", "handoff time for a fresh context", "--idle", "0")
    records = wait_for(lambda: (r := sessions_of(town, town.identity("mayor"))) and len(r) == 2 and r, what="2nd session")
    assert records[0].mode == "handoff" and records[1].session_id == first.session_id
    marker = f"=== gastown session {records[0].session_id} ==="
    wait_for(lambda: marker in transcript(town.root, "hq-mayor")
             and "ready for input" in transcript(town.root, "hq-mayor").split(marker)[1], what="fresh mayor")
    assert f"hook: {bead}" in transcript(town.root, "hq-mayor").split(marker)[1]


def test_daemon_restores_killed_session_with_hook(gt, town, src_repo, socket_name):
    rigs.add(town, "proj", str(src_repo), prefix="pj")
    # The daemon alone: a patrolling Witness would restart the Refinery too (tests/patrol covers that).
    cfg = town_config.load(town.root)
    cfg.patrol.enabled = False
    town_config.save(town.root, cfg)
    bead = hooked_bead(town, "proj/refinery", "Merge the queue")
    gt("up", "--no-daemon")
    st = daemon.start(town, interval_s=0.2)
    assert st.running and st.pid > 0
    with pytest.raises(Conflict, match="already running"):
        daemon.start(town)
    started_before = len(sessions_of(town, town.identity("proj/refinery")))
    subprocess.run(["tmux", "-L", socket_name, "kill-session", "-t", "pj-refinery"], check=True)
    wait_for(lambda: "pj-refinery" in tmux_sessions(socket_name), what="daemon revives pj-refinery")
    wait_for(lambda: len(sessions_of(town, town.identity("proj/refinery"))) > started_before, what="revive recorded")
    records = sessions_of(town, town.identity("proj/refinery"))
    assert len(records) == started_before + 1 and records[0].mode == "revive"
    marker = f"=== gastown session {records[0].session_id} ==="
    wait_for(lambda: marker in transcript(town.root, "pj-refinery")
             and "ready for input" in transcript(town.root, "pj-refinery").split(marker)[1], what="revived primes")
    assert f"hook: {bead} Merge the queue (hooked)" in transcript(town.root, "pj-refinery").split(marker)[1]
    assert "revived" in (town.root / ".gastown" / "daemon.log").read_text()

    # Restarting the daemon does not duplicate sessions or restart live ones.
    counts = {a: len(sessions_of(town, town.identity(a))) for a in ("mayor", "deacon", "proj/witness", "proj/refinery")}
    sessions = tmux_sessions(socket_name)
    assert json.loads(gt("daemon", "stop", "--json").stdout)["running"] is False
    st2 = json.loads(gt("daemon", "start", "--interval", "0.2", "--json").stdout)
    assert st2["running"] and st2["pid"] != st.pid
    wait_for(lambda: daemon.status(town).beats >= 3, what="beats after restart")
    assert tmux_sessions(socket_name) == sessions
    assert {a: len(sessions_of(town, town.identity(a))) for a in counts} == counts
    text = gt("daemon", "status").stdout
    assert text.startswith(f"daemon running (pid {st2['pid']}")
    gt("down", "--grace", "1")
    assert not daemon.status(town).running and tmux_sessions(socket_name) == []
    stop_daemon(town.root)


def test_respawn_spares_user_pane(town, socket_name):
    """The daemon replaces the dead agent process in its own pane; a pane the user split off survives."""
    start_agent(town, "deacon")
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-deacon"), what="deacon up")
    subprocess.run(["tmux", "-L", socket_name, "split-window", "-d", "-t", "hq-deacon", "sleep 300"], check=True)
    info = next(s for s in town.tmux.sessions() if s.name == "hq-deacon")
    subprocess.run(["kill", str(info.pane_pid)], check=True)
    wait_for(lambda: not next(s for s in town.tmux.sessions() if s.name == "hq-deacon").alive, what="agent pane dead")
    report = beat(town, BeatState())
    assert "deacon" in report.revived
    panes = subprocess.run(["tmux", "-L", socket_name, "list-panes", "-s", "-t", "hq-deacon", "-F", "#{pane_current_command}"],
                           capture_output=True, text=True).stdout.split()
    assert "sleep" in panes and len(panes) == 2
    assert next(s for s in town.tmux.sessions() if s.name == "hq-deacon").alive


def test_boot_leaves_nudges_and_restarts_the_deacon(town, socket_name):
    assert boot.run(town) == "restart"  # no deacon session at all
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-deacon"), what="deacon up")
    assert boot.run(town) == "leave"
    cfg = town_config.load(town.root)
    cfg.daemon.deacon_stale_s = 0.0
    cfg.nudge.idle_s = 0.0
    town_config.save(town.root, cfg)
    town.reload_config()
    time.sleep(1.1)
    assert boot.run(town) == "nudge:delivered"
    wait_for(lambda: "got: HEALTH_CHECK from boot" in transcript(town.root, "hq-deacon"), what="health check seen")
    assert town.ledger.get("hq-boot").last_activity


def test_beat_flushes_queued_nudges(town, socket_name):
    from gastown_server.runtime import nudge

    queued = nudge.nudge(town.tmux, "hq-mayor", "queued while you slept", state_dir=town.state_dir,
                         queue_if_missing=True)  # fmt: skip
    assert queued.status == "queued"
    cfg = town_config.load(town.root)
    cfg.nudge.idle_s = 0.0
    town_config.save(town.root, cfg)
    report = beat(town, BeatState())  # starts the mayor (always-on), then flushes
    assert "mayor" in report.revived
    wait_for(lambda: "ready for input" in transcript(town.root, "hq-mayor"), what="mayor up")
    deadline = time.monotonic() + 10
    while "got: queued while you slept" not in transcript(town.root, "hq-mayor") and time.monotonic() < deadline:
        beat(town, BeatState())
        time.sleep(0.1)
    assert "got: queued while you slept" in transcript(town.root, "hq-mayor")
    assert nudge.pending_nudges(town.state_dir, "hq-mayor") == []


def test_crew_start_stop(gt, town, src_repo, socket_name):
    rigs.add(town, "proj", str(src_repo), prefix="pj")
    gt("crew", "add", "max")
    started = json.loads(gt("crew", "start", "max", "--json").stdout)
    assert started[0]["session"] == "pj-crew-max" and started[0]["status"] == "started"
    wait_for(lambda: "ready for input" in transcript(town.root, "pj-crew-max"), what="crew up")
    rows = json.loads(gt("crew", "list", "--json").stdout)
    assert rows[0]["alive"] and rows[0]["address"] == "proj/crew/max"
    assert gt("crew", "attach", "max").stdout.split()[-1] == "pj-crew-max"
    stopped = json.loads(gt("crew", "stop", "max", "--json").stdout)
    assert stopped["was_running"] is True
    assert tmux_sessions(socket_name) == []
    assert town.ledger.get("pj-crew-max").agent_state == "stopped"
    proc = gt("crew", "start", "nobody", check=False)
    assert proc.returncode == 1 and "no crew member 'nobody'" in proc.stderr


def test_concurrent_starts_make_one_session(gt, town, src_repo, socket_name):
    """gt up, the daemon and a human may start the same agent at once: one session, one start event."""
    import os

    from town_helpers import GT

    rigs.add(town, "proj", str(src_repo), prefix="pj")
    procs = [
        subprocess.Popen([*GT, "polecat", "start", "nux", "--json"], cwd=town.root, env=dict(os.environ),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    statuses = sorted(json.loads(o[0])["status"] for o in outs)
    assert statuses == ["running", "running", "running", "started"]
    assert tmux_sessions(socket_name) == ["pj-nux"]
    assert len(sessions_of(town, town.identity("proj/polecats/nux"))) == 1


def test_daemon_stop_signals_the_lock_holder_not_a_stale_pid_file(town):
    """Review 13: a new daemon takes the lock before it writes daemon.pid; a stop in between
    read a dead predecessor's pid, which may belong to an unrelated process by then."""
    from gastown_server.town import layout

    st = daemon.start(town, interval_s=0.5)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        assert daemon._lock_holder(town.root) == st.pid
        layout.daemon_pid_path(town.root).write_text(f"{bystander.pid}\n")  # the stale file
        assert daemon.stop(town, timeout_s=5.0)
        assert not daemon.status(town).running
        assert bystander.poll() is None  # never signalled
    finally:
        bystander.kill()
        bystander.wait()
        stop_daemon(town.root)
