"""The polecat name pool: persistent identities, recycled names.

A polecat's *identity* (its agent bead ``<prefix>-polecat-<name>``, its
``session_started`` history, its mail) is permanent; its *name* is reused.
A name is free in a rig when all three hold:

- no worktree directory ``<rig>/polecats/<name>/``;
- no tmux session ``<prefix>-<name>`` on the town's socket;
- no work assigned to ``<rig>/polecats/<name>`` that is ``hooked`` or
  ``in_progress`` (an issue waiting for its merge still belongs to it).

Allocation takes the first free name of a fixed themed list (the Mad Max
crew, as in Gas Town), then ``pc-<n>``.  Two concurrent slings never get the
same name: :func:`allocate` holds a per-rig file lock
(``.gastown/locks/polecats-<rig>.lock``) until the caller has made the
worktree, which is what marks the name taken.

Release is implicit: nothing here frees a name.  When the Witness's cleanup
(``polecat_cleanup.nuke`` after MERGED) removes the worktree and the session
has ended, and nothing of the polecat's is hooked or in progress, the name
is free again.  The agent bead and its history stay, so the next polecat
with that name continues the same identity's record.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from . import layout, rigs
from .core import Rig, Town
from .identity import Identity, rig_identity

#: Gas Town's pool is themed on Mad Max: Fury Road.
NAMES = (
    "furiosa", "nux", "slit", "rictus", "toast", "capable", "dag", "cheedo", "ace", "morsov",
    "keeper", "valkyrie", "max", "joe", "angharad", "organic", "corpus", "scrotus", "coma", "splendid",
)  # fmt: skip
BUSY_STATUSES = ("hooked", "in_progress")


def candidate_names() -> Iterator[str]:
    yield from NAMES
    n = 1
    while True:
        yield f"pc-{n}"
        n += 1


def busy_reason(
    town: Town, rig: Rig, name: str, *, live: set[str] | None = None, branches: list[str] | None = None
) -> str:
    """Why ``name`` is taken in ``rig`` ('' when it is free)."""
    ident = rig_identity(town.root, rig.name, rig.prefix, "polecat", name)
    if layout.polecat_dir(town.root, rig.name, name).exists():
        return f"worktree {ident.cwd} exists"
    if live is None:
        live = _live_sessions(town)
    if branches is None:
        branches = rigs.polecat_branches(rig)
    if rigs.polecat_branch(name) in branches:
        # A bead-less ``polecat/<name>`` branch (from a plain ``gt polecat start``) occupies the
        # ref namespace ``polecat/<name>/...``: git could not make the sling's branch.
        return f"branch {rigs.polecat_branch(name)} exists"
    if ident.session in live:
        return f"session {ident.session} is running"
    row = town.ledger.conn.execute(
        "SELECT id, status FROM issues WHERE assignee = ? AND status IN (?, ?) LIMIT 1",
        (ident.address, *BUSY_STATUSES),
    ).fetchone()
    if row:
        return f"{row[0]} is {row[1]} on it"
    return ""


def _live_sessions(town: Town) -> set[str]:
    tmux = town.tmux
    return {s.name for s in tmux.sessions()} if tmux.running() else set()


def free_name(town: Town, rig: Rig) -> str:
    """The first free name (no lock: see :func:`allocate`)."""
    live = _live_sessions(town)
    branches = rigs.polecat_branches(rig)
    for name in candidate_names():
        if not busy_reason(town, rig, name, live=live, branches=branches):
            return name
    raise AssertionError("unreachable: the pool is unbounded")


@contextmanager
def allocate(town: Town, rig: Rig) -> Iterator[Identity]:
    """Hold the rig's pool lock and yield a free polecat identity.

    The caller must make the worktree (which takes the name) before the
    block ends; a failure inside leaves the name free.
    """
    locks = town.state_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"polecats-{rig.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield rig_identity(town.root, rig.name, rig.prefix, "polecat", free_name(town, rig))
    finally:
        os.close(fd)
