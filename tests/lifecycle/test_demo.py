"""The README's main command, end to end: `python -m gastown_server.demo --down` (real tmux, git, ledger)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gastown_server.runtime.tmux import socket_name

pytestmark = pytest.mark.slow


def _env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("GT_", "BD_", "BEADS_", "TMUX"))}


def test_demo_lands_the_convoy_and_takes_the_town_down(tmp_path):
    where = tmp_path / "demo"
    town = where / "town"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gastown_server.demo", "--down", "--dir", str(where), "--timeout", "90"],
            capture_output=True, text=True, env=_env(), timeout=150,
        )  # fmt: skip
        out = proc.stdout
        assert proc.returncode == 0, out[-3000:] + proc.stderr
        ids = re.findall(r"^\$ bd create .*\n  (tk-\w+)$", out, re.M)
        assert len(ids) == 3
        assert re.search(r"convoy hq-\w+ landed", out)
        assert "[landed] 3/3 closed" in out
        log = out.split("$ git log --oneline main", 1)[1].split("Timings:", 1)[0]
        for bead in ids:  # each change on main exactly once
            assert len(re.findall(rf"\({bead}\)$", log, re.M)) == 1, log
        assert re.search(r"^Timings: build [\d.]+s, gt up [\d.]+s, file \+ sling \+ land [\d.]+s, total [\d.]+s$", out, re.M)
        assert "The town is down." in out
        # --down really took it down: no daemon, no tmux server on the town's socket
        assert not (town / ".gastown" / "daemon.pid").exists() or subprocess.run(
            ["gt", "daemon", "status"], cwd=town, capture_output=True, text=True, env=_env()
        ).stdout.find("not running") >= 0
        assert subprocess.run(["tmux", "-L", socket_name(town), "has-session"], capture_output=True).returncode != 0
        # the merged code passes its own suite
        check = tmp_path / "check"
        subprocess.run(["git", "clone", "-q", str(where / "origin" / "textkit.git"), str(check)], check=True)
        tests = subprocess.run([sys.executable, "-m", "pytest"], cwd=check, capture_output=True, text=True)
        assert tests.returncode == 0 and "6 passed" in tests.stdout, tests.stdout
    finally:
        if town.exists():
            subprocess.run(["tmux", "-L", socket_name(town), "kill-server"], capture_output=True)


def test_demo_refuses_a_non_empty_dir(tmp_path):
    (tmp_path / "something").write_text("x")
    proc = subprocess.run([sys.executable, "-m", "gastown_server.demo", "--dir", str(tmp_path)],
                          capture_output=True, text=True, env=_env())  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("demo: error: ") and "not empty" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["something"]
