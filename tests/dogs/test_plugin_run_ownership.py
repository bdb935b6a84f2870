"""A plugin run belongs to one execution at a time and never outlives its dog: a stopped dog's
command is killed, two execs of one run run it once, a stranded run is picked up again.

Real town, real tmux (throwaway socket), real `gt`, the real ledger."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from town_helpers import GT, wait_for

from gastown_server.patrol import plugin_runs, plugins


def _pids_running(cmdline: str) -> list[int]:
    """Live processes whose command line is exactly ``cmdline``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b" ".join(args).decode(errors="replace") == cmdline and state != "Z":
            out.append(int(entry))
    return out


@pytest.fixture
def unique_sleep():
    """A ``sleep`` command line no other process has; whatever still runs it is killed at teardown."""
    cmd = f"sleep {random.randint(30, 90)}.{random.randint(10**5, 10**6)}"
    yield cmd
    for pid in _pids_running(cmd):
        os.kill(pid, signal.SIGKILL)


def test_a_stopped_dog_leaves_no_plugin_command_behind(gt, town, town_root, write_plugin, unique_sleep):
    write_plugin("slow", f'run = "echo start >> $GT_TOWN/log.txt; {unique_sleep}"\n[gate]\ntype = "manual"')
    assert "(started)" in gt("plugin", "run", "slow").stdout
    wait_for(lambda: _pids_running(unique_sleep), timeout=30, step=0.1, what="the plugin command running")
    gt("dog", "stop", "alpha")
    wait_for(lambda: not _pids_running(unique_sleep), timeout=10, step=0.1, what="the command killed with its dog")


def test_two_execs_of_one_run_run_the_command_once(town, town_root, write_plugin):
    from gastown_server.town import dogs

    dogs.add(town, "alpha", actor="overseer")
    write_plugin("once", 'run = "echo ran >> $GT_TOWN/once.txt; sleep 1"')
    run = plugin_runs.create_run(town, plugins.load(town_root, "once"), "deacon/dogs/alpha", actor="deacon")
    env = dict(os.environ, BD_ACTOR="deacon/dogs/alpha")
    procs = [subprocess.Popen([*GT, "plugin", "exec", run], cwd=town_root, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    results = sorted((p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs)
    assert [code for code, _, _ in results] == [0, 1], results
    err = results[1][2]
    assert err.startswith(f"gt: error: plugin run {run} is already being run by ") and err.count("\n") == 1, err
    assert (town_root / "once.txt").read_text() == "ran\n"
    assert "result:success" in town.ledger.labels(run) and town.ledger.get(run).status == "closed"
