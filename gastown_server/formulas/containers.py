"""Closing a step closes the ``parallel`` container it completes.

A Gas Town ``type = "parallel"`` step is poured as a container bead (metadata
``parallel: true``) whose children run at once; it completes when all of them
do.  ``bd close`` and the walk close through :func:`close_step`.  Kept apart
from ``molecule.py`` (and light on imports) because every ``bd close`` loads it.
"""

from __future__ import annotations

import msgspec

_OPEN = "status NOT IN ('closed', 'tombstone')"


def is_parallel(metadata: str) -> bool:
    if not metadata or '"parallel"' not in metadata:
        return False
    try:
        value = msgspec.json.decode(metadata)
    except msgspec.DecodeError:
        return False
    return isinstance(value, dict) and value.get("parallel") is True


def close_step(ledger, bead_id: str, *, actor: str, reason: str = ""):
    """Close a bead; a parallel container whose last open child it was closes too (and so on up)."""
    with ledger.atomic():
        bead = ledger.close(bead_id, actor=actor, reason=reason)
        parent = bead.parent
        while parent and ledger.exists(parent):
            container = ledger.get(parent)
            if container.status in ("closed", "tombstone") or not is_parallel(container.metadata):
                break
            open_child = ledger.conn.execute(
                f"SELECT 1 FROM issues WHERE parent = ? AND {_OPEN} LIMIT 1", (container.id,)
            ).fetchone()
            if open_child is not None:
                break
            ledger.close(container.id, actor=actor, reason="parallel: all children closed")
            parent = container.parent
    return bead
