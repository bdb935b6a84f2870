"""Mailing lists and work queues: fan-out, queue send, claim and worker inbox times.

    python benchmarks/mail_lists.py [--members 25] [--queued 1000] [--processes 10]

A ledger-only town in a temp directory with ``--members`` polecat agents
(registered as their first start registers them). Prints the median and max
of: a ``list:`` send to every member, a ``queue:`` send, a claim out of a
queue holding ``--queued`` messages, a worker's inbox with that many queued
(in-process), and ``gt mail claim`` as a process. Real ledger, no mocks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gastown_server.beads.store import Ledger  # noqa: E402
from gastown_server.paths import ledger_path  # noqa: E402
from gastown_server.town import identity, roles  # noqa: E402
from gastown_server.work import mailing  # noqa: E402


def _timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _row(what: str, ms: list[float]) -> None:
    print(f"| {what} | {statistics.median(ms):.1f} ms | {max(ms):.1f} ms |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=25)
    ap.add_argument("--queued", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "town"
        led = Ledger(ledger_path(root), create=True)
        led.config_set("issue_prefix", "hq", actor="bench")
        names = [f"p{i}" for i in range(args.members)]
        for n in names:
            roles.ensure_agent_bead(led, identity.rig_identity(root, "proj", "pj", "polecat", n), actor="bench")
        members = [f"proj/polecats/{n}" for n in names]
        mailing.create_list(led, root, "all", members)
        mailing.create_queue(led, root, "triage", ["proj/polecats/*"])

        print(f"{args.members} list members, {args.queued} queued messages\n")
        print("| what | median | max |\n|---|---|---|")
        _row(f"`list:` send to {args.members} members (one transaction)",
             _timed(lambda: mailing.send(led, root, "list:all", "s", "b", actor="overseer"), 20))
        _row("`queue:` send", _timed(lambda: mailing.send(led, root, "queue:triage", "s", "b", actor="overseer"),
                                     args.queued - 20))
        _row(f"worker inbox ({args.queued} queued + own mail)",
             _timed(lambda: mailing.inbox(led, root, members[0]), 20))
        _row(f"claim (queue of {args.queued})",
             _timed(lambda: mailing.claim(led, root, "triage", actor=members[0]), 20))
        env = {**os.environ, "GT_TOWN": str(root), "BD_ACTOR": members[1]}
        gt = [sys.executable, "-m", "gastown_server.cli.gt", "mail", "claim", "triage"]
        _row("`gt mail claim` process",
             _timed(lambda: subprocess.run(gt, env=env, check=True, capture_output=True), args.processes))
        led.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
