"""The Witness's patrol steps over one rig: mail, sweep, nudge, recycle, refinery, cleanup.

Each function is one step of ``mol-witness-patrol`` (the ``gt patrol witness
...`` commands are thin over them) and returns a :class:`StepReport`.

A polecat's *verdict* (:func:`sweep`):

* ``working``: work on its hook, session alive, transcript active lately;
* ``stuck``: work on its hook, session alive, no transcript activity for
  ``stuck_after_s`` (GUPP says it should be running that work);
* ``dead``: work on its hook, session gone or its pane's process dead;
* ``waiting``: nothing hooked, a merge request of its branch still pending;
* ``done``: nothing hooked or pending, its latest merge request merged or
  abandoned: cleanup may remove its worktree and session;
* ``idle``: nothing hooked, nothing submitted.

Stuck: nudge first (``hook -- ...``: the script runtime re-reads and walks
its hook on that verb, an LLM reads it as an instruction), remember the
nudge in the patrol state file; if the transcript has not grown beyond the
nudge's own echo after ``nudge_grace_s``, restart the session
(``start_agent(replace=True)``): the hook and the molecule's bead state carry
the work over (NDI).  After ``ESCALATE_AFTER`` restarts that did not help, an
escalation is filed when ``work.escalation`` exists.

Cleanup keeps identities and history: the agent bead stays (marked
``agent_state = idle``, hook cleared, so the daemon stops reviving it), the
branch stays; the worktree goes only through ``polecat_cleanup.nuke``
(non-forced: it refuses while work could be lost, and the reason is reported).
With no worktree and no session the name is free again in the pool.
"""

from __future__ import annotations

import os
import time

import msgspec

#: Restarts of one stuck polecat before the Witness escalates instead of restarting again.
ESCALATE_AFTER = 3
NUDGE_TEXT = "hook -- GUPP check from {witness}: work is on your hook and your session was quiet {quiet:.0f}s; run it now"
#: Transcript growth beyond the nudge's echo (its text + this) means the agent answered.
_ECHO_SLACK = 8


class PolecatReport(msgspec.Struct, omit_defaults=True):
    address: str
    name: str
    session: str
    verdict: str
    hook: list[str] = msgspec.field(default_factory=list)
    alive: bool = False
    running: bool = False
    #: Seconds since the last transcript activity (-1: no transcript).
    quiet_s: float = -1.0
    worktree: str = ""
    branch: str = ""
    mr: str = ""
    reason: str = ""


class StepReport(msgspec.Struct, omit_defaults=True):
    step: str
    rig: str
    #: One line per thing done or refused.
    actions: list[str] = msgspec.field(default_factory=list)
    polecats: list[PolecatReport] = msgspec.field(default_factory=list)
    acted: bool = False


def witness_address(rig: str) -> str:
    return f"{rig}/witness"


def _state_key(rig: str) -> str:
    from .state import state_key

    return state_key("witness", rig)


# -- looking -----------------------------------------------------------------------------


def _polecat_idents(town, rig_name: str) -> list:
    return [a for a in town.agents() if a.role == "polecat" and a.rig == rig_name]


def _transcript(town, session: str) -> tuple[float, int]:
    """(mtime, size) of a session's transcript; (0, 0) when there is none."""
    from ..runtime.transcripts import transcript_path

    try:
        st = os.stat(transcript_path(town.root, session))
    except OSError:
        return 0.0, 0
    return st.st_mtime, st.st_size


def _sessions(town) -> dict:
    from ..runtime.snapshot import sessions_snapshot

    return {s.name: s for s in (sessions_snapshot(town.socket) or [])}


def _branch_of(worktree: str) -> str:
    from ..work.git import Git

    return Git(worktree).current_branch()


def _latest_mr(ledger, rig_name: str, address: str, branch: str):
    from ..work import merge_requests as mrs

    if branch:
        found = mrs.for_branch(ledger, rig_name, branch)
        if found:
            return found[-1]
    rows = mrs.for_polecat(ledger, rig_name, address)
    return rows[-1] if rows else None


def _in_progress(ledger, address: str) -> list[str]:
    rows = ledger.conn.execute(
        "SELECT id FROM issues WHERE status = 'in_progress' AND assignee = ? AND issue_type NOT IN "
        "('molecule', 'merge-request', 'message', 'agent')",
        (address,),
    ).fetchall()
    return [r[0] for r in rows]


