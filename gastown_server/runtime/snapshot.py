"""One cheap look at a town's tmux server, for ``gt status`` (< 150 ms as a process).

Importing libtmux costs ~50 ms, most of ``gt status``'s budget, so this runs
the single ``tmux list-panes -a -F`` call itself and parses it exactly like
:meth:`.tmux.TownTmux.sessions` (same format string, same
:class:`~.tmux.SessionInfo`).  Still the runtime package: nothing outside
``runtime/`` talks to tmux (DESIGN contract 5).  Added by TOWN for status.
"""

from __future__ import annotations

import shutil
import subprocess

from .tmux import _PANE_FIELDS, SessionInfo, _int


def sessions_snapshot(socket: str, *, timeout_s: float = 5.0) -> list[SessionInfo] | None:
    """Every session on ``socket`` (``None``: tmux missing or no server running)."""
    binary = shutil.which("tmux")
    if binary is None:
        return None
    try:
        proc = subprocess.run(
            [binary, "-L", socket, "list-panes", "-a", "-F", _PANE_FIELDS],
            capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    found: dict[str, SessionInfo] = {}
    for row in proc.stdout.splitlines():
        parts = row.split("\t")
        if len(parts) != 8:
            continue
        name, created, attached, activity, gt_pane, pane_id, pid, dead = parts
        info = found.get(name)
        if info is None:
            info = found[name] = SessionInfo(
                name=name, created=_int(created), attached=_int(attached), activity=_int(activity),
                pane_pid=0, alive=False,
            )  # fmt: skip
        if pane_id == gt_pane:
            info.pane_id = pane_id
            info.alive = dead != "1"
            info.pane_pid = _int(pid) if info.alive else 0
    return sorted(found.values(), key=lambda s: s.name)
