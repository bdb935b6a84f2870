"""Many writer processes on one ledger: zero errors, zero lost writes.

Agents in 30 tmux panes call ``bd`` at once.  This starts N writer
processes that mix create, update, close, dep add and comment, each
logging every acknowledged write; then checks that ``PRAGMA
integrity_check`` is ok, every acknowledged write is in the ledger and the
WAL file is back under its bound.  A maintenance process runs vacuum,
checkpoints and full snapshot reads (what export does) the whole time.

    python benchmarks/writers.py [--procs 30] [--writes 200]

The test suite runs the same code with smaller numbers
(tests/beads/test_many_writers.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WAL_BOUND = 8 * 1024 * 1024


def worker(db: str, index: int, writes: int, acks: str) -> int:
    from gastown_server.beads.store import Ledger

    rng = random.Random(index)
    mine: list[str] = []
    errors = 0
    with Ledger(db) as led, open(acks, "w") as log:

        def ack(**record) -> None:
            log.write(json.dumps(record) + "\n")
            log.flush()

        for n in range(writes):
            op = rng.choice(["create", "create", "update", "close", "dep", "comment"]) if mine else "create"
            try:
                if op == "create":
                    bead = led.create(f"w{index}-{n}", actor=f"rig/polecats/w{index}", priority=rng.randint(0, 4))
                    mine.append(bead.id)
                    ack(op="create", id=bead.id, title=bead.title)
                elif op == "update":
                    target, prio = rng.choice(mine), rng.randint(0, 4)
                    led.update(target, actor=f"rig/polecats/w{index}", priority=prio)
                    ack(op="update", id=target, priority=prio)
                elif op == "close":
                    target = mine.pop(rng.randrange(len(mine)))
                    led.close(target, actor=f"rig/polecats/w{index}", reason=f"done {n}")
                    ack(op="close", id=target)
                elif op == "dep":
                    if len(mine) < 2:
                        continue
                    newer, older = mine[-1], rng.choice(mine[:-1])
                    if any(d.depends_on_id == older for d in led.dependencies(newer)):
                        continue
                    led.add_dependency(newer, older, actor=f"rig/polecats/w{index}")
                    ack(op="dep", id=newer, on=older)
                else:
                    target, text = rng.choice(mine), f"note {index}-{n}"
                    led.add_comment(target, text, actor=f"rig/polecats/w{index}")
                    ack(op="comment", id=target, text=text)
            except Exception as exc:  # noqa: BLE001 - counted and reported, the point of the run
                errors += 1
                ack(op="error", error=f"{type(exc).__name__}: {exc}")
    return errors


def maintenance(db: str, stop_file: str, report: str) -> None:
    """Vacuum, checkpoint and export in a loop while the writers run."""
    from gastown_server.beads import jsonl
    from gastown_server.beads.store import Ledger

    rounds = 0
    peak_wal = 0
    with Ledger(db) as led:
        while not os.path.exists(stop_file):
            peak_wal = max(peak_wal, _size(db + "-wal"))
            led.vacuum()
            led.checkpoint("PASSIVE")
            exported = jsonl.export_bytes(led)  # one consistent snapshot of everything
            jsonl.parse_classic(exported, "export")  # and it must be well-formed
            rounds += 1
            time.sleep(0.05)
    Path(report).write_text(json.dumps({"rounds": rounds, "peak_wal_bytes": peak_wal}))


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def verify(db: str, ack_files: list[Path]) -> dict:
    from gastown_server.beads.store import Ledger

    acks = [json.loads(line) for f in ack_files for line in f.read_text().splitlines()]
    errors = [a for a in acks if a["op"] == "error"]
    lost = []
    with Ledger(db) as led:
        integrity = led.integrity_check()
        final_priority: dict[str, int] = {}
        for a in acks:
            if a["op"] == "update":
                final_priority[a["id"]] = a["priority"]
        for a in acks:
            op = a["op"]
            if op == "create" and not led.exists(a["id"]):
                lost.append(a)
            elif op == "close" and led.get(a["id"]).status != "closed":
                lost.append(a)
            elif op == "dep" and a["on"] not in {d.depends_on_id for d in led.dependencies(a["id"])}:
                lost.append(a)
            elif op == "comment" and a["text"] not in {c.text for c in led.comments(a["id"])}:
                lost.append(a)
        for bead_id, prio in final_priority.items():
            if led.get(bead_id).priority != prio:
                lost.append({"op": "update", "id": bead_id, "priority": prio})
        # Measured with a connection still open: the WAL file stays, and
        # journal_size_limit must have cut it back after the checkpoint.
        led.checkpoint("PASSIVE")
        wal_bytes = _size(db + "-wal")
    return {
        "acknowledged": len(acks) - len(errors),
        "errors": [e["error"] for e in errors],
        "lost": lost,
        "integrity": integrity,
        "wal_bytes": wal_bytes,
    }


def run(procs: int, writes: int, workdir: Path) -> dict:
    from gastown_server.beads.store import Ledger

    db = str(workdir / "ledger.db")
    with Ledger(db, create=True) as led:
        led.config_set("issue_prefix", "rig", actor="bench")
    ack_files = [workdir / f"acks-{i}.jsonl" for i in range(procs)]
    stop = workdir / "stop"
    me = [sys.executable, __file__]
    maint = subprocess.Popen([*me, "--maintenance", db, str(stop), str(workdir / "maint")])
    start = time.perf_counter()
    children = [
        subprocess.Popen([*me, "--worker", db, str(i), str(writes), str(ack_files[i])]) for i in range(procs)
    ]
    codes = [c.wait() for c in children]
    elapsed = time.perf_counter() - start
    stop.write_text("")
    maint.wait()
    result = verify(db, ack_files)
    result.update(
        procs=procs,
        writes_per_proc=writes,
        seconds=round(elapsed, 2),
        writes_per_second=round(result["acknowledged"] / elapsed, 1),
        worker_exit_codes=sorted(set(codes)),
        **{f"maintenance_{k}": v for k, v in json.loads((workdir / "maint").read_text()).items()},
    )
    return result


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        db, index, writes, acks = sys.argv[2:6]
        return min(worker(db, int(index), int(writes), acks), 1)
    if len(sys.argv) > 1 and sys.argv[1] == "--maintenance":
        maintenance(*sys.argv[2:5])
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", type=int, default=30)
    ap.add_argument("--writes", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.procs, args.writes, Path(tmp))
    lost = result.pop("lost")
    print(json.dumps({**result, "lost": len(lost)}, indent=2))
    ok = not result["errors"] and not lost and result["integrity"] == "ok" and result["wal_bytes"] <= WAL_BOUND
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
