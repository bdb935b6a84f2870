"""Dogs: the Deacon's named helpers for maintenance and plugin work (``deacon/dogs/<name>``).

A dog is to the town what a crew member is to a rig: a named, long-lived
agent with an agent bead ``hq-dog-<name>`` (made by :func:`add`), a tmux
session ``hq-dog-<name>`` (started only through ``lifecycle.start_agent``)
and a working directory ``<town>/dogs/<name>``.  A dog is *working* while a
bead is on its hook and *idle* otherwise; the Deacon hands idle dogs work
(town plugins, see :mod:`gastown_server.patrol.plugin_runs`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec

from ..errors import Conflict, NotFound
from . import roles
from .core import Town
from .identity import DOG_ROLE, Identity, dog_identity

#: The dog the Deacon makes when work is due and the town has none.
DEFAULT_DOG = "alpha"
#: A dog is working while a bead of its is on its hook or being run (a claimed plugin run).
WORKING = ("hooked", "in_progress")


class DogStatus(msgspec.Struct, omit_defaults=False):
    name: str
    address: str
    session: str
    #: ``working`` (something is on its hook or being run) or ``idle``.
    state: str
    #: The beads it is working on (hooked or in progress).
    hook: list[str]
    #: Its session exists on the town's tmux server / its pane's process is alive.
    running: bool
    alive: bool
    #: The agent bead's ``agent_state`` (``idle``, ``running``, ``stopped``).
    agent_state: str
    cwd: str


def add(town: Town, name: str, *, actor: str = "overseer") -> Identity:
    ident = dog_identity(town.root, name)
    ledger = town.ledger
    if ledger.exists(ident.bead_id):
        raise Conflict(f"dog {name!r} already exists")
    with ledger.mutation("dog_added", actor, ident.bead_id, {"address": ident.address}):
        roles.create_role_beads(ledger, actor=actor)  # a town installed before dogs lacks hq-dog-role
        roles.ensure_agent_bead(ledger, ident, actor=actor)
    Path(ident.cwd).mkdir(parents=True, exist_ok=True)
    return ident


def members(town: Town) -> list[Identity]:
    return sorted((a for a in town.agents() if a.role == DOG_ROLE), key=lambda a: a.name)


def find(town: Town, name: str) -> Identity:
    ident = dog_identity(town.root, name)
    if not town.ledger.exists(ident.bead_id):
        known = ", ".join(d.name for d in members(town)) or "none yet"
        raise NotFound(f"no dog {name!r} (dogs: {known}; gt dog add {name})")
    return ident


def status(town: Town, sessions: dict | None = None) -> list[DogStatus]:
    """Every dog with its hook and session, from one ledger read and one tmux call."""
    if sessions is None:
        from ..runtime.snapshot import sessions_snapshot

        sessions = {s.name: s for s in (sessions_snapshot(town.socket) or [])}
    hooked = work_by_dog(town.ledger)
    beads = {b.id: b for b in town.ledger.list(issue_type="agent", order="id") if b.id.startswith("hq-dog-")}
    out = []
    for ident in members(town):
        hook = hooked.get(ident.address, [])
        info = sessions.get(ident.session)
        bead = beads.get(ident.bead_id)
        out.append(DogStatus(
            name=ident.name, address=ident.address, session=ident.session, state="working" if hook else "idle",
            hook=hook, running=info is not None, alive=bool(info and info.alive),
            agent_state=bead.agent_state if bead is not None else "", cwd=ident.cwd,
        ))  # fmt: skip
    return out


def start(town: Town, name: str, *, actor: str = "overseer"):
    from .lifecycle import start_agent

    return start_agent(town, find(town, name), actor=actor)


def stop(town: Town, name: str, *, actor: str = "overseer", grace_s: float = 5.0) -> bool:
    from .lifecycle import stop_agent

    return stop_agent(town, find(town, name), actor=actor, grace_s=grace_s)


def work_by_dog(ledger) -> dict[str, list[str]]:
    """Every dog's address -> the beads it is working on, oldest first (one query)."""
    out: dict[str, list[str]] = {}
    rows = ledger.conn.execute(
        "SELECT assignee, id FROM issues WHERE status IN (?, ?) AND assignee LIKE 'deacon/dogs/%' "
        "ORDER BY created_at, id", WORKING,
    )  # fmt: skip
    for assignee, bead_id in rows:
        out.setdefault(assignee, []).append(bead_id)
    return out