def assess(town, ident, *, sessions: dict, stuck_after_s: float, now: float | None = None) -> PolecatReport:
    from ..work import hooks

    now = time.time() if now is None else now
    ledger = town.ledger
    info = sessions.get(ident.session)
    hooked = [b.id for b in hooks.hooked_work(ledger, ident.address)]
    mtime, _size = _transcript(town, ident.session)
    quiet = now - mtime if mtime else -1.0
    worktree = ident.cwd if os.path.isdir(ident.cwd) else ""
    rep = PolecatReport(
        address=ident.address, name=ident.name, session=ident.session, verdict="idle", hook=hooked,
        alive=bool(info and info.alive), running=info is not None, quiet_s=round(quiet, 1), worktree=worktree,
    )  # fmt: skip
    if hooked:
        if not rep.alive:
            rep.verdict, rep.reason = "dead", "session gone" if info is None else "pane process died"
        elif quiet < 0 or quiet >= stuck_after_s:
            rep.verdict = "stuck"
            rep.reason = "no transcript" if quiet < 0 else f"quiet {quiet:.0f}s >= {stuck_after_s:g}s"
        else:
            rep.verdict = "working"
        return rep
    rep.branch = _branch_of(worktree) if worktree else ""
    mr = _latest_mr(ledger, ident.rig, ident.address, rep.branch)
    if mr is not None:
        rep.mr = mr.id
        if not rep.branch:
            rep.branch = mr.meta.branch
    if mr is not None and mr.pending:
        rep.verdict, rep.reason = "waiting", f"merge request {mr.id} is {mr.status}"
    elif _in_progress(ledger, ident.address):
        rep.verdict, rep.reason = "idle", "work in progress but not hooked"
    elif mr is not None and (worktree or rep.running):
        rep.verdict = "done"
        rep.reason = "merged" if mr.merged else (mr.close_reason or "closed")
    else:
        rep.verdict = "idle"
    return rep


def sweep(town, rig_name: str, *, stuck_after_s: float) -> StepReport:
    """Every polecat of the rig with its verdict (see the module doc)."""
    from . import state

    town.rig(rig_name)  # NotFound for an unknown rig
    sessions = _sessions(town)
    now = time.time()
    report = StepReport(step="sweep", rig=rig_name)
    for ident in _polecat_idents(town, rig_name):
        report.polecats.append(assess(town, ident, sessions=sessions, stuck_after_s=stuck_after_s, now=now))
    with state.update(town.root, _state_key(rig_name)) as st:
        st.stuck_after_s = stuck_after_s
    return report


# -- acting ------------------------------------------------------------------------------


def _restart(town, ident, *, actor: str, mode: str) -> str:
    from ..town.lifecycle import start_agent

    res = start_agent(town, ident, actor=actor, replace=True, mode=mode)
    return f"{res.status} {ident.address} ({res.session})"


def _escalate(town, ident, actor: str, why: str) -> str:
    from ..work import escalation

    label = f"stuck:{ident.address}"
    found = escalation.open_with_label(town.ledger, label)
    if found is not None:  # one open escalation per stuck polecat
        return f"escalated {ident.address}: already {found.id}"
    # Restarts already failed: straight to the Mayor and the Overseer (as patrol/stalls.py does).
    res = escalation.escalate(town.ledger, f"{ident.address} stays stuck: {why}", severity="high", actor=actor,
                              direct=True, labels=(label,))  # fmt: skip
    return f"escalated {ident.address}: {res.id}"


