"""``gt rig park|unpark|stop|start|boot|shutdown``: a rig's agents as a group.

A parked rig (ledger config ``rig.<name>.parked``) has no always-on agents:
:meth:`Town.always_on` skips it, so neither ``gt up`` nor the daemon starts
its Witness and Refinery, and its agents' beads say ``parked`` (not
``running``), so the daemon revives none of them.  Unparking marks them
``running`` again and starts them.  ``stop``/``shutdown`` stop sessions now
without parking: the daemon brings the Witness and Refinery back on its next
beat (the result's ``note`` says so).
"""

from __future__ import annotations

import msgspec

from ..errors import Conflict
from .core import Town

PARKED_STATE = "parked"


class RigOp(msgspec.Struct, omit_defaults=False):
    rig: str
    parked: bool
    stopped: list[str] = msgspec.field(default_factory=list)
    started: list[str] = msgspec.field(default_factory=list)
    note: str = ""


def _key(name: str) -> str:
    return f"rig.{name}.parked"


def is_parked(ledger, name: str) -> bool:
    return (ledger.config_get(_key(name)) or "") == "1"


def _agents(town: Town, name: str, roles: tuple[str, ...]) -> list:
    from .identity import rig_identity

    r = town.rig(name)
    fixed = [rig_identity(town.root, r.name, r.prefix, role) for role in ("witness", "refinery") if role in roles]
    others = [a for a in town.agents() if a.rig == name and a.role in roles and a.role not in ("witness", "refinery")]
    seen, out = set(), []
    for ident in [*fixed, *others]:
        if ident.address not in seen:
            seen.add(ident.address)
            out.append(ident)
    return out


def _stop(town: Town, idents, *, actor: str, grace_s: float, state: str) -> list[str]:
    from .lifecycle import stop_agent

    return [i.address for i in idents if stop_agent(town, i, actor=actor, grace_s=grace_s, agent_state=state)]


def park(town: Town, name: str, *, actor: str, grace_s: float = 5.0) -> RigOp:
    town.rig(name)
    if is_parked(town.ledger, name):
        return RigOp(rig=name, parked=True, note=f"{name} was already parked")
    town.ledger.config_set(_key(name), "1", actor=actor)
    stopped = _stop(town, _agents(town, name, ("witness", "refinery", "polecat")), actor=actor, grace_s=grace_s,
                    state=PARKED_STATE)  # fmt: skip
    return RigOp(rig=name, parked=True, stopped=stopped, note="nothing restarts its agents until gt rig unpark")


def unpark(town: Town, name: str, *, actor: str) -> RigOp:
    from .lifecycle import start_agent

    town.rig(name)
    if not is_parked(town.ledger, name):
        return RigOp(rig=name, parked=False, note=f"{name} was not parked")
    ledger = town.ledger
    ledger.config_set(_key(name), "0", actor=actor)
    revived = [a for a in town.agents() if a.rig == name and ledger.exists(a.bead_id)
               and ledger.get(a.bead_id).agent_state == PARKED_STATE]  # fmt: skip
    started = [start_agent(town, i, actor=actor).address for i in _agents(town, name, ("witness", "refinery"))]
    started += [start_agent(town, i, actor=actor).address for i in revived if i.address not in started]
    return RigOp(rig=name, parked=False, started=started)


def boot(town: Town, name: str, *, actor: str) -> RigOp:
    """Start the rig's Witness and Refinery (``gt rig start`` and ``gt rig boot``)."""
    from .lifecycle import start_agent

    town.rig(name)
    if is_parked(town.ledger, name):
        raise Conflict(f"rig {name} is parked: gt rig unpark {name} starts it")
    started = [start_agent(town, i, actor=actor).address for i in _agents(town, name, ("witness", "refinery"))]
    return RigOp(rig=name, parked=False, started=started)


def stop(town: Town, name: str, *, actor: str, grace_s: float = 5.0, crew: bool = False) -> RigOp:
    """Stop the rig's Witness, Refinery and polecats now (``shutdown``: its crew too)."""
    town.rig(name)
    roles = ("witness", "refinery", "polecat", "crew") if crew else ("witness", "refinery", "polecat")
    idents = _agents(town, name, roles)
    stopped = _stop(town, idents, actor=actor, grace_s=grace_s, state="stopped")
    parked = is_parked(town.ledger, name)
    note = "" if parked else (f"the daemon restarts its Witness and Refinery on its next beat; "
                              f"gt rig park {name} keeps them down")  # fmt: skip
    return RigOp(rig=name, parked=parked, stopped=stopped, note=note)
