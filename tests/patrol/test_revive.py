"""The daemon's revivers: agents' gt, the Deacon's and Witness's patrol steps, a standby supervisor.

Real daemon processes killed with SIGKILL, real tmux (throwaway socket), real
ledger.  ``GT_REVIVE_EVERY`` shortens the rate limit so the tests stay short.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from town_helpers import GT, wait_for

from gastown_server.patrol import daemon, deacon, revive, supervisor, witness
from gastown_server.runtime.snapshot import sessions_snapshot
from gastown_server.town import config as town_config
from gastown_server.town import rigs
from gastown_server.town.lifecycle import start_agent


def kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(),
             5, what=f"pid {pid} to die")  # fmt: skip


def daemon_pid(root) -> int:
    st = daemon.status_of(root)
    return st.pid if st.running else 0


def agent_gt(root, *argv, every="3"):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GT_ROLE", "BD_ACTOR"))}
    env.update(GT_TOWN=str(root), GT_ROLE="mayor", GT_REVIVE_EVERY=every)
    return subprocess.run([*GT, *argv], cwd=root, env=env, capture_output=True, text=True, timeout=60)


def slow_town(town):
    """A daemon that beats slowly and does not start agents (they are not what these tests watch)."""
    cfg = town_config.load(town.root)
    cfg.daemon.heartbeat_s = 30.0
    cfg.patrol.enabled = False
    cfg.daemon.watchdog = False  # these tests watch the other revivers
    town_config.save(town.root, cfg)


def holder(path: Path) -> int:
    """The pid holding an flock on ``path`` (from /proc/locks), 0 if none."""
    ino = os.stat(path).st_ino if path.exists() else -1
    for line in Path("/proc/locks").read_text().splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == "FLOCK" and f[5].rsplit(":", 1)[-1] == str(ino):
            return int(f[4])
    return 0


def test_the_daemon_and_its_watchdog_revive_each_other_with_every_agent_sandboxed(town):
    """With sandboxes on no agent may start a daemon; the watchdog does, and the daemon restarts it."""
    cfg = town_config.load(town.root)
    cfg.daemon.heartbeat_s = 1.0
    cfg.patrol.enabled = False
    town_config.save(town.root, cfg)
    town.reload_config()
    assert town.config.sandbox.enabled  # the default
    mayor = town.identity("mayor")
    start_agent(town, mayor, actor="overseer")
    assert '"enabled":true' in (town.root / ".gastown" / "sandbox" / f"{mayor.session}.json").read_text()
    wlock = town.root / ".gastown" / "watchdog.lock"
    first = daemon.start(town).pid
    dog = wait_for(lambda: holder(wlock), 10, what="the watchdog the daemon starts")
    assert dog != first and revive.lock_held(wlock) is True
    # A second watchdog leaves at once: one per town.
    second_dog = subprocess.run([sys.executable, "-m", "gastown_server.patrol.watchdog", str(town.root)], timeout=30)
    assert second_dog.returncode == 0 and holder(wlock) == dog
    # kill -9 of the daemon: the watchdog revives it (no agent could: they are sandboxed).
    kill9(first)
    t0 = time.monotonic()
    second = wait_for(lambda: daemon_pid(town.root), 10, what="the daemon revived by its watchdog")
    revived_s = time.monotonic() - t0
    assert second != first and revived_s < 5, revived_s
    assert "revived by the daemon's watchdog" in (town.root / ".gastown" / "daemon.log").read_text()
    # kill -9 of the watchdog: the daemon starts another one.
    kill9(dog)
    new_dog = wait_for(lambda: holder(wlock), daemon.WATCHDOG_RESPAWN_S + 10, what="the watchdog restarted by the daemon")
    assert new_dog not in (0, dog)
    environ = Path(f"/proc/{new_dog}/environ").read_bytes().split(b"\0")
    assert not any(v.startswith((b"GT_ROLE=", b"BD_ACTOR=", b"GT_SANDBOX=")) for v in environ)
    # ...and that one revives the daemon too.
    kill9(second)
    third = wait_for(lambda: daemon_pid(town.root) not in (0, second) and daemon_pid(town.root), 15,
                     what="the daemon revived by the new watchdog")  # (within the 10 s rate limit of the last revival)
    # gt down: the watchdog ends by itself, nothing is left running.
    assert daemon.stop(town)
    wait_for(lambda: not holder(wlock), 5, what="the watchdog to end after gt down")
    assert "watchdog ended" in (town.root / ".gastown" / "daemon.log").read_text()
    time.sleep(1.5)
    assert not daemon.status_of(town.root).running and third
    # daemon.watchdog false: the daemon starts none.
    cfg.daemon.watchdog = False
    town_config.save(town.root, cfg)
    daemon.start(town)
    time.sleep(1.5)
    assert not holder(wlock)


def test_an_agents_gt_revives_a_killed_daemon_at_most_once_per_interval(town):
    slow_town(town)
    first = daemon.start(town, interval_s=30).pid
    assert revive.is_wanted(town.root)
    kill9(first)
    assert not daemon.status_of(town.root).running
    # The Overseer's own gt (no GT_ROLE) pays nothing and revives nothing.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GT_ROLE")}
    subprocess.run([*GT, "hook", "mayor"], cwd=town.root, env=dict(env, GT_TOWN=str(town.root)), check=True,
                   capture_output=True)  # fmt: skip
    time.sleep(0.5)
    assert not daemon.status_of(town.root).running
    # An agent's gt does: the command still answers as usual.
    proc = agent_gt(town.root, "hook", "mayor")
    assert proc.returncode == 0 and "hook is empty" in proc.stdout, proc.stderr
    second = wait_for(lambda: daemon_pid(town.root), 10, what="the daemon revived by the agent's gt")
    assert second != first
    log = (town.root / ".gastown" / "daemon.log").read_text()
    assert "revived by gt (mayor)" in log
    # the revived daemon keeps the heartbeat it was started with
    assert daemon.status_of(town.root).interval_s == 30
    # Killed again right away: within the interval the next gt does not check...
    kill9(second)
    t0 = time.monotonic()
    assert agent_gt(town.root, "hook", "mayor").returncode == 0
    time.sleep(0.5)
    if time.monotonic() - t0 < 2.5:  # (a very slow machine may already be past the 3 s)
        assert not daemon.status_of(town.root).running
    # ...after it, it does.
    time.sleep(max(0.0, 3.2 - (time.monotonic() - t0)))
    assert agent_gt(town.root, "hook", "mayor").returncode == 0
    third = wait_for(lambda: daemon_pid(town.root), 10, what="the second revival")
    assert third not in (first, second)
    assert (town.root / ".gastown" / "daemon.log").read_text().count("revived by gt (mayor)") == 2
    # The revived daemon does not carry the reviving agent's identity.
    environ = Path(f"/proc/{third}/environ").read_bytes().split(b"\0")
    assert not any(v.startswith((b"GT_ROLE=", b"BD_ACTOR=")) for v in environ)
    # Inside an agent sandbox nobody spawns a daemon (it would live in the sandbox).
    kill9(third)
    env = dict(os.environ, GT_TOWN=str(town.root), GT_ROLE="mayor", GT_REVIVE_EVERY="0", GT_SANDBOX="1")
    assert subprocess.run([*GT, "hook", "mayor"], cwd=town.root, env=env, capture_output=True).returncode == 0
    time.sleep(0.5)
    assert not daemon.status_of(town.root).running


def test_a_town_taken_down_is_never_revived(town):
    slow_town(town)
    daemon.start(town, interval_s=30)
    assert daemon.stop(town)
    assert not revive.is_wanted(town.root)
    assert revive.check(town.root, who="test", force=True) == "not wanted"
    assert agent_gt(town.root, "hook", "mayor", every="0").returncode == 0
    time.sleep(0.5)
    assert not daemon.status_of(town.root).running
    # A reviver that decided just before `gt down` began: its daemon takes the lock, sees the
    # town is down and leaves at once.
    proc = subprocess.run([sys.executable, "-m", "gastown_server.patrol.daemon", str(town.root), "--revive"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not daemon.status_of(town.root).running
    assert "revive skipped" in (town.root / ".gastown" / "daemon.log").read_text()
    # SIGTERM (a deliberate stop by other means) also withdraws the wish
    pid = daemon.start(town, interval_s=30).pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not daemon.status_of(town.root).running, 10, what="the daemon to stop")
    assert not revive.is_wanted(town.root)


def _rig(town, src_repo):
    cfg = town_config.load(town.root)
    cfg.patrol.enabled = False
    cfg.daemon.heartbeat_s = 30.0
    cfg.daemon.watchdog = False  # this test watches the patrols' revivals
    town_config.save(town.root, cfg)
    town.reload_config()
    rigs.add(town, "gastown", str(src_repo))
    town.forget_rigs()


def _alive(town, name):
    return any(s.name == name and s.alive for s in (sessions_snapshot(town.socket) or []))


def test_deacon_and_witness_patrols_revive_the_daemon_and_restart_the_refinery(town, src_repo, monkeypatch):
    """The measured failure: daemon killed, then the Refinery; nothing brought either back."""
    monkeypatch.setenv("GT_REVIVE_EVERY", "0")
    _rig(town, src_repo)
    ref = town.identity("gastown/refinery")
    start_agent(town, ref, actor="overseer")
    first = daemon.start(town, interval_s=30).pid
    kill9(first)
    subprocess.run(["tmux", "-L", town.socket, "kill-session", "-t", ref.session], check=True)
    report = witness.check_refinery(town, "gastown")
    assert any("the daemon was dead: revived" in a for a in report.actions), report.actions
    assert any(a.startswith("refinery was down: started") for a in report.actions), report.actions
    assert _alive(town, ref.session)
    second = wait_for(lambda: daemon_pid(town.root), 10, what="daemon revived by the Witness")
    # The same through the Deacon's check-rigs (the Witness is down this time).
    kill9(second)
    wit = town.identity("gastown/witness")
    report = deacon.check_rigs(town)
    assert any("the daemon was dead: revived" in a for a in report.actions), report.actions
    assert any(a.startswith("gastown/witness was down: started") for a in report.actions), report.actions
    assert _alive(town, wit.session)
    wait_for(lambda: daemon_pid(town.root) not in (0, second), 10, what="daemon revived by the Deacon")
    # After gt down's first move (the wish withdrawn) neither restarts anything.
    daemon.stop(town)
    subprocess.run(["tmux", "-L", town.socket, "kill-session", "-t", ref.session], check=True)
    assert "the town is down" in deacon.check_rigs(town).actions[0]
    report = witness.check_refinery(town, "gastown")
    assert not _alive(town, ref.session) and not report.acted, report.actions
    assert not daemon.status_of(town.root).running


def test_a_standby_takes_over_within_seconds_and_waits_while_the_town_is_down(town):
    slow_town(town)
    log = open(town.root / ".gastown" / "standby.out", "w")
    standby = subprocess.Popen([sys.executable, "-m", "gastown_server.patrol.daemon", str(town.root), "--standby"],
                               stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    try:
        time.sleep(1.5)
        assert not daemon.status_of(town.root).running  # the town was never up: it waits
        first = daemon.start(town, interval_s=30).pid
        assert first != standby.pid
        kill9(first)
        wait_for(lambda: daemon_pid(town.root) == standby.pid, 10, what="the standby to take over")
        # gt down: the loop it runs stops (SIGTERM to the lock holder); it waits for the next gt up
        assert daemon.stop(town)
        time.sleep(1.5)
        assert standby.poll() is None and not daemon.status_of(town.root).running
        os.kill(standby.pid, signal.SIGTERM)  # systemctl --user stop
        assert standby.wait(timeout=10) == 0
    finally:
        if standby.poll() is None:
            os.killpg(standby.pid, signal.SIGKILL)
            standby.wait()
        log.close()


def test_supervisor_unit_file_and_refusal_without_systemd(town, tmp_path):
    text = supervisor.unit_text(town.root, python="/opt/gt venv/bin/python", path="/opt/gt venv/bin:/usr/bin")
    lines = text.splitlines()
    assert lines[0] == "[Unit]" and "[Service]" in lines and "[Install]" in lines
    assert f'ExecStart="/opt/gt venv/bin/python" -P -m gastown_server.patrol.daemon {town.root} --standby' in lines
    assert 'Environment="PATH=/opt/gt venv/bin:/usr/bin"' in lines
    assert "Restart=always" in lines and "WantedBy=default.target" in lines and "KillMode=process" in lines
    assert f"WorkingDirectory={town.root}" in lines
    assert not any(k in text for k in ("TOKEN", "SECRET", "API_KEY"))  # the shell's secrets stay out
    name = supervisor.unit_name(town.root)
    assert name.startswith("gastown-town-") and name.endswith(".service")
    assert supervisor.unit_name(tmp_path / "other" / "town") != name
    home = tmp_path / "home"
    home.mkdir()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "systemctl").write_text("#!/bin/sh\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n")
    (fake / "systemctl").chmod(0o755)
    empty = tmp_path / "empty"
    empty.mkdir()
    for path, needle in ((str(fake), "Failed to connect to bus"), (str(empty), "no systemctl")):
        env = dict(os.environ, HOME=str(home), PATH=path)
        env.pop("XDG_CONFIG_HOME", None)
        proc = subprocess.run([*GT, "daemon", "enable-supervisor"], cwd=town.root, env=env, capture_output=True,
                              text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("gt: error: systemd") and needle in proc.stderr
        assert not (home / ".config").exists()
    proc = subprocess.run([*GT, "daemon", "enable-supervisor", "--print"], cwd=town.root, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0 and "--standby" in proc.stdout and "[Install]" in proc.stdout
