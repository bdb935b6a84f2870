"""Timestamps: RFC 3339 UTC strings that sort in time order."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ago(seconds: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or offset, any fraction length)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Go writes nanoseconds; Python accepts at most microseconds.
    head, dot, rest = text.partition(".")
    if dot:
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        text = f"{head}.{(digits + '000000')[:6]}{rest[i:]}"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def normalize(value: str) -> str:
    """Keep UTC timestamps verbatim; convert other offsets to UTC ``Z``."""
    if not value or value.endswith(("Z", "z")):
        return value
    dt = parse(value).astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- durations (Go time.Duration) ------------------------------------------------

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_INT64 = 2**63


def duration_ns(value: object) -> int:
    """Nanoseconds of a Go ``time.Duration``: Beads writes integers; Go's
    ``Duration.String`` form (``"1h30m"``, ``"90s"``) and digit strings are
    read too (older gastown versions stored those).  ``""``/None is 0.
    Raises ValueError for anything else."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int):
        if not -_GO_INT64 <= value < _GO_INT64:
            raise ValueError(f"duration out of range (a Go int64 of nanoseconds): {value}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a duration: {value!r}")
    text = value.strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return duration_ns(int(text))
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    pos, total = 0, 0
    for m in _DURATION_PART.finditer(body):
        if m.start() != pos:
            break
        number, unit = m.groups()
        whole, _, frac = number.partition(".")
        scale = _DURATION_UNITS[unit]
        total += int(whole or 0) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        pos = m.end()
    if not body or pos != len(body):
        raise ValueError(f"not a Go duration: {value!r} (integer nanoseconds, or like 1h30m)")
    return duration_ns(sign * total)
