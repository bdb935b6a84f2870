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
import sys
import tempfile
import time
from pathlib import Path

from emacs_bench import bench_env, closer, closer_command, find_emacs, new_ledger, run_emacs


def make_town(root: Path, convoys: int, beads: int) -> list[str]:
    from gastown_server.work import convoys as cv

    ledger = new_ledger(root)
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

    emacs = find_emacs("emacs_convoys")
    if not emacs:
        return 1
    with tempfile.TemporaryDirectory(prefix="gt-emacs-bench-") as tmp:
        town = Path(tmp).resolve()
        t0 = time.perf_counter()
        ids = make_town(town, args.convoys, args.beads)
        print(f"town: {args.convoys} convoys, {len(ids)} tracked beads "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        step = max(1, len(ids) // args.closes)
        victims = ids[::step][: args.closes]
        env = bench_env(town,
                        GASTOWN_BENCH_CLOSER=closer_command(__file__, town, args.delay, victims),
                        GASTOWN_BENCH_FEED_CLOSER=closer_command(__file__, town, args.delay,
                                                                 ids[1::step][: args.closes]),
                        GASTOWN_BENCH_BURST=" ".join([sys.executable, str(Path(__file__).resolve()), "--burst",
                                                      str(town / ".gastown" / "ledger.db"), "10000"]),
                        GASTOWN_BENCH_EXPECT=str(len(ids)))
        proc = run_emacs(emacs, "emacs_convoys.el", "gastown-bench-convoys", env)
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
