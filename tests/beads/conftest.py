import os
import subprocess
import sys
from pathlib import Path

import pytest

from gastown_server.beads.store import Ledger


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "ledger.db", create=True)
    led.config_set("issue_prefix", "bd", actor="test")
    yield led
    led.disconnect()


BD = [sys.executable, "-m", "gastown_server.cli.bd"]


@pytest.fixture
def bd(tmp_path):
    """Run the real `bd` as a process in a fresh ledger directory."""
    home = tmp_path / "town"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR")}

    def run(*argv, check=True, actor=None, input=None):
        e = dict(env)
        if actor:
            e["BD_ACTOR"] = actor
        proc = subprocess.run([*BD, *argv], cwd=home, env=e, capture_output=True, text=True, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"bd {' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    run.home = home
    run("init", "--prefix", "t")
    return run
