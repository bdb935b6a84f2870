"""Helpers for the RPC tests: a real ledger town, a real gastown-server process, real clients.

Every test talks to the server as editors do: over its stdio (a spawned
process) or over its unix socket (a long-running process).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from gastown_server.beads.store import Ledger
from gastown_server.paths import ledger_path
from gastown_server.rpc.client import Client, server_command

BD = [sys.executable, "-m", "gastown_server.cli.bd"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_SERVER_TOKEN")}
    env.update(extra)
    return env


def make_town(root: Path, prefix: str = "t") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    led = Ledger(ledger_path(root), create=True)
    led.config_set("issue_prefix", prefix, actor="test")
    led.disconnect()
    return root


def run_bd(town: Path, *argv: str, actor: str = "mayor") -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*BD, *argv], cwd=town, env=clean_env(BD_ACTOR=actor, GT_TOWN=str(town)), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc


class ServerStartTimeout(AssertionError):
    """The server printed no first line in time (it was killed)."""


class SocketServer:
    def __init__(self, town: Path, *extra: str, path: Path | None = None, command: list[str] | None = None,
                 start_timeout: float = 30.0, env: dict[str, str] | None = None) -> None:
        self.town = town
        self.path = path or town / ".gastown" / "rpc.sock"
        args = ["--socket", str(self.path), "--town", str(town), *extra]
        self.proc = subprocess.Popen(
            command or server_command(*args), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env or clean_env(),
            text=True,
        )
        line = self._first_line(start_timeout)
        assert "listening on" in line, line + self.proc.stderr.read()

    def _first_line(self, timeout: float) -> str:
        # readline() blocks forever on a server that hangs before printing:
        # read it in a thread and give up (killing the server) at the deadline.
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stderr.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self.proc.kill()
            self.proc.wait()
            reader.join(5)
            self.proc.stderr.close()
            err = ServerStartTimeout(f"gastown-server printed nothing within {timeout:g}s (killed it)")
            err.pid = self.proc.pid
            raise err
        return got[0]

    def client(self, *, initialize: bool = True, actor: str | None = None) -> Client:
        c = Client.connect_socket(self.path)
        if initialize:
            c.initialize(actor=actor)
        return c

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        return err


def wait_for(predicate, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)
