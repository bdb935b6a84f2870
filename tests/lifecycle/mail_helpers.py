"""Shared by the mail/convoy/escalation tests: JSON calls, one-error-line checks, ledger fingerprints."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def js(proc):
    return json.loads(proc.stdout)


def one_error_line(proc, *needles: str) -> str:
    """Exit 1, exactly one `gt: error: ...` line on stderr (no traceback) mentioning each needle."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gt: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def fingerprint(bd, root: Path) -> tuple[str, int]:
    """`bd export` plus the event count: equal before and after means nothing changed."""
    export = bd("export").stdout
    with sqlite3.connect(root / ".gastown" / "ledger.db") as conn:
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return export, events
