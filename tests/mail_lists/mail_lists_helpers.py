"""Shared by the list/queue tests: JSON output, one-error-line checks, "nothing changed" fingerprints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from town_helpers import js, one_error_line  # noqa: F401 - re-exported for the tests here


def as_(who: str) -> dict[str, str]:
    return {"BD_ACTOR": who}


def fingerprint(root: Path) -> tuple:
    """Every bead row, label and event count, plus the messaging file: equal means nothing changed."""
    with sqlite3.connect(root / ".gastown" / "ledger.db") as conn:
        issues = conn.execute("SELECT id, status, assignee FROM issues ORDER BY id").fetchall()
        labels = conn.execute("SELECT issue_id, label FROM labels ORDER BY 1, 2").fetchall()
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    cfg = root / "settings" / "messaging.json"
    return issues, labels, events, cfg.read_bytes() if cfg.exists() else None
