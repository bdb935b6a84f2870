"""Agents' sessions: start (or revive), stop, ``gt up``/``gt down``, handoff, seance listing.

:func:`start_agent` is *the* way a session comes to life (``gt up``, the
daemon, crew start, handoff, and ``gt sling``): it resolves the
identity and runtime, makes the working directory (polecat worktree, crew
clone), builds the explicit environment, and either starts the tmux
session, respawns the process in a session whose gastown pane died, or
leaves a live one alone (idempotent: two callers racing both end with one
session).  Every session start appends a ``session_started`` event on the
agent bead, payload ``{address, session, session_id, runtime, transcript,
cwd, mode, logs, hook}``: seance lists predecessors from these and costs reads
``logs`` (where the runtime writes its own session file, for runtimes whose
files gastown reads) and ``hook`` (the beads on the hook at start).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import msgspec

from ..beads import clock
from ..errors import Conflict, InvalidInput, NotFound
from . import roles
from .core import Town
from .identity import Identity, session_env

SESSION_STARTED = "session_started"
SESSION_STOPPED = "session_stopped"
#: ``start_agent(mode=REVIVE)``: the daemon bringing back a session it found dead.
REVIVE = "revive"


class StartResult(msgspec.Struct, omit_defaults=True):
    address: str
    session: str
    #: ``started``, ``respawned`` (the pane's process was replaced) or ``running`` (left alone).
    status: str
    session_id: str = ""
    runtime: str = ""


class SessionRecord(msgspec.Struct, omit_defaults=False):
    """One past or present session of an agent (from a ``session_started`` event)."""

    event_id: int
    at: str
    address: str
    session: str
    session_id: str
    runtime: str
    transcript: str = ""
    cwd: str = ""
    mode: str = ""
    current: bool = False
    #: The runtime's own session file (Claude Code) or directory (Codex), when gastown reads it.
    logs: str = ""
    #: Beads on the agent's hook when the session started.
    hook: list[str] = []
    #: ``town`` (started by the town: a ``session_started`` event) or ``runtime`` (found only
    #: in the runtime's own session files, e.g. a human's ``claude`` in the agent's directory).
    source: str = "town"
    #: From the runtime's session file (seance lists): its own id when it differs (Codex),
    #: the last thing the user or a nudge said, and how many such messages.
    native_id: str = ""
    summary: str = ""
    messages: int = 0
    #: Lines of its session file that are not JSON objects (skipped; the rest was read).
    bad_lines: int = 0


def startup_prompt(town: Town, ident: Identity) -> str:
    return (
        f"You are {ident.address} in Gas Town {town.name}. Run `gt prime` to see your role, your hook and "
        "your mail. GUPP: if there is work on your hook, you run it."
    )


def _is_script(preset) -> bool:
    return "gastown_server.runtime.script_agent" in preset.command


def ensure_workdir(town: Town, ident: Identity) -> Path:
    from . import rigs

    cwd = Path(ident.cwd)
    if ident.role == "polecat":
        return rigs.ensure_polecat_worktree(town, town.rig(ident.rig), ident.name)
    if ident.role == "crew":
        if not cwd.exists():
            raise NotFound(f"no crew member {ident.name!r} in rig {ident.rig}: gt crew add {ident.name} --rig {ident.rig}")
        return cwd
    cwd.mkdir(parents=True, exist_ok=True)
    return cwd


def _record(
    town: Town, ident: Identity, *, actor: str, session_id: str, runtime: str, transcript: Path, mode: str, logs: str = ""
) -> None:
    from ..work.hooks import hooked_work

    ledger = town.ledger
    payload = {
        "address": ident.address, "session": ident.session, "session_id": session_id, "runtime": runtime,
        "transcript": str(transcript), "cwd": ident.cwd, "mode": mode,
    }  # fmt: skip
    if logs:
        payload["logs"] = logs
    hook = [b.id for b in hooked_work(ledger, ident.address)]
    if hook:
        payload["hook"] = hook
    with ledger.mutation(SESSION_STARTED, actor, ident.bead_id, payload):
        roles.ensure_agent_bead(ledger, ident, actor=actor)
        ledger.update(ident.bead_id, actor=actor, agent_state="running", last_activity=clock.now())


def start_agent(
    town: Town,
    target: str | Identity,
    *,
    actor: str = "overseer",
    agent: str | None = None,
    replace: bool = False,
    mode: str = "",
) -> StartResult:
    """Make ``target``'s session run (see the module doc).  ``replace``: respawn even if alive."""
    from ..runtime import runtimes
    from . import config

    ident = target if isinstance(target, Identity) else town.identity(target)
    if ident.role == "boot":
        raise InvalidInput("Boot has no session of its own: the daemon runs it on each heartbeat")
    preset = config.resolve_agent(town.config, agent, role=ident.role)
    runtimes.check_available(preset)
    from ..sandbox import launch as sandbox_launch

    sandbox_launch.check(town)  # before the lock: a town without bwrap starts nothing, unsandboxed least of all
    with _session_lock(town, ident.session):
        return _start_locked(town, ident, preset, actor=actor, replace=replace, mode=mode)


