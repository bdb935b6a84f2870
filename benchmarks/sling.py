"""Sling figures: `gt sling <bead> <rig>` as the Overseer types it.

    python benchmarks/sling.py [--slings 20]

Builds a throwaway town (script runtime, its own tmux socket) with one rig,
files N beads, then measures, each as a whole `gt` process:

* ``gt sling <bead> <rig> --no-start``: validation, name allocation (pool
  lock), worktree on ``polecat/<name>/<bead>``, the one ledger transaction
  (agent bead, hook, mol-polecat-work poured and recorded, convoy);
* ``gt sling <bead> <rig>``: the same plus the polecat's tmux session start;
* in-process ``work.sling.sling(..., start=False)`` (no interpreter start-up).

The pool grows with every sling (polecat N checks N-1 taken names first).
Everything is torn down at the end (tmux server killed, temp dir removed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

GT = [str(Path(sys.executable).parent / "gt")]
BD = [str(Path(sys.executable).parent / "bd")]


def run(argv, cwd, env) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr}")
    return proc.stdout


def ms(values) -> str:
    return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slings", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gt-sling-bench-"))
    socket = f"gt-sling-bench-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GT_", "BD_", "BEADS_"))}
    env["GT_TMUX_SOCKET"] = socket
    os.environ["GT_TMUX_SOCKET"] = socket
    try:
        src = tmp / "src"
        src.mkdir()
        git = ["git", "-c", "user.email=b@example.com", "-c", "user.name=b"]
        subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
        (src / "README.md").write_text("bench\n")
        subprocess.run([*git, "-C", str(src), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(src), "commit", "-q", "-m", "init"], check=True)
        town = tmp / "town"
        run([*GT, "install", str(town)], tmp, env)
        run([*GT, "rig", "add", "proj", str(src)], town, env)
        n = args.slings
        beads = [json.loads(run([*BD, "create", f"Job {i}", "--json"], town, env))["id"] for i in range(3 * n)]
        no_start, with_start, in_proc = [], [], []
        for bead in beads[:n]:
            t0 = time.perf_counter()
            run([*GT, "sling", bead, "proj", "--no-start"], town, env)
            no_start.append(time.perf_counter() - t0)
        for bead in beads[n : 2 * n]:
            t0 = time.perf_counter()
            run([*GT, "sling", bead, "proj"], town, env)
            with_start.append(time.perf_counter() - t0)
        from gastown_server.town.core import Town
        from gastown_server.work.sling import sling

        with Town(town) as t:
            for bead in beads[2 * n :]:
                t0 = time.perf_counter()
                sling(t, bead, "proj", actor="overseer", start=False)
                in_proc.append(time.perf_counter() - t0)
        print(f"gt sling --no-start ({n} polecats, pool 1..{n}):        {ms(no_start)}")
        print(f"gt sling with session start ({n}, pool {n + 1}..{2 * n}): {ms(with_start)}")
        print(f"sling() in-process, no start ({n}, pool {2 * n + 1}..{3 * n}): {ms(in_proc)}")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
