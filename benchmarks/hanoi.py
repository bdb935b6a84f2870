#!/usr/bin/env python3
"""Towers of Hanoi: Gas Town's durability proof, as a benchmark.

For each disk count: pour the ``towers-of-hanoi`` formula as a wisp, walk
it to the end, and verify it with an independent checker that replays
every closed move, in closing order (the ledger's event cursor), on three
pegs: each move must be legal, every step closed exactly once, and the
tower must end on peg C.  The checker reads only bead titles and events;
it shares no code with the generator.

Walks:
* ``inproc``  - one process, through the Ledger API (10, 15, 20 disks)
* ``bd``      - an agent-like walker running one ``bd close`` process per
                move (10 disks); it reads the plan once with ``bd mol show``
                and, after a crash, asks ``bd mol current`` where to resume
* ``crash``   - walkers SIGKILLed at random points, restarted until done

Usage:
    python benchmarks/hanoi.py                 # all figures (10, 15, 20 disks; bd; crash)
    python benchmarks/hanoi.py --quick         # 10 and 15 disks only
    python benchmarks/hanoi.py inproc --disks 12 --db /tmp/x.db
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
_MOVE = re.compile(r"^Move disk (\d+) from ([ABC]) to ([ABC])$")


# -- the independent checker ------------------------------------------------------


class CheckFailed(AssertionError):
    pass


def check(db: str, root_id: str, disks: int, since_event: int = 0) -> int:
    """Replay closed moves of ``root_id`` in closing order; returns moves checked."""
    conn = sqlite3.connect(db)
    try:
        lo, hi = root_id + ".", root_id + "/"
        total, closed = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 'closed'), 0) FROM issues WHERE id >= ? AND id < ?", (lo, hi)
        ).fetchone()
        expected = (1 << disks) - 1
        if total != expected:
            raise CheckFailed(f"molecule has {total} steps, expected {expected}")
        if closed != total:
            raise CheckFailed(f"only {closed}/{total} steps closed")
        dupes = conn.execute(
            "SELECT bead_id, COUNT(*) FROM events WHERE id > ? AND kind = 'closed' AND bead_id >= ? AND bead_id < ? "
            "GROUP BY bead_id HAVING COUNT(*) > 1 LIMIT 5",
            (since_event, lo, hi),
        ).fetchall()
        if dupes:
            raise CheckFailed(f"steps closed more than once: {dupes}")
        pegs = {"A": list(range(disks, 0, -1)), "B": [], "C": []}
        n = 0
        rows = conn.execute(
            "SELECT e.bead_id, i.title FROM events e JOIN issues i ON i.id = e.bead_id "
            "WHERE e.id > ? AND e.kind = 'closed' AND e.bead_id >= ? AND e.bead_id < ? ORDER BY e.id",
            (since_event, lo, hi),
        )
        for bead_id, title in rows:
            m = _MOVE.match(title)
            if not m:
                raise CheckFailed(f"{bead_id}: not a move: {title!r}")
            disk, src, dst = int(m.group(1)), m.group(2), m.group(3)
            if not pegs[src] or pegs[src][-1] != disk:
                raise CheckFailed(f"move {n + 1} ({bead_id}): disk {disk} is not on top of {src}: {pegs}")
            if pegs[dst] and pegs[dst][-1] < disk:
                raise CheckFailed(f"move {n + 1} ({bead_id}): disk {disk} onto smaller disk {pegs[dst][-1]}")
            pegs[dst].append(pegs[src].pop())
            n += 1
        if n != expected:
            raise CheckFailed(f"{n} close events for {expected} steps")
        if pegs["C"] != list(range(disks, 0, -1)):
            raise CheckFailed(f"not solved: {pegs}")
        return n
    finally:
        conn.close()


# -- pour and walk (in-process) ---------------------------------------------------------


def _ledger(db: str, create: bool = False):
    from gastown_server.beads.store import Ledger

    led = Ledger(db, create=create)
    if create:
        led.config_set("issue_prefix", "h", actor="bench")
    return led


def pour(db: str, disks: int, *, create: bool = True) -> tuple[str, float, int]:
    from gastown_server.formulas import molecule, search
    from gastown_server.formulas.cook import cook

    led = _ledger(db, create)
    cursor = led.last_event_id()
    t0 = time.perf_counter()
    proto = cook(search.load("towers-of-hanoi"), {"disks": disks})
    root = molecule.pour(led, proto, actor="bench", wisp=True)
    elapsed = time.perf_counter() - t0
    led.disconnect()
    return root.id, elapsed, cursor


def walk(db: str, root_id: str, actor: str = "walker") -> int:
    """Close current steps until none is left; returns closes done here."""
    from gastown_server.errors import Conflict
    from gastown_server.formulas import molecule

    led = _ledger(db)
    n = 0
    try:
        while True:
            ids = molecule.current_ids(led, root_id)
            if not ids:
                return n
            for bead_id in ids:
                try:
                    led.close(bead_id, actor=actor)
                    n += 1
                except Conflict:  # another walker closed it first
                    pass
    finally:
        led.disconnect()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scratch(args, fn) -> dict:
    """Run ``fn(db)`` on ``--db`` or on a temporary ledger removed afterwards."""
    if args.db:
        return fn(args.db)
    tmp = tempfile.mkdtemp(prefix="hanoi-")
    try:
        return fn(os.path.join(tmp, "ledger.db"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_inproc(args) -> dict:
    return _scratch(args, lambda db: _inproc(args, db))


def _inproc(args, db: str) -> dict:
    root, t_pour, cursor = pour(db, args.disks)
    t0 = time.perf_counter()
    closes = walk(db, root)
    t_walk = time.perf_counter() - t0
    result = {
        "disks": args.disks,
        "moves": closes,
        "pour_s": round(t_pour, 2),
        "walk_s": round(t_walk, 2),
        "total_s": round(t_pour + t_walk, 2),
        "steps_per_s": round(closes / t_walk, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "root": root,
        "cursor": cursor,
    }
    if not args.no_check:
        t0 = time.perf_counter()
        check(db, root, args.disks, cursor)
        result["check_s"] = round(time.perf_counter() - t0, 2)
        result["checked"] = True
    if not args.keep:
        from gastown_server.formulas import molecule

        led = _ledger(db)
        t0 = time.perf_counter()
        digest = molecule.finish(led, root, actor="bench")  # [squash] on_complete: digest, then burn
        result["squash_burn_s"] = round(time.perf_counter() - t0, 2)
        result["digest"] = digest.title if digest else None
        led.disconnect()
    return result


# -- walking with bd processes -----------------------------------------------------------


def _launcher() -> list[str]:
    """``bd`` itself; or, with HANOI_BD_NOSITE=1, the same entry point under
    ``python -S`` (no site hooks: this sandbox's site imports certifi in
    every process, which a normal install does not)."""
    if os.environ.get("HANOI_BD_NOSITE") != "1":
        return [str(BIN / "bd")]
    import site

    import gastown_server

    paths = [str(Path(gastown_server.__file__).resolve().parents[1]), *site.getsitepackages()]
    code = f"import sys; sys.path[:0] = {paths!r}; from gastown_server.cli.bd import main; sys.exit(main())"
    return [sys.executable, "-S", "-c", code]


def _bd(db: str, *argv: str, check_rc: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, BD_ACTOR="agent")
    proc = subprocess.run([*_launcher(), "--db", db, *argv], capture_output=True, text=True, env=env)
    if check_rc and proc.returncode != 0:
        raise RuntimeError(f"bd {' '.join(argv)}: {proc.stderr.strip()}")
    return proc


def bd_walk(db: str, root_id: str) -> int:
    """An agent's loop: read the plan once, ask where we are, close moves one by one."""
    plan = json.loads(_bd(db, "--json", "mol", "show", root_id, "--limit", "0").stdout)
    order = [s["id"] for s in plan["steps"]]
    cur = json.loads(_bd(db, "--json", "mol", "current", root_id).stdout)["steps"]
    if not cur:
        return 0
    start = order.index(cur[0]["id"])
    for bead_id in order[start:]:
        _bd(db, "close", bead_id)
    return len(order) - start


