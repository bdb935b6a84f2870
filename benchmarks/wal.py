"""The ledger's WAL size over time under continuous writers (and readers).

Agents in 30 panes write the ledger all the time; readers (the RPC server,
exports, ``bd ready``) hold snapshots meanwhile, which keeps SQLite's
automatic PASSIVE checkpoints from ever resetting the WAL, so it grew past
``journal_size_limit`` (12.8 MB measured with a 4 MB limit).  This starts
``--writers`` processes writing for ``--seconds`` (create, update, comment,
close, each its own transaction), ``--readers`` processes querying in short
snapshots and taking a full export every ``--export-every`` seconds, optionally a stand-in for the daemon's periodic
checkpoint (``--daemon-every S``: ``Ledger.maintain_wal`` as the daemon's beat
calls it), and samples the ``-wal`` file's size every 0.1 s.

    python benchmarks/wal.py [--writers 30] [--readers 3] [--seconds 60] [--daemon-every 1]
    PYTHONPATH=<other checkout> python benchmarks/wal.py ...   (compare code versions)

Prints the samples' peak, p50 and p95, the share of time above the limit,
the peak per 5-second window (the curve) and the writers' throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _await_start(go: str) -> float:
    """Wait for the start signal (every child is up); returns the end of the window."""
    while not os.path.exists(go):
        time.sleep(0.01)
    return float(Path(go).read_text())


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def writer(db: str, index: int, go: str, out: str) -> int:
    from gastown_server.beads.store import Ledger

    Path(out + ".ready").write_text("")
    until = _await_start(go)
    rng = random.Random(index)
    actor = f"rig/polecats/w{index}"
    mine: list[str] = []
    n = errors = 0
    with Ledger(db) as led:
        while time.time() < until:
            try:
                op = rng.choice(("create", "create", "update", "comment", "close")) if mine else "create"
                if op == "create":
                    mine.append(led.create(f"w{index}-{n} " + "x" * rng.randint(20, 400), actor=actor).id)
                elif op == "update":
                    led.update(rng.choice(mine), actor=actor, priority=rng.randint(0, 4))
                elif op == "comment":
                    led.add_comment(rng.choice(mine), "note " * rng.randint(5, 80), actor=actor)
                else:
                    led.close(mine.pop(rng.randrange(len(mine))), actor=actor, reason="done")
                n += 1
            except Exception:  # noqa: BLE001 - counted: the figure says whether any happened
                errors += 1
    Path(out).write_text(json.dumps({"writes": n, "errors": errors}))
    return 0


def reader(db: str, go: str, export_every: float) -> int:
    """What the RPC server and clients do: short queries all the time, a full export now and then."""
    from gastown_server.beads import jsonl
    from gastown_server.beads.store import Ledger

    until = _await_start(go)
    next_export = time.time()
    with Ledger(db) as led:
        while time.time() < until:
            if export_every >= 0 and time.time() >= next_export:
                jsonl.export_bytes(led)  # one consistent snapshot of everything (held while it reads)
                next_export = time.time() + export_every
            led.ready(limit=50)
            led.list(status="open", limit=100)
            time.sleep(0.01)
    return 0


def daemon_stand_in(db: str, go: str, every: float) -> int:
    from gastown_server.beads.store import Ledger

    until = _await_start(go)
    while time.time() < until:
        with Ledger(db) as led:  # the daemon opens a fresh connection per beat
            maintain = getattr(led, "maintain_wal", None)
            if maintain is not None:
                maintain()
        time.sleep(every)
    return 0


def run(writers: int, readers: int, seconds: float, daemon_every: float, workdir: Path, export_every: float = 1.0) -> dict:
    from gastown_server.beads.store import WAL_SIZE_LIMIT, Ledger

    db = str(workdir / "ledger.db")
    with Ledger(db, create=True) as led:
        led.config_set("issue_prefix", "rig", actor="bench")
    me = [sys.executable, __file__]
    go = str(workdir / "go")
    procs = [subprocess.Popen([*me, "--writer", db, str(i), go, str(workdir / f"w{i}.json")]) for i in range(writers)]
    procs += [subprocess.Popen([*me, "--reader", db, go, str(export_every)]) for _ in range(readers)]
    if daemon_every > 0:
        procs.append(subprocess.Popen([*me, "--daemon", db, go, str(daemon_every)]))
    # The children's start-up (imports) is not in the window: it opens when every writer is ready.
    while sum(1 for i in range(writers) if (workdir / f"w{i}.json.ready").exists()) < writers:
        time.sleep(0.05)
    until = time.time() + seconds
    Path(go + ".tmp").write_text(str(until))
    os.replace(go + ".tmp", go)
    samples: list[tuple[float, int]] = []
    t0 = time.time()
    while time.time() < until:
        samples.append((time.time() - t0, _size(db + "-wal")))
        time.sleep(0.1)
    codes = [p.wait() for p in procs]
    sizes = sorted(s for _t, s in samples)
    windows: dict[int, int] = {}
    for t, s in samples:
        windows[int(t // 5) * 5] = max(windows.get(int(t // 5) * 5, 0), s)
    stats = [json.loads((workdir / f"w{i}.json").read_text()) for i in range(writers)]
    writes = sum(s["writes"] for s in stats)
    with Ledger(db) as led:
        integrity = led.integrity_check()
    return {
        "writers": writers, "readers": readers, "export_every_s": export_every, "seconds": seconds,
        "daemon_every_s": daemon_every,
        "limit_bytes": WAL_SIZE_LIMIT,
        "wal_peak_bytes": sizes[-1], "wal_p50_bytes": sizes[len(sizes) // 2],
        "wal_p95_bytes": sizes[int(len(sizes) * 0.95)],
        "share_above_limit": round(sum(1 for s in sizes if s > WAL_SIZE_LIMIT) / len(sizes), 3),
        "wal_mean_bytes": int(statistics.fmean(sizes)),
        "peak_per_5s_window_mb": [round(windows[k] / 1e6, 1) for k in sorted(windows)],
        "writes": writes, "writes_per_s": round(writes / seconds, 1),
        "write_errors": sum(s["errors"] for s in stats), "exit_codes": sorted(set(codes)), "integrity": integrity,
    }  # fmt: skip


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        db, index, go, out = sys.argv[2:6]
        return writer(db, int(index), go, out)
    if len(sys.argv) > 1 and sys.argv[1] == "--reader":
        return reader(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    if len(sys.argv) > 1 and sys.argv[1] == "--daemon":
        return daemon_stand_in(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--writers", type=int, default=30)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--daemon-every", type=float, default=1.0, help="seconds between daemon checkpoints (0: none)")
    ap.add_argument("--export-every", type=float, default=1.0,
                    help="seconds between a reader's full exports (0: back to back, -1: never)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.writers, args.readers, args.seconds, args.daemon_every, Path(tmp), args.export_every)
    print(json.dumps(result, indent=2))
    ok = result["write_errors"] == 0 and result["integrity"] == "ok" and result["exit_codes"] == [0]
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
