"""Effective patrol settings: the town config's ``patrol`` section, then ``GT_PATROL_*`` env overrides."""

from __future__ import annotations

import os

_ENV = {
    "interval_s": "GT_PATROL_INTERVAL",
    "max_backoff_s": "GT_PATROL_MAX_BACKOFF",
    "stuck_after_s": "GT_PATROL_STUCK_AFTER",
    "nudge_grace_s": "GT_PATROL_NUDGE_GRACE",
    "stall_after_s": "GT_PATROL_STALL_AFTER",
    "idle_after_s": "GT_PATROL_IDLE_AFTER",
    "stall_grace_s": "GT_PATROL_STALL_GRACE",
    "max_gate_failures": "GT_PATROL_MAX_GATE_FAILURES",
}
_COUNTS = frozenset({"max_gate_failures"})


def patrol_settings(town):
    """A :class:`~gastown_server.town.config.PatrolSettings` with env overrides applied."""
    import msgspec

    from ..errors import InvalidInput

    base = town.config.patrol
    changes = {}
    for field, var in _ENV.items():
        raw = os.environ.get(var, "").strip()
        if raw:
            try:
                value = float(raw)
            except ValueError:
                raise InvalidInput(f"{var}={raw!r} is not a number of seconds") from None
            if value < 0:
                raise InvalidInput(f"{var}={raw!r} must not be negative")
            if field in _COUNTS:
                if value != int(value) or value < 1:
                    raise InvalidInput(f"{var}={raw!r} must be a whole number >= 1")
                value = int(value)
            changes[field] = value
    flag = os.environ.get("GT_PATROL", "").strip().lower()
    if flag:
        changes["enabled"] = flag not in ("0", "false", "no", "off")
    return msgspec.structs.replace(base, **changes) if changes else base
