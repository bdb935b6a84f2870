"""Towers of Hanoi end to end: pour, walk (in-process and bd processes), crash, check."""

import importlib.util
import sqlite3
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "hanoi_bench", Path(__file__).resolve().parents[2] / "benchmarks" / "hanoi.py"
)
hanoi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hanoi)


def test_checker_rejects_an_illegal_order(tmp_path):
    db = str(tmp_path / "l.db")
    root, _, cursor = hanoi.pour(db, 3)
    conn = hanoi._ledger(db)
    conn.close(f"{root}.2", actor="cheat")  # disk 2 while disk 1 still sits on it
    for i in (1, 3, 4, 5, 6, 7):
        conn.close(f"{root}.{i}", actor="cheat")
    conn.disconnect()
    with pytest.raises(hanoi.CheckFailed, match="disk 2 is not on top of A"):
        hanoi.check(db, root, 3, cursor)


def test_checker_rejects_an_unfinished_walk(tmp_path):
    db = str(tmp_path / "l.db")
    root, _, cursor = hanoi.pour(db, 4)
    led = hanoi._ledger(db)
    led.close(f"{root}.1", actor="w")
    led.disconnect()
    with pytest.raises(hanoi.CheckFailed, match="only 1/15 steps closed"):
        hanoi.check(db, root, 4, cursor)


def test_in_process_walk_checks(tmp_path):
    db = str(tmp_path / "l.db")
    root, _, cursor = hanoi.pour(db, 9)
    assert hanoi.walk(db, root) == 511
    assert hanoi.check(db, root, 9, cursor) == 511
    assert hanoi.walk(db, root) == 0  # nothing left: a second walker does nothing


def test_bd_process_walk_checks(tmp_path):
    db = str(tmp_path / "l.db")
    root, _, cursor = hanoi.pour(db, 4)
    assert hanoi.bd_walk(db, root) == 15
    assert hanoi.check(db, root, 4, cursor) == 15


@pytest.mark.slow
@pytest.mark.parametrize("mode, disks, kills", [("inproc", 10, 4), ("bd", 5, 3)])
def test_crash_and_resume_closes_every_move_exactly_once(tmp_path, mode, disks, kills):
    db = str(tmp_path / "l.db")
    root, _, cursor = hanoi.pour(db, disks)
    result = hanoi.crash_test(db, root, disks, cursor, mode=mode, kills=kills, seed=7)
    assert result["moves"] == 2**disks - 1 and result["checked"]
    assert result["kills"] >= kills - 1  # a walker may finish a target between polls
    assert result["walkers_started"] == kills + 1
    conn = sqlite3.connect(db)
    closes = conn.execute(
        "SELECT COUNT(*) FROM events WHERE kind = 'closed' AND bead_id LIKE ?", (root + ".%",)
    ).fetchone()[0]
    conn.close()
    assert closes == 2**disks - 1


def test_concurrent_walkers_close_each_move_once(tmp_path):
    import subprocess
    import sys

    db = str(tmp_path / "l.db")
    root, _, cursor = hanoi.pour(db, 9)
    cmd = [sys.executable, hanoi.__file__, "_walk", "--db", db, "--root", root]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    assert hanoi.check(db, root, 9, cursor) == 511
