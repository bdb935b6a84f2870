"""Emacs convoy and feed buffers: first render of 50 convoys / 2,000 beads, push-to-render latency, feed cap.

Makes a town in a temporary directory (real ledger), then runs real
`emacs --batch` with `benchmarks/emacs_convoys.el`, which connects to the real
`gastown-server --stdio`, opens `gastown-convoys`, and meanwhile a separate
Python process closes tracked beads one by one (as an agent's `bd close`
would), printing the wall-clock time of each commit.  Emacs prints figures.
Then the same for an open `gastown-feed` buffer (commit -> its line), and
10,000 events from another process while the feed buffer's size is sampled.

    python benchmarks/emacs_convoys.py [--convoys 50] [--beads 2000] [--closes 20]
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


def make_town(root: Path, convoys: int, beads: int) -> list[str]:
    from gastown_server.beads.store import Ledger
    from gastown_server.work import convoys as cv

    subprocess.run([shutil.which("bd") or "bd", "init", "--prefix", "gt", "--path", str(root)],
                   check=True, capture_output=True)
    ledger = Ledger(root / ".gastown" / "ledger.db")
    per = beads // convoys
    tracked_all: list[str] = []
    with ledger.atomic():
        for c in range(convoys):
            ids = [ledger.create(f"Task {c}.{i}", actor="overseer", assignee=f"gastown/polecats/p{i % 7}").id
                   for i in range(per)]
            cv.create(ledger, f"Convoy {c}", ids, actor="mayor")
            tracked_all.extend(ids)
    ledger.disconnect()
    return tracked_all


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


def burst(db: str, n: int) -> None:
    """Write N events (bead creates, 100 per commit) as a busy town would, then report."""
    from gastown_server.beads.store import Ledger

    ledger = Ledger(db)
    for start in range(0, n, 100):
        with ledger.atomic():
            for i in range(start, min(n, start + 100)):
                ledger.create(f"Burst {i}", actor=f"gastown/polecats/p{i % 7}")
    print(f"burst {n} {time.time():.6f}", flush=True)
    ledger.disconnect()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--convoys", type=int, default=50)
    ap.add_argument("--beads", type=int, default=2000)
    ap.add_argument("--closes", type=int, default=20)
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--closer", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--burst", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.burst:
        burst(args.burst[0], int(args.burst[1]))
        return 0
    if args.closer is not None:
        closer(args.closer[0], args.closer[1:], args.delay)
        return 0

    emacs = os.environ.get("EMACS") or shutil.which("emacs")
    if not emacs:
        print("emacs_convoys: error: emacs not found", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="gt-emacs-bench-") as tmp:
        town = Path(tmp).resolve()
        t0 = time.perf_counter()
        ids = make_town(town, args.convoys, args.beads)
        print(f"town: {args.convoys} convoys, {len(ids)} tracked beads "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        step = max(1, len(ids) // args.closes)
        victims = ids[::step][: args.closes]
        env = dict(os.environ,
                   GASTOWN_BENCH_TOWN=str(town),
                   GASTOWN_BENCH_CLOSER=" ".join([sys.executable, str(Path(__file__).resolve()),
                                                  "--delay", str(args.delay), "--closer",
                                                  str(town / ".gastown" / "ledger.db"), *victims]),
                   GASTOWN_BENCH_FEED_CLOSER=" ".join([sys.executable, str(Path(__file__).resolve()),
                                                       "--delay", str(args.delay), "--closer",
                                                       str(town / ".gastown" / "ledger.db"),
                                                       *ids[1::step][: args.closes]]),
                   GASTOWN_BENCH_BURST=" ".join([sys.executable, str(Path(__file__).resolve()), "--burst",
                                                 str(town / ".gastown" / "ledger.db"), "10000"]),
                   GASTOWN_BENCH_EXPECT=str(len(ids)),
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        proc = subprocess.run(
            [emacs, "--batch", "-Q", "-l", str(ROOT / "clients/emacs/test/gastown-batch.el"),
             "-f", "gastown-batch-load-compiled",
             "-l", str(ROOT / "benchmarks/emacs_convoys.el"), "-f", "gastown-bench-convoys"],
            env=env, text=True, capture_output=True, timeout=600)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-3000:])
        sys.stdout.write("".join(l + "\n" for l in proc.stderr.splitlines() if l.startswith("bench")))
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
