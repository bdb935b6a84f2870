"""``gt status`` / ``gt agents``: the whole town in one look, fast.

Budget: < 150 ms as a whole process with 30 agents.  So: one ledger read
per kind (rigs, agent beads, hooks), ONE tmux call for every session
(:func:`gastown_server.runtime.snapshot.sessions_snapshot`, no libtmux
import), one ``stat`` per transcript, no per-agent subprocess.
"""

from __future__ import annotations

import os

import msgspec

from ..sandbox.policy import SandboxInfo
from .core import Rig, Town
from .identity import Identity


class AgentStatus(msgspec.Struct, omit_defaults=False):
    address: str
    role: str
    rig: str
    session: str
    #: The session exists on the town's tmux server.
    running: bool
    #: Its gastown pane's process is alive.
    alive: bool
    hook: list[str]
    agent_state: str
    last_activity: str
    pane_pid: int = 0
    attached: bool = False
    #: Nudges queued for this session and not delivered yet, and how long the oldest has waited.
    nudges_pending: int = 0
    nudge_oldest_age_s: float = 0.0
    #: What its sessions cost so far (US dollars, priced per docs/costs.md) and their tokens.
    cost_usd: float = 0.0
    tokens: int = 0
    #: The sandbox its last session started in (null: never started since sandboxes were recorded).
    sandbox: SandboxInfo | None = None
    #: The session is stuck on one of its runtime's dialogs (first-run, permission): the line shown.
    dialog: str = ""


class TmuxStatus(msgspec.Struct, omit_defaults=False):
    socket: str
    running: bool
    session_count: int


class TownInfo(msgspec.Struct, omit_defaults=False):
    name: str
    root: str


class TownStatus(msgspec.Struct, omit_defaults=False):
    town: TownInfo
    rigs: list[Rig]
    agents: list[AgentStatus]
    tmux: TmuxStatus
    daemon: dict
    nudge_failures: list[dict]
    #: Sessions on the town's socket that belong to no known agent.
    other_sessions: list[str] = msgspec.field(default_factory=list)
    #: Every agent's cost together (US dollars), and why costs are missing if they are.
    cost_usd: float = 0.0
    costs_error: str = ""


def _iso(epoch: float) -> str:
    import time  # (not datetime: a few ms less on every gt status)

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%06dZ" % int((epoch % 1) * 1e6)


def agent_costs(town: Town) -> tuple[dict, str]:
    """Address -> cost row, and "" or the one line saying why there are none (never raises)."""
    from ..costs.report import by_agent
    from ..errors import GastownError

    try:
        return by_agent(town), ""
    except GastownError as exc:  # a bad price table must not take gt status down with it
        return {}, exc.message


def agent_rows(town: Town, sessions: dict | None = None, costs: dict | None = None,
               dialogs: dict[str, str] | None = None) -> list[AgentStatus]:
    from ..runtime.transcripts import transcript_path
    from ..sandbox.launch import recorded
    from ..work.hooks import hooks_by_agent

    if sessions is None:
        from ..runtime.snapshot import sessions_snapshot

        sessions = {s.name: s for s in (sessions_snapshot(town.socket) or [])}
    ledger = town.ledger
    hooks = hooks_by_agent(ledger)
    pending = _pending_nudges(town)
    if costs is None:
        costs, _ = agent_costs(town)
    rows = []
    for b in ledger.list(issue_type="agent", order="id"):
        if not b.metadata:
            continue
        try:
            ident = msgspec.json.decode(b.metadata, type=Identity)
        except msgspec.DecodeError:
            continue
        info = sessions.get(ident.session)
        last = b.last_activity
        try:
            mtime = os.stat(transcript_path(town.root, ident.session)).st_mtime
            stamp = _iso(mtime)
            if stamp > last:
                last = stamp
        except OSError:
            pass
        rows.append(AgentStatus(
            address=ident.address, role=ident.role, rig=ident.rig, session=ident.session,
            running=info is not None, alive=bool(info and info.alive), hook=hooks.get(ident.address, []),
            agent_state=b.agent_state, last_activity=last, pane_pid=info.pane_pid if info else 0,
            attached=bool(info and info.attached),
            nudges_pending=pending.get(ident.session, (0, 0.0))[0],
            nudge_oldest_age_s=pending.get(ident.session, (0, 0.0))[1],
            cost_usd=costs[ident.address].cost_usd if ident.address in costs else 0.0,
            tokens=_tokens(costs.get(ident.address)),
            sandbox=recorded(town.root, ident.session) if ident.role != "boot" else None,
            dialog=(dialogs or {}).get(ident.session, "") if info and info.alive else "",
        ))  # fmt: skip
    return rows


def _tokens(row) -> int:
    if row is None:
        return 0
    return row.input_tokens + row.output_tokens + row.cache_read_tokens + row.cache_write_tokens


def _pending_nudges(town: Town) -> dict[str, tuple[int, float]]:
    """Per session: (queued nudges, age in seconds of the oldest)."""
    import time

    from ..beads.clock import parse
    from ..runtime.nudge import pending_summary

    try:
        summary = pending_summary(town.state_dir)
    except OSError:
        return {}
    now = time.time()
    return {s: (n, round(max(0.0, now - parse(oldest).timestamp()), 1)) for s, (n, oldest) in summary.items()}


def town_status(town: Town) -> TownStatus:
    from ..runtime.snapshot import sessions_snapshot

    snap = sessions_snapshot(town.socket)
    return status_from(town, {s.name: s for s in (snap or [])}, tmux_running=snap is not None)


def status_from(town: Town, sessions: dict, *, tmux_running: bool) -> TownStatus:
    """The town's status from a tmux sessions snapshot the caller already has
    (``gt status`` takes one itself; the RPC server and the dashboard share a cached one)."""
    from ..patrol.daemon import status_of

    costs, costs_error = agent_costs(town)
    from ..runtime.snapshot import blocking_dialogs

    agents = agent_rows(town, sessions, costs, blocking_dialogs(town.socket) if tmux_running else {})
    known = {a.session for a in agents}
    failures = []
    try:
        from ..runtime.nudge import last_failures

        failures = [msgspec.to_builtins(f) for f in last_failures(town.state_dir)]
    except OSError:
        pass
    return TownStatus(
        town=TownInfo(name=town.name, root=str(town.root)),
        rigs=list(town.rigs()),
        agents=agents,
        tmux=TmuxStatus(socket=town.socket, running=tmux_running, session_count=len(sessions)),
        daemon=msgspec.to_builtins(status_of(town.root)),
        nudge_failures=failures,
        other_sessions=sorted(set(sessions) - known),
        cost_usd=round(sum(r.cost_usd for r in costs.values()), 6),
        costs_error=costs_error,
    )
