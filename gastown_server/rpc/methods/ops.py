"""The operator's verbs: ``rig/add|park|unpark|remove``, ``crew/add``, ``agent/start|stop|restart|nuke``,
``formula/pour``, ``work/board``, ``mail/broadcast`` and ``escalate``.

Each is a thin handler over the domain function the ``gt`` command of the
same name calls (``gt rig add``, ``gt session start|stop``, ``gt polecat
nuke``, ``bd mol pour``, ``bd ready``/``bd blocked``, ``gt broadcast``,
``gt escalate``), so an editor and the CLI refuse the same things with the
same one-line reason.  Calls that touch tmux or git run on a worker thread
with their own Town (``in_town_thread``), never on the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ...beads.models import Bead
from ...errors import InvalidInput
from ...town.core import Rig
from ...town.identity import Identity
from ...town.lifecycle import StartResult
from ...town.rig_state import RigOp
from ...work.escalation import Escalation
from ...work.mail import Message
from ...work.polecat_cleanup import Retired
from .. import types as t
from ..registry import method
from .formulas import _plain_name

Grace = Annotated[float, msgspec.Meta(ge=0, le=120)]


# -- params and results (kept here: this module is their only user) -------------------


class RigAddParams(t.Params):
    name: str
    #: A git URL or a path on the server's machine.
    url: str
    prefix: str | None = None


class CrewAddParams(t.Params):
    name: str
    #: Default: the only rig.
    rig: str | None = None


class AgentStopParams(t.Params):
    agent: str
    grace_s: Grace = 5.0


class AgentStopResult(msgspec.Struct):
    address: str
    session: str
    was_running: bool


class AgentNukeParams(t.Params):
    agent: str
    #: Past the safety refusals: the worktree goes (uncommitted work salvaged under a ref), the branch stays.
    force: bool = False


class FormulaPourParams(t.Params):
    name: str
    vars: dict[str, str] = {}
    rig: str | None = None
    #: Who walks the molecule (recorded on its root).
    assignee: str = ""
    #: Pour as a wisp (ephemeral); default: as the formula says (vapor formulas are wisps).
    wisp: bool | None = None


class FormulaPourResult(msgspec.Struct):
    id: str
    formula: str
    steps: int
    ephemeral: bool
    #: The steps ready now.
    current: list[Bead]


class WorkBoardParams(t.Params):
    limit: t.Limit = 200


class BlockedItem(msgspec.Struct):
    bead: Bead
    #: The ids that block it (directly or through its parent).
    blockers: list[str]


class WorkBoardResult(msgspec.Struct):
    ready: list[Bead]
    blocked: list[BlockedItem]


class BroadcastParams(t.Params):
    subject: str
    body: str = ""
    rig: str | None = None
    #: mayor, deacon, witness, refinery, polecat, crew, ...
    role: str | None = None


class BroadcastResult(msgspec.Struct):
    messages: list[Message]


class EscalateParams(t.Params):
    #: What is wrong (the subject line).
    description: str
    severity: str = "medium"
    #: Details under the subject line.
    body: str = ""


# -- rigs and crew ------------------------------------------------------------------


@method("rig/add", RigAddParams, Rig, mode="async")
async def rig_add(call, p: RigAddParams) -> Rig:
    """Add a rig: clone a repository (a git URL or a path) and register its bead prefix (``gt rig add``)."""
    from ...town import rigs

    return await call.app.in_town_thread(lambda town: rigs.add(town, p.name, p.url, prefix=p.prefix, actor=call.actor))


@method("rig/park", t.RigParkParams, RigOp, mode="async")
async def rig_park(call, p: t.RigParkParams) -> RigOp:
    """Park a rig: stop its Witness, Refinery and polecats; nothing restarts them until ``rig/unpark`` (``gt rig park``)."""
    from ...town import rig_state

    return await call.app.in_town_thread(
        lambda town: rig_state.park(town, p.name, actor=call.actor, grace_s=p.grace_s)
    )


@method("rig/unpark", t.RigNameParams, RigOp, mode="async")
async def rig_unpark(call, p: t.RigNameParams) -> RigOp:
    """Unpark a rig: start its Witness, Refinery and the polecats parking stopped (``gt rig unpark``)."""
    from ...town import rig_state

    return await call.app.in_town_thread(lambda town: rig_state.unpark(town, p.name, actor=call.actor))


@method("rig/remove", t.RigRemoveParams, Rig, mode="async")
async def rig_remove(call, p: t.RigRemoveParams) -> Rig:
    """Remove a rig: its directory, agents and route (``gt rig remove``).

    A rig with running sessions is refused (conflict, naming them) unless
    ``force``, which stops them first.
    """
    from ...town import rigs

    return await call.app.in_town_thread(lambda town: rigs.remove(town, p.name, actor=call.actor, force=p.force))


@method("crew/add", CrewAddParams, Identity, mode="async")
async def crew_add(call, p: CrewAddParams) -> Identity:
    """Add a crew member to a rig: a full clone and an agent bead (``gt crew add``); start it with ``agent/start``."""
    from ...town import crew

    return await call.app.in_town_thread(lambda town: crew.add(town, p.rig, p.name, actor=call.actor))


# -- agent sessions -----------------------------------------------------------------


@method("agent/start", t.AgentParams, StartResult, mode="async")
async def agent_start(call, p: t.AgentParams) -> StartResult:
    """Start an agent's session (a polecat's worktree is made if missing); ``status`` says if it already ran (``gt session start``)."""
    from ...town.lifecycle import start_agent

    return await call.app.in_town_thread(lambda town: start_agent(town, town.resolve(p.agent), actor=call.actor))


@method("agent/stop", AgentStopParams, AgentStopResult, mode="async")
async def agent_stop(call, p: AgentStopParams) -> AgentStopResult:
    """Stop an agent's session, gracefully then by force after ``grace_s`` (``gt session stop``).

    Always-on agents (Deacon, Witness, Refinery) come back on the daemon's
    next heartbeat, as with the CLI.
    """
    from ...town.lifecycle import stop_agent

    def work(town):
        ident = town.resolve(p.agent)
        was = stop_agent(town, ident, actor=call.actor, grace_s=p.grace_s)
        return AgentStopResult(ident.address, ident.session, was)

    return await call.app.in_town_thread(work, waits=True)


@method("agent/restart", t.AgentParams, StartResult, mode="async")
async def agent_restart(call, p: t.AgentParams) -> StartResult:
    """Start a fresh session for an agent, its hook kept (the running one is replaced; a stopped one starts)."""
    from ...town.lifecycle import start_agent

    return await call.app.in_town_thread(
        lambda town: start_agent(town, town.resolve(p.agent), actor=call.actor, replace=True), waits=True
    )


@method("agent/nuke", AgentNukeParams, Retired, mode="async")
async def agent_nuke(call, p: AgentNukeParams) -> Retired:
    """Stop a polecat and remove its worktree, never its branch (``gt polecat nuke``).

    Refused (a conflict error with the one-line reason, ``data.reasons``
    listing each; nothing changed) while work could be lost or would come
    straight back: work hooked or in progress on it, uncommitted changes, a
    pending merge request or unmerged commits.  ``force`` overrides.  Only
    polecats are nuked: crew and the town's agents are stopped instead.
    """
    from ...work.polecat_cleanup import retire

    def work(town):
        ident = town.resolve(p.agent)
        if ident.role != "polecat":
            raise InvalidInput(f"only a polecat can be nuked; {ident.address} is a {ident.role} (stop it instead)")
        return retire(town, ident, actor=call.actor, force=p.force)

    return await call.app.in_town_thread(work, waits=True)


# -- formulas -----------------------------------------------------------------------


@method("formula/pour", FormulaPourParams, FormulaPourResult, mode="write")
def formula_pour(call, p: FormulaPourParams) -> FormulaPourResult:
    """Pour a formula as a molecule with its variables (``bd mol pour``); its steps are then walked by agents.

    A required variable left out is refused before anything is written:
    ``data.missing`` names each, so a form can mark its fields.  Step
    commands are never run by the server.
    """
    from ...formulas import molecule, search
    from ...formulas.service import cook_named
    from ...formulas.vars import missing_required

    name, rig = _plain_name("formula", p.name), _plain_name("rig", p.rig)
    given: dict[str, Any] = {k: v for k, v in p.vars.items() if v != ""}
    formula = search.load(name, call.town_root, rig)
    if rig and "rig" in formula.vars and "rig" not in given:
        given["rig"] = rig  # as gt formula run --rig does
    defaults = {k: s.default for k, s in formula.vars.items() if s.default is not None}
    missing = missing_required(formula, {**defaults, **given})
    if missing:
        names = [n for n, _ in missing]
        raise InvalidInput(
            f"formula {name} needs {'variables' if len(names) > 1 else 'variable'} {', '.join(names)}: fill "
            + ("them" if len(names) > 1 else "it") + " in",
            data={"missing": names},
        )
    proto = cook_named(name, given, town=call.town_root, rig=rig)
    wisp = proto.wisp_default if p.wisp is None else p.wisp
    root = molecule.pour(call.ledger, proto, actor=call.actor, wisp=wisp, assignee=p.assignee)
    return FormulaPourResult(root.id, proto.name, proto.count, wisp, molecule.current(call.ledger, root.id, limit=20))


# -- work ---------------------------------------------------------------------------


@method("work/board", WorkBoardParams, WorkBoardResult)
def work_board(call, p: WorkBoardParams) -> WorkBoardResult:
    """The ready and the blocked work at once (``bd ready`` and ``bd blocked``; wisps left out), each blocked bead with its blockers."""
    led = call.ledger
    ready = led.ready(limit=p.limit or None)
    return WorkBoardResult(ready, [BlockedItem(b, ids) for b, ids in led.blocked(limit=p.limit or None)])


# -- broadcast and escalate ---------------------------------------------------------


def _notify(call, messages: list[Message]) -> None:
    """Nudge recipients with a live session, as ``gt broadcast``/``gt escalate`` do (never failing the send)."""
    from ...town import layout
    from ...town.core import Town
    from ...work import mail

    if messages and layout.config_path(call.town_root).exists():
        town = Town(call.town_root)
        try:
            mail.notify(town, messages)
        finally:
            town.close()


@method("mail/broadcast", BroadcastParams, BroadcastResult, mode="write")
def broadcast(call, p: BroadcastParams) -> BroadcastResult:
    """One message to every agent, or one ``rig``'s or one ``role``'s (``gt broadcast``); live recipients are nudged."""
    from ...work import mail

    msgs = mail.broadcast(call.ledger, p.subject, p.body, actor=call.actor, rig=p.rig, role=p.role)
    _notify(call, msgs)
    return BroadcastResult(msgs)


@method("escalate", EscalateParams, Escalation, mode="write")
def escalate(call, p: EscalateParams) -> Escalation:
    """File an escalation (``gt escalate``): to the Deacon, who forwards it up; ``critical`` goes straight to the Mayor and the Overseer."""
    from ...work import escalation, mail

    text = f"{p.description.strip()}\n\n{p.body}" if p.body.strip() else p.description
    esc = escalation.escalate(call.ledger, text, actor=call.actor, severity=p.severity.lower())
    _notify(call, [mail.show(call.ledger, i) for i in esc.mail])
    return esc
