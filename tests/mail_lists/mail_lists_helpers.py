"""Shared by the list/queue tests: JSON output, one-error-line checks, "nothing changed" fingerprints."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def js(proc):
    return json.loads(proc.stdout)


def as_(who: str) -> dict[str, str]:
    return {"BD_ACTOR": who}


def one_error_line(proc, *needles: str) -> str:
    """Exit 1, exactly one `gt: error: ...` line on stderr (no traceback) mentioning each needle."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gt: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def fingerprint(root: Path) -> tuple:
    """Every bead row, label and event count, plus the messaging file: equal means nothing changed."""
    with sqlite3.connect(root / ".gastown" / "ledger.db") as conn:
        issues = conn.execute("SELECT id, status, assignee FROM issues ORDER BY id").fetchall()
        labels = conn.execute("SELECT issue_id, label FROM labels ORDER BY 1, 2").fetchall()
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    cfg = root / "settings" / "messaging.json"
    return issues, labels, events, cfg.read_bytes() if cfg.exists() else None