def nudge_stuck(town, rig_name: str, *, stuck_after_s: float | None = None, grace_s: float | None = None) -> StepReport:
    """Nudge each stuck polecat once; restart those that stayed silent ``grace_s`` after it."""
    from ..errors import GastownError
    from ..runtime import nudge
    from .settings import patrol_settings
    from . import state

    settings = patrol_settings(town)
    key = _state_key(rig_name)
    if stuck_after_s is None:
        stuck_after_s = state.load(town.root, key).stuck_after_s or settings.stuck_after_s
    grace_s = settings.nudge_grace_s if grace_s is None else grace_s
    actor = witness_address(rig_name)
    sessions = _sessions(town)
    report = StepReport(step="nudge-stuck", rig=rig_name)
    idents = {i.address: i for i in _polecat_idents(town, rig_name)}
    now = time.time()
    with state.update(town.root, key) as st:
        for address, ident in idents.items():
            try:
                rep = assess(town, ident, sessions=sessions, stuck_after_s=stuck_after_s, now=now)
                rec = st.nudges.get(address)
                _mtime, size = _transcript(town, ident.session)
                answered = rec is not None and (rec.session != ident.session or size > rec.size_after + rec.text_len + _ECHO_SLACK)
                if rep.verdict == "working" and rec is not None and not answered:
                    # Only our own nudge's echo moved the transcript: still stuck.
                    rep.verdict, rep.reason = "stuck", f"no answer to the nudge of {now - rec.nudged_at:.0f}s ago"
                if rep.verdict != "stuck":
                    if rec is not None:
                        st.nudges.pop(address, None)
                        if rep.verdict == "working":
                            st.restarts.pop(address, None)
                    continue
                report.polecats.append(rep)
                if rec is not None and answered:
                    # It answered the nudge (more than the echo of our own text): give it time.
                    st.nudges.pop(address, None)
                    report.actions.append(f"{address} answered the nudge; watching")
                    continue
                if rec is None:
                    text = NUDGE_TEXT.format(witness=actor, quiet=max(rep.quiet_s, 0))
                    res = nudge.nudge(
                        town.tmux, ident.session, text, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s,
                        timeout_s=min(5.0, town.config.nudge.timeout_s), sender=actor, queue_if_missing=True,
                    )  # fmt: skip
                    time.sleep(0.05)  # let the pane's pipe write the echo before measuring
                    _mtime, size = _transcript(town, ident.session)
                    st.nudges[address] = state.NudgeRecord(
                        nudged_at=time.time(), size_after=size, text_len=len(text), session=ident.session
                    )
                    report.actions.append(f"nudged {address} ({rep.reason}): {res.status}")
                    report.acted = True
                    continue
                if now - rec.nudged_at < grace_s:
                    report.actions.append(f"{address} nudged {now - rec.nudged_at:.0f}s ago; waiting {grace_s:g}s")
                    continue
                st.nudges.pop(address, None)
                count = st.restarts.get(address, 0)
                if count >= ESCALATE_AFTER:
                    report.actions.append(_escalate(town, ident, actor, f"{count} restarts did not help ({rep.reason})"))
                    st.restarts[address] = 0
                else:
                    st.restarts[address] = count + 1
                    report.actions.append(f"restarted stuck {address}: " + _restart(town, ident, actor=actor, mode="witness-restart"))
                report.acted = True
            except GastownError as exc:  # one broken polecat must not stop the others (or lose the state)
                report.actions.append(f"{address}: {exc.message}")
        for gone in set(st.nudges) - set(idents):
            st.nudges.pop(gone, None)
        if report.acted:
            st.acted = True
    return report


def recycle_dead(town, rig_name: str) -> StepReport:
    """Restart polecats that have work on the hook but no live session (GUPP + NDI)."""
    def recycle(ident, rep, actor: str) -> str:
        return f"recycled {ident.address} ({rep.reason}): " + _restart(town, ident, actor=actor, mode="witness-recycle")

    return _act_on(town, rig_name, "recycle-dead", "dead", recycle)


def check_refinery(town, rig_name: str, *, stale_s: float | None = None) -> StepReport:
    """A Refinery that died (its bead says running) is restarted; a queue waiting too long gets it nudged."""
    from ..errors import GastownError
    from ..runtime import nudge
    from ..town.lifecycle import start_agent
    from ..work import merge_requests as mrs
    from ..beads import clock
    from .settings import patrol_settings
    from . import state

    rig = town.rig(rig_name)
    actor = witness_address(rig_name)
    ident = town.identity(f"{rig.name}/refinery")
    sessions = _sessions(town)
    info = sessions.get(ident.session)
    report = StepReport(step="check-refinery", rig=rig_name)
    should_run = town.ledger.exists(ident.bead_id) and town.ledger.get(ident.bead_id).agent_state == "running"
    up = _town_is_up(town, actor, report)
    if (info is None or not info.alive) and not (should_run and up):
        # Never started, stopped on purpose, or the town is going down (gt down stops the
        # daemon first): starting it is `gt up`'s call, not ours.
        report.actions.append(f"refinery not running ({ident.session}); not restarting it while the town is not up")
    elif info is None or not info.alive:
        was = "down" if info is None else "dead"
        try:
            res = start_agent(town, ident, actor=actor, mode="witness-restart")
        except GastownError as exc:
            report.actions.append(f"refinery was {was}: could not start {ident.session}: {exc.message}")
            return report
        report.actions.append(f"refinery was {was}: {res.status} {ident.session}")
        report.acted = True
    else:
        waiting = [m for m in mrs.queue(town.ledger, rig.name) if m.status == mrs.OPEN]
        stale_s = stale_s if stale_s is not None else max(60.0, patrol_settings(town).max_backoff_s * 3)
        if waiting:
            age = (clock.parse(clock.now()) - clock.parse(waiting[0].created_at)).total_seconds()
            if age > stale_s:
                res = nudge.nudge(
                    town.tmux, ident.session, f"MERGE_READY: {len(waiting)} merge request(s) waiting, oldest {age:.0f}s",
                    state_dir=town.state_dir, idle_s=town.config.nudge.idle_s, timeout_s=5.0, sender=actor,
                    queue_if_missing=True,
                )  # fmt: skip
                report.actions.append(f"nudged the refinery: {len(waiting)} MR(s) waiting, oldest {age:.0f}s ({res.status})")
                report.acted = True
            else:
                report.actions.append(f"refinery alive; {len(waiting)} MR(s) queued")
        else:
            report.actions.append("refinery alive; queue empty")
    if report.acted:
        state.mark_acted(town.root, _state_key(rig_name))
    return report


