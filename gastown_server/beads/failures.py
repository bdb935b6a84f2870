"""Storage failures said as what is wrong and what to do, not as SQLite's words.

The ledger can fail under a process for reasons no caller can fix in code: a
full disk, a directory the user may not write, a read-only mount.  Before,
``bd`` printed ``internal error: OperationalError: database or disk is full``
and exited 2.  Every adapter (CLI, RPC) asks :func:`explain` first; SQLite's
transactions already guarantee that nothing was half-written.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ..errors import GastownError, Unavailable


def _free_bytes(path: Path) -> int | None:
    for candidate in (path, *path.parents):
        try:
            st = os.statvfs(candidate)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None


def _full(where: Path) -> Unavailable:
    return Unavailable(f"the disk holding {where} is full: free some space there and retry "
                       "(nothing was written)")


def _denied(where: Path) -> Unavailable:
    return Unavailable(f"cannot use the ledger at {where}: permission denied: run as the user who owns the "
                       f"town (see ls -ld {where}) or give that user read and write access (nothing was written)")


def _readonly(where: Path) -> Unavailable:
    return Unavailable(f"the ledger at {where} is read-only (a read-only mount or file, or its -wal/-shm files "
                       "belong to another user): make it writable and retry (nothing was written)")


def explain(exc: BaseException, ledger: Path | None) -> GastownError | None:
    """A GastownError for a storage failure, or None if ``exc`` is not one."""
    where = ledger.parent if ledger is not None else Path.cwd()
    if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM)):
        return _denied(where)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _full(where)
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return _readonly(where)
    if not isinstance(exc, sqlite3.Error):
        return None
    text = str(exc).lower()
    if "disk is full" in text or "disk i/o error" in text or "unable to open database file" in text:
        free = _free_bytes(where)
        if free is not None and free < 64 * 1024:
            return _full(where)
    if "disk is full" in text:
        return _full(where)
    if "readonly database" in text or "read-only" in text:
        if not os.access(where, os.W_OK) or (ledger is not None and ledger.exists() and not os.access(ledger, os.W_OK)):
            return _denied(where)
        return _readonly(where)
    if "unable to open database file" in text:
        if not os.access(where, os.R_OK | os.W_OK | os.X_OK):
            return _denied(where)
        return Unavailable(f"cannot open the ledger at {where}: {exc}: check that the directory exists and is "
                           "yours, then run 'gt doctor'")
    if "disk i/o error" in text:
        return Unavailable(f"disk I/O error on the ledger at {where}: check the disk (dmesg) and run 'gt doctor' "
                           "(nothing was written)")
    if "malformed" in text or "not a database" in text:
        return Unavailable(f"the ledger at {where} is damaged ({exc}): restore it from git with 'bd import' "
                           "of the exported JSONL, or run 'gt doctor'")
    return None
