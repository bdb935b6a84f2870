"""``gt checkpoint write|read|clear``: an agent's note to its successor after a crash.

A checkpoint is a small JSON file ``<town>/.gastown/checkpoints/<agent>.json``
(state, never in git): when, which session, what was on the hook, the
molecule and step, and free notes.  A session that dies without a handoff
leaves its last checkpoint for the next one (``gt checkpoint read``).
"""

from __future__ import annotations

import os
import re

import msgspec

from ..beads import clock
from ..errors import NotFound
from . import layout


class Checkpoint(msgspec.Struct, omit_defaults=False):
    address: str
    at: str
    session_id: str = ""
    hook: list[str] = msgspec.field(default_factory=list)
    molecule: str = ""
    step: str = ""
    notes: str = ""


def _path(root, address: str):
    return layout.state_dir(root) / "checkpoints" / (re.sub(r"[^A-Za-z0-9_.-]", "_", address.strip("/")) + ".json")


def write(town, address: str, *, notes: str = "", molecule: str = "", step: str = "", session_id: str = "") -> Checkpoint:
    from ..work import agent_work, hooks

    hooked = hooks.hooked_work(town.ledger, address)
    if not molecule:
        mols = [m for m in (agent_work.molecule_of(town.ledger, b) for b in hooked) if m]
        molecule = mols[0] if len(mols) == 1 else ""
    cp = Checkpoint(address=address, at=clock.now(), session_id=session_id, hook=[b.id for b in hooked],
                    molecule=molecule, step=step, notes=notes)  # fmt: skip
    path = _path(town.root, address)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(msgspec.json.encode(cp))
    os.replace(tmp, path)
    return cp


def read(town, address: str) -> Checkpoint:
    try:
        return msgspec.json.decode(_path(town.root, address).read_bytes(), type=Checkpoint)
    except FileNotFoundError:
        raise NotFound(f"{address} has no checkpoint (gt checkpoint write)") from None
    except msgspec.DecodeError as exc:
        raise NotFound(f"{address}'s checkpoint is unreadable ({exc}): gt checkpoint clear") from None


def clear(town, address: str) -> bool:
    try:
        _path(town.root, address).unlink()
        return True
    except FileNotFoundError:
        return False
