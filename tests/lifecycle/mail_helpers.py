"""Shared by the mail/convoy/escalation tests: JSON calls, one-error-line checks, ledger fingerprints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from town_helpers import js, one_error_line  # noqa: F401 - re-exported for the tests here


def fingerprint(bd, root: Path) -> tuple[str, int]:
    """`bd export` plus the event count: equal before and after means nothing changed."""
    export = bd("export").stdout
    with sqlite3.connect(root / ".gastown" / "ledger.db") as conn:
        events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return export, events
