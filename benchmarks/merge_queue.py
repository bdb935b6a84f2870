"""Merge queue throughput: how many merge requests the Refinery settles per minute.

Builds a real rig in a temporary directory (bare origin, canonical clone,
one polecat worktree per MR, the real ledger), has every polecat commit a
change and run ``done`` (timed too), sets a trivial gate (``true``) and
times the Refinery draining the queue: rebase onto main in its scratch
worktree, gate, journal, push to origin, fast-forward the clone, close the
MR and mail MERGED, one MR at a time under the rig lock.  Every second MR
touches a file an earlier one touched (in a different place), so most
rebases do real work.  Then checks that main holds each change exactly
once.

    python benchmarks/merge_queue.py [--mrs 60] [--gate true]

Target (issue 5): >= 30 MRs per minute with a trivial gate.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gastown_server.beads.store import Ledger  # noqa: E402
from gastown_server.work import gates  # noqa: E402
from gastown_server.work.done import done  # noqa: E402
from gastown_server.work.git import Git  # noqa: E402
from gastown_server.work.merge_requests import RigRef  # noqa: E402
from gastown_server.work.refinery import process_next  # noqa: E402


def build(tmp: Path, count: int):
    origin, repo = tmp / "origin.git", tmp / "town" / "bench" / "repo"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    seed = tmp / "seed"
    g = Git(tmp, actor="overseer")
    g.run("init", "-q", "-b", "main", str(seed))
    s = Git(seed, actor="overseer")
    (seed / "shared.txt").write_text("".join(f"line {i}\n" for i in range(4 * count + 10)))
    s.run("add", ".")
    s.run("commit", "-q", "-m", "initial")
    s.run("push", "-q", str(origin), "main")
    repo.parent.mkdir(parents=True)
    g.run("clone", "-q", str(origin), str(repo))
    ledger = Ledger(tmp / "town" / ".gastown" / "ledger.db", create=True)
    rig = RigRef(name="bench", prefix="bn", repo=str(repo))
    polecats = []
    clone = Git(repo, actor="overseer")
    for i in range(count):
        path = tmp / "town" / "bench" / "polecats" / f"p{i}"
        clone.run("worktree", "add", "-q", "-b", f"polecat/p{i}/bn-{i}", str(path), "main")
        w = Git(path, actor=f"bench/polecats/p{i}")
        if i % 2:  # edit one line of the shared file, far from the others' lines
            lines = (path / "shared.txt").read_text().splitlines(keepends=True)
            lines[4 * i] = f"line {4 * i} changed by p{i}\n"
            (path / "shared.txt").write_text("".join(lines))
        else:
            (path / f"p{i}.txt").write_text(f"work of p{i}\n")
        w.run("add", "-A")
        w.run("commit", "-q", "-m", f"p{i}: change")
        polecats.append((f"bench/polecats/p{i}", path))
    return ledger, rig, polecats, clone


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mrs", type=int, default=60)
    ap.add_argument("--gate", default="true")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gt-mq-bench-") as tmp:
        ledger, rig, polecats, clone = build(Path(tmp), opts.mrs)
        gates.save(ledger, rig.name, actor="overseer", gates=[opts.gate])

        done_ms = []
        for address, path in polecats:
            t = time.perf_counter()
            done(ledger, rig, worktree=path, polecat=address)
            done_ms.append((time.perf_counter() - t) * 1000)

        merge_ms, results = [], []
        started = time.perf_counter()
        while True:
            t = time.perf_counter()
            outcome = process_next(ledger, rig)
            if outcome.result == "idle":
                break
            merge_ms.append((time.perf_counter() - t) * 1000)
            results.append(outcome.result)
        elapsed = time.perf_counter() - started

        subjects = clone.subjects("main")
        once = all(subjects.count(f"p{i}: change") == 1 for i in range(opts.mrs))
        merged = results.count("merged")
        ledger.disconnect()
    q = statistics.quantiles(merge_ms, n=20) if len(merge_ms) > 1 else merge_ms * 19
    print(f"merge requests: {opts.mrs} (gate: {opts.gate!r}), merged: {merged}, other outcomes: {len(results) - merged}")
    print(f"each change on main exactly once: {once}")
    print(f"gt done (in-process): p50 {statistics.median(done_ms):.1f} ms, p95 {statistics.quantiles(done_ms, n=20)[18]:.1f} ms")
    print(f"refinery per MR: p50 {statistics.median(merge_ms):.1f} ms, p95 {q[18]:.1f} ms")
    print(f"throughput: {merged / elapsed * 60:.0f} MRs/min ({elapsed:.2f} s for {merged}; target >= 30)")
    return 0 if once and merged == opts.mrs else 1


if __name__ == "__main__":
    sys.exit(main())
