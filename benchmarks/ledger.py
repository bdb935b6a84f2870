"""Ledger figures at scale: ready, create, search, and `bd close` as a process.

    python benchmarks/ledger.py [--beads 100000]

Builds a ledger of N beads shaped like a real town (epics with children,
blocks chains, about half closed), then prints p50/p95 timings:

* ``ready`` (default limit 10) in-process            target < 5 ms at 100K
* ``create`` in-process, one transaction each        target < 1 ms
* ``search`` in-process                               target < 20 ms at 100K
* ``bd close <id>`` as a whole process                target p50 < 60 ms
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def build(led, n: int, rng: random.Random) -> list[str]:
    words = "login cache refinery merge queue witness polecat convoy mail hook nudge tmux ledger patrol".split()
    open_ids: list[str] = []
    with led.atomic():
        made = 0
        while made < n:
            epic = led.create(f"Epic {made}: {rng.choice(words)} {rng.choice(words)}", actor="bench", issue_type="epic")
            made += 1
            prev = None
            for _ in range(min(rng.randint(3, 12), n - made)):
                deps = [("blocks", prev)] if prev and rng.random() < 0.5 else []
                child = led.create(
                    f"{rng.choice(words)} {rng.choice(words)} task {made}",
                    actor="bench",
                    parent=epic.id,
                    priority=rng.randint(0, 4),
                    description=" ".join(rng.choice(words) for _ in range(20)),
                    deps=deps,
                )
                made += 1
                prev = child.id
                if rng.random() < 0.5:
                    led.close(child.id, actor="bench")
                else:
                    open_ids.append(child.id)
    return open_ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beads", type=int, default=100_000)
    args = ap.parse_args()
    from gastown_server.beads.store import Ledger

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = root / ".gastown" / "ledger.db"
        led = Ledger(db, create=True)
        led.config_set("issue_prefix", "gt", actor="bench")
        t = time.perf_counter()
        open_ids = build(led, args.beads, rng)
        build_s = time.perf_counter() - t
        stats = led.stats()
        print(f"built {stats['total']} beads in {build_s:.1f} s ({stats['total'] / build_s:.0f}/s): "
              f"ready {stats['ready']}, blocked {stats['blocked']}")

        ready = timed(lambda: led.ready(), 300)
        creates = timed(lambda: led.create("bench create", actor="bench", priority=2), 1000)
        # A specific phrase (a few hits), a common pair of words (thousands of
        # hits, sorted by priority), and a miss.
        queries = ["task 4242", "refinery merge", "nothing-matches-this"]
        search = timed(lambda: led.search(rng.choice(queries)), 90)
        search_common = timed(lambda: led.search("refinery merge"), 20)
        led.disconnect()

        bd = Path(sys.executable).parent / "bd"
        targets = rng.sample(open_ids, 40)
        closes = []
        for bead_id in targets:
            t = time.perf_counter()
            subprocess.run([str(bd), "close", bead_id], cwd=root, check=True, capture_output=True)
            closes.append((time.perf_counter() - t) * 1000)
        ready_proc = timed(
            lambda: subprocess.run([str(bd), "ready", "--json"], cwd=root, check=True, capture_output=True), 20
        )
        noop = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 20)

    rows = [
        ("ready (in-process, limit 10)", ready, 5),
        ("create (in-process)", creates, 1),
        ("search (in-process, mixed queries)", search, 20),
        ("search, 'refinery merge' (~1% hits)", search_common, None),
        ("bd close (whole process)", closes, 60),
        ("bd ready --json (whole process)", ready_proc, None),
        ("python -c pass (interpreter floor)", noop, None),
    ]
    print(f"\n{'figure':<38} {'p50 ms':>8} {'p95 ms':>8} {'mean':>8}  target")
    ok = True
    for name, samples, target in rows:
        p50 = statistics.median(samples)
        verdict = "" if target is None else (f"< {target} ms " + ("ok" if p50 < target else "MISSED"))
        ok &= target is None or p50 < target
        print(f"{name:<38} {p50:8.2f} {pct(samples, 0.95):8.2f} {statistics.mean(samples):8.2f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
