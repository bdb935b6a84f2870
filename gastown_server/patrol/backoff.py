"""The patrols' last step: sleep until the next cycle, exponentially longer while idle.

A cycle that acted (any step marked the patrol state ``acted``) resets the
backoff: the next cycle starts after ``interval_s``.  Each idle cycle doubles
the sleep, up to the smaller of the town's ``max_backoff_s`` and the
formula's ``--max``.  The Refinery with merge requests still waiting (its
merge step stopped at its time budget, or one came in meanwhile) starts the
next cycle at once, and its sleep ends as soon as one is queued
(:func:`wait`): an idle Refinery sleeping its longest backoff must not keep
a polecat's finished work waiting.
"""

from __future__ import annotations

import time
from typing import Callable

import msgspec

ROLES = ("deacon", "witness", "refinery")


class Backoff(msgspec.Struct, omit_defaults=False):
    role: str
    rig: str
    delay_s: float
    idle_cycles: int
    acted: bool


def compute(town, role: str, rig: str = "", *, max_s: float | None = None) -> Backoff:
    """Decide this cycle's sleep and record it (clears the ``acted`` flag)."""
    from ..errors import InvalidInput
    from . import state
    from .settings import patrol_settings

    if role not in ROLES:
        raise InvalidInput(f"no patrol for role {role!r} (one of {', '.join(ROLES)})")
    if role != "deacon":
        if not rig:
            raise InvalidInput(f"the {role} patrol needs --rig")
        town.rig(rig)
    if max_s is not None and max_s < 0:
        raise InvalidInput("--max must not be negative")
    settings = patrol_settings(town)
    cap = settings.max_backoff_s if max_s is None else min(max_s, settings.max_backoff_s)
    busy = work_waiting(town, role, rig)
    with state.update(town.root, state.state_key(role, rig)) as st:
        acted = st.acted or busy
        st.idle_cycles = 0 if acted else st.idle_cycles + 1
        delay = settings.interval_s if acted else settings.interval_s * 2 ** min(st.idle_cycles - 1, 20)
        delay = 0.0 if busy else max(0.0, min(delay, cap))
        st.acted, st.last_delay_s, st.last_cycle_at = False, delay, time.time()
        return Backoff(role=role, rig=rig, delay_s=delay, idle_cycles=st.idle_cycles, acted=acted)


def work_waiting(town, role: str, rig: str = "") -> bool:
    """Work this patrol's next cycle would act on at once: for the Refinery, an open merge request."""
    if role != "refinery":
        return False
    from ..work import merge_requests as mrs

    return any(m.status == mrs.OPEN for m in mrs.queue(town.ledger, rig))


def wait(town, decision: Backoff, *, pause: Callable[[float], bool] | None = None, poll_s: float = 0.5) -> str:
    """Sleep ``decision.delay_s``; '' when it ran out, else why it ended early.

    ``pause(seconds)`` sleeps and returns True when something woke it (the
    script patrol's input: a nudge); default :func:`time.sleep`.  The
    Refinery also wakes when a merge request is queued (polled every
    ``poll_s``: one query on the town's ledger); the other patrols sleep the
    whole delay.
    """
    pause = pause or (lambda s: bool(time.sleep(s)))
    deadline = time.monotonic() + decision.delay_s
    watch = decision.role == "refinery"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return ""
        if pause(min(poll_s, left) if watch else left):
            return "input"
        if watch and work_waiting(town, decision.role, decision.rig):
            return "a merge request is queued"
