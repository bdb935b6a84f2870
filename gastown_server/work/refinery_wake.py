"""The Refinery wakes the polecat it bounced: a queued nudge, delivered by the daemon.

A ``REWORK_REQUEST`` or ``MERGE_FAILED`` puts the issue back on the polecat's
hook and mails the polecat and its Witness; the Witness's patrol then nudges
the polecat, when its inbox step comes round: up to a whole Witness cycle
later (on an LLM runtime about nine model round trips, 10-25 s on a loaded
machine), on the convoy's critical path.  The Refinery has no tmux (no
sandbox has the town's socket, docs/security.md) but can write the town's
nudge queue, which the daemon delivers on its next beat once the session is
idle.  The text is the Witness's own (``witness.BACK_TO_WORK``), so the
Witness finds it queued or delivered and sends no second one.
"""

from __future__ import annotations

BOUNCED = {"rework": "REWORK_REQUEST", "failed": "MERGE_FAILED"}


def wake_bounced(town, outcomes, *, sender: str) -> list[str]:
    """Queue the back-to-work nudge for each polecat an outcome bounced; one line per nudge."""
    from ..errors import GastownError
    from ..patrol.witness import BACK_TO_WORK
    from ..runtime import nudge
    from . import merge_requests as mrs

    lines = []
    for o in outcomes:
        why = BOUNCED.get(o.result)
        if why is None or not o.mr_id:
            continue
        try:
            polecat = mrs.get(town.ledger, o.mr_id).meta.polecat
            session = town.identity(polecat).session
        except GastownError:
            continue  # not a town polecat (a crew clone, a test rig): its Witness mail is enough
        res = nudge.enqueue(town.state_dir, session, BACK_TO_WORK.format(why=why), sender=sender)
        lines.append(f"  woke {polecat}: {why} nudge {res.status}")
    return lines