def _town_is_up(town, actor: str, report: StepReport) -> bool:
    """`gt up` happened and `gt down` has not begun; a dead daemon is revived on the way."""
    from .revive import town_up

    up, revived = town_up(town.root, who=actor)
    if revived:
        report.actions.append(revived)
        report.acted = True
    return up


def cleanup_polecat(town, ident, *, actor: str, report: StepReport | None = None) -> str:
    """Stop the session and remove the worktree of a polecat whose work is merged.

    Refuses (returns the reason, changes nothing) while work could be lost.
    The branch and the agent bead stay; the bead is marked idle with an
    empty hook so the daemon no longer revives it.
    """
    from ..errors import Conflict
    from ..work.polecat_cleanup import retire

    try:
        done = retire(town, ident, actor=actor)
    except Conflict as exc:
        return f"kept {ident.address}: " + "; ".join(exc.data.get("reasons") or [exc.message])
    line = f"cleaned up {ident.address}: session stopped"
    if done.nuke is not None:
        line += f", worktree removed (branch {done.nuke.branch or '-'} kept)"
    return line


def cleanup(town, rig_name: str) -> StepReport:
    """Clean up every polecat whose verdict is ``done`` (merged or abandoned, nothing left)."""
    return _act_on(town, rig_name, "cleanup", "done", lambda ident, rep, actor: cleanup_polecat(town, ident, actor=actor))


def _act_on(town, rig_name: str, step: str, verdict: str, act) -> StepReport:
    """``act(ident, report, actor) -> line`` on every polecat of the rig whose verdict is ``verdict``."""
    from ..errors import GastownError
    from . import state

    actor = witness_address(rig_name)
    town.rig(rig_name)
    sessions = _sessions(town)
    report = StepReport(step=step, rig=rig_name)
    for ident in _polecat_idents(town, rig_name):
        rep = assess(town, ident, sessions=sessions, stuck_after_s=float("inf"))
        if rep.verdict != verdict:
            continue
        report.polecats.append(rep)
        try:
            report.actions.append(act(ident, rep, actor))
        except GastownError as exc:  # one broken polecat must not stop the patrol
            report.actions.append(f"{ident.address}: {step} failed: {exc.message}")
        report.acted = True
    if report.acted:
        state.mark_acted(town.root, _state_key(rig_name))
    return report


# -- mail --------------------------------------------------------------------------------


def _body_field(body: str, name: str) -> str:
    prefix = name.lower() + ":"
    for line in (body or "").splitlines():
        if line.lower().startswith(prefix):
            return line.split(":", 1)[1].strip()
    return ""


def inbox(town, rig_name: str) -> StepReport:
    """Handle the Witness's unread protocol mail; each handled message is acknowledged.

    POLECAT_DONE -> MERGE_READY to the Refinery (Exit: MERGED); MERGED ->
    clean that polecat up; MERGE_FAILED / REWORK_REQUEST -> make sure the
    polecat runs and nudge it to its hook (the Refinery put the issue back
    there); HANDOFF -> noted.  Other mail is marked read and left.
    """
    from ..errors import GastownError
    from ..work import mail
    from . import state

    rig = town.rig(rig_name)
    actor = witness_address(rig.name)
    ledger = town.ledger
    report = StepReport(step="inbox", rig=rig.name)
    for msg in mail.unread(ledger, actor):
        subject = msg.subject.strip()
        try:
            line = _handle(town, rig.name, actor, msg)
        except GastownError as exc:
            # Left unread: retried next cycle, and the messages behind it are still handled now.
            report.actions.append(f"{msg.id} {subject}: failed, left unread: {exc.message}")
            continue
        if line:
            mail.ack(ledger, msg.id, actor=actor)
            report.actions.append(f"{msg.id} {subject}: {line}")
        else:
            mail.read(ledger, msg.id, actor=actor)
            report.actions.append(f"{msg.id} {subject}: not a patrol message; marked read")
        report.acted = True
    if report.acted:
        state.mark_acted(town.root, _state_key(rig.name))
    return report


