"""Crew: long-lived named agents with their own full clone (``<rig>/crew/<name>``)."""

from __future__ import annotations

import shutil

from ..errors import Conflict
from . import rigs, roles
from .core import Town
from .identity import Identity, rig_identity


def add(town: Town, rig_name: str | None, name: str, *, actor: str = "overseer") -> Identity:
    rig = rigs.require_rig(town, rig_name)
    ident = rig_identity(town.root, rig.name, rig.prefix, "crew", name)
    if town.ledger.exists(ident.bead_id):
        raise Conflict(f"crew member {name!r} already exists in rig {rig.name}")
    path = rigs.ensure_crew_clone(town, rig, name)
    try:
        roles.ensure_agent_bead(town.ledger, ident, actor=actor)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return ident


def members(town: Town, rig_name: str | None = None) -> list[Identity]:
    return [a for a in town.agents() if a.role == "crew" and (not rig_name or a.rig == rig_name)]


def find(town: Town, rig_name: str | None, name: str) -> Identity:
    rig = rigs.require_rig(town, rig_name)
    ident = rig_identity(town.root, rig.name, rig.prefix, "crew", name)
    if not town.ledger.exists(ident.bead_id):
        from ..errors import NotFound

        raise NotFound(f"no crew member {name!r} in rig {rig.name}: gt crew add {name} --rig {rig.name}")
    return ident
