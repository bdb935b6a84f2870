"""Emacs bead list: first render of a 2,000-bead town (50 convoys, 30 agents) and push-to-render latency.

Makes a town in a temporary directory (real ledger: 2,000 task beads tracked
by 50 convoys, 30 agent beads), then runs real `emacs --batch` with
`benchmarks/emacs_beadlist.el`, which connects to the real
`gastown-server --stdio` and opens `gastown-beadlist` with a page of 500 (the
default) and of 2,000 (everything at once); meanwhile a separate Python
process closes beads shown on the page one by one (as an agent's `bd close`
would), printing the wall-clock time of each commit.  Emacs prints figures.

    python benchmarks/emacs_beadlist.py [--convoys 50] [--beads 2000] [--agents 30] [--closes 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_town(root: Path, convoys: int, beads: int, agents: int) -> list[str]:
    from gastown_server.beads.store import Ledger
    from gastown_server.work import convoys as cv

    subprocess.run([shutil.which("bd") or "bd", "init", "--prefix", "gt", "--path", str(root)],
                   check=True, capture_output=True)
    ledger = Ledger(root / ".gastown" / "ledger.db")
    per = beads // convoys
    ids: list[str] = []
    with ledger.atomic():
        for c in range(convoys):
            batch = [ledger.create(f"Task {c}.{i}", actor="overseer", priority=i % 5,
                                   labels=[f"area{i % 4}"], assignee=f"gastown/polecats/p{i % 7}").id
                     for i in range(per)]
            cv.create(ledger, f"Convoy {c}", batch, actor="mayor")
            ids.extend(batch)
        for a in range(agents):
            ledger.create(f"gastown/polecats/a{a}", actor="overseer", issue_type="agent")
    ledger.disconnect()
    return ids


def closer(db: str, ids: list[str], delay: float) -> None:
    """Close IDS one at a time (its own process), printing each commit time."""
    from gastown_server.beads.store import Ledger

    ledger = Ledger(db)
    sys.stdin.readline()  # wait until Emacs has drawn the buffer
    for bid in ids:
        ledger.close(bid, actor="gastown/polecats/p0", reason="done")
        print(f"closed {bid} {time.time():.6f}", flush=True)
        time.sleep(delay)
    ledger.disconnect()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--convoys", type=int, default=50)
    ap.add_argument("--beads", type=int, default=2000)
    ap.add_argument("--agents", type=int, default=30)
    ap.add_argument("--closes", type=int, default=20)
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--closer", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.closer is not None:
        closer(args.closer[0], args.closer[1:], args.delay)
        return 0

    emacs = os.environ.get("EMACS") or shutil.which("emacs")
    if not emacs:
        print("emacs_beadlist: error: emacs not found", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="gt-emacs-bench-") as tmp:
        town = Path(tmp).resolve()
        t0 = time.perf_counter()
        ids = make_town(town, args.convoys, args.beads, args.agents)
        print(f"town: {args.convoys} convoys, {len(ids)} beads, {args.agents} agents "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        # Beads on the first page (priority order: P0 first, then oldest): close those.
        p0 = [i for n, i in enumerate(ids) if (n % (args.beads // args.convoys)) % 5 == 0]
        victims = p0[: args.closes]
        env = dict(os.environ,
                   GASTOWN_BENCH_TOWN=str(town),
                   GASTOWN_BENCH_CLOSER=" ".join([sys.executable, str(Path(__file__).resolve()),
                                                  "--delay", str(args.delay), "--closer",
                                                  str(town / ".gastown" / "ledger.db"), *victims]),
                   GASTOWN_BENCH_VICTIMS=" ".join(victims),
                   GASTOWN_BENCH_EXPECT=str(len(ids)),
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        proc = subprocess.run(
            [emacs, "--batch", "-Q", "-l", str(ROOT / "clients/emacs/test/gastown-batch.el"),
             "-f", "gastown-batch-load-compiled",
             "-l", str(ROOT / "benchmarks/emacs_beadlist.el"), "-f", "gastown-bench-beadlist"],
            env=env, text=True, capture_output=True, timeout=600)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
