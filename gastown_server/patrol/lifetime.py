"""What the town's long-lived patrol processes (daemon, standby, watchdog) share: one per
town by an ``flock``, and a stop by SIGTERM/SIGINT that their loops poll.

The handler only sets a plain attribute (nothing it could block on: see the git
broker's ``_Ended``, sandbox/broker.py); each loop checks it between short sleeps.
"""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path


def hold_lock(path: Path) -> int | None:
    """Open ``path`` (created if need be) and take its exclusive ``flock`` without waiting.

    The descriptor, which keeps the lock until it is closed or this process ends (even by
    SIGKILL: the kernel releases it); ``None`` when another process holds the lock.  An
    ``OSError`` opening the file is the caller's to handle.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class StopSignal:
    """True once SIGTERM or SIGINT has arrived (after :meth:`install`)."""

    def __init__(self) -> None:
        self.stopping = False

    def _handler(self, _signum, _frame) -> None:
        self.stopping = True

    def install(self) -> StopSignal:
        """Make SIGTERM and SIGINT set this (again, after code that installed its own)."""
        signal.signal(signal.SIGTERM, self._handler)
        signal.signal(signal.SIGINT, self._handler)
        return self

    def __bool__(self) -> bool:
        return self.stopping