def current_work(ledger, address: str) -> list:
    """The beads ``address`` is working on (hooked or in progress), oldest first."""
    return ledger.list(status=list(WORKING), assignee=address)


def remove(town: Town, name: str, *, actor: str = "overseer", force: bool = False) -> Identity:
    """Forget the dog's agent bead, stop its session and remove its working directory.

    A working dog is refused unless ``force``; then its work is closed as
    abandoned (it must not stay on a hook nobody will ever run).  The check
    and the removal are one transaction, so work dispatched meanwhile is
    either seen (refused / abandoned) or refused by the dispatcher (its dog
    is gone); the session is stopped only after, so no revived dog runs it.
    """
    ident = find(town, name)
    ledger = town.ledger
    with ledger.mutation("dog_removed", actor, ident.bead_id, {"address": ident.address}) as rec:
        if not ledger.exists(ident.bead_id):
            raise NotFound(f"no dog {name!r} (removed meanwhile)")
        working = current_work(ledger, ident.address)
        if working and not force:
            ids = ", ".join(b.id for b in working)
            raise Conflict(f"dog {name!r} is working ({ids} on its hook): wait for it, or pass --force")
        rec.payload["abandoned"] = [b.id for b in working]
        for bead in working:
            ledger.add_label(bead.id, "result:abandoned", actor=actor)
            ledger.close(bead.id, actor=actor, reason=f"abandoned: dog {name} was removed (--force) while working")
        # Purging the agent bead is what marks the dog stopped: nothing revives or dispatches to it now.
        ledger.purge([ident.bead_id], actor=actor)
    if town.tmux.running() and town.tmux.has(ident.session):
        town.tmux.stop(ident.session, grace_s=2.0)
    shutil.rmtree(ident.cwd, ignore_errors=True)
    return ident


def pick_idle(town: Town, *, actor: str) -> tuple[Identity | None, bool]:
    """An idle dog for new work, and whether its session is alive.

    An idle dog with a live session first, else an idle stopped one (the
    caller starts it); a town with no dogs gets :data:`DEFAULT_DOG`.  None
    when every dog is working.
    """
    dogs = status(town)
    if not dogs:
        try:
            return add(town, DEFAULT_DOG, actor=actor), False
        except Conflict:  # another dispatcher made it just now
            dogs = status(town)
    idle = [d for d in dogs if d.state == "idle"]
    if not idle:
        return None, False
    best = next((d for d in idle if d.alive), idle[0])
    return dog_identity(town.root, best.name), best.alive


def done(town: Town, address: str, *, actor: str, message: str = "") -> list[str]:
    """``gt dog done``: the dog finished what is on its hook.

    A plugin run is recorded as ``success`` (with ``message``); any other
    bead is closed.  The dog is idle once its hook is empty.
    """
    from ..errors import NotFound
    from ..patrol import plugin_runs
    from ..patrol import plugins as P

    ident = town.identity(address)
    if ident.role != DOG_ROLE:
        raise NotFound(f"{address} is not a dog (gt dog list)")
    ledger = town.ledger
    finished = []
    for bead in current_work(ledger, ident.address):
        if P.RUN_LABEL in ledger.labels(bead.id):
            plugin_runs.record(town, bead.id, "success", message, actor=actor, exit_code=-1)
        else:
            ledger.close(bead.id, actor=actor, reason=message or f"done ({ident.address})")
        finished.append(bead.id)
    if ledger.exists(ident.bead_id) and ledger.get(ident.bead_id).hook_bead:
        ledger.update(ident.bead_id, actor=actor, hook_bead="")
    return finished
