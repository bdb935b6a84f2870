"""Where things live: finding the town (and its ledger) from anywhere inside it.

A town is any directory holding ``.gastown/ledger.db``; ``bd init`` makes a
ledger-only one, ``gt install`` a full town.  Agents run inside rig clones
and worktrees below the town root, so discovery walks up from the current
directory.  ``GT_TOWN`` (set in every agent session) and ``BEADS_DB`` win.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR = ".gastown"
LEDGER_FILE = "ledger.db"


def ledger_path(root: str | os.PathLike[str]) -> Path:
    return Path(root) / STATE_DIR / LEDGER_FILE


def find_town_root(start: str | os.PathLike[str] | None = None, *, use_env: bool = True) -> Path | None:
    """The nearest town root at or above ``start`` (default: cwd)."""
    if use_env and os.environ.get("GT_TOWN"):
        root = Path(os.environ["GT_TOWN"]).expanduser()
        return root if ledger_path(root).exists() else None
    here = Path(start or os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if ledger_path(candidate).exists():
            return candidate
    return None


def find_ledger(db: str | None = None) -> Path | None:
    """The ledger file: ``--db``, then ``BEADS_DB``, then the town's."""
    explicit = db or os.environ.get("BEADS_DB")
    if explicit:
        return Path(explicit).expanduser()
    root = find_town_root()
    return ledger_path(root) if root else None
