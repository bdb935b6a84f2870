"""``gt mol step await-signal``: a patrol's sleep that ends early when the town moves.

Gas Town's patrol formulas end a cycle with ``gt mol step await-signal
--agent-bead <id> --backoff-base 30s --backoff-mult 2 --backoff-max 5m``: wait
for activity, but at most a backoff that grows while nothing happens.  Here
activity is a new ``events`` row in the ledger written by someone other than
the waiting agent (every mutation writes one).  The idle count lives in
``<town>/.gastown/await-signal/<agent>.json`` so it survives the process: a
signal resets it, a timeout increments it.
"""

from __future__ import annotations

import os
import re
import time

import msgspec

from ..errors import InvalidInput

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def parse_duration(text: str | float | int, *, what: str = "duration") -> float:
    """Seconds from Go-style ``1h30m``, ``10m``, ``30s``, ``250ms`` or a plain number of seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    s = (text or "").strip().lower()
    pos, total = 0, 0.0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m or m.end() == pos:
            raise InvalidInput(f"bad {what} {text!r}: use e.g. 30s, 10m, 1h30m or seconds")
        total += float(m.group(1)) * _UNITS[m.group(2) or ""]
        pos = m.end()
    if not s:
        raise InvalidInput(f"bad {what} {text!r}: empty")
    return total


class Signal(msgspec.Struct, omit_defaults=False):
    #: ``signal`` (the ledger moved) or ``timeout``.
    reason: str
    agent: str
    waited_s: float
    timeout_s: float
    #: Idle waits in a row before this one.
    idle_cycles: int
    events: int = 0
    cursor: int = 0


def _state_path(root, agent: str):
    from ..town import layout

    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", agent)
    return layout.state_dir(root) / "await-signal" / f"{safe}.json"


def _idle(path) -> int:
    try:
        return int(msgspec.json.decode(path.read_bytes()).get("idle", 0))
    except (OSError, msgspec.DecodeError, AttributeError, ValueError):
        return 0


def _save_idle(path, idle: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(msgspec.json.encode({"idle": idle}))
    os.replace(tmp, path)


def await_signal(
    town, agent: str, *, base: str | float = "30s", mult: float = 2.0, maximum: str | float = "5m",
    timeout: str | float | None = None, poll_s: float = 0.2,
) -> Signal:
    base_s, max_s = parse_duration(base, what="--backoff-base"), parse_duration(maximum, what="--backoff-max")
    if mult < 1:
        raise InvalidInput("--backoff-mult must be at least 1")
    path = _state_path(town.root, agent)
    idle = _idle(path)
    wait_s = parse_duration(timeout, what="--timeout") if timeout is not None else min(max_s, base_s * mult**idle)
    ledger = town.ledger
    cursor = ledger.last_event_id()
    start = time.monotonic()
    seen = 0
    while True:
        batch = ledger.events_since(cursor, limit=500)
        fresh = [e for e in batch if e.actor != agent]
        if fresh:
            seen, cursor = len(fresh), fresh[-1].id
            break
        if batch:  # only the agent's own writes: look past them next time
            cursor = batch[-1].id
            continue
        if time.monotonic() - start >= wait_s:
            break
        time.sleep(min(poll_s, max(0.0, wait_s - (time.monotonic() - start))) or poll_s)
    reason = "signal" if seen else "timeout"
    _save_idle(path, 0 if seen else idle + 1)
    return Signal(reason=reason, agent=agent, waited_s=round(time.monotonic() - start, 3), timeout_s=wait_s,
                  idle_cycles=idle, events=seen, cursor=cursor)  # fmt: skip
