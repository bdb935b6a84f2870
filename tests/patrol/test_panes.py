"""'Idle at its prompt' through a bubblewrap sandbox, and from inside another one (patrol/panes.py).

Real tmux (the town's throwaway socket), real bwrap panes built by the sandbox's own argv
builder, real /proc; the sandboxed reader is a real bwrap PID namespace.
"""

import json
import os
import subprocess
import sys
import time

from town_helpers import wait_for

from gastown_server.patrol import panes
from gastown_server.runtime.snapshot import sessions_snapshot
from gastown_server.sandbox import bwrap
from gastown_server.sandbox.policy import View, system_mounts


def _sandboxed_pane(town, name: str, script: str, helper: bool = False) -> int:
    view = View(role="dog", town=str(town.root), network="host", tmux=False, home="/tmp",
                mounts=list(system_mounts()), make_dirs=[])  # fmt: skip
    argv = bwrap.argv(view, ["/bin/sh", "-c", script], bwrap=bwrap.binary(), chdir="/")
    if helper:  # a session helper (git broker, tmux gate) forked by the pane's shell before it execs bwrap
        fake = f"{sys.executable} -c 'import time; time.sleep(300)' gastown_server.sandbox.tmux_gate"
        argv = ["/bin/sh", "-c", f"{fake} & exec \"$@\"", "gt-sandbox", *argv]
    subprocess.run(["tmux", "-L", town.socket, "new-session", "-d", "-s", name, "--", *argv], check=True)
    # Marked as the session's gastown pane, as lifecycle.start_agent does.
    subprocess.run(["tmux", "-L", town.socket, "set-option", "-t", f"={name}:", "-F", "@gt_pane", "#{pane_id}"], check=True)

    def pid():
        s = {x.name: x for x in sessions_snapshot(town.socket) or []}.get(name)
        return s.pane_pid if s is not None and s.alive else 0

    return wait_for(pid, 10, what=f"pane {name}")


def test_idle_at_its_prompt_is_seen_through_bwrap_and_from_a_sandboxed_witness(town, monkeypatch):
    idle_pid = _sandboxed_pane(town, "idle", "read line")  # waiting for input: no child
    busy_pid = _sandboxed_pane(town, "busy", "sleep 300; :")  # running a command
    # The pane's process is bwrap, and it always has a child: the old "no child" rule never saw idleness.
    wait_for(lambda: panes.agent_pid(idle_pid) and panes.agent_pid(busy_pid), 10, what="the agents under bwrap")
    assert open(f"/proc/{idle_pid}/comm").read().strip() == "bwrap" and panes._children(idle_pid)
    assert open(f"/proc/{panes.agent_pid(idle_pid)}/comm").read().strip() == "sh"
    wait_for(lambda: panes.idle_here(busy_pid) is False, 10, what="the busy agent's child")
    assert panes.idle_here(idle_pid) is True
    # A helper beside bwrap (its other child) is not the agent's work.
    helped_pid = _sandboxed_pane(town, "helped", "read line", helper=True)
    wait_for(lambda: len(panes._children(helped_pid) or []) == 2, 10, what="bwrap and the helper under the pane")
    wait_for(lambda: panes.idle_here(helped_pid) is True, 10, what="the helped agent seen idle")
    # The daemon publishes it; a sandboxed caller reads that, only for the same pane and only fresh.
    panes.publish(town.root, sessions_snapshot(town.socket))
    monkeypatch.setenv("GT_SANDBOX", "bwrap")
    assert panes.prompt_idle(town, "idle", idle_pid) is True
    assert panes.prompt_idle(town, "busy", busy_pid) is False
    assert panes.prompt_idle(town, "idle", idle_pid + 100000) is None  # a restarted session: not its predecessor
    # Inside a real sandbox (its own PID namespace) the host pids mean nothing; the published word does.
    code = (f"from gastown_server.patrol import panes; from pathlib import Path; "
            f"print(panes.idle_here({idle_pid}), panes.published(Path({str(town.root)!r}), 'idle', {idle_pid}, max_age_s=60))")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "GT_SANDBOX"}
    inside = subprocess.run([bwrap.binary(), "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--dev", "/dev",
                             "--", sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert inside.stdout.split() == ["None", "True"], inside.stderr
    # Stale (the daemon is dead): unknown, so nobody is nudged on an old look.
    data = json.loads(panes.path(town.root).read_text())
    data["at"] = time.time() - 3600
    panes.path(town.root).write_text(json.dumps(data))
    assert panes.prompt_idle(town, "idle", idle_pid) is None
