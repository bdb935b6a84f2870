"""Is an agent idle at its prompt?  Seen through its sandbox, and from inside another one.

"Idle at its prompt" (the Witness's ``stalls`` step) means: the agent's
process has no child (it runs no command).  Two things stood in the way once
agents ran in bubblewrap:

* The pane's process is not the agent: it is ``bwrap``, whose child is a
  second ``bwrap`` (PID 1 of the sandbox), whose child is the agent (a
  session's helper outside the sandbox, the Refinery's git broker or a tmux
  gate, runs in front of bwrap or beside it as bwrap's other child).
  :func:`agent_pid` walks down through these wrappers, each with exactly one
  child besides such a helper, to the agent.
* The Witness that asks is itself sandboxed, in its own PID namespace: the
  panes' host pids mean nothing to its ``/proc``.  So the daemon (outside
  every sandbox) publishes what it sees each beat in ``.gastown/published/panes.json``
  (:func:`publish`: per session, the pane pid and whether the agent is idle;
  no command lines, nothing else), and a sandboxed caller reads that
  (:func:`prompt_idle`), only when it is fresh (a few beats) and about the
  same pane pid (a restarted session is not its predecessor).

Anything unknown answers None, which callers take as "not idle": a stall
ladder must never nudge an agent because a look failed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FILE = "panes.json"
#: Wrappers between a pane and its agent: the sandbox (bwrap, twice) and a session's helper
#: outside the sandbox (the Refinery's git broker, a tmux gate), in front of bwrap or beside it.
_WRAPPER_COMMS = frozenset({"bwrap"})
_HELPER_SCRIPTS = ("/sandbox/broker.py", "/sandbox/tmux_gate.py", "gastown_server.sandbox.broker",
                   "gastown_server.sandbox.tmux_gate")  # fmt: skip


def _children(pid: int) -> list[int] | None:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        out: list[int] = []
        for t in tasks:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
        return out
    except (OSError, ValueError):
        return None


def _is_helper(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return any(a.decode(errors="replace").endswith(_HELPER_SCRIPTS) for a in argv[1:6])


def _is_wrapper(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() in _WRAPPER_COMMS:
                return True
    except OSError:
        return False
    return _is_helper(pid)


def agent_pid(pane_pid: int) -> int | None:
    """The agent's process under a pane: the pane's own process unless it is a wrapper (bwrap,
    the git broker), else the one child of each wrapper in turn.  None if a wrapper has no child
    or several (e.g. an orphan reparented to the sandbox's init: not a plain prompt)."""
    pid = pane_pid
    for _ in range(8):  # a few levels at most: bwrap, bwrap, the broker
        if not _is_wrapper(pid):
            return pid if os.path.isdir(f"/proc/{pid}") else None
        kids = _children(pid)
        if kids and len(kids) > 1:  # a helper started beside bwrap (the shell forked it, then exec'd bwrap)
            kids = [k for k in kids if not _is_helper(k)]
        if not kids or len(kids) != 1:
            return None
        pid = kids[0]
    return None


def idle_here(pane_pid: int) -> bool | None:
    """From this process's ``/proc``: True if the pane's agent has no child, None if unknown."""
    agent = agent_pid(pane_pid)
    if agent is None:
        return None
    kids = _children(agent)
    return None if kids is None else not kids


#: The daemon's words for sandboxed readers: bound read-only into every sandbox
#: (sandbox/policy.py), since ``.gastown/`` itself is read-write there and a
#: polecat could otherwise forge "idle" for a busy neighbour, whose Witness
#: would then nudge and restart it.
DIR = "published"


def path(root: Path) -> Path:
    return Path(root) / ".gastown" / DIR / FILE


def publish(root: Path, sessions) -> None:
    """The daemon's side: what each live pane's agent is doing, for sandboxed Witnesses."""
    panes = {}
    for s in sessions:
        if s.alive and s.pane_pid > 0:
            idle = idle_here(s.pane_pid)
            panes[s.name] = {"pid": s.pane_pid, "idle": idle}
    p = path(root)
    tmp = p.with_name(f".{FILE}.{os.getpid()}.tmp")
    try:
        p.parent.mkdir(exist_ok=True)
        tmp.write_text(json.dumps({"at": time.time(), "panes": panes}))
        os.replace(tmp, p)
    except OSError:
        pass


def published(root: Path, session: str, pane_pid: int, *, max_age_s: float) -> bool | None:
    """What the daemon last saw of ``session``'s pane, if fresh and about that pane; else None."""
    try:
        data = json.loads(path(root).read_text())
        if time.time() - float(data["at"]) > max_age_s:
            return None
        rec = data["panes"].get(session)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(rec, dict) or rec.get("pid") != pane_pid or not isinstance(rec.get("idle"), bool):
        return None
    return rec["idle"]


def prompt_idle(town, session: str, pane_pid: int) -> bool | None:
    """Is ``session``'s agent idle at its prompt?  Own ``/proc`` outside a sandbox, else the daemon's word."""
    if not os.environ.get("GT_SANDBOX"):
        return idle_here(pane_pid)
    beat = town.config.daemon.heartbeat_s
    return published(town.root, session, pane_pid, max_age_s=max(3 * beat, 10.0))
