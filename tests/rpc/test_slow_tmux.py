"""A slow tmux stalls only the calls that need it (review finding 9).

The server process (only it) finds a ``tmux`` on PATH that sleeps 2 s and
then runs the real tmux; agent/list waits for it on a worker thread while
another client's bead/list answers at once.  Real installed town, real
server, real tmux behind the wrapper.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from rpc_helpers import SocketServer, clean_env

GT = [sys.executable, "-m", "gastown_server.cli.gt"]
SLOW_S = 2.0


@pytest.fixture
def slow_tmux_server(tmp_path):
    socket = f"gt-rpc-slow-{uuid.uuid4().hex[:10]}"
    env = clean_env(GT_TMUX_SOCKET=socket)
    for key in ("GT_ROLE", "GT_SESSION_ID", "TMUX"):
        env.pop(key, None)
    root = tmp_path / "town"
    try:
        yield from _serve(tmp_path, root, socket, env)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def _serve(tmp_path, root, socket, env):
    p = subprocess.run([*GT, "install", str(root)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with pytest.MonkeyPatch.context() as mp:  # a running Mayor: seance/list then asks tmux too
        mp.setenv("GT_TMUX_SOCKET", socket)
        from gastown_server.town.core import Town
        from gastown_server.town.lifecycle import start_agent

        with Town(root) as t:
            start_agent(t, "mayor")
    bindir = tmp_path / "slowbin"
    bindir.mkdir()
    wrapper = bindir / "tmux"
    wrapper.write_text(f"#!/bin/sh\nsleep {SLOW_S}\nexec {shutil.which('tmux')} \"$@\"\n")
    wrapper.chmod(0o755)
    srv = None
    try:
        srv = SocketServer(root, env={**env, "PATH": f"{bindir}{os.pathsep}{env['PATH']}"})
        yield srv
    finally:
        err = srv.stop() if srv is not None else ""
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        assert "Traceback" not in err, err


@pytest.mark.parametrize("method,params", [("agent/list", {}), ("town/status", {}), ("seance/list", {"agent": "mayor"}),
                                           ("agent/show", {"agent": "mayor"})])
def test_a_slow_tmux_does_not_stall_other_clients(slow_tmux_server, method, params):
    slow = slow_tmux_server.client()
    quick = slow_tmux_server.client()
    try:
        t0 = time.monotonic()
        msg_id = slow.request(method, params)
        time.sleep(0.2)  # the tmux call is under way
        t1 = time.monotonic()
        quick.call("bead/list", {})
        quick.call("rig/list")
        answered = time.monotonic() - t1
        assert answered < 0.5, f"bead/list took {answered:.2f}s while {method} waited for tmux"
        slow.wait(msg_id, timeout=15)
        waited = time.monotonic() - t0
        assert waited >= SLOW_S, f"{method} answered in {waited:.2f}s: the slow tmux was not on its path"
    finally:
        slow.close()
        quick.close()
