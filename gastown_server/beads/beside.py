"""Run one piece of CPU-bound Python work in a forked child while the caller does another.

Parsing a large JSONL file is Python-bound (msgspec decodes, our checks
validate), so threads cannot share it (the GIL) while most machines have a
second core idle.  A forked child inherits the data and the loaded code for
free; it hands back its result as bytes through a pipe.  Used only where a
fork is safe and useful: a POSIX system, more than one usable core, and a
process with a single thread (a thread holding a lock at fork time would
leave it held forever in the child).
"""

from __future__ import annotations

import os
import threading
from typing import Callable, TypeVar

T = TypeVar("T")


def available() -> bool:
    """Whether :func:`run_beside` would fork (else the caller does both pieces itself)."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # no affinity call (macOS)
        return (os.cpu_count() or 1) > 1


def run_beside(child_work: Callable[[], bytes], own_work: Callable[[], T]) -> tuple[T, bytes | None]:
    """``own_work()`` here while ``child_work()`` runs in a forked child.

    Returns our result and the child's bytes, or None for the child's part
    when it failed in any way (the caller then does that part itself).  An
    exception of ``own_work`` propagates after the child is stopped.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: work, write, leave without running the parent's exit handlers
        code = 1
        try:
            os.close(read_fd)
            data = child_work()
            with os.fdopen(write_fd, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        own = own_work()
    except BaseException:
        os.close(read_fd)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    return own, data if os.waitstatus_to_exitcode(status) == 0 else None
