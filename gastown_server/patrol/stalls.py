"""Work that cannot progress is never silent: the Witness's ``stalls`` step (``gt patrol witness stalls``).

Three conditions, per polecat of the rig (settings: ``patrol`` in the town
config, ``GT_PATROL_*`` env; docs/lifecycle.md):

* **no progress**: work on its hook whose state has not changed for
  ``stall_after_s``.  The state is a fingerprint of what moves when work
  moves: the hooked beads' statuses, how many steps of each one's molecule are
  closed, its MR's status and head.  Transcript output is *not* progress: an
  agent that retries a failing step forever talks a lot and gets nowhere.
* **idle at its prompt**: work on its hook, its session alive, no child
  process under the agent's process (not running a command; seen through its
  sandbox, and from a sandboxed Witness through the daemon: :mod:`.panes`)
  and the transcript quiet for ``idle_after_s``: waiting for input that
  nobody will type.
* **gate failed N times**: its MR's journal has ``max_gate_failures``
  ``merge_failed`` entries of type tests/build (across resubmissions).

The first two climb a ladder, one rung per ``stall_grace_s`` while the
fingerprint stays the same: **nudge** (the reason in the text), then
**restart** the session (the hook and molecule carry the work over), then
**escalate** to the Mayor and the Overseer (``work.escalation``, ``direct``,
severity high) with the reason and what was tried.  A gate that failed N
times is escalated at once: the N rounds of rework were the retries.  Each
problem is escalated once (label ``stall:<address>:<bead>`` or
``gate:<mr>``); any change of the fingerprint starts the ladder over.
The ladder lives in the Witness's patrol state file (``stalls``).
"""

from __future__ import annotations

import time

import msgspec

from .witness import StepReport

NUDGE_TEXT = "hook -- {witness}: your hooked work {hook} cannot progress ({reason}); run your hook now, or gt escalate why not"


def _molecule_of(bead) -> str:
    if not bead.metadata:
        return ""
    try:
        meta = msgspec.json.decode(bead.metadata)
    except msgspec.DecodeError:
        return ""
    mol = meta.get("molecule") if isinstance(meta, dict) else None
    return mol if isinstance(mol, str) else ""


def fingerprint(ledger, hooked: list[str], mr) -> str:
    """What changes when the polecat's work moves (see the module doc)."""
    from ..beads import bulk

    parts = []
    for bead_id in sorted(hooked):
        bead = ledger.get(bead_id)
        parts.append(f"{bead_id}={bead.status}")
        mol = _molecule_of(bead)
        if mol:
            lo, hi = bulk.descendants_range(mol)
            closed = ledger.conn.execute(
                "SELECT COUNT(*) FROM issues WHERE id >= ? AND id < ? AND status IN ('closed', 'tombstone')", (lo, hi)
            ).fetchone()[0]
            parts.append(f"{mol}:{closed}")
    if mr is not None:
        parts.append(f"{mr.id}={mr.status}@{mr.meta.head[:12]}")
    return " ".join(parts)


def gate_failures(mr) -> list[str]:
    """The MR's gate failures (tests/build), oldest first: their journal details."""
    return [j.detail for j in mr.meta.journal if j.event == "merge_failed" and j.detail.startswith(("tests", "build"))]


def _escalate(town, *, actor: str, label: str, text: str) -> str:
    from ..work import escalation

    found = escalation.open_with_label(town.ledger, label)
    if found is not None:
        return f"already escalated: {found.id}"
    res = escalation.escalate(town.ledger, text, severity="high", actor=actor, direct=True, labels=(label,))
    return f"escalated to the mayor and the overseer: {res.id}"


