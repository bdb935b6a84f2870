"""The 100K-bead import, this checkout against a baseline commit, in alternating fresh processes.

    python benchmarks/import_pairs.py --against 412045f [--rounds 7] [--beads 100000] [--go]

One classic-shape file (benchmarks/jsonl_interop.py's generator) is written
once; each round runs ``bd import``'s own path (``jsonl.import_path``: parse
and import into an empty ledger, one transaction) in a fresh interpreter for
the baseline, then for this checkout (the order flips every round, so a
load change hits both alike).  The baseline runs from a detached worktree of
``--against`` made under a temporary directory.  Prints wall and CPU seconds
per run (CPU counts the forked parse child too) and the medians.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

RUN = """  # run with cwd = the scratch directory: -c puts the cwd first on sys.path
import os, sys, tempfile, time
from pathlib import Path
from gastown_server.beads import jsonl
from gastown_server.beads.store import Ledger
led = Ledger(Path(tempfile.mkdtemp(dir=sys.argv[2])) / "ledger.db", create=True)
t = time.perf_counter()
r = jsonl.import_path(led, sys.argv[1], actor="bench")
wall = time.perf_counter() - t
times = os.times()
assert r.created > 0
print(f"{wall:.3f} {times.user + times.system + times.children_user + times.children_system:.3f} {os.getloadavg()[0]:.1f}")
"""


def run(tree: Path, source: Path, scratch: Path) -> tuple[float, float, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(source), str(scratch)], env=env, cwd=scratch, check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, help="baseline commit")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--beads", type=int, default=100_000)
    ap.add_argument("--go", action="store_true", help="the file as Beads' Go encoder writes it (jsonl_interop.go_shaped)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import jsonl_interop

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        source = scratch / "issues.jsonl"
        jsonl_interop.make_file(source, args.beads, random.Random(7), go=args.go)
        base = scratch / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.against], check=True)
        try:
            trees = {"baseline": base, "this": ROOT}
            results: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "this": []}
            shape = "Beads (Go) shape" if args.go else "classic shape"
            print(f"{args.beads} beads, {shape}, {source.stat().st_size / 1e6:.1f} MB; baseline {args.against}")
            for i in range(args.rounds):
                order = ["baseline", "this"] if i % 2 == 0 else ["this", "baseline"]
                for name in order:
                    wall, cpu, load = run(trees[name], source, scratch)
                    results[name].append((wall, cpu, load))
                    print(f"  round {i + 1} {name:<8} {wall:6.2f} s wall  {cpu:6.2f} s cpu  load {load:.1f}", flush=True)
            for name, rows in results.items():
                walls = [r[0] for r in rows]
                print(
                    f"{name:<8} wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}); "
                    f"cpu median {statistics.median(r[1] for r in rows):.2f} s; under 6 s in {sum(w < 6 for w in walls)}/{len(walls)}"
                )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
