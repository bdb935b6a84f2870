"""The daemon and its watchdog never import code from the town root.

``python -m`` puts its working directory first on ``sys.path``, and the daemon,
its revivers and the watchdog run with the town root as working directory.
The Mayor's and the Deacon's sandboxes bind the town root read-write, so a
sandboxed agent could drop ``$GT_TOWN/gastown_server/`` there; the next
watchdog the daemon starts (every few seconds once the old one ended, e.g.
after the agent flips ``daemon.watchdog`` in settings) or the next revived
daemon would run it outside every sandbox.  Real daemon, real watchdog.
"""

import sys
import time

from test_revive import daemon_pid, holder, kill9
from town_helpers import wait_for

from gastown_server.patrol import daemon, supervisor
from gastown_server.town import config as town_config

SHADOW = """\
import pathlib, sys
pathlib.Path({marker!r}).open("a").write(" ".join(sys.argv) + "\\n")
raise SystemExit(0)
"""


def test_neither_daemon_nor_watchdog_runs_a_gastown_server_package_planted_in_the_town_root(town, tmp_path):
    cfg = town_config.load(town.root)
    cfg.daemon.heartbeat_s = 1.0
    cfg.patrol.enabled = False
    town_config.save(town.root, cfg)
    town.reload_config()
    marker = tmp_path / "ran-outside-the-sandbox"
    shadow = town.root / "gastown_server"
    for sub in ("", "patrol"):
        (shadow / sub).mkdir(parents=True, exist_ok=True)
        (shadow / sub / "__init__.py").write_text(SHADOW.format(marker=str(marker)))
    wlock = town.root / ".gastown" / "watchdog.lock"
    first = daemon.start(town).pid  # gt daemon start (cwd: the town root)
    dog = wait_for(lambda: holder(wlock), 10, what="the watchdog the daemon starts")
    kill9(first)  # revived by the watchdog
    wait_for(lambda: daemon_pid(town.root) not in (0, first), 10, what="the daemon revived by its watchdog")
    kill9(dog)  # restarted by the daemon
    wait_for(lambda: holder(wlock) not in (0, dog), daemon.WATCHDOG_RESPAWN_S + 10, what="a new watchdog")
    time.sleep(0.5)
    assert not marker.exists(), marker.read_text()
    assert daemon.stop(town)
    # The systemd unit of gt daemon enable-supervisor runs in the town root too.
    exec_start = next(ln for ln in supervisor.unit_text(town.root, python=sys.executable).splitlines()
                      if ln.startswith("ExecStart="))  # fmt: skip
    assert exec_start.split()[1] == "-P", exec_start


def test_a_bad_heartbeat_an_agent_writes_into_daemon_wanted_does_not_stop_or_spin_the_revived_daemon(town):
    """.gastown/ is writable from every sandbox: daemon.wanted's override must not break revivals."""
    cfg = town_config.load(town.root)
    cfg.daemon.heartbeat_s = 1.0
    cfg.patrol.enabled = False
    town_config.save(town.root, cfg)
    town.reload_config()
    wanted = town.root / ".gastown" / "daemon.wanted"
    pid = daemon.start(town).pid
    wait_for(lambda: holder(town.root / ".gastown" / "watchdog.lock"), 10, what="the watchdog")
    for bad in ("-inf", "nan", "1e-9"):
        wanted.write_text(bad + "\n")  # as a sandboxed agent can
        kill9(pid)
        pid = wait_for(lambda: daemon_pid(town.root) not in (0, pid) and daemon_pid(town.root), 20,
                       what=f"the daemon revived despite daemon.wanted={bad}")  # fmt: skip
        assert daemon.status_of(town.root).interval_s == 1.0, bad
    assert daemon.stop(town)
