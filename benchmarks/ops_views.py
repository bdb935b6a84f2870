"""The operator's views, first render: town status (both editors), rigs and ready/blocked work (Emacs).

Builds a real town (`gt install`, 3 rigs from a real git repository, 7 crew
each: 30 agents, all started in a throwaway tmux server with the offline
script runtime; 50 convoys tracking 2,000 beads, every 10th blocked by the
one before), then:

- Emacs: `emacs --batch` loads the client compiled, connects to the real
  `gastown-server --stdio` and times each view's command (the request and
  the buffer drawn) over several opens (benchmarks/emacs_ops.el);
- VS Code: `node benchmarks/vscode_ops.mjs` opens a real workbench
  (code-server) with the built .vsix and times a click on the Town
  Operations activity bar entry until the Town view's rows are in the DOM;
- `--editor first-render`: `node benchmarks/vscode_first_render.mjs`, every
  VS Code view's first render in fresh windows against a trivial extension
  tree view's (the workbench's floor) measured in the same run.

    python benchmarks/ops_views.py [--editor emacs|vscode|both|first-render] [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GT = [sys.executable, "-m", "gastown_server.cli.gt"]


def build(base: Path, socket: str, convoys: int, per: int) -> Path:
    from benchmarks.town import git_repo
    from gastown_server.beads.store import Ledger
    from gastown_server.paths import ledger_path
    from gastown_server.work import convoys as cv

    env = {**os.environ, "GT_TMUX_SOCKET": socket}
    for k in ("GT_TOWN", "BEADS_DB", "BD_ACTOR", "GT_ACTOR", "GT_RIG", "TMUX"):
        env.pop(k, None)
    root = base / "town"
    src = base / "src"
    git_repo(src)
    subprocess.run([*GT, "install", str(root), "--name", "bench"], cwd=base, env=env, check=True, capture_output=True)
    run = lambda *a: subprocess.run([*GT, *a], cwd=root, env={**env, "GT_TOWN": str(root)}, check=True, capture_output=True)  # noqa: E731
    for r in ("alpha", "beta", "gamma"):
        run("rig", "add", r, str(src))
        for i in range(7):
            run("crew", "add", f"c{i}", "--rig", r)
    run("up", "--no-daemon")
    for r in ("alpha", "beta", "gamma"):
        for i in range(7):
            run("crew", "start", f"c{i}", "--rig", r)
    led = Ledger(ledger_path(root))
    with led.atomic():
        for c in range(convoys):
            ids = [led.create(f"Task {c}.{i}", actor="overseer").id for i in range(per)]
            for i in range(9, per, 10):
                led.add_dependency(ids[i], ids[i - 1], actor="overseer")
            cv.create(led, f"Convoy {c:02d}", ids, actor="mayor")
    agents = json.loads(subprocess.run([*GT, "agents", "--json"], cwd=root, env={**env, "GT_TOWN": str(root)},
                                       check=True, capture_output=True, text=True).stdout)  # fmt: skip
    stats = led.stats()
    led.disconnect()
    running = sum(1 for a in agents if a["running"])
    print(f"town: {len(agents)} agents ({running} running), {stats['total']} beads ({stats['ready']} ready, "
          f"{stats['blocked']} blocked), {convoys} convoys", flush=True)  # fmt: skip
    return root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--editor", choices=("emacs", "vscode", "both", "first-render"), default="both")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--convoys", type=int, default=50)
    ap.add_argument("--per", type=int, default=40)
    args = ap.parse_args()
    socket = f"gt-bench-ops-{uuid.uuid4().hex[:8]}"
    base = Path(tempfile.mkdtemp(prefix="gastown-bench-ops-"))
    env = {**os.environ, "GT_TMUX_SOCKET": socket, "GASTOWN_PYTHON": sys.executable,
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}  # fmt: skip
    try:
        town = build(base, socket, args.convoys, args.per)
        env["GASTOWN_BENCH_TOWN"] = str(town)
        env["GASTOWN_BENCH_RUNS"] = str(args.runs)
        if args.editor in ("emacs", "both"):
            emacs = ROOT / "clients" / "emacs"
            subprocess.run(["emacs", "--batch", "-Q", "-l", str(emacs / "test" / "gastown-batch.el"),
                            "-f", "gastown-batch-load-compiled",
                            "-l", str(ROOT / "benchmarks" / "emacs_ops.el"), "-f", "gastown-bench-ops"],
                           env=env, check=True)  # fmt: skip
        if args.editor in ("vscode", "both"):
            subprocess.run(["node", str(ROOT / "benchmarks" / "vscode_ops.mjs")], env=env, check=True)
        if args.editor == "first-render":
            # Every view's first render against a trivial tree view's, in fresh windows.
            subprocess.run(["node", str(ROOT / "benchmarks" / "vscode_first_render.mjs")], env=env, check=True)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