def cmd_bd(args) -> dict:
    return _scratch(args, lambda db: _bd_run(args, db))


def _bd_run(args, db: str) -> dict:
    root, t_pour, cursor = pour(db, args.disks)
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    closes = bd_walk(db, root)
    elapsed = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    check(db, root, args.disks, cursor)
    return {
        "launcher": "python -S" if os.environ.get("HANOI_BD_NOSITE") == "1" else "bd",
        "cpu_ms_per_close": round(1000 * cpu / closes, 1),
        "disks": args.disks,
        "moves": closes,
        "walk_s": round(elapsed, 2),
        "ms_per_close": round(1000 * elapsed / closes, 1),
        "steps_per_s": round(closes / elapsed, 1),
        "checked": True,
    }


# -- crash test --------------------------------------------------------------------------


def crash_test(db: str, root_id: str, disks: int, cursor: int, *, mode: str, kills: int, seed: int) -> dict:
    """SIGKILL walkers at random points of the walk, restart, finish, check.

    The kill points are random move counts: a watcher polls the ledger and
    kills the walker's whole process group (walker and any ``bd`` child,
    possibly mid-transaction) once that many moves are closed.
    """
    rng = random.Random(seed)
    total = (1 << disks) - 1
    targets = sorted(rng.sample(range(1, total), min(kills, total - 1)))
    me = str(Path(__file__).resolve())
    killed = starts = 0
    for target in [*targets, None]:
        starts += 1
        cmd = [sys.executable, me, "_walk", "--db", db, "--root", root_id, "--mode", mode]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        if target is not None:
            while proc.poll() is None and _closed(db, root_id) < target:
                time.sleep(0.003 + rng.random() * 0.004)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                killed += 1
            proc.wait()
            continue
        proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"walker failed: {proc.stderr.read().decode()[-500:]}")
    if _closed(db, root_id) != total:
        raise CheckFailed("the last walker did not finish")
    moves = check(db, root_id, disks, cursor)
    return {"disks": disks, "mode": mode, "kills": killed, "walkers_started": starts, "moves": moves, "checked": True}


