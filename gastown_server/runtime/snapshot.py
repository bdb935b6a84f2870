"""One cheap look at a town's tmux server, for ``gt status`` (< 150 ms as a process).

Importing libtmux costs ~50 ms, most of ``gt status``'s budget, so this runs
the single ``tmux list-panes -a -F`` call itself and parses it exactly like
:meth:`.tmux.TownTmux.sessions` (same format string, same parser,
:func:`.tmux.parse_sessions`).  Still the runtime package: nothing outside
``runtime/`` talks to tmux (DESIGN contract 5).  Added by TOWN for status.
"""

from __future__ import annotations

import shutil
import subprocess

from .tmux import PANE_FIELDS, SessionInfo, parse_sessions


def sessions_snapshot(socket: str, *, timeout_s: float = 5.0) -> list[SessionInfo] | None:
    """Every session on ``socket`` (``None``: tmux missing or no server running)."""
    binary = shutil.which("tmux")
    if binary is None:
        return None
    try:
        proc = subprocess.run(
            [binary, "-L", socket, "list-panes", "-a", "-F", PANE_FIELDS],
            capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return parse_sessions(proc.stdout.splitlines())
