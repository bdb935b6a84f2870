"""The patrols' last step: sleep until the next cycle, exponentially longer while idle.

A cycle that acted (any step marked the patrol state ``acted``; for the
Refinery also a non-empty queue) resets the backoff: the next cycle starts
after ``interval_s``.  Each idle cycle doubles the sleep, up to the smaller
of the town's ``max_backoff_s`` and the formula's ``--max``.
"""

from __future__ import annotations

import time

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
    busy = False
    if role == "refinery":
        from ..work import merge_requests as mrs

        busy = any(m.status == mrs.OPEN for m in mrs.queue(town.ledger, rig))
    with state.update(town.root, state.state_key(role, rig)) as st:
        acted = st.acted or busy
        st.idle_cycles = 0 if acted else st.idle_cycles + 1
        delay = settings.interval_s if acted else settings.interval_s * 2 ** min(st.idle_cycles - 1, 20)
        delay = max(0.0, min(delay, cap))
        st.acted, st.last_delay_s, st.last_cycle_at = False, delay, time.time()
        return Backoff(role=role, rig=rig, delay_s=delay, idle_cycles=st.idle_cycles, acted=acted)