def _closed(db: str, root_id: str) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(
            "SELECT COUNT(*) FROM issues WHERE id >= ? AND id < ? AND status = 'closed'", (root_id + ".", root_id + "/")
        ).fetchone()[0]
    finally:
        conn.close()


def cmd_crash(args) -> dict:
    def run(db: str) -> dict:
        root, _, cursor = pour(db, args.disks)
        return crash_test(db, root, args.disks, cursor, mode=args.mode, kills=args.kills, seed=args.seed)

    return _scratch(args, run)


def cmd_walk_worker(args) -> None:
    if args.mode == "bd":
        bd_walk(args.db, args.root)
    else:
        walk(args.db, args.root)


# -- the full run --------------------------------------------------------------------------


def _child(*argv: str) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv, "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="skip the 20-disk run")
    p.add_argument("--json", action="store_true")
    sub = p.add_subparsers(dest="cmd")
    for name in ("inproc", "bd", "crash", "_walk"):
        s = sub.add_parser(name)
        s.add_argument("--disks", type=int, default=10)
        s.add_argument("--db")
        s.add_argument("--json", action="store_true")
        s.add_argument("--no-check", action="store_true")
        s.add_argument("--keep", action="store_true", help="do not squash and burn the wisp at the end")
        s.add_argument("--root")
        s.add_argument("--mode", default="inproc", choices=("inproc", "bd"))
        s.add_argument("--kills", type=int, default=8)
        s.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.cmd == "_walk":
        cmd_walk_worker(args)
        return 0
    if args.cmd:
        result = {"inproc": cmd_inproc, "bd": cmd_bd, "crash": cmd_crash}[args.cmd](args)
        print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
        return 0
    print("Towers of Hanoi benchmark (wisp, pour + walk + independent check)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for disks in (10, 15) if args.quick else (10, 15, 20):
        r = _child("inproc", "--disks", str(disks))
        print(
            f"in-process {disks:>2} disks: {r['moves']:>9,} moves  pour {r['pour_s']:>6.2f} s  walk {r['walk_s']:>7.2f} s  "
            f"total {r['total_s']:>7.2f} s  {r['steps_per_s']:>8,.0f} steps/s  peak RSS {r['peak_rss_mb']:>6.1f} MB  "
            f"check {r['check_s']:.2f} s OK  squash+burn {r['squash_burn_s']:.2f} s"
        )
    r = _child("bd", "--disks", "10")
    print(
        f"bd close   10 disks: {r['moves']:>9,} moves  walk {r['walk_s']:.2f} s  {r['ms_per_close']} ms/close  "
        f"({r['cpu_ms_per_close']} ms CPU)  {r['steps_per_s']:.1f} steps/s  check OK"
    )
    for mode in ("inproc", "bd"):
        r = _child("crash", "--disks", "10", "--mode", mode, "--kills", "8")
        print(
            f"crash test 10 disks ({mode} walker): killed {r['kills']} times, {r['walkers_started']} walkers, "
            f"{r['moves']} moves each closed exactly once, solved"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
