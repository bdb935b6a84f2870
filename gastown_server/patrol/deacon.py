"""The Deacon's patrol steps (``gt deacon ...``) and the Refinery patrol's inbox.

The heartbeat is written to the Deacon's patrol state file, not the ledger:
it happens every cycle, and Boot only needs the latest one.
"""

from __future__ import annotations

import time

from .witness import StepReport

DEACON = "deacon"
#: A patrol wisp untouched this long (and at least 10 backoffs) is abandoned: burn it.
STALE_WISP_S = 600.0


def heartbeat(town) -> StepReport:
    from . import state

    with state.update(town.root, DEACON) as st:
        st.heartbeat_at = time.time()
    return StepReport(step="heartbeat", rig="", actions=[f"heartbeat at {time.strftime('%H:%M:%S')}"])


def inbox(town) -> StepReport:
    """Read the Deacon's unread mail: handoffs are acknowledged, the rest marked read and listed."""
    from ..work import mail
    from . import state

    ledger = town.ledger
    report = StepReport(step="inbox", rig="")
    for msg in mail.unread(ledger, DEACON):
        if msg.subject.startswith("HANDOFF"):
            mail.ack(ledger, msg.id, actor=DEACON)
            report.actions.append(f"{msg.id} HANDOFF: acknowledged")
        else:
            mail.read(ledger, msg.id, actor=DEACON)
            report.actions.append(f"{msg.id} from {msg.sender or '?'}: {msg.subject} (read; needs a thinking Deacon)")
        report.acted = True
    if report.acted:
        state.mark_acted(town.root, DEACON)
    return report


def check_rigs(town) -> StepReport:
    """Every rig's Witness and Refinery must have a live session: start or respawn those that do not."""
    from ..errors import GastownError
    from ..runtime.snapshot import sessions_snapshot
    from ..town.identity import rig_identity
    from ..town.lifecycle import start_agent
    from . import state
    from .revive import town_up

    report = StepReport(step="check-rigs", rig="")
    up, revived = town_up(town.root, who=DEACON)
    if not up:
        # `gt down` withdraws the town's wish to be up first: do not bring back what it is stopping.
        report.actions.append("the town is down (or going down): not restarting anything")
        return report
    if revived:
        report.actions.append(revived)
        report.acted = True
    sessions = {s.name: s for s in (sessions_snapshot(town.socket) or [])}
    for rig in town.rigs():
        for role in ("witness", "refinery"):
            ident = rig_identity(town.root, rig.name, rig.prefix, role)
            info = sessions.get(ident.session)
            if info is not None and info.alive:
                continue
            was = "down" if info is None else "dead"
            try:
                res = start_agent(town, ident, actor=DEACON, mode="deacon-restart")
            except GastownError as exc:  # one broken rig must not keep the others down
                report.actions.append(f"{ident.address} was {was}: could not start: {exc.message}")
                continue
            report.actions.append(f"{ident.address} was {was}: {res.status}")
            report.acted = True
    if not report.actions:
        report.actions.append(f"{len(town.rigs())} rig(s): witnesses and refineries alive")
    if report.acted:
        state.mark_acted(town.root, DEACON)
    return report


def plugins(town) -> StepReport:
    """Dispatch due town plugins (``<town>/plugins/<name>/plugin.md``) to idle dogs (patrol/plugin_runs.py)."""
    from .plugin_runs import dispatch_due

    return dispatch_due(town, actor=DEACON)


def cleanup(town, *, stale_s: float | None = None, keep: str = "") -> StepReport:
    """Burn patrol wisps nobody has touched for ``stale_s``; list tmux sessions no agent owns."""
    from ..beads import bulk, clock
    from ..formulas import molecule
    from ..runtime.snapshot import sessions_snapshot
    from .settings import patrol_settings
    from . import state

    settings = patrol_settings(town)
    stale_s = stale_s if stale_s is not None else max(STALE_WISP_S, settings.max_backoff_s * 10)
    ledger = town.ledger
    report = StepReport(step="cleanup", rig="")
    now = clock.parse(clock.now())
    roots = ledger.conn.execute(
        "SELECT id, updated_at, assignee FROM issues WHERE issue_type = 'molecule' AND ephemeral = 1 "
        "AND wisp_type = 'patrol' AND status NOT IN ('closed', 'tombstone') ORDER BY created_at, id"
    ).fetchall()
    sessions = sessions_snapshot(town.socket) or []
    live = {s.name for s in sessions if s.alive}
    # A live agent's newest wisp may be in a long step (a slow gate): only wisps it left behind are stale.
    in_use = {assignee: root_id for root_id, _updated, assignee in roots if _session_of(town, assignee) in live}
    for root_id, updated, assignee in roots:
        if root_id == keep or in_use.get(assignee) == root_id:
            continue
        lo, hi = bulk.descendants_range(root_id)
        last = ledger.conn.execute(
            "SELECT MAX(updated_at) FROM issues WHERE id >= ? AND id < ?", (lo, hi)
        ).fetchone()[0]
        last = max(filter(None, (updated, last)))
        age = (now - clock.parse(last)).total_seconds()
        if age > stale_s:
            count = molecule.burn(ledger, root_id, actor=DEACON)
            report.actions.append(f"burned stale patrol wisp {root_id} of {assignee or '?'} ({count} beads, idle {age:.0f}s)")
            report.acted = True
    known = {a.session for a in town.agents()} | {a.session for a in town.always_on()}
    others = sorted({s.name for s in sessions} - known)
    if others:
        report.actions.append(f"sessions no agent owns (left alone): {', '.join(others)}")
    if report.acted:
        state.mark_acted(town.root, DEACON)
    return report


def _session_of(town, address: str | None) -> str:
    from ..errors import GastownError

    try:
        return town.identity(address).session if address else ""
    except GastownError:
        return ""


def refinery_inbox(town, rig_name: str) -> StepReport:
    """The Refinery's mail: MERGE_READY notices are acknowledged (the MR beads are the queue)."""
    from ..work import mail
    from . import state

    rig = town.rig(rig_name)
    actor = f"{rig.name}/refinery"
    ledger = town.ledger
    report = StepReport(step="inbox", rig=rig.name)
    for msg in mail.unread(ledger, actor):
        if msg.subject.startswith(("MERGE_READY", "HANDOFF")):
            mail.ack(ledger, msg.id, actor=actor)
            report.actions.append(f"{msg.id} {msg.subject}: acknowledged")
        else:
            mail.read(ledger, msg.id, actor=actor)
            report.actions.append(f"{msg.id} {msg.subject}: read")
    if report.actions:
        state.mark_acted(town.root, state.state_key("refinery", rig.name))
        report.acted = True
    return report
