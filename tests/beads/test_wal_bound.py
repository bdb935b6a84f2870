"""The WAL stays near journal_size_limit while readers keep snapshots open all the time.

SQLite's automatic PASSIVE checkpoints cannot restart the WAL while some reader
always holds a snapshot, so journal_size_limit never applies and the file grows.
Two reader threads here take turns so one snapshot is always open; the same
writes run once with the ledger's bounding checkpoint switched off (the WAL
must outgrow the limit: the scenario is real) and once with it on.
"""

import os
import threading
import time

from gastown_server.beads import store
from gastown_server.beads.store import WAL_SIZE_LIMIT, Ledger


def _overlapping_readers(db: str, stop: threading.Event) -> list[threading.Thread]:
    def read(offset: float) -> None:
        time.sleep(offset)
        with Ledger(db) as led:
            while not stop.is_set():
                with led.snapshot():
                    led.conn.execute("SELECT COUNT(*) FROM issues").fetchone()
                    time.sleep(0.03)
                time.sleep(0.005)

    threads = [threading.Thread(target=read, args=(o,), daemon=True) for o in (0.0, 0.015)]
    for t in threads:
        t.start()
    return threads


def _peak_wal(db: str, megabytes: int) -> int:
    stop = threading.Event()
    threads = _overlapping_readers(db, stop)
    peak = 0
    try:
        with Ledger(db) as led:
            text = "lorem ipsum dolor sit amet " * 300  # ~8 KB per bead
            written = 0
            while written < megabytes * 1024 * 1024:
                led.create("payload", actor="bench", description=text)
                written += len(text)
                peak = max(peak, os.path.getsize(db + "-wal"))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    return peak


def test_wal_is_bounded_under_overlapping_readers(tmp_path, monkeypatch):
    for name in ("off", "on"):
        db = str(tmp_path / f"{name}.db")
        with Ledger(db, create=True) as led:
            led.config_set("issue_prefix", "wal", actor="test")
    with monkeypatch.context() as m:
        m.setattr(Ledger, "_bound_wal", lambda self, **kw: None)
        unbounded = _peak_wal(str(tmp_path / "off.db"), 3)
    bounded = _peak_wal(str(tmp_path / "on.db"), 3)
    assert unbounded > 2 * WAL_SIZE_LIMIT, f"the scenario did not grow the WAL ({unbounded} bytes)"
    # Near the limit: the limit plus what commits add between two attempts or while one waits
    # (1.1-1.6x the limit here, 5.4 MB with four CPU hogs; 3x seen with the whole suite running:
    # a reader thread descheduled inside its snapshot makes a TRUNCATE give up).  Unbounded: 14x.
    assert bounded < 4 * WAL_SIZE_LIMIT and bounded * 3 < unbounded, (bounded, unbounded)
    with Ledger(str(tmp_path / "on.db")) as led:
        assert led.integrity_check() == "ok"
        assert led.conn.execute("SELECT COUNT(*) FROM issues").fetchone()[0] > 300


def test_the_daemons_maintenance_empties_a_wal_past_a_quarter_of_the_limit(tmp_path):
    db = str(tmp_path / "l.db")
    with Ledger(db, create=True) as led:
        led.config_set("issue_prefix", "wal", actor="test")
        assert led.maintain_wal() is None  # small: nothing to do (one stat)
        reader = Ledger(db)
        reader.conn.execute("BEGIN")
        reader.conn.execute("SELECT COUNT(*) FROM issues").fetchone()  # holds the WAL
        text = "x" * 8000
        while os.path.getsize(db + "-wal") <= WAL_SIZE_LIMIT // 4 + 4096:
            led.create("payload", actor="test", description=text)
        reader.conn.execute("COMMIT")
        reader.disconnect()
        assert os.path.getsize(db + "-wal") > WAL_SIZE_LIMIT // 4
        busy, _log, _done = led.maintain_wal()
        assert busy == 0
        assert os.path.getsize(db + "-wal") == 0
    assert store.WAL_CHECKPOINT_WAIT_S <= 2.0  # a committer's worst stall stays short


def test_a_failing_bound_never_fails_a_write_that_committed(tmp_path, monkeypatch):
    import sqlite3

    def broken(self, **kw):
        raise sqlite3.OperationalError("disk I/O error")

    db = str(tmp_path / "l.db")
    with Ledger(db, create=True) as led:
        led.config_set("issue_prefix", "wal", actor="test")
        monkeypatch.setattr(Ledger, "_bound_wal", broken)
        bead = led.create("still written", actor="test")
        assert led.get(bead.id).title == "still written"
