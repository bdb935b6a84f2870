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
    from .tmux import _gate, _gated

    if _gated():  # a Mayor/Deacon/Witness sandbox: through its tmux gate
        reply = _gate({"op": "run", "args": ["list-panes", "-a", "-F", PANE_FIELDS]})
        return parse_sessions(reply["stdout"]) if reply["rc"] == 0 else None
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


def blocking_dialogs(socket: str, *, timeout_s: float = 5.0) -> dict[str, str]:
    """Sessions whose screen shows one of their runtime's first-run/permission dialogs: session -> the line.

    The patterns are recorded on each session at start (``@gt_dialogs``, from
    the runtime preset); only sessions that have some are captured, so a town
    of script agents pays one ``list-panes`` call.
    """
    import re

    from .tmux import _gate, _gated

    binary = shutil.which("tmux")
    if binary is None:
        return {}

    def run(*args: str) -> str | None:
        if _gated():
            reply = _gate({"op": "run", "args": list(args)})
            return "\n".join(reply["stdout"]) if reply["rc"] == 0 else None
        try:
            proc = subprocess.run([binary, "-L", socket, *args], capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout if proc.returncode == 0 else None

    listing = run("list-panes", "-a", "-F", "#{session_name}\t#{@gt_pane}\t#{pane_id}\t#{@gt_dialogs}")
    found: dict[str, str] = {}
    for row in (listing or "").splitlines():
        parts = row.split("\t", 3)
        if len(parts) != 4 or not parts[3] or parts[1] != parts[2]:
            continue
        try:
            pattern = re.compile(parts[3])
        except re.error:
            continue
        screen = run("capture-pane", "-p", "-t", parts[2]) or ""
        hit = next((ln.strip() for ln in screen.splitlines() if pattern.search(ln)), None)
        if hit:
            found[parts[0]] = hit[:120]
    return found
