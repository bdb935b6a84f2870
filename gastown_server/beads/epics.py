"""Epics and swarms (``bd epic ...``, ``bd swarm ...``, ``bd children``).

An epic's children are its ``parent-child`` children (``<epic>.<n>`` ids or a
``parent`` field).  A swarm is Beads' coordination record for working an
epic's children in parallel: a ``molecule`` bead with ``mol_type = swarm``
that ``relates-to`` the epic; :func:`swarm_status` sorts the children into
closed, in progress, ready and blocked (the ledger decides readiness).
"""

from __future__ import annotations

import msgspec

from ..errors import Conflict, InvalidInput

SWARM = "swarm"


class EpicStatus(msgspec.Struct, omit_defaults=False):
    id: str
    title: str
    status: str
    total: int
    closed: int
    eligible_for_close: bool


class SwarmStatus(msgspec.Struct, omit_defaults=False):
    epic: str
    swarm: str
    total: int
    closed: list[str]
    in_progress: list[str]
    ready: list[str]
    blocked: list[str]
    complete: bool


class Swarm(msgspec.Struct, omit_defaults=False):
    id: str
    epic: str
    title: str
    status: str
    coordinator: str = ""


def children(ledger, parent_id: str) -> list:
    ledger.get(parent_id)
    return [b for b in ledger.children(parent_id) if b.status != "tombstone"]


def epic_status(ledger, epic_id: str | None = None) -> list[EpicStatus]:
    epics = [ledger.get(epic_id)] if epic_id else ledger.list(issue_type="epic", include_closed=False)
    out = []
    for e in epics:
        kids = children(ledger, e.id)
        closed = sum(k.status == "closed" for k in kids)
        out.append(EpicStatus(id=e.id, title=e.title, status=e.status, total=len(kids), closed=closed,
                              eligible_for_close=bool(kids) and closed == len(kids) and e.status != "closed"))  # fmt: skip
    return out


def close_eligible(ledger, *, actor: str, dry_run: bool = False) -> list[str]:
    """Close every open epic whose children are all closed."""
    ids = [e.id for e in epic_status(ledger) if e.eligible_for_close]
    if not dry_run:
        with ledger.atomic():
            for i in ids:
                ledger.close(i, actor=actor, reason="all children closed")
    return ids


def _swarm_of(ledger, epic_id: str):
    for d in ledger.dependents(epic_id, "relates-to"):
        b = ledger.get(d.issue_id)
        if b.mol_type == SWARM and b.status != "tombstone":
            return b
    return None


def swarm_create(ledger, epic_id: str, *, actor: str, coordinator: str = "") -> Swarm:
    epic = ledger.get(epic_id)
    if not children(ledger, epic_id):
        raise InvalidInput(f"{epic_id} has no children to swarm on (bd create --parent {epic_id} ...)")
    with ledger.mutation("swarm_created", actor, epic_id) as rec:
        if _swarm_of(ledger, epic_id) is not None:
            raise Conflict(f"{epic_id} already has a swarm ({_swarm_of(ledger, epic_id).id})")
        s = ledger.create(f"swarm: {epic.title}", actor=actor, issue_type="molecule", mol_type=SWARM,
                          assignee=coordinator, deps=[("relates-to", epic_id)],
                          description=f"Parallel work on the children of {epic_id}.")  # fmt: skip
        rec.payload["swarm"] = s.id
    return Swarm(id=s.id, epic=epic_id, title=s.title, status=s.status, coordinator=coordinator)


def swarm_list(ledger, *, include_closed: bool = False) -> list[Swarm]:
    out = []
    for b in ledger.list(issue_type="molecule", include_closed=include_closed):
        if b.mol_type != SWARM:
            continue
        epic = next((d.depends_on_id for d in ledger.dependencies(b.id) if d.type == "relates-to"), "")
        out.append(Swarm(id=b.id, epic=epic, title=b.title, status=b.status, coordinator=b.assignee))
    return out


def swarm_status(ledger, ref: str) -> SwarmStatus:
    """The epic's children by state; ``ref`` is the epic or its swarm."""
    b = ledger.get(ref)
    if b.mol_type == SWARM:
        epic_id = next((d.depends_on_id for d in ledger.dependencies(b.id) if d.type == "relates-to"), "")
        swarm = b
    else:
        epic_id, swarm = ref, _swarm_of(ledger, ref)
    kids = children(ledger, epic_id)
    ready = {r.id for r in ledger.ready(parent=epic_id, limit=None, include_ephemeral=True)}
    st = SwarmStatus(epic=epic_id, swarm=swarm.id if swarm is not None else "", total=len(kids), closed=[],
                     in_progress=[], ready=[], blocked=[], complete=False)  # fmt: skip
    for k in kids:
        if k.status == "closed":
            st.closed.append(k.id)
        elif k.status in ("in_progress", "hooked"):
            st.in_progress.append(k.id)
        elif k.id in ready:
            st.ready.append(k.id)
        else:
            st.blocked.append(k.id)
    st.complete = bool(kids) and len(st.closed) == len(kids)
    return st
