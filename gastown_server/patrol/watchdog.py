"""The daemon's watchdog: a tiny process outside every sandbox; it and the daemon restart each other.

Why: with agent sandboxes on, no agent may start the daemon (it would live,
and die, in its sandbox: :mod:`.revive`), so after a ``kill -9`` of the
daemon nobody in the town could bring it back.  Now the daemon starts this
watchdog (``python -m gastown_server.patrol.watchdog <town>``, in its own
session, with the daemon's scrubbed environment) at start and checks it
every beat; the watchdog polls the daemon every :data:`POLL_S` and, when it
is dead and the town wanted up, revives it through :func:`.revive.check` (the
same rate limit, stamp and log line as every reviver: ``revived by the
daemon's watchdog``).  Who watches whom: docs/lifecycle.md.

* One per town: it holds ``.gastown/watchdog.lock`` (``flock``) for its life;
  a second one exits at once.
* Liveness of either is read from ``/proc/locks`` (:func:`.revive.lock_held`),
  never by taking the other's lock: a 1 Hz poll that took the daemon's lock
  for a moment could make a starting daemon think another one runs.
* It ends by itself when the town is no longer wanted up (``gt down``, the
  tests' teardown), when the town directory is gone, or when the town config
  says ``daemon.watchdog: false``; then nothing is left running.
* It accepts no input at all (no socket, no arguments but the town): nothing
  can make it run anything but the daemon of its town.

Stdlib only until a revival is due (the config is read with :mod:`json`): it
costs a few MB and a ``/proc/locks`` read per second.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from . import lifetime, revive

LOCK = "watchdog.lock"
#: Seconds between two looks at the daemon.
POLL_S = 1.0
WHO = "the daemon's watchdog"


def lock_path(root: Path) -> Path:
    return Path(root) / revive.STATE_DIR / LOCK


def alive(root: Path) -> bool:
    return revive.lock_held(lock_path(root)) is True


def enabled(root: Path) -> bool:
    """``daemon.watchdog`` in the town config (default on); unreadable config: on."""
    try:
        cfg = json.loads((Path(root) / "settings" / "config.json").read_text())
        return cfg.get("daemon", {}).get("watchdog", True) is not False
    except (OSError, ValueError, AttributeError):
        return True


def spawn(root: Path) -> int:
    """Start a watchdog for ``root``, detached (its own session); do not wait.  Its pid."""
    import subprocess

    from .daemon import daemon_env

    root = Path(root)
    with open(root / revive.STATE_DIR / "daemon.log", "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "gastown_server.patrol.watchdog", str(root)], cwd=root, env=daemon_env(),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
        )  # fmt: skip
    return proc.pid


def ensure(root: Path) -> str:
    """The daemon's side: start the watchdog when it is not running.  ``""`` or what was done."""
    if not enabled(root) or alive(root):
        return ""
    try:
        return f"watchdog started (pid {spawn(root)})"
    except OSError as exc:
        return f"watchdog not started: {exc}"


def run(root: Path, *, poll_s: float = POLL_S) -> int:
    root = Path(root).resolve()
    state = root / revive.STATE_DIR
    try:
        fd = lifetime.hold_lock(state / LOCK)
    except OSError:
        return 0  # no town here (any more)
    if fd is None:
        return 0  # one watchdog per town: the other one watches
    stopping = lifetime.StopSignal().install()
    revive._log(root, f"watchdog started (pid {os.getpid()})")
    why = "stopped"
    while not stopping:
        if not state.is_dir():
            why = "the town is gone"
            break
        if not revive.is_wanted(root):
            why = "the town is down"
            break
        if not enabled(root):
            why = "daemon.watchdog is off"
            break
        if revive.lock_held(state / revive.LOCK) is not True:  # (None: no /proc/locks: check() tests the lock)
            try:
                revive.check(root, who=WHO)
            except Exception as exc:  # noqa: BLE001 - the watchdog must outlive a bad revival
                revive._log(root, f"watchdog: revive failed: {type(exc).__name__}: {exc}")
        deadline = time.monotonic() + poll_s
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, poll_s))
    revive._log(root, f"watchdog ended (pid {os.getpid()}): {why}")
    os.close(fd)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m gastown_server.patrol.watchdog <town>", file=sys.stderr)
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