def _still_wanted(town: Town, ident: Identity) -> bool:
    if any(i.address == ident.address for i in town.always_on()):
        return True
    ledger = town.ledger
    return not ledger.exists(ident.bead_id) or ledger.get(ident.bead_id).agent_state == "running"


@contextmanager
def _session_lock(town: Town, session: str) -> Iterator[None]:
    """One starter per session at a time (``gt up``, the daemon and a handoff may race)."""
    import fcntl

    d = town.state_dir / "locks"
    d.mkdir(exist_ok=True)
    fd = os.open(d / f"{session}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _start_locked(town: Town, ident: Identity, preset, *, actor: str, replace: bool, mode: str) -> StartResult:
    from ..runtime import runtimes, transcripts
    from ..sandbox import launch as sandbox_launch

    tmux = town.tmux
    existing = next((s for s in tmux.sessions() if s.name == ident.session), None)
    if existing is not None and existing.alive and not replace:
        return StartResult(ident.address, ident.session, "running", runtime=preset.name)
    if mode == REVIVE and not _still_wanted(town, ident):
        # Stopped on purpose after the daemon decided to revive it (we waited for the lock).
        return StartResult(ident.address, ident.session, "stopped", runtime=preset.name)
    cwd = ensure_workdir(town, ident)
    session_id = str(uuid.uuid4())
    transcript = transcripts.transcript_path(town.root, ident.session)
    # The town's own env for the agent (gt config agent set --env) wins over the runtime's set-up.
    extra = {**runtimes.session_setup(preset, town.root, ident, cwd=cwd, session_id=session_id), **dict(preset.env or {})}
    env = session_env(town.root, ident, socket=town.socket, session_id=session_id, runtime=preset.name, extra=extra)
    argv = runtimes.start_command(preset, cwd=cwd, prompt=startup_prompt(town, ident), session_id=session_id)
    from ..runtime import native

    env = sandbox_launch.session_env(town, ident, env)
    env.update(native.prepare_session(town, preset, session_id=session_id, cwd=cwd, env=env))
    logs = native.log_location(preset, session_id=session_id, cwd=cwd, env=env)
    argv, env, box = sandbox_launch.apply(town, ident, preset, argv, env, cwd)
    sandbox_launch.record(town, ident.session, box)
    if not _is_script(preset):  # the script agent prints its own marker
        transcripts.mark(transcript, session_id)
    if existing is not None:
        # Recorded first: when a session hands itself off, respawn kills the
        # very process running this code.
        _record(town, ident, actor=actor, session_id=session_id, runtime=preset.name, transcript=transcript, mode=mode or "respawn",
                logs=logs)
        tmux.respawn(ident.session, argv, cwd=cwd, env=env, transcript=transcript, empty_input=preset.empty_input,
                     busy=preset.busy, dialogs="|".join(preset.dialogs))
        status = "respawned"
    else:
        try:
            tmux.start(ident.session, argv, cwd=cwd, env=env, transcript=transcript, empty_input=preset.empty_input,
                       busy=preset.busy, dialogs="|".join(preset.dialogs))
        except Conflict:  # someone else started it just now
            return StartResult(ident.address, ident.session, "running", runtime=preset.name)
        _record(town, ident, actor=actor, session_id=session_id, runtime=preset.name, transcript=transcript, mode=mode or "start",
                logs=logs)
        status = "started"
    prompt = runtimes.startup_nudge(preset, startup_prompt(town, ident))
    if prompt:
        from ..runtime import nudge

        nudge.nudge(tmux, ident.session, prompt, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s)
    return StartResult(ident.address, ident.session, status, session_id=session_id, runtime=preset.name)


def stop_agent(
    town: Town,
    target: str | Identity,
    *,
    actor: str = "overseer",
    grace_s: float = 5.0,
    agent_state: str = "stopped",
    clear_hook: bool = False,
) -> bool:
    """Stop a session (graceful, then by force).  False if it was not running.

    The agent bead is left with ``agent_state`` (the Witness passes ``idle``
    for a polecat whose name goes back to the pool; ``clear_hook`` empties its
    ``hook_bead`` too).  The bead is marked *before* the session stops, under
    the session's start lock: the daemon revives agents whose bead says
    running, and must not see a dead session with a running bead in between.
    """
    ident = target if isinstance(target, Identity) else town.identity(target)
    tmux = town.tmux
    with _session_lock(town, ident.session):
        was = tmux.has(ident.session)
        _mark_stopped(town, [ident], actor=actor, agent_state=agent_state, clear_hook=clear_hook)
        tmux.stop(ident.session, grace_s=grace_s)
        if agent_state in ("idle", "stopped"):  # gone for good: its name may be reused
            from ..runtime import nudge

            nudge.purge_queue(town.state_dir, ident.session)
    return was


def _mark_stopped(
    town: Town, idents: list[Identity], *, actor: str, agent_state: str = "stopped", clear_hook: bool = False
) -> None:
    ledger = town.ledger
    ids = [i.bead_id for i in idents if ledger.exists(i.bead_id)]
    if not ids:
        return
    with ledger.mutation(SESSION_STOPPED, actor, ids[0] if len(ids) == 1 else "", {"agents": [i.address for i in idents]}):
        for bead_id in ids:
            bead = ledger.get(bead_id)
            changes = {} if bead.agent_state == agent_state else {"agent_state": agent_state}
            if clear_hook and bead.hook_bead:
                changes["hook_bead"] = ""
            if changes:
                ledger.update(bead_id, actor=actor, last_activity=clock.now(), **changes)


def check_prerequisites(town: Town, idents: list[Identity]) -> None:
    """Everything ``up`` needs, checked before anything starts (nothing half-up)."""
    from ..runtime import runtimes
    from ..runtime.tmux import tmux_binary
    from ..sandbox import launch as sandbox_launch
    from . import config

    tmux_binary()
    seen = set()
    for ident in idents:
        preset = config.resolve_agent(town.config, role=ident.role)
        if preset.name not in seen:
            seen.add(preset.name)
            runtimes.check_available(preset)
            runtimes.base_command(preset)
    sandbox_launch.check(town)  # last: the missing runtime is the first thing to fix


def up(town: Town, *, actor: str = "overseer", daemon: bool = True) -> list[StartResult]:
    idents = town.always_on()
    check_prerequisites(town, idents)
    from ..modelstub import service as model_proxy

    # ANTHROPIC_API_KEY in our environment: agents reach the model through a loopback proxy that
    # adds it; the key leaves this process's environment before anything else starts.
    model_proxy.ensure_forward_from_env(town.root)
    results = [start_agent(town, ident, actor=actor) for ident in idents]
    if daemon:
        from ..patrol import daemon as town_daemon

        town_daemon.ensure_running(town)
    return results


def down(town: Town, *, actor: str = "overseer", grace_s: float = 5.0) -> list[str]:
    """Stop the daemon first (it would restart agents), then every town session."""
    from ..patrol import daemon as town_daemon

    town_daemon.stop(town)
    tmux = town.tmux
    names: list[str] = []
    # A few rounds: a Witness being stopped may still restart a polecat it saw die.
    for _ in range(3):
        batch = [s.name for s in tmux.sessions()] if tmux.running() else []
        if not batch:
            break
        names += [n for n in batch if n not in names]
        with ThreadPoolExecutor(max_workers=min(8, len(batch))) as pool:
            list(pool.map(lambda n: tmux.stop(n, grace_s=grace_s), batch))
    if tmux.running() and not tmux.sessions():
        tmux.kill_server()
    by_session = {a.session: a for a in town.agents()}
    _mark_stopped(town, [by_session[n] for n in names if n in by_session], actor=actor)
    return names


def handoff(town: Town, address: str, *, message: str = "", actor: str | None = None, old_session_id: str = "") -> StartResult:
    """Leave a note (HANDOFF mail to self + a comment on each hooked bead), then respawn fresh."""
    from ..work import hooks, mail

    ident = town.identity(address)
    actor = actor or ident.address
    ledger = town.ledger
    hooked = hooks.hooked_work(ledger, ident.address)
    if not old_session_id:
        past = sessions_of(town, ident)
        old_session_id = past[0].session_id if past else ""
    note = message or "handoff (no note)"
    payload = {"session": ident.session, "old_session_id": old_session_id, "message": note, "hook": [b.id for b in hooked]}
    with ledger.mutation("handoff", actor, ident.bead_id, payload):
        body = f"{note}\n\nFrom session: {old_session_id or '?'}\nHook: {', '.join(b.id for b in hooked) or 'empty'}"
        mail.send(ledger, ident.address, "HANDOFF", body, actor=ident.address)
        for b in hooked:
            ledger.add_comment(b.id, f"HANDOFF from session {old_session_id or '?'}: {note}", actor=actor)
    from ..runtime.tmux import sandbox_has_tmux

    if not sandbox_has_tmux():
        # A sandbox without the tmux socket (a polecat's): the session cannot
        # replace itself.  The caller ends it (sandbox.launch.end_own_session);
        # the daemon or the Witness revives it, and the fresh one reads the note.
        return StartResult(ident.address, ident.session, "ending")
    return start_agent(town, ident, actor=actor, replace=town.tmux.has(ident.session), mode="handoff")


def _session_record(event_id: int, at: str, payload: bytes | str, address: str = "") -> SessionRecord:
    p = msgspec.json.decode(payload)
    hook = p.get("hook")
    return SessionRecord(
        event_id=event_id, at=at, address=p.get("address", address), session=p.get("session", ""),
        session_id=p.get("session_id", ""), runtime=p.get("runtime", ""), transcript=p.get("transcript", ""),
        cwd=p.get("cwd", ""), mode=p.get("mode", ""), logs=p.get("logs", "") or "",
        hook=[str(h) for h in hook] if isinstance(hook, list) else [],
    )  # fmt: skip


def sessions_of(town: Town, ident: Identity) -> list[SessionRecord]:
    """Sessions of an agent, newest first (the first is the current one if it runs)."""
    rows = town.ledger.conn.execute(
        "SELECT id, at, payload FROM events WHERE kind = ? AND bead_id = ? ORDER BY id DESC",
        (SESSION_STARTED, ident.bead_id),
    ).fetchall()
    return [_session_record(event_id, at, payload, ident.address) for event_id, at, payload in rows]


def all_sessions(town: Town) -> list[SessionRecord]:
    """Every session the town ever started, oldest first (costs add them up)."""
    rows = town.ledger.conn.execute(
        "SELECT id, at, payload FROM events WHERE kind = ? ORDER BY id", (SESSION_STARTED,)
    ).fetchall()
    return [_session_record(event_id, at, payload) for event_id, at, payload in rows]


def find_session(town: Town, session_id: str) -> SessionRecord:
    """A session by its id (or a unique prefix of it), across all agents."""
    if not session_id or not session_id.strip():
        raise InvalidInput("give a session id (see gt seance)")
    rows = town.ledger.conn.execute(
        "SELECT id, at, bead_id, payload FROM events WHERE kind = ? AND payload LIKE ? ORDER BY id DESC",
        (SESSION_STARTED, f'%"session_id":"{session_id.strip()}%'),
    ).fetchall()
    if not rows:
        raise NotFound(f"no session {session_id!r} in this town's history (see gt seance)")
    ids = {msgspec.json.decode(r[3]).get("session_id") for r in rows}
    if len(ids) > 1:
        raise InvalidInput(f"session id {session_id!r} is ambiguous ({', '.join(sorted(ids))})")
    event_id, at, _bead, payload = rows[0]
    return _session_record(event_id, at, payload)


def talk_to_session(town: Town, session_id: str, question: str, *, timeout_s: float, on_output=None, agent: str = ""):
    """Seance: ask past session ``session_id`` a question (``gt seance --talk`` and the RPC method).

    Uses the runtime the session ran (its preset resumes it, or the answer
    comes from its transcript) with the agent's own environment and working
    directory when the agent still exists; a removed agent still answers from
    its record.
    """
    from ..runtime import native, seance
    from . import config

    try:
        rec = find_session(town, session_id)
    except NotFound:
        if not agent:
            raise
        from .seance import runtime_only_session

        rec = runtime_only_session(town, town.resolve(agent), session_id)
    try:
        ident = town.identity(rec.address)
    except (InvalidInput, NotFound):
        ident = None
    preset = config.resolve_agent(town.config, rec.runtime or None, role=ident.role if ident else None)
    env = None
    if ident is not None:
        from ..runtime import runtimes

        extra = {}
        if rec.cwd and Path(rec.cwd).is_dir():
            extra.update(runtimes.session_setup(preset, town.root, ident, cwd=Path(rec.cwd), session_id=rec.session_id))
        extra.update(preset.env or {})
        env = session_env(
            town.root, ident, socket=town.socket, session_id=rec.session_id, runtime=preset.name, extra=extra,
        )  # fmt: skip
    cwd = Path(rec.cwd) if rec.cwd and Path(rec.cwd).is_dir() else None
    transcript = Path(rec.transcript) if rec.transcript else None
    # Codex: its own id for the session, and the session's own CODEX_HOME.
    native_id, native_env = native.resume_target(preset, rec.session_id, rec.logs)
    if native_env:
        env = {**(os.environ if env is None else env), **native_env}
    answer = seance.talk(preset, native_id, question, transcript=transcript, cwd=cwd, env=env, timeout_s=timeout_s,
                         on_output=on_output)  # fmt: skip
    if native_id != rec.session_id:
        answer.native_id, answer.session_id = native_id, rec.session_id
    return answer
