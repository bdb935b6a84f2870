"""A real Claude Code polecat (the bootstrap's pinned binary, offline against the town's loopback
model stub, real tmux, real bwrap) reads none of what its sandbox hides: another rig's files, the
secret store, the user's ~/.ssh, another polecat's worktree.

The probe is typed to the polecat as ``run `<command>``` (the stub's policy then runs it through
Claude Code's Bash tool, inside the session's sandbox); its findings land in a file of the
polecat's own worktree, the one place it may write.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time

import pytest
import town_helpers
from town_helpers import GT, make_repo

from gastown_server.runtime import agent_clis

pytestmark = pytest.mark.slow

TOKEN = "ghp_claude-polecat-must-not-see-this-77"


#: These waits last minutes and mostly read a pane through tmux: poll a few times a second (the shared default: 20).
wait_for = functools.partial(town_helpers.wait_for, step=0.25)


def test_claude_polecat_reads_none_of_what_it_must_not(tmp_path):
    from gastown_server.demo.town import PREFIX, RIG, Demo
    from gastown_server.runtime.tmux import socket_name

    assert agent_clis.find("claude"), "claude is not installed: run scripts/bootstrap --agents"
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY----- fake\n")
    demo = Demo(tmp_path / "demo", verbose=False, roles={"polecat": "claude"})
    demo.env.update(HOME=str(home))
    demo.env.pop("GT_TMUX_SOCKET", None)

    def gt(*argv, input_text=None):
        p = subprocess.run([*GT, *argv], cwd=demo.town, env=demo.env, capture_output=True, text=True, timeout=120,
                           input=input_text)  # fmt: skip
        assert p.returncode == 0, f"gt {' '.join(argv)}: {p.stderr}{p.stdout}"
        return p.stdout

    try:
        demo.build()
        root = demo.town
        gt("rig", "add", "beta", str(make_repo(tmp_path / "beta-src", {"beta-only.txt": "beta's code\n"})), "--prefix", "be")
        gt("secret", "set", RIG, "git-password", input_text=TOKEN + "\n")
        # Another polecat's worktree with work in progress, and the probing polecat's session.
        code = ("import sys; from gastown_server.town.core import Town; from gastown_server.town import rigs; "
                "from gastown_server.town.lifecycle import start_agent; t = Town(sys.argv[1]); "
                f"w = rigs.ensure_polecat_worktree(t, t.rig('{RIG}'), 'other'); "
                "(w / 'uncommitted.txt').write_text('another polecat\\'s work in progress\\n'); "
                f"print(start_agent(t, '{RIG}/polecats/probe').status)")  # fmt: skip
        started = subprocess.run([sys.executable, "-c", code, str(root)], env=demo.env, capture_output=True, text=True,
                                 timeout=120)  # fmt: skip
        assert started.stdout.strip() == "started", started.stderr
        session = f"{PREFIX}-probe"
        sock = socket_name(root)
        box = (root / ".gastown" / "sandbox" / f"{session}.json").read_text()
        assert '"enabled":true' in box.replace(" ", "")

        def screen():
            return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", session], capture_output=True,
                                  text=True).stdout  # fmt: skip

        wait_for(lambda: re.search(r"^\s*❯", screen(), re.M) and "esc to interrupt" not in screen(), 180,
                 "the claude polecat at its prompt")  # fmt: skip
        forbidden = {
            "other-rig": root / "beta" / "repo" / "beta-only.txt",
            "other-polecat": root / RIG / "polecats" / "other" / "uncommitted.txt",
            "secret-store": root / ".gastown" / "secrets" / "secrets.json",
            "ssh-key": home / ".ssh" / "id_ed25519",
        }
        for p in forbidden.values():
            assert p.read_bytes(), p  # there, and readable outside the sandbox
        probe = "; ".join(f'if cat {p} >/dev/null 2>&1; then echo READ {n}; else echo DENIED {n}; fi'
                          for n, p in forbidden.items())  # fmt: skip
        probe += "; ls /proc/1/cmdline >/dev/null && tr '\\0' ' ' </proc/1/cmdline | cut -c1-40; echo PROBE-END"
        # The probe as a script in the worktree: a nudge is one short line typed into Claude Code.
        worktree = root / RIG / "polecats" / "probe"
        (worktree / "probe.sh").write_text(f"( {probe} ) > probe.out 2>&1\n")
        # Under a heavy load a nudge can find Claude Code not yet reading (it then says so and
        # erases what it typed): try again, a few times.
        for _ in range(3):
            p = subprocess.run([*GT, "nudge", f"{RIG}/polecats/probe", "run `sh probe.sh`"], cwd=root, env=demo.env,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
            if p.returncode == 0:
                break
            time.sleep(5)
        assert p.returncode == 0, p.stderr
        out_file = worktree / "probe.out"
        out = wait_for(lambda: out_file.exists() and "PROBE-END" in out_file.read_text() and out_file.read_text(),
                       180, "the claude polecat's probe report")  # fmt: skip
        for name in forbidden:
            assert f"DENIED {name}" in out, out
        assert "READ " not in out, out
        assert "bwrap" in out, out  # the command ran in the sandbox's PID namespace (bwrap is its PID 1)
        assert TOKEN not in out
    finally:
        try:
            demo.down()
        finally:
            subprocess.run(["tmux", "-L", socket_name(demo.town), "kill-server"], capture_output=True)