def check(town, rig_name: str, *, now: float | None = None) -> StepReport:
    """One pass of the ladder over the rig's polecats (the ``stalls`` step)."""
    from ..errors import GastownError
    from ..runtime import nudge
    from . import panes, state
    from .settings import patrol_settings
    from .witness import _latest_mr, _polecat_idents, _restart, _sessions, _state_key, assess, witness_address

    settings = patrol_settings(town)
    actor = witness_address(rig_name)
    town.rig(rig_name)
    sessions = _sessions(town)
    now = time.time() if now is None else now
    ledger = town.ledger
    report = StepReport(step="stalls", rig=rig_name)
    idents = {i.address: i for i in _polecat_idents(town, rig_name)}
    with state.update(town.root, _state_key(rig_name)) as st:
        for address, ident in idents.items():
            try:
                rep = assess(town, ident, sessions=sessions, stuck_after_s=float("inf"), now=now)
                mr = _latest_mr(ledger, rig_name, address, rep.branch)
                # Gate failures: escalated once the retries are used up, whatever the hook says.
                if mr is not None and mr.pending:
                    fails = gate_failures(mr)
                    if len(fails) >= settings.max_gate_failures:
                        line = _escalate(town, actor=actor, label=f"gate:{mr.id}", text=(
                            f"{mr.id} of {address} failed its gate {len(fails)} times: it cannot merge without help\n\n"
                            f"Issue: {mr.meta.issue}\nBranch: {mr.meta.branch}\nLast failure: {fails[-1]}\n"
                            f"Settings: patrol.max_gate_failures = {settings.max_gate_failures}\n"
                            f"Look: gt mq show {mr.id}; give up: gt mq abandon {mr.id}"))  # fmt: skip
                        if not line.startswith("already"):
                            report.actions.append(f"{address}: {mr.id} failed its gate {len(fails)} times: {line}")
                            report.acted = True
                if not rep.hook:
                    st.stalls.pop(address, None)
                    continue
                fp = fingerprint(ledger, rep.hook, mr)
                rec = st.stalls.get(address)
                if rec is None or rec.fingerprint != fp:
                    if rec is not None and rec.rung:
                        report.actions.append(f"{address} moved again; ladder reset")
                    rec = st.stalls[address] = state.StallRecord(fingerprint=fp, since=now)
                info = sessions.get(ident.session)
                idle = (
                    rep.alive and info is not None and rep.quiet_s >= settings.idle_after_s
                    and panes.prompt_idle(town, ident.session, info.pane_pid) is True
                )  # fmt: skip
                stalled_s = now - rec.since
                if rec.rung == 0:
                    if stalled_s >= settings.stall_after_s:
                        rec.reason = f"no progress for {stalled_s:.0f}s"
                    elif idle:
                        rec.reason = f"idle at its prompt for {rep.quiet_s:.0f}s"
                    else:
                        continue
                elif now - rec.rung_at < settings.stall_grace_s:
                    continue
                hook = ",".join(rep.hook)
                if rec.rung == 0:
                    res = nudge.nudge(
                        town.tmux, ident.session, NUDGE_TEXT.format(witness=actor, hook=hook, reason=rec.reason),
                        state_dir=town.state_dir, idle_s=town.config.nudge.idle_s,
                        timeout_s=min(5.0, town.config.nudge.timeout_s), sender=actor, queue_if_missing=True,
                    )  # fmt: skip
                    line = f"nudged {address}: {hook} cannot progress ({rec.reason}): {res.status}"
                    rec.tried.append(f"nudged at {time.strftime('%H:%M:%S', time.localtime(now))}")
                elif rec.rung == 1:
                    rec.rung, rec.rung_at = 2, now  # counted even if the restart fails
                    rec.tried.append(f"restarted at {time.strftime('%H:%M:%S', time.localtime(now))}")
                    line = f"restarted {address} (still no progress: {rec.reason}): " + _restart(
                        town, ident, actor=actor, mode="witness-stall")
                    report.actions.append(line)
                    report.acted = True
                    continue
                elif rec.rung == 2:
                    text = (
                        f"{address} cannot make progress on {hook}: {rec.reason}\n\n"
                        f"Since: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(rec.since))} "
                        f"(nothing changed: {fp or 'no state'})\n"
                        f"Tried: {', '.join(rec.tried)}\n"
                        f"Settings: patrol.stall_after_s = {settings.stall_after_s:g}, "
                        f"idle_after_s = {settings.idle_after_s:g}, stall_grace_s = {settings.stall_grace_s:g}\n"
                        f"Look: gt peek {address}; gt hook {address}"
                    )  # fmt: skip
                    label = f"stall:{address}:{rep.hook[0]}"
                    line = f"{address}: {rec.reason}: " + _escalate(town, actor=actor, label=label, text=text)
                else:
                    continue  # escalated: waits for a change (or a human)
                rec.rung, rec.rung_at = rec.rung + 1, now
                report.actions.append(line)
                report.acted = True
            except GastownError as exc:  # one broken polecat must not stop the others (or lose the state)
                report.actions.append(f"{address}: {exc.message}")
        for gone in set(st.stalls) - set(idents):
            st.stalls.pop(gone, None)
        if report.acted:
            st.acted = True
    return report
