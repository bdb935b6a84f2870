"""Per-session cost records: ``<town>/.gastown/costs/<session id>.json``.

A record holds, for one town session (a ``session_started`` event), the
scan state of each of the runtime's own session files (``usage.FileScan``:
offset, tokens per day and model) and the beads it worked on.  It is a
cache that outlives the files (runtimes delete old sessions): refreshing it
reads only what was appended, and writing it is atomic (temp file +
rename), so the Stop hook (``gt costs record``), ``gt status`` and
``gt costs`` may all refresh at once; whichever rename lands last holds a
consistent state, and the next refresh continues from it.  Prices are
applied when reporting, never stored, so a changed price table applies to
the past too.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from . import usage as U

COSTS_DIR = "costs"


class SessionCost(msgspec.Struct, omit_defaults=True):
    session_id: str
    address: str = ""
    runtime: str = ""
    started: str = ""
    #: Beads on the agent's hook at start and at each ``gt costs record`` (for ``--by convoy``).
    hook: list[str] = []
    files: list[U.FileScan] = []

    def usage_by_day_model(self) -> dict[str, dict[str, U.Usage]]:
        out: dict[str, dict[str, U.Usage]] = {}
        for f in self.files:
            for day, models in f.usage.items():
                for model, u in models.items():
                    out.setdefault(day, {}).setdefault(model, U.Usage()).add(u)
        return out

    def totals(self) -> U.Usage:
        out = U.Usage()
        for f in self.files:
            out.add(f.totals())
        return out


_decoder = msgspec.json.Decoder(SessionCost)
_encoder = msgspec.json.Encoder()


def record_path(state_dir: Path, session_id: str) -> Path:
    if not session_id or "/" in session_id or session_id.startswith("."):
        raise ValueError(f"bad session id {session_id!r}")
    return Path(state_dir) / COSTS_DIR / f"{session_id}.json"


def load(state_dir: Path, session_id: str) -> SessionCost | None:
    try:
        return _decoder.decode(record_path(state_dir, session_id).read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # no record yet, or a damaged one: rebuilt from the files


def save(state_dir: Path, rec: SessionCost) -> None:
    path = record_path(state_dir, rec.session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(_encoder.encode(rec))
    os.replace(tmp, path)


def refresh(state_dir: Path, session, fmt: str, *, hook: list[str] | None = None, write: bool = True) -> SessionCost:
    """The record of ``session`` (a ``lifecycle.SessionRecord``) brought up to date with its files."""
    from ..runtime.native import session_files

    rec = load(state_dir, session.session_id) or SessionCost(
        session_id=session.session_id, address=session.address, runtime=session.runtime, started=session.at,
        hook=list(session.hook),
    )  # fmt: skip
    changed = False
    for h in hook or ():
        if h not in rec.hook:
            rec.hook.append(h)
            changed = True
    known = {f.path: f for f in rec.files}
    files = []
    for path in session_files(fmt, session.logs):
        before = known.pop(str(path), None)
        state = before or U.new_scan(path, fmt)
        mark = (state.inode, state.offset, state.lines)
        state = U.scan(state)
        if before is None or (state.inode, state.offset, state.lines) != mark:
            changed = True
        files.append(state)
    files.extend(known.values())  # files the runtime deleted: their usage stays counted
    rec.files = files
    if changed and write:
        try:
            save(state_dir, rec)
        except OSError:
            pass  # a read-only state dir: still report what the files say
    return rec
