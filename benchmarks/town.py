"""Town figures: `gt up` with 2 rigs + 20 polecats, and `gt status --json` as a process.

    python benchmarks/town.py [--polecats 20] [--runs 20]

Builds a throwaway town (script runtime, its own tmux socket), adds 2 rigs,
then measures:

* ``gt up`` (Mayor, Deacon, 2 Witnesses, 2 Refineries, daemon) plus 20
  polecats started through ``town.lifecycle.start_agent`` (what ``gt sling``
  uses), until every session's agent is running: target < 10 s.  Polecat
  worktrees are made by ``start_agent`` too, inside the timing.
* ``gt status --json`` as a whole process (the real console script, no
  shell shim) with those 26 agents + 4 stopped crew = 30 agents:
  target < 150 ms.  The interpreter floor (``python -c pass``) is printed
  beside it.

Everything is torn down at the end (``gt down``, tmux server killed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def git_repo(path: Path) -> None:
    path.mkdir()
    g = ["git", "-c", "user.email=b@example.com", "-c", "user.name=b", "-C", str(path)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "README.md").write_text("bench\n")
    subprocess.run([*g, "add", "-A"], check=True)
    subprocess.run([*g, "commit", "-q", "-m", "init"], check=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def process_times(argv: list[str], runs: int, cwd: Path) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--polecats", type=int, default=20)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    socket = f"gt-bench-{uuid.uuid4().hex[:8]}"
    os.environ["GT_TMUX_SOCKET"] = socket
    for k in ("GT_TOWN", "BD_ACTOR", "GT_ROLE", "TMUX"):
        os.environ.pop(k, None)
    bin_dir = Path(sys.executable).parent
    gt = [str(bin_dir / "gt")] if (bin_dir / "gt").exists() else [sys.executable, "-m", "gastown_server.cli.gt"]
    tmp = Path(tempfile.mkdtemp(prefix="gt-bench-"))
    from gastown_server.runtime.snapshot import sessions_snapshot
    from gastown_server.town import crew, rigs
    from gastown_server.town.core import Town
    from gastown_server.town.install import install
    from gastown_server.town.lifecycle import start_agent

    try:
        git_repo(tmp / "src")
        root = install(tmp / "town")
        town = Town(root)
        rig_names = ["alpha", "beta"]
        for name in rig_names:
            rigs.add(town, name, str(tmp / "src"))
        for i in range(4):  # stopped crew members: agents that status must list too
            crew.add(town, rig_names[i % 2], f"crew{i}")
        town.close()

        t0 = time.perf_counter()
        subprocess.run([*gt, "up"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        t_up = time.perf_counter() - t0
        town = Town(root)
        for i in range(args.polecats):
            start_agent(town, f"{rig_names[i % 2]}/polecats/p{i}")
        t_started = time.perf_counter() - t0
        expected = 6 + args.polecats
        running_at = None
        while time.perf_counter() - t0 < 60:
            snap = sessions_snapshot(socket) or []
            if len(snap) >= expected and all(s.alive for s in snap):
                # alive = the agent process runs; also require each printed its ready line
                tdir = root / ".gastown" / "transcripts"
                ready = sum(1 for s in snap if "ready for input" in _read(tdir / f"{s.name}.log"))
                if ready >= expected:
                    running_at = time.perf_counter() - t0
                    break
            time.sleep(0.05)
        agents = len(town.agents())
        town.close()
        print(f"gt up (6 agents + daemon): {t_up * 1000:.0f} ms")
        print(f"+ {args.polecats} polecats via start_agent (with worktrees): all started at {t_started:.2f} s")
        if running_at is None:
            print(f"NOT every session reached 'ready for input' within 60 s  (target < 10 s) ✘")
        else:
            mark = "✔" if running_at < 10 else "✘"
            print(f"every one of {expected} sessions running and primed: {running_at:.2f} s  (target < 10 s) {mark}")

        floor = process_times([sys.executable, "-c", "pass"], args.runs, root)
        st = process_times([*gt, "status", "--json"], args.runs, root)
        mark = "✔" if statistics.median(st) < 150 else "✘"
        print(f"gt status --json, {agents} agents, {expected} sessions: p50 {statistics.median(st):.0f} ms, "
              f"p95 {pct(st, 0.95):.0f} ms, min {min(st):.0f} ms  (target < 150 ms) {mark}")
        print(f"python -c pass (interpreter floor): p50 {statistics.median(floor):.0f} ms, min {min(floor):.0f} ms")
        t0 = time.perf_counter()
        subprocess.run([*gt, "down", "--grace", "2"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        print(f"gt down ({expected} sessions): {(time.perf_counter() - t0) * 1000:.0f} ms")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        pid_file = tmp / "town" / ".gastown" / "daemon.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), 15)
            except (OSError, ValueError):
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
