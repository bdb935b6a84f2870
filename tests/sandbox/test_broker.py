"""The Refinery's git broker as the pane starts it: in the background beside bwrap (so the agent's
start does not wait for its interpreter), ending with the session, and deaf to the session
environment's git and loader variables.  Real bwrap, real git, real sockets; no tmux needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from town_helpers import make_repo, wait_for

from gastown_server.sandbox import launch
from gastown_server.sandbox.broker import remote_git
from gastown_server.sandbox.policy import broker_dir
from gastown_server.town import config, rigs
from gastown_server.town.identity import session_env
from gastown_server.town.lifecycle import ensure_workdir

pytestmark = pytest.mark.slow


def _pane_command(town, inner: list[str], **extra_env):
    ident = town.identity("alpha/refinery")
    cwd = ensure_workdir(town, ident)
    preset = config.resolve_agent(town.config, role=ident.role)
    env = session_env(town.root, ident, socket=town.socket, session_id="t", runtime=preset.name)
    env.update(extra_env)
    argv, env2, _info = launch.apply(town, ident, preset, inner, env, cwd)
    return argv, env2, broker_dir(town.root, ident.session) / "git.sock"


def _broker_pids(sock: Path) -> list[int]:
    """The broker processes (nice, then the interpreter it execs) serving ``sock``.

    pgrep -f also matches the pane's ``sh -c`` script, whose one argument holds the helper's
    command line, until it execs bwrap (and its background subshell until that execs nice):
    only a process with ``--socket`` and the path as separate arguments is the broker.
    """
    out = subprocess.run(["pgrep", "-f", f"broker.py --socket {sock}"], capture_output=True, text=True).stdout
    pids = []
    for p in out.split():
        try:
            args = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"--socket" in args and os.fsencode(sock) in args:
            pids.append(int(p))
    return pids


def test_broker_starts_beside_the_agent_and_ends_with_it_even_on_sigkill(town, tmp_path):
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    argv, env, sock = _pane_command(town, ["/bin/sleep", "60"])
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: _broker_pids(sock), timeout=20, what="the broker process")
        # The pane's shell became bwrap (exec): the broker is its child, not its parent.
        (broker,) = _broker_pids(sock)
        assert int(open(f"/proc/{broker}/stat").read().rsplit(")", 1)[1].split()[1]) == proc.pid
        wait_for(sock.exists, timeout=20, what="the broker's socket")
        os.kill(proc.pid, signal.SIGKILL)  # bwrap itself: no signal reaches the broker
        proc.wait()
        wait_for(lambda: not _broker_pids(sock) and not sock.exists(), timeout=10, what="the broker gone with its session")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_broker_ignores_the_session_environments_git_variables(town, tmp_path):
    """GIT_EXEC_PATH (and PATH) from the session env must not choose what runs outside."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(make_repo(tmp_path / "seed")), str(origin)], check=True)
    rigs.add(town, "alpha", str(origin), prefix="al")
    evil = tmp_path / "evil"
    evil.mkdir()
    pwned = tmp_path / "pwned"
    for name in ("git", "git-upload-pack", "git-receive-pack"):
        (evil / name).write_text(f"#!/bin/sh\ntouch {pwned}\nexit 1\n")
        (evil / name).chmod(0o755)
    argv, env, sock = _pane_command(town, ["/bin/sleep", "60"], GIT_EXEC_PATH=str(evil), PATH=f"{evil}:{os.environ['PATH']}")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        os.environ["GT_GIT_BROKER"] = str(sock)  # a client as the Refinery's is: through the socket
        from gastown_server.work.git import Git

        t = time.monotonic()
        res = remote_git(Git(town.rig("alpha").repo), ["fetch", "-q", "origin"], town=str(town.root), rig="alpha")
        assert res.returncode == 0, res.stderr
        assert time.monotonic() - t < 30
        assert not pwned.exists()
        bad = remote_git(Git(town.rig("alpha").repo), ["config", "core.sshCommand", "x"], town=str(town.root), rig="alpha")
        assert bad.returncode == 128 and "runs only fetch and push" in bad.stderr
    finally:
        del os.environ["GT_GIT_BROKER"]
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    wait_for(lambda: not sock.exists(), timeout=10, what="the broker's socket removed on SIGTERM")


def test_broker_ends_on_sigterm_every_time(town, tmp_path):
    """The pane's group gets SIGTERM (TownTmux.stop): the broker must end each time.  Its handler
    once set a threading.Event the main thread was waiting on and deadlocked on the Event's lock."""
    rigs.add(town, "alpha", str(make_repo(tmp_path / "src")), prefix="al")
    for _ in range(6):
        argv, env, sock = _pane_command(town, ["/bin/sleep", "60"])
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_for(sock.exists, timeout=20, what="the broker's socket")
        time.sleep(0.3)  # mid-wait in its loop
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        wait_for(lambda: not _broker_pids(sock), timeout=5, what="the broker gone after SIGTERM")
