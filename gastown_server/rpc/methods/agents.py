"""``rig/list``, ``agent/*``, ``hook/show``, ``nudge``, ``handoff``, ``seance/*``: the town's agents.

Calls that touch tmux or wait (nudge waits for idle clients, handoff
respawns a session, seance may resume a runtime) run on a worker thread
with their own Town (and ledger connection), never on the event loop.
"""

from __future__ import annotations

import asyncio
import shlex
import threading

from ...town import lifecycle
from ...town.status import agent_rows
from ...work import hooks
from ...work.mail import normalize_address
from .. import types as t
from ..registry import method


async def _agent_row(call, town, ident):
    for row in agent_rows(town, await call.app.sessions_async(town)):
        if row.address == ident.address:
            return row
    from ...town.status import AgentStatus

    return AgentStatus(ident.address, ident.role, ident.rig, ident.session, False, False, [], "", "")


@method("rig/list", t.NoParams, t.RigListResult)
def rig_list(call, p: t.NoParams) -> t.RigListResult:
    """The town's rigs (name, prefix, source, canonical clone) and which of them are parked."""
    from ...town.rig_state import is_parked

    rigs = list(call.app.town_for(call.ledger).rigs())
    return t.RigListResult(rigs, [r.name for r in rigs if is_parked(call.ledger, r.name)])


@method("agent/list", t.NoParams, t.AgentListResult, mode="async")
async def agent_list(call, p: t.NoParams) -> t.AgentListResult:
    """Every agent: address, role, rig, session, running/alive, hook, state, last activity."""
    town = call.app.town_for(call.ledger)
    sessions = await call.app.sessions_async(town)
    return t.AgentListResult(agent_rows(town, sessions))


@method("agent/show", t.AgentParams, t.AgentShowResult, mode="async")
async def agent_show(call, p: t.AgentParams) -> t.AgentShowResult:
    """One agent: status, identity, the beads on its hook and its sessions (newest first)."""
    town = call.app.town_for(call.ledger)
    ident = town.resolve(p.agent)
    row = await _agent_row(call, town, ident)
    sessions = lifecycle.sessions_of(town, ident)
    if sessions and row.running:
        sessions[0].current = True
    return t.AgentShowResult(row, ident, hooks.hooked_work(call.ledger, ident.address), sessions)


@method("agent/attachCommand", t.AgentParams, t.AttachCommandResult, mode="async")
async def attach_command(call, p: t.AgentParams) -> t.AttachCommandResult:
    """The tmux command line an editor terminal runs to attach to the agent's session."""
    town = call.app.town_for(call.ledger)
    ident = town.resolve(p.agent)
    cmd = town.tmux.attach_command(ident.session)
    running = ident.session in await call.app.sessions_async(town)
    return t.AttachCommandResult(ident.address, ident.session, cmd, shlex.join(cmd), running)


@method("hook/show", t.OptionalAgentParams, t.HookResult)
def hook_show(call, p: t.OptionalAgentParams) -> t.HookResult:
    """The work on an agent's hook (default: the session's actor)."""
    address = p.agent or call.actor
    if p.agent:
        address = call.app.town_for(call.ledger).resolve(p.agent).address
    else:
        address = normalize_address(address)
    return t.HookResult(address, hooks.hooked_work(call.ledger, address))


@method("nudge", t.NudgeParams, t.NudgeResult, mode="async", cancellable=True)
async def nudge(call, p: t.NudgeParams) -> t.NudgeResult:
    """Type a message into an agent's session when its clients are idle (queued otherwise; never dropped).

    ``status`` is ``delivered``, ``queued`` or ``failed`` (with ``reason``);
    a failure is a result, not an error, as with ``gt nudge``.  When the
    client cancels (``$/cancelRequest``) or disconnects while the nudge
    waits, the wait stops and the message is queued (reason ``aborted``).
    """
    from ...runtime import nudge as rt_nudge

    abort = threading.Event()

    def work(town):
        ident = town.resolve(p.agent)
        cfg = town.config.nudge
        return rt_nudge.nudge(
            town.tmux, ident.session, p.message, state_dir=town.state_dir,
            idle_s=cfg.idle_s if p.idle_s is None else p.idle_s,
            timeout_s=cfg.timeout_s if p.timeout_s is None else p.timeout_s,
            sender=call.actor, abort=abort,
        )  # fmt: skip

    try:
        return await call.app.in_town_thread(work, waits=True)
    except asyncio.CancelledError:
        # Connection.close and $/cancelRequest cancel this task; the thread
        # would otherwise wait on (up to timeout_s) for nobody.
        abort.set()
        raise


@method("handoff", t.HandoffParams, t.StartResult, mode="async")
async def handoff(call, p: t.HandoffParams) -> t.StartResult:
    """End an agent's session and start a fresh one with the same hook and a HANDOFF note."""

    def work(town):
        ident = town.resolve(p.agent) if p.agent else town.identity(call.actor)
        return lifecycle.handoff(town, ident.address, message=p.message, actor=call.actor)

    return await call.app.in_town_thread(work)


@method("seance/list", t.OptionalAgentParams, t.SeanceListResult, mode="async")
async def seance_list(call, p: t.OptionalAgentParams) -> t.SeanceListResult:
    """An agent's sessions, newest first (default: the session's actor); ids for ``seance/talk``."""
    from ...town.seance import predecessors

    town = call.app.town_for(call.ledger)
    ident = town.resolve(p.agent) if p.agent else town.identity(call.actor)
    records = predecessors(town, ident)
    ours = [r for r in records if r.source == "town"]
    if ours and ident.session in await call.app.sessions_async(town):
        ours[0].current = True
    return t.SeanceListResult(ident.address, records)


@method("seance/talk", t.SeanceTalkParams, t.SeanceAnswer, mode="async", cancellable=True)
async def seance_talk(call, p: t.SeanceTalkParams) -> t.SeanceAnswer:
    """Ask a past session a question (resumes it for runtimes that can; else answers from its transcript).

    Long-running: reports ``$/progress`` when given ``progress_token``: a
    ``begin``, then ``report`` notifications whose ``message`` is the next
    piece of the resumed runtime's answer as it prints it, then ``end``.
    ``$/cancelRequest`` answers at once with ``cancelled`` (a resumed
    runtime already running finishes in the background, bounded by
    ``timeout_s``, and its answer is dropped).  ``agent`` names whose
    session it is, for a session known only from its runtime's own files.
    """
    loop = asyncio.get_running_loop()

    def chunk(text: str) -> None:
        loop.call_soon_threadsafe(call.progress, "report", text)

    def work(town):
        return lifecycle.talk_to_session(
            town, p.session_id, p.question, timeout_s=p.timeout_s, agent=p.agent,
            on_output=chunk if call.progress_token is not None else None,
        )  # fmt: skip

    call.progress("begin", f"asking session {p.session_id}")
    try:
        answer = await call.app.in_town_thread(work, waits=True)
    except BaseException:
        call.progress("end", "stopped")
        raise
    call.progress("end", f"answered from {answer.source}")
    return answer
