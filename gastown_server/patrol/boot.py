"""Boot: the Deacon's watchdog, woken by the daemon (SPEC: a dog, short-lived).

Boot has no session of its own here: it is this check, run inside the
daemon's beat, acting as ``boot`` (its agent bead ``hq-boot``).  Decision:

* the Deacon's session is alive and was active (pane output or client
  input) within ``deacon_stale_s``: **leave** it;
* alive but quiet longer than that: **nudge** it to run its patrol;
* gone or its pane dead: **restart** it (start or respawn).

Only a nudge or a restart is written to the ledger (the agent bead's
``last_activity`` and one event), so a quiet town's ledger does not grow by
a row per beat.
"""

from __future__ import annotations

import os
import time

NUDGE_TEXT = "HEALTH_CHECK from boot: you have been quiet; run your patrol (gt prime, then your hook)"


def deacon_activity(town, info) -> float:
    """Latest sign of life: tmux session activity or transcript growth (epoch s)."""
    from ..runtime.transcripts import transcript_path

    latest = float(info.activity or 0)
    try:
        latest = max(latest, os.stat(transcript_path(town.root, info.name)).st_mtime)
    except OSError:
        pass
    return latest


def observe(town) -> dict:
    """What Boot looks at: the Deacon's session, its last activity and its patrol heartbeat."""
    from ..runtime.snapshot import sessions_snapshot
    from ..town.identity import town_identity
    from . import state

    deacon = town_identity(town.root, "deacon")
    info = next((s for s in (sessions_snapshot(town.socket) or []) if s.name == deacon.session), None)
    now = time.time()
    beat = state.load(town.root, "deacon").heartbeat_at
    return {
        "session": deacon.session,
        "running": info is not None,
        "alive": bool(info and info.alive),
        "quiet_s": round(now - deacon_activity(town, info), 1) if info is not None else None,
        "heartbeat_age_s": round(now - beat, 1) if beat else None,
    }


def decide(town, *, stale_s: float | None = None) -> tuple[str, object]:
    from ..town.identity import town_identity
    from . import state

    deacon = town_identity(town.root, "deacon")
    info = next((s for s in town.tmux.sessions() if s.name == deacon.session), None)
    if info is None or not info.alive:
        return "restart", deacon
    latest = max(deacon_activity(town, info), state.load(town.root, "deacon").heartbeat_at)
    quiet = time.time() - latest
    if quiet > (town.config.daemon.deacon_stale_s if stale_s is None else stale_s):
        return "nudge", deacon
    return "leave", deacon


def run(town, *, actor: str = "boot", stale_s: float | None = None) -> str:
    from ..beads import clock
    from .revive import check

    # Boot also runs outside the daemon (gt boot triage): it revives a dead one too.
    check(town.root, who=actor)

    action, deacon = decide(town, stale_s=stale_s)
    if action == "leave":
        return action
    if action == "restart":
        from ..town.lifecycle import start_agent

        start_agent(town, deacon, actor=actor, mode="boot-restart")
    else:
        from ..runtime import nudge

        res = nudge.nudge(
            town.tmux, deacon.session, NUDGE_TEXT, state_dir=town.state_dir, idle_s=town.config.nudge.idle_s,
            timeout_s=min(5.0, town.config.nudge.timeout_s), sender="boot", queue_if_missing=True,
        )  # fmt: skip
        action = f"nudge:{res.status}"
    ledger = town.ledger
    if ledger.exists("hq-boot"):
        with ledger.mutation("boot_checked", actor, "hq-boot", {"action": action, "deacon": deacon.session}):
            ledger.update("hq-boot", actor=actor, last_activity=clock.now())
    return action
