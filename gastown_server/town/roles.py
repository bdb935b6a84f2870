"""Role beads (``hq-<role>-role``) and agent beads.

A role bead's description is the role's standing instructions: what ``gt
prime`` shows an agent of that role.  An agent bead (type ``agent``, status
``pinned``) is the agent's persistent identity: ``role_bead``,
``hook_bead`` (the work on its hook, mirrored here for quick views),
``agent_state`` (``idle``, ``running``, ``stopped``) and ``last_activity``;
its ``metadata`` holds the :class:`~.identity.Identity`.
"""

from __future__ import annotations

import msgspec

from ..beads import clock
from .identity import Identity, role_bead_id

ROLE_TEXT = {
    "mayor": (
        "You are the Mayor: the Overseer's chief of staff. You file work as beads, group it in convoys, "
        "sling it to rigs (gt sling), and report when convoys land. You do not write code yourself."
    ),
    "deacon": (
        "You are the Deacon: the town's patrol agent. On every heartbeat run your patrol: check the rigs' "
        "Witnesses and Refineries are alive, run town plugins, escalate what you cannot fix."
    ),
    "boot": "You are Boot, the Deacon's watchdog: check the Deacon, then leave it, nudge it or restart it.",
    "witness": (
        "You are this rig's Witness: patrol its polecats and refinery, nudge stuck workers, recycle dead "
        "sessions, clean up after merges. Polecats mail you POLECAT_DONE."
    ),
    "refinery": (
        "You are this rig's Refinery: merge polecats' work into main one merge request at a time, running "
        "the rig's gates. On conflict ask for rework or escalate. No work may be lost."
    ),
    "polecat": (
        "You are a polecat: run the work on your hook in your own worktree and branch (GUPP: if there is "
        "work on your hook, you run it), then finish with gt done."
    ),
    "crew": "You are a crew member working directly for the Overseer in your own clone of the rig.",
    "dog": (
        "You are a dog, one of the Deacon's helpers: run the plugin on your hook (its bead holds the plugin's "
        "instructions; gt plugin exec <bead> runs a plugin's declared command and records the result), then "
        "wait for the next one."
    ),
}


def role_title(role: str) -> str:
    return f"{role.capitalize()} role"


def create_role_beads(ledger, *, actor: str) -> None:
    for role, text in ROLE_TEXT.items():
        if not ledger.exists(role_bead_id(role)):
            ledger.create(
                role_title(role), actor=actor, bead_id=role_bead_id(role), issue_type="role",
                status="pinned", description=text, pinned=True,
            )  # fmt: skip


def ensure_agent_bead(ledger, ident: Identity, *, actor: str, state: str = "idle"):
    """Create the agent bead if it is missing (returns it either way)."""
    if ledger.exists(ident.bead_id):
        return ledger.get(ident.bead_id)
    return ledger.create(
        ident.address, actor=actor, bead_id=ident.bead_id, issue_type="agent", status="pinned", pinned=True,
        role_bead=ident.role_bead, agent_state=state, last_activity=clock.now(),
        metadata=msgspec.json.encode(ident).decode(), description=f"Agent {ident.address} (session {ident.session})",
    )  # fmt: skip


def role_text(ledger, role: str) -> str:
    if ledger.exists(role_bead_id(role)):
        return ledger.get(role_bead_id(role)).description
    return ROLE_TEXT.get(role, "")
