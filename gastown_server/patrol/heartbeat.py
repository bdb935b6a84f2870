"""One heartbeat of the daemon: keep the town's sessions alive, wake Boot, flush nudges.

Each beat:

1. **Revive.**  The always-on agents (Mayor, Deacon, each rig's Witness and
   Refinery) and any agent whose bead says ``agent_state = running`` must
   have a live session.  A session that is gone is started; one whose
   gastown pane died is respawned (the process is replaced in that pane;
   panes a human added are never touched).  Each agent is revived at most
   once per ``restart_backoff_s`` so a runtime that crashes at start does not
   spin.  Starts are idempotent (see ``town.lifecycle.start_agent``), which is
   why a restarted daemon, or two daemons racing, never duplicate sessions.
2. **Boot** (every ``boot_every`` beats): see :mod:`.boot`.
3. **Flush** queued nudges whose sessions are idle now (not those started in
   this beat: their agents are not reading input yet).
4. **Bound the WAL**: a TRUNCATE checkpoint once the ledger's WAL is past a
   quarter of its limit (``Ledger.maintain_wal``), so a town whose writers
   all stopped does not keep a large WAL either.
5. **Publish** which panes' agents are idle at their prompts
   (``.gastown/published/panes.json``, :mod:`.panes`): a sandboxed Witness cannot see
   other sandboxes' processes, the daemon can.
"""

from __future__ import annotations

import time

import msgspec


class BeatReport(msgspec.Struct, omit_defaults=True):
    at: float
    revived: list[str] = msgspec.field(default_factory=list)
    skipped: list[str] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)
    boot: str = ""
    flushed: int = 0


class BeatState:
    """What the daemon remembers between beats (in memory)."""

    def __init__(self) -> None:
        self.beats = 0
        self.last_restart: dict[str, float] = {}


def wanted_agents(town) -> list:
    """Always-on agents plus every agent whose bead says it should be running."""
    import os

    from ..work.hooks import hooks_by_agent

    wanted = {i.address: i for i in town.always_on()}
    hooked = None
    for b in town.ledger.list(issue_type="agent", status="pinned"):
        if b.agent_state == "running" and b.title not in wanted and b.metadata:
            try:
                from ..town.identity import Identity

                ident = msgspec.json.decode(b.metadata, type=Identity)
            except msgspec.DecodeError:
                continue
            if ident.role == "polecat" and not os.path.isdir(ident.cwd):
                # Cleaned up by other means than the Witness (its bead still says running):
                # only work on its hook brings a polecat without a worktree back.
                hooked = hooks_by_agent(town.ledger) if hooked is None else hooked
                if not hooked.get(ident.address):
                    continue
            if ident.role != "boot":
                wanted[ident.address] = ident
    return list(wanted.values())


def beat(town, state: BeatState, *, actor: str = "daemon") -> BeatReport:
    from ..errors import GastownError
    from ..town.lifecycle import REVIVE, start_agent

    state.beats += 1
    report = BeatReport(at=time.time())
    town.reload_config()
    town.forget_rigs()
    settings = town.config.daemon
    tmux = town.tmux
    live = {s.name: s for s in tmux.sessions()}
    now = time.monotonic()
    started: set[str] = set()
    for ident in wanted_agents(town):
        info = live.get(ident.session)
        if info is not None and info.alive:
            continue
        last = state.last_restart.get(ident.session)
        if last is not None and now - last < settings.restart_backoff_s:
            report.skipped.append(ident.address)
            continue
        state.last_restart[ident.session] = now
        try:
            res = start_agent(town, ident, actor=actor, mode=REVIVE)
            if res.status in ("started", "respawned"):
                report.revived.append(ident.address)
                started.add(ident.session)
        except GastownError as exc:
            report.errors.append(f"{ident.address}: {exc.message}")
    if settings.boot_every > 0 and state.beats % settings.boot_every == 0:
        from . import boot

        try:
            report.boot = boot.run(town, actor="boot")
        except GastownError as exc:
            report.errors.append(f"boot: {exc.message}")
    try:
        from ..runtime import nudge

        # Not into sessions started just now: their agents are not reading yet (next beat).
        results = nudge.flush_queue(tmux, town.state_dir, idle_s=town.config.nudge.idle_s, exclude=frozenset(started))
        report.flushed = len(results)
    except GastownError as exc:
        report.errors.append(f"nudge flush: {exc.message}")
    try:
        from . import panes

        # Sandboxed Witnesses cannot see the panes' processes: the daemon says who is idle.
        panes.publish(town.root, live.values())
    except OSError as exc:
        report.errors.append(f"panes: {exc}")
    town.ledger.maintain_wal()
    return report