def _handle(town, rig_name: str, actor: str, msg) -> str:
    """One protocol message -> what was done ('' for mail that is not the patrol's)."""
    from ..work import mail

    word, _, name = msg.subject.strip().partition(" ")
    name = name.strip()
    if word == "POLECAT_DONE":
        exit_kind = _body_field(msg.body, "Exit") or "MERGED"
        mr = _body_field(msg.body, "MR")
        if exit_kind != "MERGED" or not mr:
            return f"{name} done with Exit: {exit_kind}; nothing to merge"
        mail.send(town.ledger, f"{rig_name}/refinery", f"MERGE_READY {name}",
                  f"MR: {mr}\nBranch: {_body_field(msg.body, 'Branch')}\nIssue: {_body_field(msg.body, 'Issue')}",
                  actor=actor)  # fmt: skip
        return f"{name} done ({mr}): MERGE_READY sent to {rig_name}/refinery"
    if word == "MERGED":
        return f"{name} merged: " + _cleanup_named(town, rig_name, name, actor)
    if word in ("MERGE_FAILED", "REWORK_REQUEST"):
        return f"{name} {word}: " + _back_to_work(town, rig_name, name, actor, word, since=msg.created_at)
    if word == "HANDOFF":
        return "handoff note read"
    return ""


def _polecat_ident(town, rig_name: str, name: str):
    from ..errors import GastownError

    try:
        return town.identity(f"{rig_name}/polecats/{name}")
    except GastownError:
        return None


def _cleanup_named(town, rig_name: str, name: str, actor: str) -> str:
    ident = _polecat_ident(town, rig_name, name)
    if ident is None:
        return f"no polecat {name!r}"
    rep = assess(town, ident, sessions=_sessions(town), stuck_after_s=float("inf"))
    if rep.verdict != "done":
        return f"not cleaned up yet ({rep.verdict}{': ' + rep.reason if rep.reason else ''})"
    return cleanup_polecat(town, ident, actor=actor)


#: What a polecat whose work the Refinery bounced is nudged with, by the Refinery itself
#: (queued: ``work/refinery_wake.py``) or else by the Witness (``_back_to_work``).
BACK_TO_WORK = "hook -- {why} from the refinery: your issue is back on your hook; run it"


def _back_to_work(town, rig_name: str, name: str, actor: str, why: str, *, since: str = "") -> str:
    """The polecat runs and gets one nudge to its hook for this bounce (mail sent at ``since``).

    The Refinery queues that nudge itself when it bounces the work (the daemon
    delivers it); a second one reaching the polecat after it has submitted the
    rework would start the rework over, so: already delivered -> nothing more;
    still queued -> delivered now (or left to the daemon); a session started
    here works its hook on its own, so the queued copy is dropped.
    """
    from ..runtime import nudge
    from ..town.lifecycle import start_agent

    ident = _polecat_ident(town, rig_name, name)
    if ident is None:
        return f"no polecat {name!r}"
    text = BACK_TO_WORK.format(why=why)
    res = start_agent(town, ident, actor=actor, mode="witness-rework")
    if res.status != "running":
        nudge.drop_queued(town.state_dir, ident.session, text)
        return f"{res.status} {ident.address}"
    sent = nudge.sent_since(town.state_dir, ident.session, text, since) if since else ""
    if sent == "delivered":
        return f"{ident.address} already nudged by the refinery"
    if sent == "queued":
        out = nudge.flush_queue(town.tmux, town.state_dir, ident.session, idle_s=town.config.nudge.idle_s)
        status = next((r.status for r in out if r.message == nudge.clean_message(text)), "still queued")
        return f"nudged {ident.address} (the refinery's queued nudge: {status})"
    n = nudge.nudge(
        town.tmux, ident.session, text, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s, timeout_s=5.0,
        sender=actor, queue_if_missing=True,
    )  # fmt: skip
    return f"nudged {ident.address} ({n.status})"
