"""The town's append-only event file, ``<town>/.events.jsonl`` (SPEC: tmux conventions).

Each line is ``{ts, source, type, actor, payload, visibility}`` for one
committed ledger event.  The file exists only in towns (``gt install``
creates it), so a plain ``bd init`` ledger never writes it.  Lines are
written after COMMIT, so a rolled-back change never appears, and all lines
of one transaction go out in a single ``O_APPEND`` write, so concurrent
processes never interleave inside a line.  The ledger's ``events`` table
stays the source of truth (and the resumable cursor); this file is for
tools that tail a log, like the original's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec

FILE_NAME = ".events.jsonl"

#: What a wisp (an ephemeral molecule: patrol cycles loop them) leaves in the file: its
#: end, not each pour and step (the ledger drops those rows too when it is burned).
WISP_SUMMARY_KINDS = frozenset({"molecule_burned", "molecule_squashed"})

#: Bookkeeping kinds that only auditors want; everything else is feed.
AUDIT_KINDS = frozenset(
    {"updated", "label_added", "label_removed", "config_set", "dependency_added", "dependency_removed", "compacted"}
)


class TownEvent(msgspec.Struct):
    ts: str
    source: str
    type: str
    actor: str
    payload: dict
    visibility: str


_ENCODER = msgspec.json.Encoder()  # field order as SPEC lists it


def path_for_ledger(ledger_path: Path) -> Path | None:
    """``<town>/.events.jsonl`` when the ledger belongs to a town that keeps one."""
    candidate = ledger_path.parent.parent / FILE_NAME
    return candidate if candidate.exists() else None


def create(town_root: Path) -> Path:
    path = town_root / FILE_NAME
    path.touch(exist_ok=True)
    return path


class FeedLog:
    """Buffers one transaction's events; :meth:`flush` after COMMIT, :meth:`discard` on ROLLBACK."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = os.path.basename(sys.argv[0] or "") or "gastown"
        self._pending: list[bytes] = []

    def add(self, ts: str, kind: str, actor: str, bead_id: str, payload: dict) -> None:
        if "-wisp-" in bead_id and kind not in WISP_SUMMARY_KINDS:
            return
        body = dict(payload)
        if bead_id:
            body.setdefault("bead", bead_id)
        visibility = "audit" if kind in AUDIT_KINDS else "feed"
        self._pending.append(_ENCODER.encode(TownEvent(ts, self.source, kind, actor, body, visibility)) + b"\n")

    def discard(self) -> None:
        self._pending.clear()

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:  # the town removed it on purpose: stop writing
            return
        try:
            os.write(fd, data)
        except OSError as exc:
            # After COMMIT: the ledger holds these events (and the RPC feed serves
            # them); a full disk must not turn a committed write into a failure.
            print(f"warning: could not append to {self.path}: {exc.strerror}", file=sys.stderr)
        finally:
            os.close(fd)
