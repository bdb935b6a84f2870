"""Reviving a dead daemon: whoever runs next brings it back (docs/lifecycle.md, "Who watches whom").

The daemon restarts every dead session, but nothing restarted the daemon:
after a ``kill -9`` of it the town ran on until the next crash, then sat
still.  Now the town's other actors notice a dead daemon and start it again:
the Deacon's ``check-rigs`` and the Witness's ``check-refinery`` patrol steps,
Boot, and any ``gt`` command an agent runs (``GT_ROLE`` set).

*Dead* means: nobody holds ``.gastown/daemon.lock`` (an ``flock`` the kernel
releases when its holder dies, however it dies) while ``.gastown/daemon.wanted``
exists.  The daemon writes that file when it starts and removes it when it is
stopped on purpose (``gt down``, ``gt daemon stop``, SIGTERM/SIGINT), so a
town that was taken down is never brought back; ``kill -9``, the OOM killer or a
crash leave it behind.  A daemon started by a reviver (``--revive``) takes the
lock first and then checks the file again, so it cannot outlive a ``gt down``
that raced with it.

A process inside an agent sandbox (``GT_SANDBOX`` set) never spawns the
daemon: it would live in that sandbox.  With every agent sandboxed, the
daemon's watchdog (:mod:`.watchdog`, outside every sandbox) revives it.  The daemon is started without the
reviver's agent identity (``GT_ROLE``, ``BD_ACTOR``, ... are dropped).

Rate limit: ``.gastown/daemon.revive.stamp``'s mtime; a check happens at most
once per :data:`REVIVE_EVERY_S` (env ``GT_REVIVE_EVERY``) per town, whoever
asks.  An agent's ``gt`` pays one ``stat`` between checks (measured in
docs/benchmarks.md).  This module imports nothing heavy: ``gt`` start-up goes
through it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STATE_DIR = ".gastown"
#: Default seconds between two liveness checks of one town's daemon.
REVIVE_EVERY_S = 10.0
WANTED = "daemon.wanted"
STAMP = "daemon.revive.stamp"
LOCK = "daemon.lock"
#: ``gt`` words that decide about the daemon themselves: no revival around them.
_OWN_WORDS = frozenset({"up", "down", "daemon", "install"})
#: An agent's identity in its environment: not the daemon's (it acts as ``daemon``).
_AGENT_VARS = ("GT_ROLE", "GT_ROLE_KIND", "BD_ACTOR", "GT_ACTOR", "GT_SESSION", "GT_SESSION_ID", "GT_RUNTIME",
               "GT_RIG", "GT_PREFIX", "GT_POLECAT", "GT_CREW", "GT_DOG", "GT_MOLECULE", "GT_GATE_TOKEN")


def wanted_path(root: Path) -> Path:
    return Path(root) / STATE_DIR / WANTED


def stamp_path(root: Path) -> Path:
    return Path(root) / STATE_DIR / STAMP


def revive_every_s() -> float:
    raw = os.environ.get("GT_REVIVE_EVERY", "").strip()
    try:
        return max(0.0, float(raw)) if raw else REVIVE_EVERY_S
    except ValueError:
        return REVIVE_EVERY_S


def want(root: Path, interval_s: float | None = None) -> None:
    """The town is meant to be up: a dead daemon is to be revived (its heartbeat override kept)."""
    path = wanted_path(root)
    tmp = path.with_name(f".{WANTED}.{os.getpid()}.tmp")
    tmp.write_text("" if interval_s is None else f"{interval_s:g}\n")
    os.replace(tmp, path)


def unwant(root: Path) -> None:
    try:
        wanted_path(root).unlink()
    except FileNotFoundError:
        pass


def is_wanted(root: Path) -> bool:
    return wanted_path(root).exists()


#: Heartbeats a revived daemon takes from ``daemon.wanted``; outside them, the town's own.
WANTED_INTERVAL_RANGE = (0.05, 86400.0)


def wanted_interval(root: Path) -> float | None:
    """The heartbeat override kept in ``daemon.wanted``, None if none or not a sane one.

    Every sandbox binds ``.gastown/`` read-write, so any agent can write this
    file: ``-inf`` made every revival fail (argparse took it for an option),
    ``nan`` or ``1e-9`` a daemon beating without pause.
    """
    try:
        text = wanted_path(root).read_text().strip()
        value = float(text) if text else None
    except (OSError, ValueError):
        return None
    lo, hi = WANTED_INTERVAL_RANGE
    return value if value is not None and lo <= value <= hi else None  # (nan compares False)


def daemon_alive(root: Path) -> bool:
    """Someone holds the daemon's lock (the kernel's word for it: a killed holder releases it)."""
    import fcntl

    try:
        fd = os.open(Path(root) / STATE_DIR / LOCK, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def lock_held(path: Path) -> bool | None:
    """Does some process hold an ``flock`` on ``path``?  Read from ``/proc/locks``, without taking it.

    For pollers (the daemon's watchdog): testing by taking the lock, as
    :func:`daemon_alive` does, could make a daemon starting at that moment
    think another one runs.  None when the kernel does not say (no ``/proc``).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        with open("/proc/locks") as f:
            table = f.read()
    except OSError:
        return None
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF"; waiters are "1: -> FLOCK ..."
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == dev:
            return True
    return False


def _log(root: Path, text: str) -> None:
    try:
        with open(Path(root) / STATE_DIR / "daemon.log", "a") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")
    except OSError:
        pass


def spawn(root: Path) -> int:
    """Start a daemon in ``--revive`` mode, detached; do not wait for it.  Its pid."""
    import subprocess
    import sys

    root = Path(root)
    # -P: python -m would put its working directory, the town root, first on sys.path, and the
    # Mayor and Deacon may write there (a planted gastown_server/ would run outside every sandbox).
    argv = [sys.executable, "-P", "-m", "gastown_server.patrol.daemon", str(root), "--revive"]
    interval = wanted_interval(root)
    if interval is not None:
        argv += ["--interval", f"{interval:g}"]
    from .daemon import daemon_env  # (only when a daemon is started: gt start-up stays lean)

    # The same scrubbed environment as gt daemon start: no tokens of the reviver's shell.
    env = {k: v for k, v in daemon_env().items() if k not in _AGENT_VARS}
    with open(root / STATE_DIR / "daemon.log", "a") as log:
        proc = subprocess.Popen(
            argv, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True,
        )  # fmt: skip
    return proc.pid


def check(root: Path, *, who: str, every_s: float | None = None, force: bool = False) -> str:
    """Revive the town's daemon if it is dead and wanted.  Returns what happened, in a few words.

    ``alive``, ``not wanted`` (the town is down: nothing to do), ``checked
    recently`` (rate limit; ``force`` skips it), or ``revived (pid N)``.
    Never raises for an I/O problem: a reviver must not break its caller.
    """
    import fcntl

    root = Path(root)
    every = revive_every_s() if every_s is None else every_s
    if not is_wanted(root):
        return "not wanted"
    if daemon_alive(root):
        return "alive"
    if os.environ.get("GT_SANDBOX"):
        # A daemon started from inside an agent's sandbox would live in it (and die with it).
        return "dead, but this process is sandboxed: left to an unsandboxed reviver"
    stamp = stamp_path(root)
    try:
        fd = os.open(stamp, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return f"cannot check: {exc.strerror or exc}"
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "checked recently"  # another reviver is at it right now
        now = time.time()
        st = os.fstat(fd)
        # An empty stamp was just created by O_CREAT: never checked yet.
        if not force and st.st_size and now - st.st_mtime < every:
            return "checked recently"
        if not st.st_size:
            os.write(fd, b"stamp\n")
        os.utime(stamp, (now, now))
        if daemon_alive(root) or not is_wanted(root):  # re-checked under the stamp's lock
            return "alive" if daemon_alive(root) else "not wanted"
        try:
            pid = spawn(root)
        except OSError as exc:
            _log(root, f"revive by {who} failed: {exc}")
            return f"revive failed: {exc}"
        _log(root, f"daemon was dead (lock free, town wanted up): revived by {who} (pid {pid})")
        return f"revived (pid {pid})"
    finally:
        os.close(fd)


def from_agent_cli(argv: list[str]) -> None:
    """``gt``'s start-up hook for agents: one ``stat`` unless a check is due."""
    root = os.environ.get("GT_TOWN")
    if not root or not os.environ.get("GT_ROLE"):
        return
    if next((a for a in argv if not a.startswith("-")), "") in _OWN_WORDS:
        return
    try:
        age = time.time() - os.stat(os.path.join(root, STATE_DIR, STAMP)).st_mtime
    except FileNotFoundError:
        age = float("inf")
    except OSError:
        return
    if age < revive_every_s():
        return
    try:
        check(Path(root), who=f"gt ({os.environ['GT_ROLE']})")
    except Exception:  # noqa: BLE001 - the agent's command matters more than the check
        pass


def town_up(root: Path, *, who: str) -> tuple[bool, str]:
    """For patrol steps: (is the town meant to be up, what was done about its daemon: '' or a line).

    A dead daemon of a town meant to be up is revived on the way (rate-limited).
    """
    result = check(root, who=who)
    if result == "not wanted":
        return False, ""
    if result.startswith(("revived", "revive failed")):
        return True, f"the daemon was dead: {result} by {who}"
    return True, ""
