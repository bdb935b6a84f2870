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


def decide(town) -> tuple[str, object]:
    from ..town.identity import town_identity

    deacon = town_identity(town.root, "deacon")
    info = next((s for s in town.tmux.sessions() if s.name == deacon.session), None)
    if info is None or not info.alive:
        return "restart", deacon
    quiet = time.time() - deacon_activity(town, info)
    if quiet > town.config.daemon.deacon_stale_s:
        return "nudge", deacon
    return "leave", deacon


def run(town, *, actor: str = "boot") -> str:
    from ..beads import clock

    action, deacon = decide(town)
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
