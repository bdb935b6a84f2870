"""What a patrol remembers between cycles, in ``<town>/.gastown/patrol/<key>.json``.

Kept out of the ledger on purpose: a patrol runs every few seconds, and
writing "nothing happened" into the ledger each time would grow it (and the
activity feed) without bound.  The file survives session restarts, so a
recycled Witness still knows whom it nudged.  Read-modify-write happens under
an ``fcntl`` lock on ``<key>.lock``; writes are temp file + rename.

Keys: ``deacon``, ``<rig>-witness``, ``<rig>-refinery``.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec


class NudgeRecord(msgspec.Struct, omit_defaults=True):
    """A stuck polecat the Witness nudged and is waiting on."""

    nudged_at: float
    #: Transcript size right after the nudge (its own echo included).
    size_after: int
    #: Length of the nudge text: growth up to about this much is only the echo.
    text_len: int = 0
    session: str = ""


class StallRecord(msgspec.Struct, omit_defaults=True):
    """A polecat's climb up the stall ladder (patrol/stalls.py)."""

    #: The work's state when it last changed, and when that was (epoch s).
    fingerprint: str
    since: float
    #: 0 nothing done, 1 nudged, 2 restarted, 3 escalated; when the last rung was taken.
    rung: int = 0
    rung_at: float = 0.0
    reason: str = ""
    tried: list[str] = msgspec.field(default_factory=list)


class PatrolState(msgspec.Struct, omit_defaults=True):
    #: Something was done this cycle (the backoff step resets the sleep and clears it).
    acted: bool = False
    #: Consecutive cycles that did nothing (drives the exponential backoff).
    idle_cycles: int = 0
    last_delay_s: float = 0.0
    last_cycle_at: float = 0.0
    #: The Deacon's heartbeat (epoch seconds): Boot reads it.
    heartbeat_at: float = 0.0
    #: Witness: the threshold the last sweep used (seconds), for nudge-stuck.
    stuck_after_s: float = 0.0
    nudges: dict[str, NudgeRecord] = msgspec.field(default_factory=dict)
    #: Witness: restarts of a stuck polecat, by address (reset when it recovers).
    restarts: dict[str, int] = msgspec.field(default_factory=dict)
    notes: list[str] = msgspec.field(default_factory=list)
    #: Witness: the stall ladder of each polecat with work (by address).
    stalls: dict[str, StallRecord] = msgspec.field(default_factory=dict)


def state_key(role: str, rig: str = "") -> str:
    return f"{rig}-{role}" if rig else role


def _dir(town_root: Path) -> Path:
    return Path(town_root) / ".gastown" / "patrol"


def path_for(town_root: Path, key: str) -> Path:
    return _dir(town_root) / f"{key}.json"


def load(town_root: Path, key: str) -> PatrolState:
    try:
        return msgspec.json.decode(path_for(town_root, key).read_bytes(), type=PatrolState)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return PatrolState()


def all_states(town_root: Path) -> dict[str, PatrolState]:
    """Every patrol's state by key (``gt patrol status``, the dashboard's patrol health)."""
    d = _dir(town_root)
    keys = sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []
    return {k: load(town_root, k) for k in keys}


def _save(town_root: Path, key: str, state: PatrolState) -> None:
    path = path_for(town_root, key)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode(state))
    os.replace(tmp, path)


@contextmanager
def update(town_root: Path, key: str) -> Iterator[PatrolState]:
    """Lock, load, let the caller change it, save."""
    d = _dir(town_root)
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        state = load(town_root, key)
        yield state
        _save(town_root, key, state)
    finally:
        os.close(fd)


def mark_acted(town_root: Path, key: str) -> None:
    with update(town_root, key) as st:
        st.acted = True
