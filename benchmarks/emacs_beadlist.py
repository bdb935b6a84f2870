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
import sys
import tempfile
import time
from pathlib import Path

from emacs_bench import bench_env, closer, closer_command, find_emacs, new_ledger, run_emacs


def make_town(root: Path, convoys: int, beads: int, agents: int) -> list[str]:
    from gastown_server.work import convoys as cv

    ledger = new_ledger(root)
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

    emacs = find_emacs("emacs_beadlist")
    if not emacs:
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
        env = bench_env(town,
                        GASTOWN_BENCH_CLOSER=closer_command(__file__, town, args.delay, victims),
                        GASTOWN_BENCH_VICTIMS=" ".join(victims),
                        GASTOWN_BENCH_EXPECT=str(len(ids)))
        proc = run_emacs(emacs, "emacs_beadlist.el", "gastown-bench-beadlist", env)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
