"""Calls that wait (nudge to a busy agent) never make other clients' short calls queue:
a real server, a real installed town and script agents in real tmux."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
import uuid

import pytest
from rpc_helpers import SocketServer, clean_env, wait_for

from gastown_server.rpc.client import Client

GT = [sys.executable, "-m", "gastown_server.cli.gt"]


@pytest.fixture
def busy_town(tmp_path):
    """Mayor and deacon running; the Mayor's nudge lock held (as by a nudge waiting on an active human)."""
    socket = f"gt-rpc-wait-{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:
        for key in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_ROLE", "GT_SESSION_ID", "TMUX"):
            mp.delenv(key, raising=False)
        mp.setenv("GT_TMUX_SOCKET", socket)
        root = tmp_path / "town"
        p = subprocess.run([*GT, "install", str(root)], cwd=tmp_path, env=clean_env(), capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        from gastown_server.town.core import Town
        from gastown_server.town.lifecycle import start_agent

        lock_fd = None
        try:
            with Town(root) as t:
                start_agent(t, "mayor")
                start_agent(t, "deacon")
            logs = root / ".gastown" / "transcripts"
            for session in ("hq-mayor", "hq-deacon"):
                log = logs / f"{session}.log"
                assert wait_for(lambda: log.exists() and "ready for input" in log.read_text(errors="replace"), 15)
            lockdir = root / ".gastown" / "nudge"
            lockdir.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(lockdir / "hq-mayor.lock", os.O_RDWR | os.O_CREAT)
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            yield root
        finally:
            if lock_fd is not None:
                os.close(lock_fd)
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def test_waiting_nudges_of_gone_clients_do_not_stall_another_clients_nudge(busy_town):
    srv = SocketServer(busy_town)
    try:
        hogs = []
        for i in range(6):  # more than the short calls' pool has threads
            c = Client.connect_socket(srv.path)
            c.initialize()
            c.request("nudge", {"agent": "mayor", "message": f"hog {i}", "timeout_s": 12})
            hogs.append(c)
        time.sleep(0.5)
        for c in hogs:
            c.close()  # the clients went away (their waits end: queued, reason "aborted")
        with Client.connect_socket(srv.path) as other:
            other.initialize(actor="overseer")
            t0 = time.monotonic()
            r = other.call("nudge", {"agent": "deacon", "message": "quick one", "timeout_s": 2}, timeout=30)
            elapsed = time.monotonic() - t0
            assert r["status"] == "delivered", r
            assert elapsed < 1.5, f"an idle agent's nudge took {elapsed:.1f}s"
            t0 = time.monotonic()
            other.call("town/status", timeout=30)
            assert time.monotonic() - t0 < 1.0
    finally:
        err = srv.stop()
    assert "Traceback" not in err, err
